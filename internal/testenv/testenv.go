// Package testenv gives tests the real things they need: harpy-built HAProxy binaries
// (through the real pipeline and a cache shared by all test packages), the release
// tarballs, and tools on PATH.
//
// Two tiers, one policy. `go test -short` is the fast tier: units, goldens, fuzz seeds,
// testscript; every helper here skips the test there, because it needs a compile, a
// server or a real tool. Without -short (`make test`, CI) nothing skips: a missing tool
// or tarball fails the test.
package testenv

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"harpy/build"
	"harpy/specs"
)

// Root is the repository root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Real puts a test in the real tier: `go test -short` skips it; everywhere else it runs.
// Every helper below calls it, so a test that asks for a build or a tool is real.
func Real(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("real tier (compiles, servers or real tools): run without -short, as make test does")
	}
}

func envOr(t testing.TB, key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return filepath.Join(Root(t), def)
}

// CacheDir is the build cache shared by all tests ($HARPY_TEST_CACHE).
func CacheDir(t testing.TB) string { return envOr(t, "HARPY_TEST_CACHE", ".cache/test") }

// TarballDir holds upstream release tarballs taken from Debian's source packages.
func TarballDir(t testing.TB) string { return envOr(t, "HARPY_TARBALLS", ".cache/tarballs") }

// Tarball returns the path of haproxy-V.tar.gz, fetching the tarballs when missing.
func Tarball(t testing.TB, version string) string {
	t.Helper()
	Real(t)
	dir := TarballDir(t)
	p := filepath.Join(dir, "haproxy-"+version+".tar.gz")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	unlock := flock(t, filepath.Join(os.TempDir(), "harpy-tarballs.lock"))
	defer unlock()
	if _, err := os.Stat(p); err == nil {
		return p
	}
	cmd := exec.Command("bash", filepath.Join(Root(t), "scripts", "tarballs.sh"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: scripts/tarballs.sh: %v\n%s", err, out)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testenv: no tarball for %s after scripts/tarballs.sh", version)
	}
	return p
}

var builds sync.Map // version → *build.Result, per test binary

var mirror struct {
	once sync.Once
	url  string
}

// Mirror serves TarballDir over HTTP on 127.0.0.1, so tests fetch through the real HTTP
// path. One server per test binary, alive until the process exits.
func Mirror(t testing.TB) string {
	Real(t)
	dir := TarballDir(t)
	mirror.once.Do(func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go http.Serve(ln, http.FileServer(http.Dir(dir)))
		mirror.url = "http://" + ln.Addr().String()
	})
	return mirror.url
}

// Build builds a release with its recipe's default features through the real pipeline
// (fetching over HTTP on 127.0.0.1 from TarballDir, see Mirror), sharing the compiled
// result across tests.
func Build(t testing.TB, version string) *build.Result {
	t.Helper()
	Real(t)
	if r, ok := builds.Load(version); ok {
		return r.(*build.Result)
	}
	Tarball(t, version)
	cat, err := specs.Load()
	if err != nil {
		t.Fatal(err)
	}
	res, err := build.Build(context.Background(), build.Options{
		Catalog:  cat,
		Request:  specs.Request{Version: version},
		CacheDir: CacheDir(t),
		Mirrors:  []string{Mirror(t)},
		Progress: logWriter{t},
	})
	if err != nil {
		t.Fatalf("testenv: build %s: %v", version, err)
	}
	builds.Store(version, res)
	return res
}

// HAProxy returns the path of a harpy-built haproxy binary of that release.
func HAProxy(t testing.TB, version string) string { return Build(t, version).Binary }

// Staged returns the staging root of that release's build.
func Staged(t testing.TB, version string) string { return Build(t, version).StageDir }

// Features returns the -vv feature list of that release's build.
func Features(t testing.TB, version string) map[string]bool { return Build(t, version).VV.Features }

// Tool returns the path of a real tool (daemons in sbin included, which a non-login PATH
// may lack). Outside -short a missing tool fails the test, naming what installs it:
// real-tool tests never skip for a missing tool. `make deps` (.ci/deps.sh) installs them.
func Tool(t testing.TB, name string, debPackage ...string) string {
	t.Helper()
	Real(t)
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	install := "`make deps` (.ci/deps.sh)"
	if len(debPackage) > 0 {
		install = "`apt-get install " + debPackage[0] + "` or " + install
	}
	t.Fatalf("testenv: %s is not installed; run %s", name, install)
	return ""
}

func flock(t testing.TB, path string) func() {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// Consul returns the Consul agent binary scripts/consul.sh builds (once per machine,
// outside the clone): $HARPY_CONSUL, else /var/cache/harpy/consul-v1.14.0. A missing one
// fails the test with the command that builds it.
func Consul(t testing.TB) string {
	t.Helper()
	Real(t)
	p := os.Getenv("HARPY_CONSUL")
	if p == "" {
		p = "/var/cache/harpy/consul-v1.14.0"
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("testenv: no Consul agent at %s; build it with `bash scripts/consul.sh` (make test does)", p)
	}
	return p
}

// Binaries are the HAProxy versions the real tests prove a feature on, by name, each
// resolved only when called (a build is compiled or taken from the cache then): Debian's
// 2.6 and harpy's own 2.2.9 and 3.0.11 builds.
func Binaries(t testing.TB) map[string]func() string {
	return map[string]func() string{
		"debian-2.6": func() string { return Tool(t, "haproxy", "haproxy") },
		"2.2.9":      func() string { return HAProxy(t, "2.2.9") },
		"3.0.11":     func() string { return HAProxy(t, "3.0.11") },
	}
}
