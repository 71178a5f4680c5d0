package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"harpy/hint"
)

func TestUnpackChainOfSymlinksCannotEscape(t *testing.T) {
	// os.Root alone stops the twelve links (it follows at most 8); the shorter chains get
	// past it and are stopped by the resolution of each link over the tree on disk.
	for _, links := range []int{1, 5, 7, 8, 12} {
		for _, up := range []int{1, 2, links, links + 1} {
			err := checkUnpack(t, chainAttack(links, up))
			if err == nil {
				t.Fatalf("links=%d up=%d: the chain attack was accepted", links, up)
			}
			if !strings.Contains(err.Error(), "hostile tarball") || !strings.Contains(hint.Of(err), "not an HAProxy release") {
				t.Errorf("links=%d up=%d: err = %v, hint %q", links, up, err, hint.Of(err))
			}
		}
	}
}

func TestUnpackMembers(t *testing.T) {
	for _, tc := range []struct {
		name, prog string
		want       string // "" for success
	}{
		{"symlink made before its target, as in real releases", "l reg-tests/checks/common.pem ../ssl/common.pem\nd reg-tests/ssl\nf reg-tests/ssl/common.pem pem\n", ""},
		{"hard link to a file", "f a body\nh b a\n", ""},
		{"dangling link inside", "l l missing/file\n", ""},
		{"write through an inner directory link", "d real\nl l real\nf l/f body\n", ""},
		{"absolute link to the sentinel", "l a @S\nf a/PWNED x\n", "absolute symlink"},
		{"link climbing by name", "l a ../sentinel\n", "points outside"},
		{"link climbing through a link to .", "l a .\nl b a/a/../sentinel\n", "points outside"},
		{"link re-aimed by a later link", "l x d/..\nl a .\nl d a/a\n", "points outside"},
		{"dangling link that would climb", "l l missing/../../x\n", "points outside"},
		{"symlink loop", "l x y\nl y x\n", "loop"},
		{"file over a link", "l f target\nf f replaced\n", "taken by an earlier member"},
		{"link over a file", "f f x\nl f target\n", "taken by an earlier member"},
		{"hard link to a symlink", "d sub\nl sub/l ../x\nf x body\nh top sub/l\n", "not a regular file"},
		{"hard link outside", "h hl !etc/passwd\n", "leaves the tree"},
		{"fifo", "p fifo\n", "special file"},
		{"dotdot member", "f ../escape x\n", "climbs out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkUnpack(t, tc.prog)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), "hostile tarball"):
				t.Errorf("err = %v: not named hostile", err)
			}
		})
	}
}

func TestUnpackErrorBlamesTheRightThing(t *testing.T) {
	pe := func(e error) error { return &fs.PathError{Op: "openat", Path: "src/x.c", Err: e} }
	for _, tc := range []struct {
		name   string
		err    error
		inErr  string
		inHint string
	}{
		{"disk full", pe(syscall.ENOSPC), "no space left", "not at fault"},
		{"quota", pe(syscall.EDQUOT), "quota", "not at fault"},
		{"permission", pe(syscall.EACCES), "permission denied", "not at fault"},
		{"read-only", pe(syscall.EROFS), "read-only", "not at fault"},
		{"hostile", hostile("haproxy-1/x", "refusing symlink"), "hostile tarball", "not an HAProxy release"},
		{"damaged", errors.New("read archive: unexpected EOF"), "unexpected EOF", "not a clean HAProxy release"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := unpackError("/c/haproxy-3.0.11.tar.gz", "/w/src", tc.err)
			if !strings.Contains(err.Error(), tc.inErr) || !strings.Contains(err.Error(), "haproxy-3.0.11.tar.gz") {
				t.Errorf("err = %v", err)
			}
			if h := hint.Of(err); !strings.Contains(h, tc.inHint) {
				t.Errorf("hint = %q, want %q", h, tc.inHint)
			}
			if isEnvError(tc.err) && strings.Contains(hint.Of(err), "tarball;") {
				t.Errorf("a disk error blames the tarball: %q", hint.Of(err))
			}
		})
	}
}

func TestUnpackDamagedTarball(t *testing.T) {
	good := programTarball("f a body\n", "")
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"not gzip", []byte("<html>mirror error page</html>")},
		{"truncated", good[:len(good)/2]},
		{"empty archive", programTarball("", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tgz := filepath.Join(dir, "haproxy-1.tar.gz")
			os.WriteFile(tgz, tc.data, 0o644)
			err := Unpack(context.Background(), tgz, filepath.Join(dir, "src"))
			if err == nil || !strings.Contains(hint.Of(err), "not a clean HAProxy release") {
				t.Fatalf("err = %v, hint %q", err, hint.Of(err))
			}
			if _, err := os.Stat(filepath.Join(dir, "src")); !os.IsNotExist(err) {
				t.Error("tree left behind")
			}
		})
	}
}

// Errors before the first member blame neither the tarball nor each other.
func TestUnpackSetupErrorsHaveTheirOwnHints(t *testing.T) {
	dir := t.TempDir()
	tgz := filepath.Join(dir, "haproxy-1.tar.gz")
	os.WriteFile(tgz, programTarball("f a body\n", ""), 0o644)
	err := Unpack(context.Background(), filepath.Join(dir, "missing.tar.gz"), filepath.Join(dir, "src"))
	if err == nil || !strings.Contains(hint.Of(err), "--source") {
		t.Errorf("missing tarball: err %v, hint %q", err, hint.Of(err))
	}
	os.Mkdir(filepath.Join(dir, "exists"), 0o755)
	os.WriteFile(filepath.Join(dir, "exists", "mine"), nil, 0o644)
	err = Unpack(context.Background(), tgz, filepath.Join(dir, "exists"))
	if err == nil || !strings.Contains(hint.Of(err), "not at fault") {
		t.Errorf("existing destination: err %v, hint %q", err, hint.Of(err))
	}
	if _, serr := os.Stat(filepath.Join(dir, "exists", "mine")); serr != nil {
		t.Error("an existing destination was removed")
	}
}

// A full disk during unpack says so and does not call the tarball bad. The disk is a
// 256 KiB tmpfs, mounted in a child process's own mount namespace.
func TestUnpackOnAFullDiskBlamesTheDisk(t *testing.T) {
	if dir := os.Getenv("HARPY_TEST_FULL_DISK"); dir != "" {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
			t.Skipf("cannot mount a small tmpfs here: %v", err)
		}
		tgz := filepath.Join(filepath.Dir(dir), "haproxy-1.tar.gz")
		err := Unpack(context.Background(), tgz, filepath.Join(dir, "src"))
		if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(hint.Of(err), "not at fault") || strings.Contains(err.Error(), "hostile") {
			t.Fatalf("err = %v, hint %q", err, hint.Of(err))
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("the full disk still holds %d entries", len(ents))
		}
		return
	}
	base := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	big := strings.Repeat("haproxy\n", 128<<10) // 1 MiB
	tw.WriteHeader(&tar.Header{Name: "haproxy-1/src/big.c", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(big))})
	tw.Write([]byte(big))
	tw.Close()
	zw.Close()
	os.WriteFile(filepath.Join(base, "haproxy-1.tar.gz"), buf.Bytes(), 0o644)
	disk := filepath.Join(base, "disk")
	os.Mkdir(disk, 0o755)
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnpackOnAFullDiskBlamesTheDisk$", "-test.v")
	cmd.Env = append(os.Environ(), "HARPY_TEST_FULL_DISK="+disk)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(err.Error(), "operation not permitted") {
		t.Skipf("no mount namespace here: %v", err)
	}
	if err != nil || strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child did not pass:\n%s", out)
	}
}
