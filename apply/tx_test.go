package apply

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"harpy/hint"
)

// node is one path of a tree as the tests compare it: type, mode, owner, content.
type node struct {
	Type     fs.FileMode
	Mode     fs.FileMode
	UID, GID uint32
	Data     string // a file's content, a symlink's target
}

func (n node) String() string {
	return fmt.Sprintf("%v %o %d:%d %q", n.Type, n.Mode, n.UID, n.GID, n.Data)
}

// snapshot reads a whole tree: every directory, file and symlink under root.
func snapshot(t *testing.T, root string) map[string]node {
	t.Helper()
	m := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		n := node{Type: fi.Mode().Type(), Mode: fi.Mode().Perm(), UID: st.Uid, GID: st.Gid}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			n.Data, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.Data = string(b)
		}
		m[rel] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffTrees(want, got map[string]node) string {
	var b strings.Builder
	keys := slices.Sorted(maps.Keys(want))
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		w, wok := want[k]
		g, gok := got[k]
		switch {
		case !gok:
			fmt.Fprintf(&b, "\n  missing %s (want %v)", k, w)
		case !wok:
			fmt.Fprintf(&b, "\n  extra %s (%v)", k, g)
		case w != g:
			fmt.Fprintf(&b, "\n  %s: got %v, want %v", k, g, w)
		}
	}
	return b.String()
}

var errInjected = errors.New("injected failure")

// faultTarget counts every operation of a transaction (target, staged files, validator,
// reloader) and, at operation failAt, fails it or cancels the transaction's context.
type faultTarget struct {
	Target
	ops, failAt int
	cancel      context.CancelFunc // set: cancel at failAt instead of failing
	passThrough bool               // with cancel: let the operation itself run on
	log         []string
}

func (f *faultTarget) step(op string) error {
	f.ops++
	f.log = append(f.log, op)
	if f.ops != f.failAt {
		return nil
	}
	if f.cancel == nil {
		return fmt.Errorf("%s: %w", op, errInjected)
	}
	f.cancel()
	if f.passThrough {
		return nil
	}
	return fmt.Errorf("%s: %w", op, context.Canceled)
}

func (f *faultTarget) Read(ctx context.Context, p string) (Current, error) {
	if err := f.step("read " + p); err != nil {
		return Current{}, err
	}
	return f.Target.Read(ctx, p)
}

func (f *faultTarget) MkdirAll(ctx context.Context, dir string) ([]string, error) {
	if err := f.step("mkdir " + dir); err != nil {
		return nil, err
	}
	return f.Target.MkdirAll(ctx, dir)
}

func (f *faultTarget) Stage(ctx context.Context, p string, data []byte, m Meta) (Staged, error) {
	if err := f.step("stage " + p); err != nil {
		return nil, err
	}
	s, err := f.Target.Stage(ctx, p, data, m)
	if err != nil {
		return nil, err
	}
	return &faultStaged{Staged: s, f: f, dest: p}, nil
}

func (f *faultTarget) Remove(ctx context.Context, p string) error {
	if err := f.step("remove " + p); err != nil {
		return err
	}
	return f.Target.Remove(ctx, p)
}

func (f *faultTarget) Run(ctx context.Context, dir string, argv ...string) ([]byte, error) {
	if err := f.step("run " + strings.Join(argv, " ")); err != nil {
		return nil, err
	}
	return f.Target.Run(ctx, dir, argv...)
}

type faultStaged struct {
	Staged
	f    *faultTarget
	dest string
}

// Commit fails before the rename, or after it (the rename done, the directory's fsync
// failing), by the parity of the operation number.
func (s *faultStaged) Commit(ctx context.Context) error {
	n := s.f.ops + 1
	err := s.f.step("commit " + s.dest)
	if err != nil && n%2 == 0 && s.f.cancel == nil {
		s.Staged.Commit(ctx)
		return fmt.Errorf("sync after rename: %w", err)
	}
	if err != nil {
		return err
	}
	return s.Staged.Commit(ctx)
}

// faultReloader counts its calls on the same counter; Reload and Confirm can be made to
// fail on their own too.
type faultReloader struct {
	f                         *faultTarget
	failReload, failConfirm   bool
	reloads, confirms, counts int
}

func (r *faultReloader) Reload(ctx context.Context, t Target) error {
	r.reloads++
	if r.failReload {
		return errors.New("reload refused")
	}
	if r.f != nil {
		return r.f.step("reload")
	}
	return nil
}

func (r *faultReloader) Confirm(ctx context.Context, t Target) error {
	r.confirms++
	if r.failConfirm {
		return errors.New("no new worker")
	}
	if r.f != nil {
		return r.f.step("confirm")
	}
	return nil
}

func write(t *testing.T, p, data string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if uid >= 0 {
		if err := os.Lchown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// owner is a non-root owner for existing files when the tests run as root (CI does):
// a restored file must keep it.
func owner() (int, int) {
	if os.Getuid() == 0 {
		return 4242, 4343
	}
	return -1, -1
}

func TestTx(t *testing.T) {
	uid, gid := owner()
	const cfg, rs = "etc/haproxy/haproxy.cfg", "etc/rsyslog.d/49-haproxy.conf"
	type setup func(t *testing.T, root string)
	existing := func(t *testing.T, root string) {
		write(t, filepath.Join(root, cfg), "old cfg\n", 0o640, uid, gid)
		write(t, filepath.Join(root, "etc/logrotate.d/haproxy"), "same\n", 0o600, -1, -1)
	}
	newFiles := []File{
		{Name: cfg, Data: []byte("new cfg\n")},
		{Name: "/" + rs, Data: []byte("new rsyslog\n"), Mode: 0o600},
		{Name: "etc/logrotate.d/haproxy", Data: []byte("same\n")},
	}
	for _, tt := range []struct {
		name     string
		setup    setup
		files    []File
		validate error
		reload   *faultReloader
		wantErr  string // "" succeeds
		// after the transaction: all new (the files applied) or all old (unchanged tree)
		wantNew                bool
		wantResolved           map[string]string // files written through a symlinked directory
		wantReloads, wantConfs int
	}{
		{name: "new and changed files, no reload", setup: existing, files: newFiles, wantNew: true},
		{name: "reload and confirm", setup: existing, files: newFiles, reload: &faultReloader{}, wantNew: true, wantReloads: 1, wantConfs: 1},
		{name: "nothing changed: no reload", setup: existing, files: newFiles[2:], reload: &faultReloader{}, wantNew: true},
		{name: "check refuses", setup: existing, files: newFiles, validate: errors.New("bad config"), reload: &faultReloader{}, wantErr: "nothing was replaced"},
		{name: "reload fails: previous files back", setup: existing, files: newFiles, reload: &faultReloader{failReload: true}, wantErr: "reload: reload refused (the previous files are back", wantReloads: 1},
		{name: "confirm fails: previous files back and reloaded again", setup: existing, files: newFiles, reload: &faultReloader{failConfirm: true}, wantErr: "confirm the reload: no new worker", wantReloads: 2, wantConfs: 1},
		{name: "destination is a symlink", setup: func(t *testing.T, root string) {
			existing(t, root)
			write(t, filepath.Join(root, "elsewhere.conf"), "linked\n", 0o644, -1, -1)
			os.MkdirAll(filepath.Join(root, "etc/rsyslog.d"), 0o755)
			if err := os.Symlink("../../elsewhere.conf", filepath.Join(root, rs)); err != nil {
				t.Fatal(err)
			}
		}, files: newFiles, reload: &faultReloader{}, wantErr: "is a symlink to ../../elsewhere.conf"},
		{name: "destination is a directory", setup: func(t *testing.T, root string) {
			existing(t, root)
			if err := os.MkdirAll(filepath.Join(root, rs, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, files: newFiles, wantErr: "is a directory"},
		{name: "parent is a file", setup: func(t *testing.T, root string) {
			existing(t, root)
			write(t, filepath.Join(root, "etc/rsyslog.d"), "file\n", 0o644, -1, -1)
		}, files: newFiles, wantErr: "not a directory"},
		{name: "parent symlink leads out of the root", setup: func(t *testing.T, root string) {
			existing(t, root)
			if err := os.Symlink(t.TempDir(), filepath.Join(root, "etc/rsyslog.d")); err != nil {
				t.Fatal(err)
			}
		}, files: newFiles, wantErr: "leads out of the root"},
		{name: "parent symlink inside the root", setup: func(t *testing.T, root string) {
			existing(t, root)
			os.MkdirAll(filepath.Join(root, "srv/rsyslog.d"), 0o755)
			if err := os.Symlink("../srv/rsyslog.d", filepath.Join(root, "etc/rsyslog.d")); err != nil {
				t.Fatal(err)
			}
		}, files: newFiles[:2], wantNew: true, wantResolved: map[string]string{"srv/rsyslog.d/49-haproxy.conf": "new rsyslog\n"}},
		{name: "name leaves the root", setup: existing, files: []File{newFiles[0], {Name: "etc/../../escape", Data: []byte("x")}}, wantErr: "not a path under the target's root"},
		{name: "same file twice", setup: existing, files: []File{newFiles[0], {Name: "/etc//haproxy/haproxy.cfg", Data: []byte("x")}}, wantErr: "are the same file"},
		{name: "empty name", setup: existing, files: []File{{Name: "/", Data: []byte("x")}}, wantErr: "not a path under the target's root"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			if err := os.Mkdir(root, 0o755); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, root)
			before := snapshot(t, root)
			sameIno := ino(t, filepath.Join(root, "etc/logrotate.d/haproxy"))
			tx := Tx{Target: LocalTarget{Root: root}, Files: tt.files}
			var seen []StagedFile
			tx.Validate = validatorFunc(func(_ context.Context, tg Target, files []StagedFile) error {
				seen = files
				for _, f := range files {
					if filepath.Dir(f.Staged) != filepath.Dir(f.Path) {
						t.Errorf("%s staged at %s, not beside it", f.Path, f.Staged)
					}
					if f.Changed == (f.Staged == f.Path) {
						t.Errorf("%+v: a changed file is judged by its staged copy, an unchanged one in place", f)
					}
				}
				return tt.validate
			})
			if tt.reload != nil {
				tx.Reload = tt.reload
			}
			res, err := tx.Run(t.Context())
			after := snapshot(t, root)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if hint.Of(err) == "" && !errors.Is(err, tt.validate) {
					t.Errorf("no hint on %v", err)
				}
				if d := diffTrees(before, after); d != "" {
					t.Errorf("the tree changed:%s", d)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				want := maps.Clone(before)
				apply(want, tt.files, root)
				if tt.wantResolved != nil {
					for p, data := range tt.wantResolved {
						if got := read(t, filepath.Join(root, p)); got != data {
							t.Errorf("%s = %q, want %q", p, got, data)
						}
					}
				} else if d := diffTrees(want, after); d != "" {
					t.Errorf("after the transaction:%s", d)
				}
				if len(seen) != len(tt.files) {
					t.Errorf("the validator saw %d files, want %d", len(seen), len(tt.files))
				}
				if got := ino(t, filepath.Join(root, "etc/logrotate.d/haproxy")); got != sameIno {
					t.Error("an unchanged file was rewritten")
				}
				if res.Reloaded != (tt.wantReloads > 0) {
					t.Errorf("Reloaded = %v", res.Reloaded)
				}
			}
			if tt.reload != nil && (tt.reload.reloads != tt.wantReloads || tt.reload.confirms != tt.wantConfs) {
				t.Errorf("reloads %d confirms %d, want %d %d", tt.reload.reloads, tt.reload.confirms, tt.wantReloads, tt.wantConfs)
			}
			var re *RollbackError
			if errors.As(err, &re) && len(re.Restored) != 2 {
				t.Errorf("restored %v, want the two changed files", re.Restored)
			}
		})
	}
}

type validatorFunc func(context.Context, Target, []StagedFile) error

func (f validatorFunc) Validate(ctx context.Context, t Target, files []StagedFile) error {
	return f(ctx, t, files)
}

// apply is the model of a successful transaction: what the tree must look like after.
func apply(tree map[string]node, files []File, root string) {
	for _, f := range files {
		rel := strings.TrimLeft(filepath.Clean("/"+f.Name), "/")
		if n, ok := tree[rel]; ok {
			n.Data = string(f.Data)
			tree[rel] = n
			continue
		}
		for d := filepath.Dir(rel); d != "."; d = filepath.Dir(d) {
			if _, ok := tree[d]; !ok {
				tree[d] = node{Type: fs.ModeDir, Mode: 0o755, UID: uint32(os.Getuid()), GID: uint32(os.Getgid())}
			}
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		tree[rel] = node{Mode: mode, UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Data: string(f.Data)}
	}
}

// TestRollbackFailureIsReported: when putting a file back fails too, the error names it
// and says what to do; the other files are still restored.
func TestRollbackFailureIsReported(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a"), "old a\n", 0o644, -1, -1)
	write(t, filepath.Join(root, "b"), "old b\n", 0o644, -1, -1)
	ft := &faultTarget{Target: LocalTarget{Root: root}}
	// Break restoring b: after the reload fails, make its directory entry a directory,
	// which no rename can replace with a file.
	r := reloaderFunc(func(context.Context) error {
		os.Remove(filepath.Join(root, "b"))
		os.Mkdir(filepath.Join(root, "b"), 0o755)
		os.WriteFile(filepath.Join(root, "b", "keep"), nil, 0o644)
		return errors.New("reload refused")
	})
	_, err := Tx{Target: ft, Files: []File{{Name: "a", Data: []byte("new a\n")}, {Name: "b", Data: []byte("new b\n")}}, Reload: r}.Run(t.Context())
	var re *RollbackError
	if !errors.As(err, &re) || re.Failed[filepath.Join(root, "b")] == nil || hint.Of(err) == "" {
		t.Fatalf("err = %v (%#v)", err, re)
	}
	if !slices.Equal(re.Restored, []string{filepath.Join(root, "a")}) || read(t, filepath.Join(root, "a")) != "old a\n" {
		t.Errorf("restored %v, a = %q", re.Restored, read(t, filepath.Join(root, "a")))
	}
	if !strings.Contains(err.Error(), "restoring the previous files failed") {
		t.Errorf("message: %v", err)
	}
}

type reloaderFunc func(context.Context) error

func (f reloaderFunc) Reload(ctx context.Context, _ Target) error { return f(ctx) }
func (reloaderFunc) Confirm(context.Context, Target) error        { return nil }

// TestCancel: an interrupt at any point of the transaction — between two operations or
// noticed by one — leaves the previous files, whole.
func TestCancel(t *testing.T) {
	uid, gid := owner()
	for at := 1; ; at++ {
		root := t.TempDir()
		write(t, filepath.Join(root, "etc/haproxy/haproxy.cfg"), "old\n", 0o640, uid, gid)
		write(t, filepath.Join(root, "etc/haproxy/extra.cfg"), "old extra\n", 0o600, -1, -1)
		before := snapshot(t, root)
		ctx, cancel := context.WithCancel(t.Context())
		ft := &faultTarget{Target: LocalTarget{Root: root}, failAt: at, cancel: cancel, passThrough: at%2 == 0}
		files := []File{
			{Name: "etc/haproxy/haproxy.cfg", Data: []byte("new\n")},
			{Name: "etc/haproxy/extra.cfg", Data: []byte("new extra\n")},
			{Name: "etc/haproxy/certs/new.pem", Data: []byte("pem\n")},
		}
		_, err := Tx{Target: ft, Files: files, Reload: &faultReloader{f: ft}, Validate: Checker(func(context.Context, map[string]string) error {
			return ft.step("validate")
		})}.Run(ctx)
		cancel()
		if ft.ops < at {
			// The transaction ended before the interrupt: every step was tried.
			if err != nil {
				t.Fatalf("no interrupt, err %v", err)
			}
			if at < 10 {
				t.Fatalf("only %d operations", ft.ops)
			}
			break
		}
		if err == nil {
			// Only an interrupt once the reload is confirmed comes too late to matter.
			if ft.log[at-1] != "confirm" || !ft.passThrough {
				t.Fatalf("interrupt at %d (%s): no error", at, ft.log[at-1])
			}
			continue
		}
		if d := diffTrees(before, snapshot(t, root)); d != "" {
			t.Errorf("interrupt at %d (%s), err %v: the tree changed:%s", at, ft.log[at-1], err, d)
		}
	}
}

// The property: a transaction over random trees and files, with one failure or
// interrupt injected at a random operation, ends with every file new (no error) or the
// tree exactly as it was (an error) — content, modes, owners, no staged file left.
func FuzzTx(f *testing.F) {
	for i := range 40 {
		f.Add(uint64(i)*7919, uint16(i), uint8(i))
	}
	f.Fuzz(func(t *testing.T, seed uint64, failAt uint16, how uint8) {
		txProperty(t, seed, int(failAt%64), how)
	})
}

func TestTxProperty(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 60
	}
	for i := range n {
		txProperty(t, uint64(i)+1e6, -1, uint8(i))
	}
}

var pool = []string{
	"etc/haproxy/haproxy.cfg", "etc/haproxy/errors/503.http", "etc/haproxy/certs/site.pem",
	"etc/rsyslog.d/49-haproxy.conf", "etc/logrotate.d/haproxy", "opt/new/deep/file", "top",
}

// txProperty builds a random tree under a temporary root, runs one random transaction on
// it with a fault at failAt (-1: a random one, 0: none) and checks the invariant.
func txProperty(t *testing.T, seed uint64, failAt int, how uint8) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, seed>>7))
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	modes := []fs.FileMode{0o600, 0o640, 0o644, 0o444, 0o755}
	content := func() string {
		b := make([]byte, rnd.IntN(300))
		for i := range b {
			b[i] = byte(rnd.UintN(256))
		}
		return string(b)
	}
	old := map[string]string{}
	for _, p := range pool {
		switch rnd.IntN(10) {
		case 0, 1, 2, 3: // absent
		case 4: // something a rename must not replace
			if rnd.IntN(2) == 0 {
				os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
				os.Symlink("target", filepath.Join(root, p))
			} else {
				os.MkdirAll(filepath.Join(root, p), 0o750)
			}
		default:
			uid, gid := -1, -1
			if os.Getuid() == 0 {
				uid, gid = rnd.IntN(3)*2000, rnd.IntN(3)*3000
			}
			old[p] = content()
			write(t, filepath.Join(root, p), old[p], modes[rnd.IntN(len(modes))], uid, gid)
		}
	}
	var files []File
	for _, i := range rnd.Perm(len(pool))[:1+rnd.IntN(len(pool))] {
		p := pool[i]
		data := content()
		if o, ok := old[p]; ok && rnd.IntN(3) == 0 {
			data = o // unchanged
		}
		files = append(files, File{Name: p, Data: []byte(data), Mode: modes[rnd.IntN(len(modes))]})
	}
	before := snapshot(t, root)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ft := &faultTarget{Target: LocalTarget{Root: root}, failAt: failAt}
	if failAt < 0 {
		ft.failAt = rnd.IntN(40)
	}
	if how%3 == 1 {
		ft.cancel, ft.passThrough = cancel, how%2 == 0
	}
	tx := Tx{Target: ft, Files: files}
	if how%4 != 0 {
		tx.Reload = &faultReloader{f: ft}
	}
	if how%5 != 0 {
		tx.Validate = validatorFunc(func(context.Context, Target, []StagedFile) error { return ft.step("validate") })
	}
	_, err := tx.Run(ctx)
	after := snapshot(t, root)
	if err != nil {
		if d := diffTrees(before, after); d != "" {
			t.Fatalf("seed %d fault at %d of %v: %v\nthe tree is not the old one:%s", seed, ft.failAt, ft.log, err, d)
		}
		return
	}
	want := maps.Clone(before)
	apply(want, files, root)
	if d := diffTrees(want, after); d != "" {
		t.Fatalf("seed %d fault at %d of %v: no error, but the tree is not the new one:%s", seed, ft.failAt, ft.log, d)
	}
}

// FuzzNames: a name is refused or lands under the root, never beside or above it.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"etc/haproxy/haproxy.cfg", "/etc/x", "../x", "a/../../x", "a/./b//c", "/", "", ".", "a/..", "..\\x", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		es, err := entries([]File{{Name: name}})
		if err != nil {
			return
		}
		p := es[0].path
		root := t.TempDir()
		hp := LocalTarget{Root: root}.Path(p)
		if p == "/" || path.Clean(p) != p || !strings.HasPrefix(hp, root+string(filepath.Separator)) {
			t.Fatalf("%q became %q (%s), not a path under the root", name, p, hp)
		}
	})
}

// TestConfirmFailsAndReloadOfOldFails: both failures are reported, the files are back.
func TestConfirmFailsAndReloadOfOldFails(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a"), "old\n", 0o644, -1, -1)
	calls := 0
	r := &confirmFails{reload: func() error {
		if calls++; calls == 2 {
			return errors.New("second reload refused")
		}
		return nil
	}}
	_, err := Tx{Target: LocalTarget{Root: root}, Files: []File{{Name: "a", Data: []byte("new\n")}}, Reload: r}.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "no new worker; reloading the previous files failed too: second reload refused") {
		t.Fatalf("err %v", err)
	}
	if read(t, filepath.Join(root, "a")) != "old\n" {
		t.Error("not restored")
	}
}

type confirmFails struct{ reload func() error }

func (c *confirmFails) Reload(context.Context, Target) error  { return c.reload() }
func (c *confirmFails) Confirm(context.Context, Target) error { return errors.New("no new worker") }
