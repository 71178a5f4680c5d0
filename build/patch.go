package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"

	"harpy/hint"
	"harpy/safefile"
	"harpy/specs"
)

type patchStep struct{}

func (patchStep) String() string     { return "patch" }
func (patchStep) Skip(s *State) bool { return s.cached() || len(s.Plan.Patches) == 0 }
func (patchStep) Run(_ context.Context, s *State) error {
	if err := ApplyQueue(s.Src, s.Plan.Patches); err != nil {
		return err
	}
	for _, p := range s.Plan.Patches {
		s.logf("patch: applied %s", p.Name)
	}
	return nil
}

// ApplyQueue applies unified diffs to the tree at dir, in order. Every patch is applied
// in memory first; the tree is written only when the whole queue applies, so a failing
// patch leaves the tree exactly as it was.
func ApplyQueue(dir string, queue []specs.Patch) error {
	// changed holds the new content of every file touched so far (nil: deleted).
	changed := map[string][]byte{}
	read := func(name string) ([]byte, error) {
		if b, ok := changed[name]; ok {
			if b == nil {
				return nil, os.ErrNotExist
			}
			return b, nil
		}
		return os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	}
	for _, p := range queue {
		files, _, err := gitdiff.Parse(bytes.NewReader(p.Data))
		if err != nil {
			return hint.With(fmt.Errorf("patch %s: not a unified diff: %w", p.Name, err), "regenerate it with `diff -u` or `git diff`")
		}
		if len(files) == 0 {
			return hint.With(fmt.Errorf("patch %s: contains no file changes", p.Name), "regenerate it with `diff -u` or `git diff`")
		}
		for _, f := range files {
			f.OldName, f.NewName = stripP1(f.OldName), stripP1(f.NewName)
			name := f.OldName
			if f.IsNew {
				name = f.NewName
			}
			if err := safeRel(name); err != nil {
				return fmt.Errorf("patch %s: %w", p.Name, err)
			}
			var src []byte
			if !f.IsNew {
				src, err = read(name)
				if err != nil {
					return hint.With(fmt.Errorf("patch %s: %s: %w", p.Name, name, err),
						"the patch was made for another release; refresh it against this version's tree")
				}
			}
			var out bytes.Buffer
			if err := gitdiff.Apply(&out, bytes.NewReader(src), f); err != nil {
				return hint.With(fmt.Errorf("patch %s: %s: %s", p.Name, name, describeApplyError(f, err)),
					"the patch was made for another release; refresh it against this version's tree or drop it from the recipe")
			}
			if f.IsDelete {
				changed[name] = nil
				continue
			}
			if f.IsRename {
				changed[name] = nil
				name = f.NewName
				if err := safeRel(name); err != nil {
					return fmt.Errorf("patch %s: %w", p.Name, err)
				}
			}
			changed[name] = out.Bytes()
		}
	}
	for name, b := range changed {
		target := filepath.Join(dir, filepath.FromSlash(name))
		if b == nil {
			if err := os.Remove(target); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			continue
		}
		mode := os.FileMode(0o644)
		if st, err := os.Stat(target); err == nil {
			mode = st.Mode().Perm()
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := safefile.WriteFile(target, b, mode); err != nil {
			return err
		}
	}
	return nil
}

func describeApplyError(f *gitdiff.File, err error) string {
	var ae *gitdiff.ApplyError
	if errors.As(err, &ae) && ae.Fragment > 0 && ae.Fragment <= len(f.TextFragments) {
		fr := f.TextFragments[ae.Fragment-1]
		return fmt.Sprintf("hunk #%d (%s) does not apply at line %d: %v", ae.Fragment, strings.TrimSpace(fr.Header()), ae.Line, ae.Unwrap())
	}
	return err.Error()
}

func safeRel(name string) error {
	if name == "" || filepath.IsAbs(name) || strings.HasPrefix(name, "/") {
		return fmt.Errorf("refusing path %q", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return fmt.Errorf("refusing path %q: it climbs out of the tree", name)
		}
	}
	return nil
}

// stripP1 drops the a/ b/ prefix of traditional diffs (patch -p1); git diffs arrive
// already stripped.
func stripP1(name string) string {
	if strings.HasPrefix(name, "a/") || strings.HasPrefix(name, "b/") {
		return name[2:]
	}
	return name
}
