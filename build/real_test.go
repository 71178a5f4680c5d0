package build_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"harpy/build"
	"harpy/hint"
	"harpy/internal/testenv"
	"harpy/specs"
)

// These tests compile real releases from the real tarballs (served over file:// from
// Debian's source packages) with the real compiler. The compiled results are cached in
// testenv.CacheDir, shared with every other test package that needs a binary.

func TestRealBuildsProveFeatures(t *testing.T) {
	for _, tc := range []struct {
		version string
		tokens  []string // +TOKEN in the feature list
		lines   []string // lines -vv must print
	}{
		{"2.6.12", []string{"OPENSSL", "PCRE2", "PCRE2_JIT", "ZLIB", "LUA", "PROMEX", "SYSTEMD"}, []string{"Built with OpenSSL version", "Built with Lua version", "Built with the Prometheus exporter as a service"}},
		{"3.0.11", []string{"OPENSSL", "PCRE2", "ZLIB", "LUA", "PROMEX", "QUIC"}, []string{"Built with OpenSSL version", "Built with Lua version"}},
		// 2.2 has no USE_PROMEX: the exporter comes from EXTRA_OBJS, and the OpenSSL 3 patch
		// from the recipe's queue makes it compile at all.
		{"2.2.9", []string{"OPENSSL", "PCRE2"}, []string{"HA-Proxy version 2.2.9", "Built with the Prometheus exporter as a service"}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			res := testenv.Build(t, tc.version)
			// Ask the binary itself, not the cached -vv.
			out, err := exec.Command(res.Binary, "-vv").CombinedOutput()
			if err != nil {
				t.Fatalf("%s -vv: %v", res.Binary, err)
			}
			vv := build.ParseVV(string(out))
			if !strings.HasPrefix(vv.Version, tc.version) {
				t.Errorf("version %q", vv.Version)
			}
			for _, tok := range tc.tokens {
				if !vv.Features[tok] {
					t.Errorf("feature list lacks +%s", tok)
				}
			}
			for _, l := range tc.lines {
				if !strings.Contains(string(out), l) {
					t.Errorf("-vv lacks %q", l)
				}
			}
			if err := build.Prove(res.Plan, vv); err != nil {
				t.Error(err)
			}
			for _, f := range []string{build.StageBinary, build.StageMan, build.StageLicense, build.StageDocDir + "/configuration.txt"} {
				if _, err := os.Stat(filepath.Join(res.StageDir, f)); err != nil {
					t.Errorf("staged tree lacks %s", f)
				}
			}
		})
	}
}

func TestRebuildWithNothingChangedCompilesNothing(t *testing.T) {
	first := testenv.Build(t, "2.6.12")
	cat, _ := specs.Load()
	var log strings.Builder
	res, err := build.Build(context.Background(), build.Options{
		Catalog: cat, Request: specs.Request{Version: "2.6.12"}, CacheDir: testenv.CacheDir(t),
		Mirrors:  []string{"http://127.0.0.1:1/unreachable"}, // a cached build never downloads
		Progress: &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Cached || res.Key != first.Key || strings.Contains(log.String(), "compile:") {
		t.Errorf("rebuild was not served from the cache: cached=%v key %s vs %s\n%s", res.Cached, res.Key, first.Key, log.String())
	}
}

func TestOpenSSL3IncompatibilityExplainedBeforeCompiling(t *testing.T) {
	// The 2.2.9 recipe without its patch queue.
	dir := t.TempDir()
	recipe := filepath.Join(dir, "r.toml")
	os.WriteFile(recipe, []byte(`[[release]]
version = "2.2.9"
sha256 = "21680459b08b9ba21c8cc9f5dbd0ee6e1842f57a3a67f87179871e1c13ebd4e3"
features = ["openssl", "pcre2", "promex"]
`), 0o644)
	cat, err := specs.Load(recipe)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	_, err = build.Build(context.Background(), build.Options{
		Catalog: cat, Request: specs.Request{Version: "2.2.9"}, CacheDir: filepath.Join(dir, "cache"),
		Mirrors: []string{"file://" + testenv.TarballDir(t)}, Progress: &log,
	})
	if err == nil {
		t.Fatal("2.2.9 without the OpenSSL 3 patch was accepted")
	}
	for _, w := range []string{"host:", "OpenSSL 3", "SSL_OP_NO_TLSv1_3"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if !strings.Contains(hint.Of(err), "#ifdef") {
		t.Errorf("hint %q", hint.Of(err))
	}
	if strings.Contains(log.String(), "compile:") || strings.Contains(log.String(), "fetch") {
		t.Errorf("work started before the incompatibility was explained:\n%s", log.String())
	}
}

// 3.0's `haproxy -c` prints nothing on success unless -V is given: a checker that
// looks for "Configuration file is valid" must pass -V.
func TestCheckOutputNeedsV(t *testing.T) {
	bin := testenv.HAProxy(t, "3.0.11")
	cfg := filepath.Join(t.TempDir(), "h.cfg")
	os.WriteFile(cfg, []byte("defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\nfrontend f\n  bind 127.0.0.1:18080\n  default_backend b\nbackend b\n  server s1 127.0.0.1:8080\n"), 0o644)
	quiet, err := exec.Command(bin, "-c", "-f", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, quiet)
	}
	verbose, err := exec.Command(bin, "-c", "-V", "-f", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, verbose)
	}
	if strings.TrimSpace(string(quiet)) != "" || !strings.Contains(string(verbose), "Configuration file is valid") {
		t.Errorf("quiet %q verbose %q", quiet, verbose)
	}
}

// A compile failure prints make's last lines, keeps the full log under failed/, and
// leaves no cache entry behind.
func TestCompileFailureKeepsLogAndCacheClean(t *testing.T) {
	testenv.Real(t) // it compiles
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "break.patch"), []byte(`--- a/include/haproxy/compiler.h
+++ b/include/haproxy/compiler.h
@@ -1,3 +1,4 @@
+#error harpy-test-broken-build
 /*
  * include/haproxy/compiler.h
  * This files contains some compiler-specific settings.
`), 0o644)
	recipe := filepath.Join(dir, "r.toml")
	os.WriteFile(recipe, []byte(`[[release]]
version = "2.6.12"
sha256 = "58f9edb26bf3288f4b502658399281cc5d6478468bd178eafe579c8f41895854"
features = ["openssl"]
patches = ["break.patch"]
`), 0o644)
	cat, err := specs.Load(recipe)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	_, err = build.Build(context.Background(), build.Options{
		Catalog: cat, Request: specs.Request{Version: "2.6.12"}, CacheDir: cache,
		Mirrors: []string{"file://" + testenv.TarballDir(t)},
	})
	if err == nil {
		t.Fatal("broken build succeeded")
	}
	if !strings.Contains(err.Error(), "compile: make") || !strings.Contains(err.Error(), "harpy-test-broken-build") {
		t.Errorf("error lacks make's tail: %v", err)
	}
	logPath := strings.TrimPrefix(hint.Of(err), "read the full log: ")
	if b, rerr := os.ReadFile(logPath); rerr != nil || !strings.Contains(string(b), "#error harpy-test-broken-build") {
		t.Errorf("full log not kept at %q: %v", logPath, rerr)
	}
	ents, _ := os.ReadDir(filepath.Join(cache, "builds"))
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("cache holds %s after a failed build", e.Name())
		}
	}
}

// The real tarballs (upstream's, from Debian's source packages) through the real HTTP
// path into an empty cache, each verified against its recipe's sha256.
func TestFetchRealTarballsOverHTTP(t *testing.T) {
	cat, err := specs.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"2.2.9", "2.6.12", "3.0.11"} {
		testenv.Tarball(t, v)
		var log strings.Builder
		p, err := build.FetchOnly(context.Background(), build.Options{
			Catalog: cat, Request: specs.Request{Version: v}, CacheDir: t.TempDir(),
			Mirrors: []string{testenv.Mirror(t)}, Progress: &log,
		})
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		r, _, _ := cat.Find(v)
		if filepath.Base(p) != r.SHA256+".tar.gz" || !strings.Contains(log.String(), "MiB") {
			t.Errorf("%s: %s\n%s", v, p, log.String())
		}
	}
}
