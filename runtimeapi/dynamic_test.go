package runtimeapi

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"harpy/hint"
	"harpy/hversion"
)

func TestAddCommandsByVersion(t *testing.T) {
	o := AddOptions{Backend: "app", Server: "web9", Addr: "10.0.0.9:80", Check: true, Inter: 500 * time.Millisecond}
	for _, c := range []struct {
		ver       string
		want      string // first command
		wantSince string // version error naming this
	}{
		{"2.2.9", "", "2.4"},
		{"2.4.0", "", "2.5"}, // checks on dynamic servers came in 2.5
		{"2.5.1", "experimental-mode on; add server app/web9 10.0.0.9:80 check inter 500", ""},
		{"2.6.12", "add server app/web9 10.0.0.9:80 check inter 500", ""},
		{"3.0.11", "add server app/web9 10.0.0.9:80 check inter 500", ""},
	} {
		cmds, err := o.AddCommands(hversion.MustParse(c.ver))
		var ve *VersionError
		if c.wantSince != "" {
			if !errors.As(err, &ve) || ve.Need.String() != c.wantSince || hint.Of(err) == "" {
				t.Errorf("%s: %v, want a version error naming %s", c.ver, err, c.wantSince)
			}
			continue
		}
		if err != nil || cmds[0] != c.want || cmds[1] != "enable health app/web9" || cmds[2] != "set server app/web9 state ready" {
			t.Errorf("%s: %q %v", c.ver, cmds, err)
		}
	}
	nocheck := AddOptions{Backend: "app", Server: "web9", Addr: "10.0.0.9:80"}
	if cmds, err := nocheck.AddCommands(hversion.MustParse("2.4.0")); err != nil || cmds[0] != "experimental-mode on; add server app/web9 10.0.0.9:80" || len(cmds) != 2 {
		t.Errorf("2.4 without checks: %q %v", cmds, err)
	}
	if _, err := (AddOptions{Backend: "a", Server: "b", Addr: "db:80"}).AddCommands(hversion.V{}); !hint.IsInput(err) {
		t.Errorf("a name for an address: %v, want bad input", err)
	}
	_, rm, err := DelCommands("app", "web9", hversion.MustParse("2.4.3"))
	if err != nil || rm[1] != "experimental-mode on; del server app/web9" {
		t.Errorf("del on 2.4: %q %v", rm, err)
	}
}

func TestPermissionHint(t *testing.T) {
	p := filepath.Join(t.TempDir(), "admin.sock")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h := permissionHint(p)
	for _, want := range []string{p, "mode 0600", "group", "mode 660 group"} {
		if !strings.Contains(h, want) {
			t.Errorf("permission hint %q lacks %q", h, want)
		}
	}
	os.Chmod(p, 0o660)
	if h := permissionHint(p); !strings.Contains(h, "usermod -aG") {
		t.Errorf("group-writable socket: hint %q does not say how to join the group", h)
	}
	if h := permissionHint(filepath.Join(p, "x")); !strings.Contains(h, "not searchable") {
		t.Errorf("unreachable path: %q", h)
	}
}

// No target or argument, however crafted, puts a second command (";", a newline) or an
// extra word on a Runtime API line: names and values are validated before any is sent.
func FuzzActionCommands(f *testing.F) {
	for _, s := range [][3]string{
		{"drain", "app/web1", ""}, {"weight", "app/web1", "50%"}, {"addr", "app/web1", "10.0.0.1:80"},
		{"addr", "app/web1", "[::1]:80"}, {"maint", "app/web1;shutdown sessions", ""},
		{"weight", "app/web1", "1; shutdown frontend f"}, {"addr", "a/b", "1.2.3.4\nshow info"},
		{"health", "a/b\nc", "on"}, {"agent", "a/b", "on off"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, verb, target, arg string) {
		b, sv, err := ParseTarget(target)
		if err != nil {
			return
		}
		a, err := NewAction(verb, b, sv, arg)
		if err != nil {
			if !hint.IsInput(err) {
				t.Fatalf("refusal is not bad input: %v", err)
			}
			return
		}
		for _, cmd := range a.Commands() {
			if strings.ContainsAny(cmd, ";\n\r\x00") {
				t.Fatalf("command %q carries a separator", cmd)
			}
			words := strings.Fields(cmd)
			if len(words) > 7 || !strings.Contains(cmd, " "+target) {
				t.Fatalf("command %q: %d words, or the target %q is not one word of it", cmd, len(words), target)
			}
		}
		o := AddOptions{Backend: b, Server: sv, Addr: arg}
		if cmds, err := o.AddCommands(hversion.MustParse("2.6")); err == nil {
			for _, cmd := range cmds {
				if strings.ContainsAny(cmd, ";\n\r") {
					t.Fatalf("add command %q carries a separator", cmd)
				}
			}
		}
	})
}
