package packaging

import (
	"harpy/distro"
	"os"
	"strings"
	"testing"
)

// On this machine (Debian 12, as CI), HostDist reads the real /etc/os-release.
func TestHostDist(t *testing.T) {
	want, _ := distro.Host()
	got, err := HostDist()
	if err != nil || got != want {
		t.Fatalf("HostDist() = %q, %v; want %q", got, err, want)
	}
	if n := DistNote("el9", "deb12"); !strings.Contains(n, "el9") || !strings.Contains(n, "deb12") {
		t.Errorf("DistNote: %q", n)
	}
	if n := DistNote("el9", "el9"); n != "" {
		t.Errorf("DistNote for the host's own dist: %q", n)
	}
}

func TestElfRequiresNonELF(t *testing.T) {
	f := t.TempDir() + "/script"
	if err := os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if r, err := elfRequires(f); err != nil || r != nil {
		t.Errorf("elfRequires(shell script) = %v, %v", r, err)
	}
}
