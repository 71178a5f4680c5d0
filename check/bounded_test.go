package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"harpy/hint"
	"harpy/hversion"
	"harpy/internal/within"
	"harpy/safefile"
)

// oneLine fails unless err is a one-line error naming path, with a hint.
func oneLine(t *testing.T, err error, path, why string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, path) || !strings.Contains(msg, why) || hint.Of(err) == "" {
		t.Fatalf("err = %q (hint %q), want one line naming %s and %q, with a hint", msg, hint.Of(err), path, why)
	}
}

func TestReadConfigBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.cfg")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.cfg")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, safefile.MaxConfig+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, why string
		is        error
	}{
		{"/dev/zero", "a character device", safefile.ErrNotRegular},
		{fifo, "a named pipe", safefile.ErrNotRegular},
		{dir, "a directory", safefile.ErrNotRegular},
		{huge, "too large", safefile.ErrTooLarge},
		{filepath.Join(dir, "missing.cfg"), "no such file", os.ErrNotExist},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			for name, read := range map[string]func() error{
				"ReadConfig": func() error { _, err := ReadConfig(tc.path); return err },
				"LintFile":   func() error { _, err := LintFile(tc.path, hversion.MustParse("2.6")); return err },
			} {
				err := within.Run(t, 5*time.Second, read)
				oneLine(t, err, tc.path, tc.why)
				if !errors.Is(err, tc.is) || !hint.IsInput(err) {
					t.Errorf("%s: err = %v: want %v, marked as bad input", name, err, tc.is)
				}
			}
		})
	}
}

// fakeHAProxy writes a script that starts a child which sleeps, records the child's pid
// and waits: a wrapper that hangs, with a grandchild holding its output open.
func fakeHAProxy(t *testing.T) (bin, pidFile string) {
	dir := t.TempDir()
	bin, pidFile = filepath.Join(dir, "haproxy"), filepath.Join(dir, "child.pid")
	script := "#!/bin/sh\nsleep 30 &\necho $! > " + pidFile + "\nwait\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, pidFile
}

// gone reports whether pid has exited (absent or a zombie) within a second.
func gone(pid int) bool {
	for range 50 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		if _, rest, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(rest, "Z") {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func TestHAProxyTimeout(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(cfg, []byte("defaults\n    mode http\n"), 0o644)
	for _, tc := range []struct {
		name    string
		run     func(ctx context.Context, bin string) error
		cancel  time.Duration // cancel the caller's context after this long; 0: never
		want    string
		wantCtx bool
	}{
		{name: "check times out", want: "did not finish within 300ms and was killed",
			run: func(ctx context.Context, bin string) error {
				_, err := haproxyOutput(ctx, bin, cfg, 300*time.Millisecond)
				return err
			}},
		{name: "check interrupted", cancel: 300 * time.Millisecond, want: "interrupted", wantCtx: true,
			run: func(ctx context.Context, bin string) error {
				_, err := haproxyOutput(ctx, bin, cfg, time.Minute)
				return err
			}},
		{name: "version times out", want: "did not answer within 300ms and was killed",
			run: func(ctx context.Context, bin string) error {
				_, err := binaryVersion(ctx, bin, 300*time.Millisecond)
				return err
			}},
		{name: "version interrupted", cancel: 300 * time.Millisecond, want: "interrupted", wantCtx: true,
			run: func(ctx context.Context, bin string) error {
				_, err := binaryVersion(ctx, bin, time.Minute)
				return err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, pidFile := fakeHAProxy(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			start := time.Now()
			err := within.Run(t, 5*time.Second, func() error { return tc.run(ctx, bin) })
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want one line with %q", err, tc.want)
			}
			if tc.wantCtx != errors.Is(err, context.Canceled) {
				t.Errorf("err = %v: context.Canceled in chain is %v, want %v", err, !tc.wantCtx, tc.wantCtx)
			}
			if !tc.wantCtx && hint.Of(err) == "" {
				t.Errorf("no hint: %v", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("returned after %s", d)
			}
			b, _ := os.ReadFile(pidFile)
			pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
			if perr != nil {
				t.Fatalf("fake haproxy never started its child: %q", b)
			}
			if !gone(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("the check's child %d outlived the timeout", pid)
			}
		})
	}
}
