package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"harpy/hint"
	"harpy/internal/within"
	"harpy/safefile"
)

// TestHostHeadersBounded: a header that is a FIFO or a device reads as absent at once.
func TestHostHeadersBounded(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "opensslv.h")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero"} {
		got := within.Run(t, 5*time.Second, func() string { return openSSLVersion(p) + luaVersion(p) })
		if got != "" {
			t.Errorf("%s: version %q", p, got)
		}
	}
}

// TestFetchLocalBounded: --source and file:// mirrors read only regular files below the
// tarball limit; the error is one line naming the path, and nothing enters the cache.
func TestFetchLocalBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.tar.gz")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.tar.gz")
	os.WriteFile(huge, nil, 0o644)
	if err := os.Truncate(huge, MaxTarball+1); err != nil { // sparse
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.tar.gz")
	os.WriteFile(small, make([]byte, 2048), 0o644)
	want := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name, path, why string
		is              error
		limit           int64
	}{
		{"device", "/dev/zero", "not a regular file (a character device)", safefile.ErrNotRegular, 0},
		{"fifo", fifo, "not a regular file (a named pipe)", safefile.ErrNotRegular, 0},
		{"directory", dir, "not a regular file (a directory)", safefile.ErrNotRegular, 0},
		{"too large", huge, "file too large", safefile.ErrTooLarge, 0},
		{"above a set limit", small, "file too large", safefile.ErrTooLarge, 1024},
	} {
		for _, how := range []string{"--source", "file:// mirror"} {
			t.Run(tc.name+" as "+how, func(t *testing.T) {
				s := fetchState(t, "9.9.1", want)
				s.Opts.Fetcher = &Fetcher{MaxTarball: tc.limit}
				if how == "--source" {
					s.Opts.Source = tc.path
				} else {
					// The mirror's haproxy-9.9.1.tar.gz is a link to the file under test.
					m := t.TempDir()
					if err := os.Symlink(tc.path, filepath.Join(m, "haproxy-9.9.1.tar.gz")); err != nil {
						t.Fatal(err)
					}
					s.Opts.Mirrors = []string{"file://" + m}
				}
				err := within.Run(t, 5*time.Second, func() error { _, err := Fetch(context.Background(), s); return err })
				if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.why) || hint.Of(err) == "" {
					t.Fatalf("err = %q (hint %q), want one line with %q and a hint", err, hint.Of(err), tc.why)
				}
				if !errors.Is(err, tc.is) {
					t.Errorf("err = %v, want %v", err, tc.is)
				}
				if how == "--source" && !hint.IsInput(err) {
					t.Errorf("a bad --source is bad input: %v", err)
				}
				if files := cacheFiles(t, s); len(files) != 0 {
					t.Errorf("cache holds %v", files)
				}
			})
		}
	}
}
