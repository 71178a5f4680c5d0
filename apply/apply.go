// Package apply writes rendered files so that a good file is never replaced by a
// half-written or invalid one: stage next to the target, fsync, check the staged
// files, then rename over the targets.
package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"harpy/hint"
)

// File is one file to write; Name is relative to the directory given to WriteChecked
// (it may contain subdirectories) or absolute when dir is "".
type File struct {
	Name string
	Data []byte
	Mode fs.FileMode // mode for a new file; an existing file keeps its mode
}

// Checker validates the staged files before they replace anything. staged maps each
// File.Name to the path of its staged copy.
type Checker func(ctx context.Context, staged map[string]string) error

// Result tells which files were replaced and which were already identical.
type Result struct {
	Written, Unchanged []string
}

// WriteChecked stages every file as a temporary file in its target's directory, runs
// check (if any) on the staged copies, and only then renames them into place. A file
// whose content is unchanged is left alone. On any error nothing is replaced and the
// staged files are removed.
func WriteChecked(ctx context.Context, dir string, files []File, check Checker) (Result, error) {
	var res Result
	type staged struct {
		target, tmp string
		same        bool
	}
	var st []staged
	cleanup := func() {
		for _, s := range st {
			if s.tmp != "" {
				os.Remove(s.tmp)
			}
		}
	}
	paths := map[string]string{}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			cleanup()
			return res, err
		}
		target := f.Name
		if dir != "" {
			target = filepath.Join(dir, f.Name)
		}
		s := staged{target: target}
		if old, err := os.ReadFile(target); err == nil && string(old) == string(f.Data) {
			s.same = true
			st = append(st, s)
			paths[f.Name] = target
			continue
		}
		tmp, err := stage(target, f)
		if err != nil {
			cleanup()
			return res, err
		}
		s.tmp = tmp
		st = append(st, s)
		paths[f.Name] = tmp
	}
	if check != nil {
		if err := check(ctx, paths); err != nil {
			cleanup()
			return res, fmt.Errorf("check staged files (nothing was replaced): %w", err)
		}
	}
	dirs := map[string]bool{}
	for i, s := range st {
		if s.same {
			res.Unchanged = append(res.Unchanged, s.target)
			continue
		}
		if err := os.Rename(s.tmp, s.target); err != nil {
			cleanup()
			return res, fmt.Errorf("install %s: %w", s.target, err)
		}
		st[i].tmp = ""
		res.Written = append(res.Written, s.target)
		dirs[filepath.Dir(s.target)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return res, err
		}
	}
	return res, nil
}

// stage writes f to a temporary file beside target (same filesystem, so the rename is
// atomic) with target's mode, and fsyncs it.
func stage(target string, f File) (string, error) {
	d := filepath.Dir(target)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", hint.With(fmt.Errorf("create %s: %w", d, err), "check the directory's permissions")
	}
	mode := f.Mode
	if mode == 0 {
		mode = 0o644
	}
	uid, gid := -1, -1
	if fi, err := os.Stat(target); err == nil {
		if !fi.Mode().IsRegular() {
			return "", hint.With(fmt.Errorf("install %s: not a regular file", target), "remove or rename it")
		}
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("stat %s: %w", target, err)
	}
	tmp, err := os.CreateTemp(d, "."+filepath.Base(target)+".harpy-*")
	if err != nil {
		return "", hint.With(fmt.Errorf("stage %s: %w", target, err), "check the directory's permissions and free space")
	}
	name := tmp.Name()
	fail := func(err error) (string, error) {
		tmp.Close()
		os.Remove(name)
		return "", fmt.Errorf("stage %s: %w", target, err)
	}
	if _, err := tmp.Write(f.Data); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fail(err)
	}
	// Keep the owner too: /etc/haproxy/haproxy.cfg is often root:haproxy 0640, and a
	// file the haproxy group cannot read stops a reload.
	if uid >= 0 && (uid != os.Getuid() || gid != os.Getgid()) {
		if err := tmp.Chown(uid, gid); err != nil {
			tmp.Close()
			os.Remove(name)
			return "", hint.With(fmt.Errorf("stage %s: keep owner %d:%d: %w", target, uid, gid, err), "run as root or as the file's owner")
		}
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("stage %s: %w", target, err)
	}
	return name, nil
}

func syncDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return fmt.Errorf("sync %s: %w", d, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", d, err)
	}
	return nil
}
