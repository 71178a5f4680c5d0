package specs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"harpy/hint"
	"harpy/safefile"
)

// TestUserFilesBounded: a recipe or a patch the user names is read only if it is a
// regular file below its limit; a device, a FIFO or a directory is refused at once (never
// read to exhaustion, never waited on), with one line naming the path, a hint, and the
// bad-input mark (exit 2).
func TestUserFilesBounded(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, f func(p string) error) string {
		p := filepath.Join(dir, name)
		if err := f(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := func(p string) error { return syscall.Mkfifo(p, 0o600) }
	sparse := func(size int64) func(string) error {
		return func(p string) error {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return err
			}
			return os.Truncate(p, size) // no disk used
		}
	}
	toZero := func(p string) error { return os.Symlink("/dev/zero", p) }
	recipe := func(patch string) func(string) error {
		return func(p string) error {
			return os.WriteFile(p, []byte("[[release]]\nversion = \"2.6.14\"\nsha256 = \""+strings.Repeat("b", 64)+"\"\npatches = [\""+patch+"\"]\n"), 0o644)
		}
	}
	mk("fifo.patch", fifo)
	mk("zero.patch", toZero)
	mk("huge.patch", sparse(safefile.MaxPatch+1))
	os.Mkdir(filepath.Join(dir, "dir.patch"), 0o755)

	for _, tc := range []struct {
		name, file, why string
		is              error
	}{
		{"recipe /dev/zero", "/dev/zero", "a character device", safefile.ErrNotRegular},
		{"recipe fifo", mk("fifo.toml", fifo), "a named pipe", safefile.ErrNotRegular},
		{"recipe link to /dev/zero", mk("zero.toml", toZero), "a character device", safefile.ErrNotRegular},
		{"recipe directory", dir, "a directory", safefile.ErrNotRegular},
		{"recipe too large", mk("huge.toml", sparse(safefile.MaxConfig+1)), "too large", safefile.ErrTooLarge},
		{"recipe missing", filepath.Join(dir, "missing.toml"), "no such file", os.ErrNotExist},
		{"patch fifo", mk("r1.toml", recipe("fifo.patch")), "fifo.patch: not a regular file (a named pipe)", safefile.ErrNotRegular},
		{"patch link to /dev/zero", mk("r2.toml", recipe("zero.patch")), "zero.patch: not a regular file (a character device)", safefile.ErrNotRegular},
		{"patch directory", mk("r3.toml", recipe("dir.patch")), "dir.patch: not a regular file (a directory)", safefile.ErrNotRegular},
		{"patch too large", mk("r4.toml", recipe("huge.patch")), "huge.patch: file too large", safefile.ErrTooLarge},
		{"patch missing", mk("r5.toml", recipe("nope.patch")), "patch nope.patch", os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := Load(tc.file); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Load still running after 5s")
			}
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("err = %q, want one line naming %s and %q", err, tc.file, tc.why)
			}
			if tc.is == os.ErrNotExist && strings.HasPrefix(tc.name, "patch") && !strings.Contains(hint.Of(err), "2.2-openssl3-ssl-op-no-tlsv1_3.patch") {
				t.Errorf("hint %q does not list the embedded patches", hint.Of(err))
			}
			if !errors.Is(err, tc.is) || !hint.IsInput(err) || hint.Of(err) == "" {
				t.Errorf("err = %v (hint %q): want %v, marked as bad input, with a hint", err, hint.Of(err), tc.is)
			}
		})
	}
}
