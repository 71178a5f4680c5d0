package profiles

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"harpy/hint"
	"harpy/hversion"
)

// TestResolversNeverDropAddresses generates resolvers sections (nameservers or none,
// parse_resolv_conf unset, true or false, any hold left out or set) for every target and
// proves the rendering's invariants: an input error with a hint, or a section with exactly
// one line per hold status where every failure the profile left out keeps the address
// HoldKeep, nx is HoldNXDefault unless set, obsolete appears from 1.8 only, and
// parse-resolv-conf is written exactly when no nameservers were given and not turned off
// (before 1.9 that is refused, naming nameservers).
func TestResolversNeverDropAddresses(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 15))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	dur := func() string { return pick("", "", "", "1ms", "5s", "2m", "1h", "24d", "", "", "", "", "25d") }
	versions := []string{"1.6", "1.7", "1.8", "1.9", "2.0", "2.2", "2.6", "3.0", "3.2"}
	rendered, refused := 0, 0
	for i := range 2000 {
		res := &Resolvers{
			HoldTimeout: dur(), HoldRefused: dur(), HoldOther: dur(), HoldNX: dur(), HoldObsolete: pick("", "", "0s", "5s"),
			Hold: dur(),
		}
		if r.IntN(2) == 0 {
			res.Nameservers = []string{"127.0.0.1:53"}
		}
		switch r.IntN(3) {
		case 1:
			res.ParseResolvConf = ptr(true)
		case 2:
			res.ParseResolvConf = ptr(false)
		}
		p := &Profile{Name: "gen", Resolvers: map[string]*Resolvers{"dns": res}, Listens: []*Proxy{{
			Name: "app", Bind: []string{"127.0.0.1:20000"}, Resolvers: "dns", Health: &Health{}, Servers: []Server{{Name: "s", Address: "db.example.internal:3306"}},
		}}}
		v := versions[r.IntN(len(versions))]
		desc := fmt.Sprintf("case %d for %s: %+v parse_resolv_conf=%v", i, v, *res, res.ParseResolvConf)
		out, err := Render(p, Options{HAProxy: hversion.MustParse(v)})
		if err != nil {
			if !hint.IsInput(err) || hint.Of(err) == "" {
				t.Fatalf("%s: %v is not an input error with a hint", desc, err)
			}
			refused++
			continue
		}
		rendered++
		cfg := string(out.HAProxyCfg)
		prc := res.ParseResolvConf == nil && len(res.Nameservers) == 0 || res.ParseResolvConf != nil && *res.ParseResolvConf
		if got := strings.Contains(cfg, "    parse-resolv-conf\n"); got != prc {
			t.Fatalf("%s: parse-resolv-conf written %v, want %v:\n%s", desc, got, prc, cfg)
		}
		if prc && !hversion.MustParse(v).AtLeast(1, 9) {
			t.Fatalf("%s: rendered parse-resolv-conf for %s", desc, v)
		}
		for _, x := range []struct{ status, set, def string }{
			{"timeout", res.HoldTimeout, HoldKeep}, {"refused", res.HoldRefused, HoldKeep}, {"other", res.HoldOther, HoldKeep},
			{"nx", res.HoldNX, HoldNXDefault}, {"valid", res.Hold, "10s"},
		} {
			want := "    hold " + x.status + " " + orStr(x.set, x.def) + "\n"
			if strings.Count(cfg, "    hold "+x.status+" ") != 1 || !strings.Contains(cfg, want) {
				t.Fatalf("%s: want exactly %q:\n%s", desc, want, cfg)
			}
		}
		if got, want := strings.Count(cfg, "    hold obsolete "), hversion.MustParse(v).AtLeast(1, 8); (got == 1) != want || got > 1 {
			t.Fatalf("%s: %d hold obsolete lines:\n%s", desc, got, cfg)
		}
	}
	t.Logf("%d rendered, %d refused", rendered, refused)
	if rendered < 200 || refused < 200 {
		t.Errorf("%d rendered, %d refused: the generator misses one side", rendered, refused)
	}
}

func ptr[T any](v T) *T { return &v }
