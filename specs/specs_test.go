package specs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"harpy/hint"
)

func TestEmbeddedCatalog(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.6.0", "2.2.9", "2.6.12", "3.0.11", "3.2.26"} {
		if !slices.Contains(c.Versions(), v) {
			t.Errorf("release %s missing", v)
		}
	}
	if _, _, err := c.Find(Default); err != nil {
		t.Fatalf("default %s: %v", Default, err)
	}
}

func TestResolve(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		req        Request
		wantArgs   []string // must be present
		absentArgs []string // must not be present
		err        string
	}{
		{name: "default", req: Request{}, wantArgs: []string{"TARGET=linux-glibc", "USE_OPENSSL=1", "USE_PCRE2=1", "USE_PROMEX=1", "USE_LUA=1"}},
		{name: "branch picks newest", req: Request{Version: "3.0"}, wantArgs: []string{"USE_QUIC=1", "USE_QUIC_OPENSSL_COMPAT=1"}},
		{name: "2.2 promex is an extra object", req: Request{Version: "2.2.9"},
			wantArgs: []string{"EXTRA_OBJS=contrib/prometheus-exporter/service-prometheus.o"}, absentArgs: []string{"USE_PROMEX=1"}},
		{name: "1.6 target", req: Request{Version: "1.6.0"}, wantArgs: []string{"TARGET=linux2628", "USE_PCRE=1"}},
		{name: "without", req: Request{Version: "2.6.12", Without: []string{"lua", "promex"}}, absentArgs: []string{"USE_LUA=1", "USE_PROMEX=1"}},
		{name: "pcre replaces pcre2", req: Request{Version: "2.6.12", With: []string{"pcre"}}, wantArgs: []string{"USE_PCRE=1"}, absentArgs: []string{"USE_PCRE2=1", "USE_PCRE2_JIT=1"}},
		{name: "unknown feature", req: Request{With: []string{"http3"}}, err: `unknown feature "http3"`},
		{name: "feature too new", req: Request{Version: "1.6.0", With: []string{"promex"}}, err: `"promex" does not exist in HAProxy 1.6.0`},
		{name: "jit needs pcre2", req: Request{Version: "2.6.12", Without: []string{"pcre2"}}, err: `"pcre2-jit" needs "pcre2"`},
		{name: "both", req: Request{With: []string{"lua"}, Without: []string{"lua"}}, err: "both wanted and refused"},
		{name: "unknown branch", req: Request{Version: "2.7"}, err: "no known release on branch 2.7"},
		{name: "bad sha", req: Request{Version: "2.6.13", SHA256: "abc"}, err: "bad --sha256"},
		{name: "sha disagrees", req: Request{Version: "2.6.12", SHA256: strings.Repeat("a", 64)}, err: "disagrees with the recipe"},
		{name: "unknown version", req: Request{Version: "2.6.13", SHA256: strings.Repeat("a", 64)}, wantArgs: []string{"USE_OPENSSL=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := c.Resolve(tc.req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if hint.Of(err) == "" {
					t.Errorf("error %q has no hint", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			args := p.MakeArgs()
			for _, a := range tc.wantArgs {
				if !slices.Contains(args, a) {
					t.Errorf("args %v lack %s", args, a)
				}
			}
			for _, a := range tc.absentArgs {
				if slices.Contains(args, a) {
					t.Errorf("args %v contain %s", args, a)
				}
			}
		})
	}
}

func TestUserRecipe(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("mine.patch", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
	good := write("good.toml", `[[release]]
version = "2.6.13"
sha256 = "`+strings.Repeat("b", 64)+`"
features = ["openssl"]
patches = ["mine.patch", "2.2-openssl3-ssl-op-no-tlsv1_3.patch"]

[[release]]
version = "2.6.12"
sha256 = "`+strings.Repeat("c", 64)+`"
`)
	c, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Resolve(Request{Version: "2.6"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Version.String() != "2.6.13" || len(p.Patches) != 2 || p.Patches[0].Name != "mine.patch" {
		t.Errorf("plan %s patches %v", p.Version, p.Patches)
	}
	if r, _, _ := c.Find("2.6.12"); r.SHA256 != strings.Repeat("c", 64) || r.Origin != good {
		t.Errorf("override not applied: %+v", r)
	}

	for _, tc := range []struct{ body, err string }{
		{`[[release]]
version = "2.6.14"
sha256 = "xyz"`, "sha256 must be 64"},
		{`[[release]]
version = "2.6.14"
sha256 = "` + strings.Repeat("b", 64) + `"
shaa = 1`, ":4:1: unknown key \"release.shaa\""},
		{`[[release]]
version = "2.6.14"
sha256 = "` + strings.Repeat("b", 64) + `"
patches = ["../etc/passwd"]`, "must be relative"},
		{`[[release]]
version = "2.6.14"
sha256 = "` + strings.Repeat("b", 64) + `"
patches = ["nope.patch"]`, "patch nope.patch"},
		{`[[release]]
version = "2.6"
sha256 = "` + strings.Repeat("b", 64) + `"`, "not a release number"},
		{`[[release]]
version = 2.6`, ":2:11:"},
	} {
		f := write("bad.toml", tc.body)
		_, err := Load(f)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Load(%q) err = %v, want %q", tc.body, err, tc.err)
		}
	}
}
