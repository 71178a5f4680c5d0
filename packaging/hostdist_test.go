package packaging

import (
	"os"
	"strings"
	"testing"
)

func TestParseOSRelease(t *testing.T) {
	for _, tc := range []struct {
		name, text, want, err string
	}{
		{"debian 12", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n", "deb12", ""},
		{"rhel 9", "ID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\n", "el9", ""},
		{"rocky 8", "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"8.10\"\n", "el8", ""},
		{"almalinux 9", "ID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.5\"\n", "el9", ""},
		{"centos 7", "NAME=\"CentOS Linux\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\n", "el7", ""},
		{"oracle 8", "ID=\"ol\"\nID_LIKE=\"fedora rhel\"\nVERSION_ID=\"8.9\"\n", "el8", ""},
		{"ubuntu", "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n", "ubuntu22.04", ""},
		{"fedora", "ID=fedora\nVERSION_ID=40\n", "", "Fedora 40 is not an el release"},
		{"alpine", "ID=alpine\nVERSION_ID=3.20.0\n", "", `unknown system ID="alpine"`},
		{"empty", "", "", "unknown system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOSRelease([]byte(tc.text))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %q, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// On this machine (Debian 12, as CI), HostDist reads the real /etc/os-release.
func TestHostDist(t *testing.T) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := parseOSRelease(b)
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
