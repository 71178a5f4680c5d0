package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An unpack program is the text of a tarball, one member a line, so that seeds are
// readable and the fuzzer's mutations stay meaningful:
//
//	d NAME            directory
//	f NAME [BODY]     regular file
//	l NAME TARGET     symlink; in TARGET "@S" is the absolute path of the sentinel dir
//	h NAME TARGET     hard link to the member TARGET
//	p NAME            fifo
//
// NAME is put under the top directory "haproxy-1/" unless it starts with "!".
func programTarball(prog, sentinel string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for i, line := range strings.Split(prog, "\n") {
		if i >= 80 {
			break
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f[0]) != 1 {
			continue
		}
		name := f[1]
		if raw, ok := strings.CutPrefix(name, "!"); ok {
			name = raw
		} else {
			name = "haproxy-1/" + name
		}
		arg := ""
		if len(f) > 2 {
			arg = strings.ReplaceAll(f[2], "@S", sentinel)
		}
		h := &tar.Header{Name: name, Mode: 0o644}
		switch f[0] {
		case "d":
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case "f":
			h.Typeflag, h.Size = tar.TypeReg, int64(len(arg))
		case "l":
			h.Typeflag, h.Linkname = tar.TypeSymlink, arg
		case "h":
			h.Typeflag, h.Linkname = tar.TypeLink, arg
			if !strings.HasPrefix(arg, "!") {
				h.Linkname = "haproxy-1/" + arg
			} else {
				h.Linkname = arg[1:]
			}
		case "p":
			h.Typeflag = tar.TypeFifo
		default:
			continue
		}
		if tw.WriteHeader(h) != nil {
			continue
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(arg))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// chainAttack is defect 2 of issue 9: links to "." (twelve in the report), each fine by
// name, then a link whose "../" climbs from the real root although its name is deep.
func chainAttack(links, up int) string {
	var b strings.Builder
	dir := ""
	for i := 1; i <= links; i++ {
		fmt.Fprintf(&b, "l %sa%d .\n", dir, i)
		dir += fmt.Sprintf("a%d/", i)
	}
	fmt.Fprintf(&b, "l %sx %ssentinel\n", dir, strings.Repeat("../", up))
	b.WriteString("f x/PWNED pwned\n")
	return b.String()
}

type fsEntry struct {
	mode fs.FileMode
	sum  [32]byte
	link string
	ino  uint64
}

// snapshot records everything under dir on disk except the subtree skip.
func snapshot(t *testing.T, dir, skip string) map[string]fsEntry {
	t.Helper()
	m := map[string]fsEntry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := fsEntry{mode: fi.Mode(), ino: fi.Sys().(*syscall.Stat_t).Ino}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.sum = sha256.Sum256(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			e.link, _ = os.Readlink(p)
		}
		m[p] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// leavesTree follows the symlink at p (inside the real directory tree) component by
// component with plain system calls on absolute paths, independently of os.Root, and
// says where the resolution first steps outside tree, if it does.
func leavesTree(tree, p string) string {
	inside := func(q string) bool { return q == tree || strings.HasPrefix(q, tree+"/") }
	cur := filepath.Dir(p)
	todo := []string{filepath.Base(p)}
	for hops := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
		default:
			next := filepath.Join(cur, part)
			fi, err := os.Lstat(next)
			if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				if hops++; hops > 40 {
					return "" // a loop reaches nothing
				}
				target, _ := os.Readlink(next)
				if filepath.IsAbs(target) {
					return "absolute " + target
				}
				todo = append(strings.Split(target, "/"), todo...)
				continue
			}
			cur = next
		}
		if !inside(cur) {
			return cur
		}
	}
	return ""
}

// checkUnpack runs Unpack on the program and checks the promise on the file system.
func checkUnpack(t *testing.T, prog string) error {
	t.Helper()
	base := t.TempDir()
	// The tree is deep inside base, so that climbing links land in base, where they are seen.
	work := filepath.Join(base, "d1", "d2", "d3", "d4", "d5", "d6")
	sentinel := filepath.Join(work, "sentinel")
	if err := os.MkdirAll(sentinel, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(sentinel, "keep"), []byte("keep"), 0o644)
	os.WriteFile(filepath.Join(base, "d1", "victim"), []byte("victim"), 0o644)
	tgz := filepath.Join(work, "x.tar.gz")
	if err := os.WriteFile(tgz, programTarball(prog, sentinel), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(work, "tree")
	parent := filepath.Dir(base)
	aboveBefore, _ := os.ReadDir(parent)
	before := snapshot(t, base, tree)

	err := Unpack(context.Background(), tgz, tree)

	after := snapshot(t, base, tree)
	for p, e := range after {
		if b, ok := before[p]; !ok {
			t.Errorf("created outside the tree: %s (%v)", p, e.mode)
		} else if b != e {
			t.Errorf("changed outside the tree: %s", p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("removed outside the tree: %s", p)
		}
	}
	if aboveAfter, _ := os.ReadDir(parent); len(aboveAfter) != len(aboveBefore) {
		t.Errorf("entries appeared above the test's directory: %d then %d", len(aboveBefore), len(aboveAfter))
	}
	if err != nil {
		if _, serr := os.Lstat(tree); !os.IsNotExist(serr) {
			t.Errorf("refused (%v) but the tree is left behind", err)
		}
		return err
	}
	outsideInodes := map[uint64]string{}
	for p, e := range before {
		if e.mode.IsRegular() {
			outsideInodes[e.ino] = p
		}
	}
	ferr := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch m := fi.Mode(); {
		case m&fs.ModeSymlink != 0:
			if where := leavesTree(tree, p); where != "" {
				target, _ := os.Readlink(p)
				t.Errorf("accepted a symlink that leaves the tree: %s -> %s (reaches %s)", p, target, where)
			}
			if real, err := filepath.EvalSymlinks(p); err == nil && real != tree && !strings.HasPrefix(real, tree+"/") {
				t.Errorf("symlink %s resolves to %s, outside the tree", p, real)
			}
		case m.IsRegular():
			if o, ok := outsideInodes[fi.Sys().(*syscall.Stat_t).Ino]; ok {
				t.Errorf("%s is a hard link to %s, outside the tree", p, o)
			}
		case m.IsDir():
		default:
			t.Errorf("special file in the tree: %s (%v)", p, m)
		}
		return nil
	})
	if ferr != nil {
		t.Fatal(ferr)
	}
	return nil
}

func FuzzUnpack(f *testing.F) {
	for _, seed := range []string{
		chainAttack(12, 1),
		chainAttack(12, 13),
		chainAttack(5, 1),
		chainAttack(5, 3),
		"d src\nf src/a.c int x;\nl l src/a.c\nh hl src/a.c\n",
		"l reg-tests/checks/common.pem ../ssl/common.pem\nf reg-tests/ssl/common.pem pem\n",
		"l a @S\nf a/PWNED x\n",
		"l a ../sentinel\nf a/PWNED x\n",
		"l d/x ../../sentinel\n",
		"l a .\nl b a/a/a/../sentinel\n",
		"l x d/..\nl a .\nl d a/a\nf x/PWNED x\n",
		"l dangling nowhere/../..\n",
		"l x y\nl y x\n",
		"l f target\nf f replaced\n",
		"f f x\nl f ../sentinel\n",
		"d sub\nl sub/l ../x\nf x body\nh top sub/l\n",
		"h hl !etc/passwd\n",
		"p fifo\n",
		"f ../escape x\n",
		"f !/abs x\n",
		"f !other/x x\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, prog string) {
		if len(prog) > 4096 {
			return
		}
		checkUnpack(t, prog)
	})
}
