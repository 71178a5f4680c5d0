package build

import (
	"os"
	"strings"
	"testing"

	"harpy/specs"
)

func readVV(t *testing.T, name string) *VV {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return ParseVV(string(b))
}

func TestParseVVAcrossVersions(t *testing.T) {
	for _, tc := range []struct {
		file, version, ssl string
		on, off            []string
	}{
		// Captured from harpy's own builds and Debian's haproxy.
		{"vv-2.2.9.txt", "2.2.9", "OpenSSL 3.0", []string{"OPENSSL", "PCRE2", "PCRE2_JIT", "ZLIB", "SYSTEMD"}, []string{"LUA", "PCRE"}},
		{"vv-2.6.12.txt", "2.6.12", "OpenSSL 3.0", []string{"OPENSSL", "PCRE2", "LUA", "PROMEX", "SYSTEMD", "ZLIB"}, []string{"QUIC", "SLZ"}},
		{"vv-3.0.11.txt", "3.0.11", "OpenSSL 3.0", []string{"OPENSSL", "QUIC", "PROMEX", "LUA"}, []string{"PCRE"}},
		{"vv-debian-2.6.txt", "2.6.12", "OpenSSL 3.0", []string{"OPENSSL", "LUA", "PROMEX"}, nil},
		// Authored: 3.2's renamed SSL line, and 1.6's -vv without a feature list.
		{"vv-3.2-authored.txt", "3.2.26", "OpenSSL 3.0", []string{"OPENSSL", "QUIC"}, nil},
		{"vv-1.6-authored.txt", "1.6.0", "OpenSSL 1.0.1e", nil, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			vv := readVV(t, tc.file)
			if !strings.HasPrefix(vv.Version, tc.version) {
				t.Errorf("version %q, want %s", vv.Version, tc.version)
			}
			if !strings.HasPrefix(vv.SSL, tc.ssl) {
				t.Errorf("ssl %q, want %s…", vv.SSL, tc.ssl)
			}
			for _, f := range tc.on {
				if !vv.Features[f] {
					t.Errorf("+%s not parsed", f)
				}
			}
			for _, f := range tc.off {
				if vv.Features[f] {
					t.Errorf("%s parsed as present", f)
				}
			}
		})
	}
}

func TestProve(t *testing.T) {
	cat, err := specs.Load()
	if err != nil {
		t.Fatal(err)
	}
	vv := readVV(t, "vv-2.6.12.txt")
	plan := func(req specs.Request) *specs.Plan {
		p, err := cat.Resolve(req)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := Prove(plan(specs.Request{Version: "2.6.12"}), vv); err != nil {
		t.Errorf("default plan: %v", err)
	}
	// Asked for QUIC, binary has none: a silently ignored flag is caught.
	err = Prove(plan(specs.Request{Version: "2.6.12", With: []string{"quic"}}), vv)
	if err == nil || !strings.Contains(err.Error(), "lacks requested features: quic") {
		t.Errorf("missing quic: %v", err)
	}
	// Refused Lua, binary has it.
	err = Prove(plan(specs.Request{Version: "2.6.12", Without: []string{"lua"}}), vv)
	if err == nil || !strings.Contains(err.Error(), "refused features: lua") {
		t.Errorf("refused lua: %v", err)
	}
	// A binary of another version.
	err = Prove(plan(specs.Request{Version: "3.0.11"}), vv)
	if err == nil || !strings.Contains(err.Error(), "want 3.0.11") {
		t.Errorf("wrong version: %v", err)
	}
	// 2.2: promex is proven by its line, not a feature-list token.
	vv22 := readVV(t, "vv-2.2.9.txt")
	if err := Prove(plan(specs.Request{Version: "2.2.9"}), vv22); err != nil {
		t.Errorf("2.2.9: %v", err)
	}
}
