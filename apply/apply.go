// Package apply is the one transaction by which a live file changes:
//
//	read   what each destination is now (a symlink, a directory, … is refused)
//	stage  every changed file beside its destination, and a copy of what it replaces
//	check  the staged files with the service's own binary, flags and working directory
//	rename the staged files over their destinations
//	reload the service (optional)
//	confirm that the new configuration serves
//
// Until the renames nothing live is touched; after them, any failure (a rename, the
// reload, the confirmation, an interrupt) puts the previous files back byte for byte
// with their mode and owner, and removes the files and directories that did not exist.
// Files whose content is already right are left alone. The files live on a Target: a
// directory tree on this host now, an SSH host for provisioning.
package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"harpy/hint"
)

// File is one file to write. Name is its path under the target's root ("etc/haproxy/
// haproxy.cfg"; a leading "/" is the same); it may not leave the root.
type File struct {
	Name string
	Data []byte
	Mode fs.FileMode // mode for a new file; an existing file keeps its mode and owner
}

// Result tells which files were replaced and which were already identical, as the
// target names them (Target.Path), and whether the service was reloaded.
type Result struct {
	Written, Unchanged []string
	Reloaded           bool
}

// Tx is one transaction. Validate and Reload are optional.
type Tx struct {
	Target   Target
	Files    []File
	Validate Validator
	Reload   Reloader
}

// StagedFile is one file as the validator sees it: Path is its destination, Staged the
// copy to judge (the destination itself when the content is unchanged).
type StagedFile struct {
	Name         string // File.Name as given
	Path, Staged string // target paths
	Changed      bool
}

// Validator judges the staged files before any of them replaces a live one.
type Validator interface {
	Validate(ctx context.Context, t Target, files []StagedFile) error
}

// Checker is a Validator that takes each File.Name to the local path of its staged copy.
type Checker func(ctx context.Context, staged map[string]string) error

// Validate calls c with the staged copies' paths as t names them.
func (c Checker) Validate(ctx context.Context, t Target, files []StagedFile) error {
	m := make(map[string]string, len(files))
	for _, f := range files {
		m[f.Name] = t.Path(f.Staged)
	}
	return c(ctx, m)
}

// RollbackError is a failure after the first rename: the previous files were put back
// (Restored), except those in Failed, whose restoration failed too.
type RollbackError struct {
	Step     string // "install", "reload", "confirm"
	Err      error
	Restored []string
	Failed   map[string]error
}

func (e *RollbackError) Error() string {
	if len(e.Failed) == 0 {
		return fmt.Sprintf("%s: %v (the previous files are back: %s)", e.Step, e.Err, strings.Join(e.Restored, ", "))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v; restoring the previous files failed:", e.Step, e.Err)
	for p, err := range e.Failed {
		fmt.Fprintf(&b, "\n  %s: %v", p, err)
	}
	return b.String()
}

func (e *RollbackError) Unwrap() error { return e.Err }

// entry is one file through the transaction.
type entry struct {
	File
	path    string // target path of the destination
	cur     Current
	next    Meta    // mode and owner of the new file
	staged  Staged  // the new content
	backup  Staged  // the previous content, staged before anything is renamed
	touched bool    // a rename over path was tried
	failed  []error // why restoring failed
}

// Run carries out the transaction. An error before the renames leaves every live file as
// it was; an error after them is a *RollbackError.
func (tx Tx) Run(ctx context.Context) (Result, error) {
	var res Result
	t := tx.Target
	es, err := entries(tx.Files)
	if err != nil {
		return res, err
	}
	// read: what each destination is now; refuse what a rename would silently replace.
	for _, e := range es {
		if e.cur, err = t.Read(ctx, e.path); err != nil {
			return res, err
		}
		if err := regular(t, e.path, e.cur); err != nil {
			return res, err
		}
	}
	// stage: every changed file and a copy of what it replaces, beside the destination.
	var created []string // directories made for new files, outermost first
	abort := func() {
		for _, e := range es {
			for _, s := range []Staged{e.staged, e.backup} {
				if s != nil {
					s.Abort()
				}
			}
		}
		removeDirs(context.WithoutCancel(ctx), t, created)
	}
	for _, e := range es {
		if e.cur.Exists && string(e.cur.Data) == string(e.Data) {
			continue
		}
		e.next = Meta{Mode: e.Mode, UID: -1, GID: -1}
		if e.next.Mode == 0 {
			e.next.Mode = 0o644
		}
		if e.cur.Exists {
			e.next = e.cur.Meta
			if e.backup, err = t.Stage(ctx, e.path, e.cur.Data, e.cur.Meta); err != nil {
				abort()
				return res, err
			}
		} else {
			dirs, err := t.MkdirAll(ctx, path.Dir(e.path))
			created = append(created, dirs...)
			if err != nil {
				abort()
				return res, err
			}
		}
		if e.staged, err = t.Stage(ctx, e.path, e.Data, e.next); err != nil {
			abort()
			return res, err
		}
	}
	// check: the staged copies, where they will live, as the service will read them.
	if tx.Validate != nil {
		files := make([]StagedFile, len(es))
		for i, e := range es {
			files[i] = StagedFile{Name: e.Name, Path: e.path, Staged: e.path}
			if e.staged != nil {
				files[i].Staged, files[i].Changed = e.staged.Path(), true
			}
		}
		if err := tx.Validate.Validate(ctx, t, files); err != nil {
			abort()
			return res, fmt.Errorf("check staged files (nothing was replaced): %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		abort()
		return res, fmt.Errorf("interrupted before any file was replaced: %w", err)
	}
	// rename: from here on, a failure restores the previous files.
	for _, e := range es {
		if e.staged == nil {
			res.Unchanged = append(res.Unchanged, t.Path(e.path))
			continue
		}
		e.touched = true
		err := ctx.Err()
		if err == nil {
			err = e.staged.Commit(ctx)
		}
		if err != nil {
			return Result{}, tx.rollback(ctx, "install "+t.Path(e.path), err, es, created, false)
		}
		res.Written = append(res.Written, t.Path(e.path))
	}
	if len(res.Written) > 0 && tx.Reload != nil {
		// reload: the service takes the new files.
		err := ctx.Err()
		if err == nil {
			err = tx.Reload.Reload(ctx, t)
		}
		if err != nil {
			return Result{}, tx.rollback(ctx, "reload", err, es, created, false)
		}
		// confirm: the new configuration serves. If not (or interrupted), the service
		// may run files that are about to be taken back: reload it again once they are.
		if err = ctx.Err(); err == nil {
			err = tx.Reload.Confirm(ctx, t)
		}
		if err != nil {
			return Result{}, tx.rollback(ctx, "confirm the reload", err, es, created, true)
		}
		res.Reloaded = true
	}
	for _, e := range es {
		if e.backup != nil {
			e.backup.Abort()
		}
	}
	return res, nil
}

// rollback puts back every destination a rename was tried on, removes the new files
// and directories, and drops what is still staged. It runs to the end even when ctx is
// done: an interrupt must not leave half a change behind.
func (tx Tx) rollback(ctx context.Context, step string, cause error, es []*entry, created []string, reload bool) error {
	t := tx.Target
	ctx = context.WithoutCancel(ctx)
	re := &RollbackError{Step: step, Err: cause}
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		if !e.touched {
			continue
		}
		if e.cur.Exists {
			err := e.backup.Commit(ctx)
			if err != nil {
				// The backup copy is gone with the failed rename: stage it once more.
				var s Staged
				if s, err = t.Stage(ctx, e.path, e.cur.Data, e.cur.Meta); err == nil {
					if err = s.Commit(ctx); err != nil {
						s.Abort()
					}
				}
			}
			if err != nil {
				e.failed = append(e.failed, err)
			}
		} else if err := t.Remove(ctx, e.path); err != nil {
			e.failed = append(e.failed, err)
		}
		if len(e.failed) > 0 {
			if re.Failed == nil {
				re.Failed = map[string]error{}
			}
			re.Failed[t.Path(e.path)] = errors.Join(e.failed...)
		} else {
			re.Restored = append(re.Restored, t.Path(e.path))
		}
	}
	for _, e := range es {
		for _, s := range []Staged{e.staged, e.backup} {
			if s != nil {
				s.Abort()
			}
		}
	}
	removeDirs(ctx, t, created)
	if reload && len(re.Failed) == 0 {
		if err := tx.Reload.Reload(ctx, t); err != nil {
			re.Err = fmt.Errorf("%w; reloading the previous files failed too: %v", re.Err, err)
		}
	}
	if len(re.Failed) > 0 {
		return hint.With(re, "put the files named above back by hand before the service reloads or restarts")
	}
	if hint.Of(cause) != "" {
		return re // the cause's own hint says what to fix
	}
	return hint.With(re, "nothing changed on the target: fix what %s reported, then run again", step)
}

// removeDirs removes the directories made for new files, innermost first; one that is not
// empty (someone else wrote into it) stays.
func removeDirs(ctx context.Context, t Target, created []string) {
	for i := len(created) - 1; i >= 0; i-- {
		t.Remove(ctx, created[i])
	}
}

// entries checks the names and turns them into target paths.
func entries(files []File) ([]*entry, error) {
	seen := map[string]string{}
	es := make([]*entry, 0, len(files))
	for _, f := range files {
		rel := path.Clean(strings.TrimLeft(f.Name, "/"))
		if strings.Trim(f.Name, "/") == "" || rel == "." || !fs.ValidPath(rel) {
			return nil, hint.With(fmt.Errorf("apply %q: not a path under the target's root", f.Name), "name files relative to the root, without ..")
		}
		p := "/" + rel
		if other, ok := seen[p]; ok {
			return nil, hint.With(fmt.Errorf("apply: %q and %q are the same file %s", other, f.Name, p), "write each file once per transaction")
		}
		seen[p] = f.Name
		es = append(es, &entry{File: f, path: p})
	}
	return es, nil
}

// regular refuses a destination that a rename would replace by something else: a
// directory, a symlink (the link would become a file and its target stay old), a device.
func regular(t Target, p string, cur Current) error {
	switch {
	case !cur.Exists || cur.Type.IsRegular():
		return nil
	case cur.Type&fs.ModeSymlink != 0:
		return hint.With(fmt.Errorf("install %s: it is a symlink to %s", t.Path(p), cur.Link),
			"harpy replaces only regular files: install at the link's target (e.g. with --root), or remove the link")
	case cur.Type.IsDir():
		return hint.With(fmt.Errorf("install %s: it is a directory", t.Path(p)), "remove or rename it")
	}
	return hint.With(fmt.Errorf("install %s: not a regular file (%v)", t.Path(p), cur.Type), "remove or rename it")
}

// WriteChecked writes files under dir ("" or "/" for this host) in one transaction with
// check as the validator and no reload.
func WriteChecked(ctx context.Context, dir string, files []File, check Checker) (Result, error) {
	tx := Tx{Target: LocalTarget{Root: dir}, Files: files}
	if check != nil {
		tx.Validate = check
	}
	return tx.Run(ctx)
}
