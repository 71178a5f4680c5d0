// Package safefile reads and writes files without surprises: a read never blocks on a
// FIFO, never follows a device into endless data and never takes more than its limit; a
// write is all or nothing (temp file beside the target, fsync, rename, fsync of the
// directory), so a crash or an error never leaves a half-written file under the real name.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"harpy/hint"
)

// Size limits for the kinds of file harpy reads. They are far above any real file of the
// kind and far below what would hurt the machine.
const (
	MaxConfig = 64 << 20 // haproxy.cfg, profiles, recipes, inventories
	MaxKey    = 1 << 20  // PGP keys, certificates
	MaxPatch  = 16 << 20 // patch files
)

// ErrNotRegular is returned for a path that is a FIFO, a device, a socket or a directory.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned for a file above the caller's limit.
var ErrTooLarge = errors.New("file too large")

// Open opens path for reading only if it is a regular file. The open itself never blocks
// (O_NONBLOCK: a FIFO with no writer would otherwise hang open(2) beyond any signal);
// the flag is cleared again for the regular file that is returned.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, hint.With(fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, kind(fi.Mode())),
			"give the path of a regular file; harpy does not read from pipes, devices or directories")
	}
	if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFile reads a regular file of at most max bytes.
func ReadFile(path string, max int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, tooLarge(path, fi.Size(), max)
	}
	// The file may grow while it is read: never take more than max+1 bytes.
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, tooLarge(path, int64(len(b)), max)
	}
	return b, nil
}

func tooLarge(path string, size, max int64) error {
	return hint.With(fmt.Errorf("%s: %w (%d bytes, the limit is %d)", path, ErrTooLarge, size, max),
		"this is not the file harpy expects here; check the path")
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

// File is a file being written under a temporary name beside its target. Commit makes it
// the target; Abort (safe to defer after Commit) removes it.
type File struct {
	*os.File
	target string
	perm   fs.FileMode
	done   bool
}

// Create starts writing target atomically. The temporary file is hidden (".name.*.tmp")
// and in the target's directory, so the final rename never crosses a file system.
func Create(target string, perm fs.FileMode) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &File{File: f, target: target, perm: perm}, nil
}

// Commit flushes the data to disk and renames the file over its target, then syncs the
// directory so that the rename itself survives a crash.
func (f *File) Commit() error {
	if f.done {
		return errors.New("safefile: commit after commit or abort")
	}
	f.done = true
	err := f.Chmod(f.perm)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.target)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.target, err)
	}
	return SyncDir(filepath.Dir(f.target))
}

// Abort removes the temporary file; after Commit it does nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// WriteFile writes data to target atomically with the given mode.
func WriteFile(target string, data []byte, perm fs.FileMode) error {
	f, err := Create(target, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	return f.Commit()
}

// Rename renames old to new (a file or a whole directory) and syncs both parent
// directories, so that the move survives a crash.
func Rename(old, new string) error {
	if err := os.Rename(old, new); err != nil {
		return err
	}
	if err := SyncDir(filepath.Dir(new)); err != nil {
		return err
	}
	if d := filepath.Dir(old); d != filepath.Dir(new) {
		return SyncDir(d)
	}
	return nil
}

// SyncDir fsyncs a directory, making renames and creations inside it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
