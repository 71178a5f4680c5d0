package build_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"harpy/build"
	"harpy/internal/testenv"
)

// The real release tarballs unpack to exactly what GNU tar makes of them: the same
// files, contents and symlinks (their reg-tests link to ../ssl before ssl/ exists).
func TestUnpackRealTarballsLikeTar(t *testing.T) {
	for _, version := range []string{"2.2.9", "2.6.12", "3.0.11"} {
		t.Run(version, func(t *testing.T) {
			tgz := testenv.Tarball(t, version)
			dir := t.TempDir()
			ours := filepath.Join(dir, "ours")
			if err := build.Unpack(context.Background(), tgz, ours); err != nil {
				t.Fatal(err)
			}
			theirs := filepath.Join(dir, "tar")
			os.Mkdir(theirs, 0o755)
			if out, err := exec.Command("tar", "-xzf", tgz, "-C", theirs, "--strip-components=1").CombinedOutput(); err != nil {
				t.Fatalf("tar: %v %s", err, out)
			}
			a, b := treeList(t, ours), treeList(t, theirs)
			if len(a) != len(b) {
				t.Errorf("%d entries, tar made %d", len(a), len(b))
			}
			links := 0
			for p, want := range b {
				if got, ok := a[p]; !ok {
					t.Errorf("missing %s", p)
				} else if got != want {
					t.Errorf("%s: %q, tar made %q", p, got, want)
				}
				if strings.HasPrefix(want, "-> ") {
					links++
				}
			}
			if links == 0 {
				t.Error("no symlinks: the test lost its point")
			}
		})
	}
}

// treeList maps each path to its content (files) or "-> target" (symlinks).
func treeList(t *testing.T, root string) map[string]string {
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			m[rel] = "-> " + l
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = string(b)
		default:
			m[rel] = "dir"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
