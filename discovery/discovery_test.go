package discovery

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

func TestWeigh(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.1")
	for _, tc := range []struct {
		name string
		recs []Record
		want string // name weight [backup], sorted by name
	}{
		{"dnsmasq default weight 0 shares equally",
			[]Record{{Host: "a.", Addr: a, Port: 80}, {Host: "b.", Addr: a, Port: 80}},
			"a_80 1, b_80 1"},
		{"consul default weight 1 shares equally",
			[]Record{{Host: "a", Addr: a, Port: 80, Weight: 1}, {Host: "b", Addr: a, Port: 80, Weight: 1}},
			"a_80 1, b_80 1"},
		{"weights keep their ratio",
			[]Record{{Host: "a", Addr: a, Port: 80, Weight: 10}, {Host: "b", Addr: a, Port: 80, Weight: 30}},
			"a_80 85, b_80 256"},
		{"weight 0 beside others is a very small share, not none",
			[]Record{{Host: "a", Addr: a, Port: 80, Weight: 0}, {Host: "b", Addr: a, Port: 80, Weight: 60000}},
			"a_80 1, b_80 256"},
		{"higher priorities are backups, weighed among themselves",
			[]Record{{Host: "a", Addr: a, Port: 80, Priority: 10, Weight: 5}, {Host: "b", Addr: a, Port: 80, Priority: 20, Weight: 5}, {Host: "c", Addr: a, Port: 80, Priority: 20, Weight: 10}},
			"a_80 1, b_80 128 backup, c_80 256 backup"},
		{"the same host and port twice is one server",
			[]Record{{Host: "a", Addr: a, Port: 80}, {Host: "a.", Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}},
			"a_80 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, x := range Weigh(tc.recs) {
				s := fmt.Sprintf("%s %d", x.Name, x.Weight)
				if x.Backup {
					s += " backup"
				}
				got = append(got, s)
			}
			if g := strings.Join(got, ", "); g != tc.want {
				t.Errorf("got %s\nwant %s", g, tc.want)
			}
		})
	}
}

// FuzzServerName: whatever a record holds, the server name is one HAProxy word.
func FuzzServerName(f *testing.F) {
	for _, s := range []string{"db1.example.com.", "", "a b\nlisten evil", "x#y", "\x00", "é.example", strings.Repeat("a", 300)} {
		f.Add(s, uint16(3306))
	}
	f.Fuzz(func(t *testing.T, host string, port uint16) {
		n := ServerName(host, port)
		if n == "" || len(n) > 110 {
			t.Fatalf("name %q", n)
		}
		for _, c := range n {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.", c)) {
				t.Fatalf("name %q holds %q", n, c)
			}
		}
	})
}

func targets(names ...string) []Target {
	var out []Target
	for _, n := range names {
		out = append(out, Target{Name: n, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80, Weight: 1})
	}
	return out
}

func names(ts []Target) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Name)
	}
	return strings.Join(s, ",")
}

func TestGuard(t *testing.T) {
	cur := targets("a", "b", "c", "d")
	for _, tc := range []struct {
		name    string
		g       Guard
		ans     Answer
		err     error
		apply   string
		refused bool
	}{
		{"error keeps all", Guard{}, Answer{}, errors.New("SERVFAIL"), "a,b,c,d", true},
		{"empty keeps all", Guard{}, Answer{}, nil, "a,b,c,d", true},
		{"only backups keep all", Guard{}, Answer{Targets: []Target{{Name: "x", Backup: true}}}, nil, "a,b,c,d", true},
		{"below minimum keeps all", Guard{MinPool: 3, MaxRemove: 1}, Answer{Targets: targets("a", "b")}, nil, "a,b,c,d", true},
		{"additions apply", Guard{}, Answer{Targets: targets("a", "b", "c", "d", "e")}, nil, "a,b,c,d,e", false},
		{"half may go at once", Guard{}, Answer{Targets: targets("a", "b")}, nil, "a,b", false},
		{"more than half: the rest stays for now", Guard{}, Answer{Targets: targets("a")}, nil, "a,d", false},
		{"replace all: limited", Guard{MaxRemove: 0.25}, Answer{Targets: targets("x", "y", "z", "w")}, nil, "b,c,d,w,x,y,z", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.g.Decide(cur, tc.ans, tc.err)
			if got := names(d.Apply); got != tc.apply || (d.Refused != "") != tc.refused {
				t.Errorf("apply %s refused %q; want %s refused %v", got, d.Refused, tc.apply, tc.refused)
			}
		})
	}
	// A pool of one can always be changed (one removal is always allowed).
	if d := (Guard{}).Decide(targets("a"), Answer{Targets: targets("b")}, nil); names(d.Apply) != "b" {
		t.Errorf("pool of one: %s", names(d.Apply))
	}
}

// TestGuardNeverEmpties: over random histories of answers and failures, the servers
// applied are never fewer than the minimum once the pool has reached it, and every
// change removes at most the allowed share.
func TestGuardNeverEmpties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for run := 0; run < 200; run++ {
		g := Guard{MinPool: 1 + r.IntN(3), MaxRemove: []float64{0, 0.25, 0.5, 1}[r.IntN(4)]}
		cur := targets("s0", "s1", "s2", "s3", "s4", "s5")
		for step := 0; step < 50; step++ {
			var ans Answer
			var err error
			switch r.IntN(4) {
			case 0:
				err = errors.New("timeout")
			default:
				var n []string
				for i := 0; i < 8; i++ {
					if r.IntN(2) == 0 {
						n = append(n, fmt.Sprintf("s%d", i))
					}
				}
				ans.Targets = targets(n...)
			}
			d := g.Decide(cur, ans, err)
			if len(d.Apply) < g.MinPool {
				t.Fatalf("run %d step %d: %d servers applied, minimum %d", run, step, len(d.Apply), g.MinPool)
			}
			gone := 0
			in := map[string]bool{}
			for _, x := range d.Apply {
				in[x.Name] = true
			}
			for _, x := range cur {
				if !in[x.Name] {
					gone++
				}
			}
			share := g.MaxRemove
			if share == 0 {
				share = 0.5
			}
			if limit := max(1, int(share*float64(len(cur)))); gone > limit {
				t.Fatalf("run %d step %d: %d of %d removed at once (limit %d)", run, step, gone, len(cur), limit)
			}
			cur = d.Apply
		}
	}
}
