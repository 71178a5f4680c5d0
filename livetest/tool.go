package livetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RealRequired reports whether real-tool tests must run rather than skip: on CI and when
// HARPY_REAL=1 (the Makefile's test target installs every tool first).
func RealRequired() bool {
	return os.Getenv("CI") == "true" || os.Getenv("HARPY_REAL") == "1"
}

// Tool returns the path of a real tool. A missing tool fails the test where real tools are
// required and skips it elsewhere, naming the Debian package to install.
func Tool(tb testing.TB, name, debPackage string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	// Daemons live in sbin, which a non-login PATH may lack.
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := name + " not found; install it with `apt-get install " + debPackage + "` (or `make deps`)"
	if RealRequired() {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
	return ""
}

// Long marks a scenario that takes tens of seconds: `go test -short` (make test-short)
// leaves it out, except where real tools are required (CI=true, HARPY_REAL=1).
func Long(tb testing.TB) {
	tb.Helper()
	if testing.Short() && !RealRequired() {
		tb.Skip("live scenario of tens of seconds; run without -short")
	}
}
