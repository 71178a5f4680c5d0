package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"harpy/hint"
	"harpy/safefile"
)

// Target is where the files of a transaction live: a directory tree on this host
// (LocalTarget) or, in the provision issue, a host reached over SSH. Every path a Target
// takes or returns is a target path: absolute, clean, slash-separated, as the service on
// the target sees it ("/etc/haproxy/haproxy.cfg"). The transaction needs nothing else.
//
// An SSH target implements it with one session per call: Read is `stat` + a read of the
// file, Stage a write beside the destination (fsynced, mode and owner set), Commit a
// rename plus an fsync of the directory, Run a remote command in a directory.
type Target interface {
	// Path is how commands run by Run, and messages, name the target path p (on this
	// host: p under the root; over SSH: p itself).
	Path(p string) string
	// Read tells what p is now, without following a symlink. A missing p is not an
	// error (Current.Exists is false); the content is read only for a regular file.
	Read(ctx context.Context, p string) (Current, error)
	// MkdirAll creates dir and its missing parents (mode 0755) and returns the ones it
	// created, outermost first, so that a rollback can remove them again.
	MkdirAll(ctx context.Context, dir string) (created []string, err error)
	// Stage writes data under a temporary name in p's directory (same file system, so
	// that Commit is an atomic rename) with the given mode and owner, and fsyncs it.
	Stage(ctx context.Context, p string, data []byte, m Meta) (Staged, error)
	// Remove removes the file or empty directory p; a missing p is not an error.
	Remove(ctx context.Context, p string) error
	// Run runs argv in the working directory dir and returns its combined output.
	// argv[0] is looked up on the service's PATH (sbin included).
	Run(ctx context.Context, dir string, argv ...string) ([]byte, error)
}

// Staged is a file written under a temporary name beside its destination.
type Staged interface {
	// Path is the target path of the staged copy.
	Path() string
	// Commit renames the copy over its destination and makes the rename durable. On an
	// error the destination may hold either version, never a mix.
	Commit(ctx context.Context) error
	// Abort removes the copy; after Commit it does nothing.
	Abort()
}

// Meta is the mode and owner of a file. UID and GID -1 leave the owner to the writer.
type Meta struct {
	Mode     fs.FileMode // permission bits
	UID, GID int
}

// Current is what a destination is before the transaction.
type Current struct {
	Exists bool
	Type   fs.FileMode // type bits (0 for a regular file, fs.ModeDir, fs.ModeSymlink, …)
	Link   string      // a symlink's target
	Meta   Meta
	Data   []byte // a regular file's content
}

// LocalTarget is a directory tree on this host: Root "/" (or "") is the host itself,
// anything else a root such as a container's or an image's.
//
// Commands run on this host: with a Root other than "/", a path inside a file is resolved
// on the host, so only relative paths (against the service's working directory under
// Root) are checked as the service will see them.
type LocalTarget struct {
	Root string
}

func (l LocalTarget) String() string { return "local " + l.root() }

func (l LocalTarget) root() string {
	if l.Root == "" {
		return "/"
	}
	return l.Root
}

// Path returns p under Root, as an absolute path: commands run in the service's working
// directory, not in harpy's.
func (l LocalTarget) Path(p string) string {
	root := l.root()
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return filepath.Join(root, filepath.FromSlash(p))
}

func (l LocalTarget) Read(ctx context.Context, p string) (Current, error) {
	if err := ctx.Err(); err != nil {
		return Current{}, err
	}
	if err := l.confined(p); err != nil {
		return Current{}, err
	}
	hp := l.Path(p)
	fi, err := os.Lstat(hp)
	if errors.Is(err, fs.ErrNotExist) {
		return Current{}, nil
	}
	if err != nil {
		return Current{}, hint.With(fmt.Errorf("read %s: %w", hp, err), "check the path and its permissions")
	}
	cur := Current{Exists: true, Type: fi.Mode().Type(), Meta: meta(fi)}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		cur.Link, _ = os.Readlink(hp)
	case fi.Mode().IsRegular():
		if cur.Data, err = safefile.ReadFile(hp, safefile.MaxConfig); err != nil {
			return Current{}, fmt.Errorf("read %s: %w", hp, err)
		}
	}
	return cur, nil
}

// confined refuses a path whose directory, through a symlink, lies outside the root: with
// --root DIR, DIR/etc -> /etc would otherwise write into this host's /etc.
func (l LocalTarget) confined(p string) error {
	if filepath.Clean(l.root()) == "/" {
		return nil
	}
	root, err := filepath.EvalSymlinks(l.Path("/"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // made by MkdirAll: nothing in it yet
	}
	if err != nil {
		return fmt.Errorf("resolve %s: %w", l.Path("/"), err)
	}
	for d := path.Dir(p); ; d = path.Dir(d) {
		real, err := filepath.EvalSymlinks(l.Path(d))
		if err == nil {
			if rel, _ := filepath.Rel(root, real); rel == ".." || strings.HasPrefix(rel, "../") {
				return hint.With(fmt.Errorf("install %s: %s leads out of the root to %s", l.Path(p), l.Path(d), real),
					"make the link relative inside the root, or install under its target with --root")
			}
			return nil
		}
		if d == "/" {
			return nil
		}
	}
}

func meta(fi fs.FileInfo) Meta {
	m := Meta{Mode: fi.Mode().Perm(), UID: -1, GID: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		m.UID, m.GID = int(st.Uid), int(st.Gid)
	}
	return m
}

func (l LocalTarget) MkdirAll(ctx context.Context, dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = path.Dir(d) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fi, err := os.Stat(l.Path(d))
		if err == nil {
			if !fi.IsDir() {
				return nil, hint.With(fmt.Errorf("create %s: %s is not a directory", l.Path(dir), l.Path(d)), "remove or rename it")
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("create %s: %w", l.Path(dir), err)
		}
		missing = append(missing, d)
		if d == "/" {
			break // the root itself, made with its parents
		}
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		mkdir := os.Mkdir
		if missing[i] == "/" {
			mkdir = os.MkdirAll
		}
		if err := mkdir(l.Path(missing[i]), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, hint.With(fmt.Errorf("create %s: %w", l.Path(missing[i]), err), "check the directory's permissions")
		}
		created = append(created, missing[i])
	}
	return created, nil
}

func (l LocalTarget) Stage(ctx context.Context, p string, data []byte, m Meta) (Staged, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hp := l.Path(p)
	f, err := safefile.Create(hp, m.Mode)
	if err != nil {
		return nil, hint.With(fmt.Errorf("stage %s: %w", hp, err), "check the directory's permissions and free space")
	}
	fail := func(err error, h string) (Staged, error) {
		f.Abort()
		return nil, hint.With(fmt.Errorf("stage %s: %w", hp, err), "%s", h)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err, "check the free space")
	}
	if err := f.Chmod(m.Mode); err != nil {
		return fail(err, "check the file system supports modes")
	}
	// Keep the owner too: /etc/haproxy/haproxy.cfg is often root:haproxy 0640, and a
	// file the haproxy group cannot read stops a reload.
	if m.UID >= 0 && (m.UID != os.Getuid() || m.GID != os.Getgid()) {
		if err := f.Chown(m.UID, m.GID); err != nil {
			return fail(fmt.Errorf("keep owner %d:%d: %w", m.UID, m.GID, err), "run as root or as the file's owner")
		}
	}
	if err := f.Sync(); err != nil {
		return fail(err, "check the file system")
	}
	return &localStaged{f: f, path: path.Join(path.Dir(p), filepath.Base(f.Name()))}, nil
}

type localStaged struct {
	f    *safefile.File
	path string
}

func (s *localStaged) Path() string { return s.path }

func (s *localStaged) Commit(context.Context) error { return s.f.Commit() }

func (s *localStaged) Abort() { s.f.Abort() }

func (l LocalTarget) Remove(_ context.Context, p string) error {
	err := os.Remove(l.Path(p))
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// servicePath is systemd's default PATH for services: a root shell's PATH may lack sbin.
var servicePath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

func (l LocalTarget) Run(ctx context.Context, dir string, argv ...string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("run: no command")
	}
	bin := argv[0]
	if !strings.Contains(bin, "/") {
		p, err := exec.LookPath(bin)
		for _, d := range servicePath {
			if err == nil {
				break
			}
			if q, err2 := exec.LookPath(d + "/" + bin); err2 == nil {
				p, err = q, nil
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%w (nor in %s)", err, strings.Join(servicePath, ":"))
		}
		bin = p
	}
	cmd := exec.CommandContext(ctx, bin, argv[1:]...)
	cmd.Dir = l.Path(dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}
