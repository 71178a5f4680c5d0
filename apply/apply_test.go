package apply

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"harpy/check"
	"harpy/internal/testenv"
)

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		// safefile's staged copies: ".NAME.*.tmp".
		if err == nil && strings.HasPrefix(d.Name(), ".") && strings.HasSuffix(d.Name(), ".tmp") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestWriteChecked(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	var seen map[string]string
	checker := func(_ context.Context, staged map[string]string) error {
		seen = staged
		for name, p := range staged {
			if filepath.Dir(p) != filepath.Dir(filepath.Join(dir, name)) {
				t.Errorf("%s staged in %s, not beside its target", name, p)
			}
		}
		return nil
	}
	res, err := WriteChecked(t.Context(), dir, []File{
		{Name: "haproxy.cfg", Data: []byte("new\n"), Mode: 0o644},
		{Name: "rsyslog.d/49-haproxy.conf", Data: []byte("r\n")},
	}, checker)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 2 || len(seen) != 2 {
		t.Errorf("written %v, checker saw %v", res.Written, seen)
	}
	if read(t, cfg) != "new\n" {
		t.Error("not replaced")
	}
	if fi, _ := os.Stat(cfg); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the existing 0640 kept", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Join(dir, "rsyslog.d/49-haproxy.conf")); fi.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", fi.Mode().Perm())
	}
	// Same content again: nothing rewritten, the checker sees the installed file.
	res, err = WriteChecked(t.Context(), dir, []File{{Name: "haproxy.cfg", Data: []byte("new\n")}}, checker)
	if err != nil || len(res.Unchanged) != 1 || len(res.Written) != 0 || seen["haproxy.cfg"] != cfg {
		t.Errorf("unchanged: %+v %v %v", res, err, seen)
	}
	// A failing check replaces nothing and leaves no staged file behind.
	boom := errors.New("bad config")
	_, err = WriteChecked(t.Context(), dir, []File{{Name: "haproxy.cfg", Data: []byte("broken\n")}, {Name: "other", Data: []byte("x")}},
		func(context.Context, map[string]string) error { return boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "nothing was replaced") {
		t.Errorf("err %v", err)
	}
	if read(t, cfg) != "new\n" {
		t.Error("a failed check replaced the good file")
	}
	if _, err := os.Stat(filepath.Join(dir, "other")); err == nil {
		t.Error("a failed check installed another file")
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("staged files left: %v", l)
	}
	// A target that is a directory is refused before anything is written.
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteChecked(t.Context(), dir, []File{{Name: "haproxy.cfg", Data: []byte("n2\n")}, {Name: "adir", Data: []byte("x")}}, nil); err == nil {
		t.Error("wrote over a directory")
	}
	if read(t, cfg) != "new\n" || len(leftovers(t, dir)) > 0 {
		t.Error("partial write")
	}
}

// TestKeepsOwner: a root:haproxy 0640 config stays root:haproxy 0640.
func TestKeepsOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("needs root to create a file owned by someone else (CI runs as root)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(cfg, 0, 4242); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteChecked(t.Context(), dir, []File{{Name: "haproxy.cfg", Data: []byte("new\n")}}, nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 0 || st.Gid != 4242 || fi.Mode().Perm() != 0o640 {
		t.Errorf("owner %d:%d mode %v, want 0:4242 0640", st.Uid, st.Gid, fi.Mode().Perm())
	}
}

// TestWriteCheckedWithHAProxy: the real haproxy -c stands between a bad config and the file.
func TestWriteCheckedWithHAProxy(t *testing.T) {
	bin := testenv.Tool(t, "/usr/sbin/haproxy")
	dir := t.TempDir()
	good := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n\nlisten l\n    bind 127.0.0.1:18095\n    server s 127.0.0.1:18094\n"
	haproxyCheck := func(ctx context.Context, staged map[string]string) error {
		return check.HAProxy(ctx, bin, staged["haproxy.cfg"])
	}
	if _, err := WriteChecked(t.Context(), dir, []File{{Name: "haproxy.cfg", Data: []byte(good)}}, haproxyCheck); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(good, "listen l", "listen l\n    reqrep ^x y", 1)
	_, err := WriteChecked(t.Context(), dir, []File{{Name: "haproxy.cfg", Data: []byte(bad)}}, haproxyCheck)
	var he *check.HAProxyError
	if !errors.As(err, &he) || !strings.Contains(he.Output, "reqrep") {
		t.Fatalf("want haproxy's refusal, got %v", err)
	}
	if read(t, filepath.Join(dir, "haproxy.cfg")) != good || len(leftovers(t, dir)) > 0 {
		t.Error("the refused config touched the directory")
	}
}
