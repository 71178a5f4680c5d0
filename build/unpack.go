package build

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"harpy/hint"
)

type unpackStep struct{}

func (unpackStep) String() string     { return "unpack" }
func (unpackStep) Skip(s *State) bool { return s.cached() }
func (unpackStep) Run(ctx context.Context, s *State) error {
	dst := filepath.Join(s.Work, "src")
	if err := Unpack(ctx, s.Tarball, dst); err != nil {
		return err
	}
	s.Src = dst
	return nil
}

// Limits of what a release tarball may unpack to: far above any HAProxy release (about
// 1,500 members and 30 MB), far below what would fill a disk or exhaust inodes.
const (
	maxUnpackMembers = 100_000
	maxUnpackBytes   = 2 << 30
	maxSymlinkHops   = 40 // as Linux's MAXSYMLINKS
)

// hostileError is a refusal of the archive's content: something no release tarball
// holds, and which would write, or point, outside the tree.
type hostileError struct{ member, why string }

func (e *hostileError) Error() string { return fmt.Sprintf("member %q: %s", e.member, e.why) }

func hostile(member, format string, args ...any) error {
	return &hostileError{member: member, why: fmt.Sprintf(format, args...)}
}

// Unpack extracts a release tarball into dst (which must not exist), dropping the
// top-level directory. Every path is resolved by the kernel against the tree's own root
// (os.Root: openat, one component at a time, symlinks followed only inside), so no member
// can write outside dst whatever links came before it. Absolute symlinks, symlinks that
// resolve outside the tree (checked when made, and again over the finished tree on disk),
// "..", hard links to anything but a regular file, devices and fifos are refused. On any
// error dst is removed, so no half-extracted tree is left.
func Unpack(ctx context.Context, tarball, dst string) (err error) {
	f, err := os.Open(tarball)
	if err != nil {
		return hint.With(fmt.Errorf("open tarball: %w", err), "run again to fetch it into the cache, or pass --source FILE")
	}
	defer f.Close()
	if err := os.Mkdir(dst, 0o755); err != nil {
		return hint.With(fmt.Errorf("unpack %s: %w", filepath.Base(tarball), err), "the tarball is not at fault: %s must be a new directory in a writable place", dst)
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		os.RemoveAll(dst)
		return unpackError(tarball, dst, err)
	}
	defer func() {
		root.Close()
		if err != nil {
			os.RemoveAll(dst)
			err = unpackError(tarball, dst, err)
		}
	}()
	if err := extract(ctx, f, root); err != nil {
		return err
	}
	// The proof: whatever the order of the members, every symlink now on disk resolves
	// inside the tree.
	return checkTree(root)
}

// unpackError names the tarball and blames the right thing: the archive (hostile or
// damaged), or the disk and its permissions.
func unpackError(tarball, dst string, err error) error {
	name := filepath.Base(tarball)
	var h *hostileError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", name, err)
	case errors.As(err, &h):
		return hint.With(fmt.Errorf("%s: hostile tarball: %w", name, err),
			"this is not an HAProxy release: it tries to reach outside its tree; delete it, get the release from upstream or a mirror you trust, and pin its sha256 with --sha256")
	case isEnvError(err):
		return hint.With(fmt.Errorf("%s: unpack into %s: %w", name, dst, err),
			"the tarball is not at fault: free disk space (or inodes) under %s, or make it writable", filepath.Dir(dst))
	}
	return hint.With(fmt.Errorf("%s: %w", name, err),
		"this is not a clean HAProxy release tarball; get it again from upstream or a trusted mirror")
}

// isEnvError is true for errors of the machine rather than of the archive.
func isEnvError(err error) bool {
	for _, e := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EACCES, syscall.EPERM,
		syscall.EROFS, syscall.EIO, syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func extract(ctx context.Context, r io.Reader, root *os.Root) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	top := ""
	var members int
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader || h.Typeflag == tar.TypeXHeader {
			continue
		}
		if members++; members > maxUnpackMembers {
			return hostile(h.Name, "more than %d members", maxUnpackMembers)
		}
		rel, err := memberPath(h.Name, &top)
		if err != nil {
			return err
		}
		if rel == "" {
			continue // the top-level directory itself
		}
		// Never create anything under a directory that resolves outside (os.Root would
		// refuse it too; this names the member).
		if why, err := resolveInTree(root, path.Dir(rel)); why != "" || err != nil {
			return refused(h.Name, "its directory "+why, err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(rel, 0o755); err != nil {
				return member(h.Name, err)
			}
		case tar.TypeReg:
			if total += h.Size; total > maxUnpackBytes {
				return hostile(h.Name, "the archive unpacks to more than %d bytes", int64(maxUnpackBytes))
			}
			if err := writeMember(root, rel, tr, h.FileInfo().Mode().Perm()); err != nil {
				return member(h.Name, err)
			}
		case tar.TypeSymlink:
			if err := linkInside(rel, h.Linkname); err != nil {
				return hostile(h.Name, "%v", err)
			}
			if err := mkdirParent(root, rel); err != nil {
				return member(h.Name, err)
			}
			if err := root.Symlink(h.Linkname, rel); err != nil {
				return member(h.Name, err)
			}
			if why, err := resolveInTree(root, rel); why != "" || err != nil {
				return refused(h.Name, fmt.Sprintf("refusing symlink to %q: it %s", h.Linkname, why), err)
			}
		case tar.TypeLink:
			lrel, err := memberPath(h.Linkname, &top)
			if err != nil || lrel == "" {
				return hostile(h.Name, "hard link to %q leaves the tree", h.Linkname)
			}
			if fi, err := root.Lstat(lrel); err != nil || !fi.Mode().IsRegular() {
				return hostile(h.Name, "hard link to %q, which is not a regular file of the archive", h.Linkname)
			}
			if err := mkdirParent(root, rel); err != nil {
				return member(h.Name, err)
			}
			if err := root.Link(lrel, rel); err != nil {
				return member(h.Name, err)
			}
		default:
			return hostile(h.Name, "refusing special file (type %q)", h.Typeflag)
		}
	}
	if top == "" {
		return errors.New("empty archive")
	}
	return nil
}

// refused is a hostile refusal when why is set, else err of the member.
func refused(name, why string, err error) error {
	if err != nil {
		return member(name, err)
	}
	return hostile(name, "%s", why)
}

// member names the member whose creation failed. An existing name means the archive
// holds the name twice (a file over a symlink is the classic trick): never overwrite.
func member(name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrExist):
		return hostile(name, "the name is taken by an earlier member (%v); an archive that overwrites what it made is refused", err)
	case errors.Is(err, syscall.ELOOP):
		return hostile(name, "its path goes through too many symlinks (%v)", err)
	}
	return fmt.Errorf("member %q: %w", name, err)
}

func mkdirParent(root *os.Root, rel string) error {
	if d := path.Dir(rel); d != "." {
		return root.MkdirAll(d, 0o755)
	}
	return nil
}

// memberPath checks a member name and returns it relative to the archive's single
// top-level directory.
func memberPath(name string, top *string) (string, error) {
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return "", hostile(name, "refusing absolute or odd member name")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", hostile(name, "it climbs out of the tree with ..")
		}
	}
	clean := path.Clean(name)
	first, rest, _ := strings.Cut(clean, "/")
	if *top == "" {
		*top = first
	} else if first != *top {
		return "", hostile(name, "it is outside the archive's top directory %q", *top)
	}
	return rest, nil
}

// linkInside is the quick check of a symlink's text, before it is made: not absolute,
// and not climbing out by its name alone. resolveInTree decides on what is on disk.
func linkInside(rel, target string) error {
	if target == "" || path.IsAbs(target) {
		return fmt.Errorf("refusing absolute symlink to %q", target)
	}
	resolved := path.Clean(path.Join(path.Dir(rel), target))
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("refusing symlink to %q: it points outside the tree", target)
	}
	return nil
}

// resolveInTree follows name inside the tree the way the kernel does — symlinks expanded
// where they are, ".." taken from the real parent — over what is on disk now, and fails
// if that leaves the tree, meets an absolute symlink or loops: then why says so, and err
// is only for failures to read the tree. Where a component does not
// exist (a dangling link, a directory not made yet) the rest is followed by name alone,
// as if the missing parts were to become plain directories.
func resolveInTree(root *os.Root, name string) (why string, err error) {
	var at []string // the real directory reached, from the root
	todo := strings.Split(name, "/")
	hops := 0
	for len(todo) > 0 {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(at) == 0 {
				return "points outside the tree", nil
			}
			at = at[:len(at)-1]
			continue
		}
		cur := path.Join(append(at, part)...)
		fi, err := root.Lstat(cur)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				at = append(at, part)
				continue
			}
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			at = append(at, part)
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return "goes through a symlink loop", nil
		}
		target, err := root.Readlink(cur)
		if err != nil {
			return "", err
		}
		if target == "" || path.IsAbs(target) {
			return fmt.Sprintf("goes through the absolute symlink %s -> %s", cur, target), nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return "", nil
}

// checkTree walks the finished tree on disk: only directories, regular files and
// symlinks that resolve inside.
func checkTree(root *os.Root) error {
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch t := d.Type(); {
		case t == fs.ModeSymlink:
			if why, err := resolveInTree(root, p); why != "" || err != nil {
				target, _ := root.Readlink(p)
				return refused(p, fmt.Sprintf("refusing symlink to %q: it %s", target, why), err)
			}
		case t != 0 && t != fs.ModeDir:
			return hostile(p, "refusing special file (%v)", t)
		}
		return nil
	})
}

// writeMember creates rel (which must not exist: O_EXCL never writes through a symlink
// or over an earlier member) inside root.
func writeMember(root *os.Root, rel string, r io.Reader, mode os.FileMode) error {
	if err := mkdirParent(root, rel); err != nil {
		return err
	}
	f, err := root.OpenFile(rel, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
