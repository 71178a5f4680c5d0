package watch

import (
	"net/netip"
	"strings"
	"testing"

	"harpy/discovery"
	"harpy/hversion"
)

func tgt(name, addr string, port uint16, w int, backup bool) discovery.Target {
	return discovery.Target{Name: name, Addr: netip.MustParseAddr(addr), Port: port, Weight: w, Backup: backup}
}

func TestPlan(t *testing.T) {
	running := []Server{
		{Name: "a", Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Weight: 1},
		{Name: "b", Addr: netip.MustParseAddr("10.0.0.2"), Port: 80, Weight: 1, Dynamic: true},
		{Name: "c", Addr: netip.MustParseAddr("10.0.0.3"), Port: 80, Weight: 1},
	}
	want := []discovery.Target{
		tgt("a", "10.0.0.1", 80, 1, false),    // unchanged
		tgt("c", "10.0.0.33", 8080, 5, false), // moved, reweighted
		tgt("d", "10.0.0.4", 80, 256, true),   // new backup
	}
	check := Check{Enabled: true, Inter: "2s", Fall: 2, Rise: 2}
	for _, tc := range []struct {
		v    string
		want string // one change per line: kind server: commands | reload
	}{
		{"2.2", "add d: | reload: HAProxy 2.2 cannot add a server at run time (add server: 2.4)\n" +
			"modify c: set server be/c addr 10.0.0.33 port 8080; set server be/c weight 5\n" +
			"remove b: | reload: HAProxy 2.2 cannot delete a server at run time (del server: 2.4)"},
		{"2.4", "add d: experimental-mode on; add server be/d 10.0.0.4:80 weight 256 backup; set server be/d state ready\n" +
			"modify c: set server be/c addr 10.0.0.33 port 8080; set server be/c weight 5\n" +
			"remove b: set server be/b state drain; <wait>; set server be/b state maint; experimental-mode on; del server be/b"},
		{"2.6", "add d: add server be/d 10.0.0.4:80 weight 256 backup check inter 2s fall 2 rise 2; enable health be/d; set server be/d state ready\n" +
			"modify c: set server be/c addr 10.0.0.33 port 8080; set server be/c weight 5\n" +
			"remove b: set server be/b state drain; <wait>; set server be/b state maint; del server be/b"},
		{"3.0", "add d: add server be/d 10.0.0.4:80 weight 256 backup check inter 2s fall 2 rise 2; enable health be/d; set server be/d state ready\n" +
			"modify c: set server be/c addr 10.0.0.33 port 8080; set server be/c weight 5\n" +
			"remove b: set server be/b state drain; <wait>; set server be/b state maint; wait 30s srv-removable be/b; del server be/b"},
	} {
		t.Run(tc.v, func(t *testing.T) {
			var lines []string
			for _, c := range Plan("be", hversion.MustParse(tc.v), running, want, check) {
				cmds := strings.ReplaceAll(strings.Join(c.Commands, "; "), "; ;", "; <wait>;")
				l := string(c.Kind) + " " + c.Server + ": " + cmds
				if c.Reload != "" {
					l += "| reload: " + c.Reload
				}
				lines = append(lines, l)
			}
			if got := strings.Join(lines, "\n"); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	// A file server on 2.4/2.5 cannot be deleted at run time; on 2.6 it can.
	for v, reload := range map[string]bool{"2.5": true, "2.6": false} {
		ch := Plan("be", hversion.MustParse(v), running[:1], nil, check)
		if len(ch) != 1 || (ch[0].Reload != "") != reload {
			t.Errorf("%s: removing a file server: %+v", v, ch)
		}
	}
	// Nothing to do when running is what is wanted: a restarted watcher changes nothing.
	if ch := Plan("be", hversion.MustParse("3.0"), running, []discovery.Target{
		tgt("a", "10.0.0.1", 80, 1, false), tgt("b", "10.0.0.2", 80, 1, false), tgt("c", "10.0.0.3", 80, 1, false),
	}, check); len(ch) != 0 {
		t.Errorf("no change expected: %+v", ch)
	}
	// Becoming a backup is a remove and an add.
	ch := Plan("be", hversion.MustParse("3.0"), running[:1], []discovery.Target{tgt("a", "10.0.0.1", 80, 1, true)}, Check{})
	if len(ch) != 1 || !strings.Contains(strings.Join(ch[0].Commands, ";"), "del server be/a;add server be/a 10.0.0.1:80 weight 1 backup") {
		t.Errorf("backup flip: %+v", ch)
	}
}
