package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"harpy/distro"
)

// TestDistsAcceptedEverywhere: a --dist that one command accepts, all accept — every
// name the distro package knows (and every alias) renders, and builds (up to the
// unreachable mirror) in its native format; only a format the dist does not use is
// refused, by naming --dist.
func TestDistsAcceptedEverywhere(t *testing.T) {
	t.Setenv("HARPY_CACHE", t.TempDir())
	names := distro.Names()
	for a := range distro.Aliases {
		names = append(names, a)
	}
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		rc := Main(context.Background(), args, &out, &errb)
		return rc, errb.String()
	}
	for _, n := range names {
		d, _ := distro.Lookup(n)
		t.Run(n, func(t *testing.T) {
			if rc, stderr := run("render", "--profile", "web-lb", "--dist", n); rc != 0 {
				t.Errorf("render --dist %s: exit %d\n%s", n, rc, stderr)
			}
			rc, stderr := run("build", "--mirror", "http://127.0.0.1:1", "--format", d.Format, "--dist", n, "--out", t.TempDir())
			if rc == 0 || rc == 2 || strings.Contains(stderr, "--dist") {
				t.Errorf("build --format %s --dist %s: exit %d (want the fetch to fail, not the dist)\n%s", d.Format, n, rc, stderr)
			}
			if d.Format == "deb" {
				rc, stderr := run("build", "--mirror", "http://127.0.0.1:1", "--format", "rpm", "--dist", n, "--out", t.TempDir())
				if rc != 2 || !strings.Contains(stderr, "--dist") {
					t.Errorf("an RPM for %s: exit %d\n%s", n, rc, stderr)
				}
			}
		})
	}
	if rc, stderr := run("render", "--profile", "web-lb", "--dist", "el5"); rc != 2 || !strings.Contains(stderr, "unknown dist") {
		t.Errorf("render --dist el5: exit %d\n%s", rc, stderr)
	}
}
