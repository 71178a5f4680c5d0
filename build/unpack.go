package build

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

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

// Unpack extracts a release tarball into dst (which must not exist), dropping the
// top-level directory. It refuses absolute names, "..", links leaving the tree, device
// files and fifos; on any error dst is removed, so no half-extracted tree is left.
func Unpack(ctx context.Context, tarball, dst string) (err error) {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dst)
			err = hint.With(fmt.Errorf("%s: %w", filepath.Base(tarball), err), "this is not a clean HAProxy release tarball; get it again from upstream or a trusted mirror")
		}
	}()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	top := ""
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
		rel, err := memberPath(h.Name, &top)
		if err != nil {
			return err
		}
		if rel == "" {
			continue // the top-level directory itself
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeMember(target, tr, h.FileInfo().Mode().Perm()); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := linkInside(rel, h.Linkname); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			lrel, err := memberPath(h.Linkname, &top)
			if err != nil || lrel == "" {
				return fmt.Errorf("%s: hard link to %q leaves the tree", h.Name, h.Linkname)
			}
			if err := os.Link(filepath.Join(dst, filepath.FromSlash(lrel)), target); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: refusing special file (type %q)", h.Name, h.Typeflag)
		}
	}
	if top == "" {
		return errors.New("empty archive")
	}
	return nil
}

// memberPath checks a member name and returns it relative to the archive's single
// top-level directory.
func memberPath(name string, top *string) (string, error) {
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return "", fmt.Errorf("refusing absolute or odd member name %q", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("refusing member %q: it climbs out of the tree with ..", name)
		}
	}
	clean := path.Clean(name)
	first, rest, _ := strings.Cut(clean, "/")
	if *top == "" {
		*top = first
	} else if first != *top {
		return "", fmt.Errorf("member %q is outside the archive's top directory %q", name, *top)
	}
	return rest, nil
}

// linkInside checks that a symlink at rel pointing to target stays inside the tree.
func linkInside(rel, target string) error {
	if path.IsAbs(target) {
		return fmt.Errorf("refusing absolute symlink to %q", target)
	}
	resolved := path.Clean(path.Join(path.Dir(rel), target))
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("refusing symlink to %q: it points outside the tree", target)
	}
	return nil
}

func writeMember(target string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	// O_EXCL: never write through a symlink an earlier member planted.
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
