package check

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"harpy/hversion"
	"harpy/internal/testenv"
)

const debianHAProxy = "/usr/sbin/haproxy"

// TestLintNamedDefaults: `frontend NAME from DEFAULTS` (2.5+) is not an address.
func TestLintNamedDefaults(t *testing.T) {
	cfg := []byte("defaults base\n    mode http\n\nfrontend f from base\n    bind :80\n")
	if fs := Lint(cfg, hversion.MustParse("2.6")); len(fs) != 0 {
		t.Errorf("findings: %v", fs)
	}
}

func TestLint(t *testing.T) {
	type want struct {
		line      int
		directive string
		sev       Severity
		repl      string
	}
	tests := []struct {
		file, target string
		want         []want
	}{
		{"seed004-spark.cfg", "1.6", nil},
		{"seed004-spark.cfg", "2.0", []want{{33, "reqrep", Deprecated, "http-request replace-path"}}},
		{"seed004-spark.cfg", "2.6", []want{{33, "reqrep", Removed, "`http-request replace-path ^/spark/(.*) /\\1` (2.2+)"}}},
		{"seed004-spark.cfg", "2.1", []want{{33, "reqrep", Removed, "`http-request set-path %[path,regsub(^/spark/,/)]`"}}},
		{"seed001-web.cfg", "1.5", []want{{28, "frontend NAME ADDRESS", Deprecated, "bind"}}},
		{"seed001-web.cfg", "2.6", []want{{14, "option httpchk …\\r\\n…", Deprecated, "http-check send"}, {28, "frontend NAME ADDRESS", Deprecated, "bind"}}},
		{"old-multiproc.cfg", "2.3", []want{{10, "clitimeout", Removed, "timeout client"}, {15, "stats", Removed, "listen stats"}, {16, "stats", Removed, "listen stats"}, {18, "server read1", Removed, "unique"}}},
		{"old-multiproc.cfg", "2.4", []want{{2, "nbproc", Deprecated, "nbthread"}, {10, "clitimeout", Removed, "timeout client"}, {15, "stats", Removed, ""}, {16, "stats", Removed, ""}, {18, "server read1", Removed, ""}}},
		{"old-multiproc.cfg", "2.5", []want{{2, "nbproc", Removed, "nbthread"}, {10, "clitimeout", Removed, ""}, {15, "stats", Removed, ""}, {16, "stats", Removed, ""}, {18, "server read1", Removed, ""}}},
		{"no-newline.cfg", "2.2", []want{{15, "end of file", Deprecated, "newline"}}},
		{"no-newline.cfg", "2.3", []want{{15, "end of file", Removed, "newline"}}},
		{"no-newline.cfg", "2.1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file+"@"+tt.target, func(t *testing.T) {
			cfg, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := Lint(cfg, hversion.MustParse(tt.target))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d:\n%v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Line != w.line || g.Directive != w.directive || g.Severity != w.sev || !strings.Contains(g.Replacement, w.repl) {
					t.Errorf("finding %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// TestHAProxyRefusesWhatLintFinds: the real 2.6 refuses the lines lint marks removed.
func TestHAProxyRefusesWhatLintFinds(t *testing.T) {
	testenv.Tool(t, debianHAProxy)
	for _, tt := range []struct {
		file string
		want string // in haproxy's own output
	}{
		{"seed004-spark.cfg", "reqrep"},
		{"old-multiproc.cfg", "nbproc"},
		{"no-newline.cfg", "Missing LF on last line"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			err := HAProxy(t.Context(), debianHAProxy, filepath.Join("testdata", tt.file))
			var he *HAProxyError
			if !errors.As(err, &he) {
				t.Fatalf("want an HAProxyError, got %v", err)
			}
			if !strings.Contains(he.Output, tt.want) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("output does not mention %q:\n%s", tt.want, he.Output)
			}
		})
	}
}

func TestHAProxyAccepts(t *testing.T) {
	testenv.Tool(t, debianHAProxy)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ok.cfg")
	if err := os.WriteFile(cfg, []byte("defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\nfrontend f\n    bind 127.0.0.1:18097\n    default_backend b\n\nbackend b\n    server s 127.0.0.1:18096\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := HAProxyOutput(t.Context(), debianHAProxy, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Configuration file is valid") {
		t.Errorf("no confirmation from -V: %q", out)
	}
	// 3.0 prints nothing on success without -V: harpy passes -V.
	out, err = HAProxyOutput(t.Context(), testenv.HAProxy(t, "3.0.11"), cfg)
	if err != nil || !strings.Contains(out, "Configuration file is valid") {
		t.Errorf("3.0.11: %v %q", err, out)
	}
	if err := HAProxy(t.Context(), filepath.Join(dir, "no-such-haproxy"), cfg); err == nil {
		t.Error("a missing binary passed")
	}
}

func TestBinaryVersion(t *testing.T) {
	testenv.Tool(t, debianHAProxy)
	v, err := BinaryVersion(t.Context(), debianHAProxy)
	if err != nil {
		t.Fatal(err)
	}
	if v.Branch() != "2.6" || v.Suffix != "" {
		t.Errorf("Debian's haproxy is %v, want 2.6.x", v)
	}
	v, err = BinaryVersion(t.Context(), testenv.HAProxy(t, "2.2.9"))
	if err != nil || v.String() != "2.2.9" {
		t.Errorf("2.2.9 (HA-Proxy banner): %v %v", v, err)
	}
}
