package watch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"harpy/apply"
	"harpy/discovery"
	"harpy/hint"
	"harpy/hversion"
	"harpy/internal/testenv"
)

// TestFilePersister: the servers a watcher runs land in haproxy.cfg, checked by the real
// haproxy -c, and nothing else of the profile changes.
func TestFilePersister(t *testing.T) {
	haproxy := testenv.Tool(t, "haproxy")
	root := t.TempDir()
	f := &FilePersister{Profile: "rds-read-pool", HAProxy: hversion.MustParse("2.6"),
		Target: apply.LocalTarget{Root: root}, Valid: apply.HAProxy{Binary: haproxy}}
	servers := map[string][]discovery.Target{"mysql": {
		tgt("db2.test_3307", "127.0.0.12", 3307, 85, false),
		tgt("db1.test_3306", "127.0.0.11", 3306, 256, false),
		tgt("spare_3306", "127.0.0.13", 3306, 1, true),
	}}
	if err := f.Persist(context.Background(), servers); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "etc/haproxy/haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	for _, want := range []string{"server db1.test_3306 127.0.0.11:3306 ", "server db2.test_3307 127.0.0.12:3307 ", "weight 85", "server spare_3306 127.0.0.13:3306 ", "backup"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("haproxy.cfg lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "replica-1") || strings.Index(cfg, "db1.test") > strings.Index(cfg, "db2.test") {
		t.Errorf("old servers kept or order unstable:\n%s", cfg)
	}
	// A backend the profile lacks is bad input, and the file stays as it was.
	err = f.Persist(context.Background(), map[string][]discovery.Target{"nosuch": nil})
	if err == nil || !hint.IsInput(err) {
		t.Errorf("unknown backend: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(root, "etc/haproxy/haproxy.cfg")); string(after) != cfg {
		t.Error("the file changed after a refused persist")
	}
}
