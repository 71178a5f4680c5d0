package provision

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"harpy/profiles"
)

// BenchmarkInventory1000 reads an inventory of 1,000 hosts in 10 groups, each with its
// own override, and renders every host's config (the work before any host is touched).
func BenchmarkInventory1000(b *testing.B) {
	dir := b.TempDir()
	var inv strings.Builder
	inv.WriteString("[defaults]\nidentity_file = \"key\"\nknown_hosts = \"key\"\nhaproxy = \"2.6\"\ndist = \"debian\"\n")
	for g := range 10 {
		fmt.Fprintf(&inv, "[group.g%d]\nset = [\"global.maxconn=%d\"]\n", g, 1000+g)
	}
	for h := range 1000 {
		fmt.Fprintf(&inv, "[host.h%d]\naddress = \"10.0.%d.%d\"\ngroups = [\"g%d\"]\nset = [\"backend.app.servers.web10.address=10.1.%d.%d:80\"]\n", h, h/250, h%250, h%10, h/250, h%250)
	}
	os.WriteFile(filepath.Join(dir, "key"), []byte("x"), 0o600)
	file := filepath.Join(dir, "inv.toml")
	os.WriteFile(file, []byte(inv.String()), 0o644)
	b.ResetTimer()
	for b.Loop() {
		i, err := Load(b.Context(), file)
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range i.Hosts {
			if _, err := profiles.Render(h.Profile, profiles.Options{HAProxy: h.HAProxy, Dist: h.Dist}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
