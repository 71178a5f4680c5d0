package packaging_test

import (
	"path/filepath"
	"slices"
	"testing"

	"harpy/internal/testenv"
	"harpy/packaging"
)

// TestMissing: the binary harpy builds here (Debian 12) needs nothing deb12 lacks, and
// exactly what the reference notes say el9 lacks: Debian's Lua soname and libcrypt.so.1.
func TestMissing(t *testing.T) {
	bin := filepath.Join(testenv.Staged(t, "2.6.12"), "usr/sbin/haproxy")
	if m, ok, err := packaging.Missing(bin, "deb12"); err != nil || !ok || len(m) != 0 {
		t.Errorf("deb12: %v %v %v", m, ok, err)
	}
	m, ok, err := packaging.Missing(bin, "el9")
	if err != nil || !ok || !slices.Contains(m, "liblua5.4.so.0") || !slices.Contains(m, "libcrypt.so.1") || slices.Contains(m, "libssl.so.3") {
		t.Errorf("el9: %v %v %v", m, ok, err)
	}
	if m, _, _ := packaging.Missing(bin, "el7"); !slices.Contains(m, "libssl.so.3") {
		t.Errorf("el7 (OpenSSL 1.0.2) lacks libssl.so.3: %v", m)
	}
	if _, ok, err := packaging.Missing(bin, "deb13"); ok || err != nil {
		t.Errorf("deb13 has no data: ok %v, %v", ok, err)
	}
}
