package sshtarget_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"harpy/apply"
	"harpy/hint"
	"harpy/hversion"
	"harpy/profiles"
	"harpy/sshtarget"
	"harpy/sshtarget/sshtest"
)

func dial(t *testing.T, srv *sshtest.Server, root string) *sshtarget.Target {
	t.Helper()
	tg, err := sshtarget.Dial(t.Context(), sshtarget.Config{Addr: srv.Addr, User: srv.User, IdentityFile: srv.IdentityFile,
		KnownHosts: srv.KnownHosts, Root: root, ConnectTimeout: 5 * time.Second, CommandTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("dial: %v (hint: %s)", err, hint.Of(err))
	}
	t.Cleanup(func() { tg.Close() })
	return tg
}

// Names a shell would misread: every primitive must take them as they are.
var hostile = []string{"plain", "with space", "it's", "$(touch PWNED)", "`touch PWNED`", "a\nb", "-n", "*", "tab\there", `back\slash`, "\"dq\"", "ünï"}

func TestPrimitives(t *testing.T) {
	srv := sshtest.Start(t)
	root := t.TempDir()
	tg := dial(t, srv, root)
	ctx := t.Context()
	for _, name := range hostile {
		t.Run(name, func(t *testing.T) {
			dir := "/d/" + name
			created, err := tg.MkdirAll(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(filepath.Join(root, "d", name)); err != nil || !fi.IsDir() || len(created) == 0 || created[len(created)-1] != dir {
				t.Fatalf("MkdirAll(%q) = %q, %v; stat %v", dir, created, err, err)
			}
			p := dir + "/" + name
			if cur, err := tg.Read(ctx, p); err != nil || cur.Exists {
				t.Fatalf("Read(missing) = %+v, %v", cur, err)
			}
			data := []byte("line 1\n" + name + "\x00\xff no newline")
			s, err := tg.Stage(ctx, p, data, apply.Meta{Mode: 0o640, UID: 0, GID: 4})
			if err != nil {
				t.Fatal(err)
			}
			if cur, _ := tg.Read(ctx, p); cur.Exists {
				t.Fatal("Stage touched the destination")
			}
			if err := s.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			hp := filepath.Join(root, strings.TrimPrefix(p, "/"))
			got, err := os.ReadFile(hp)
			fi, _ := os.Stat(hp)
			if err != nil || !bytes.Equal(got, data) || fi.Mode().Perm() != 0o640 || fi.Sys().(*syscall.Stat_t).Gid != 4 {
				t.Fatalf("after commit: %q %v mode %v", got, err, fi.Mode())
			}
			cur, err := tg.Read(ctx, p)
			if err != nil || !cur.Exists || cur.Type != 0 || !bytes.Equal(cur.Data, data) || cur.Meta != (apply.Meta{Mode: 0o640, UID: 0, GID: 4}) {
				t.Fatalf("Read = %+v, %v", cur, err)
			}
			// A symlink is reported, not followed; a directory is a directory.
			link := dir + "/link"
			if err := os.Symlink(name, filepath.Join(root, strings.TrimPrefix(link, "/"))); err != nil {
				t.Fatal(err)
			}
			if cur, err := tg.Read(ctx, link); err != nil || cur.Type != fs.ModeSymlink || cur.Link != name || cur.Data != nil {
				t.Fatalf("Read(symlink) = %+v, %v", cur, err)
			}
			if cur, err := tg.Read(ctx, dir); err != nil || cur.Type != fs.ModeDir {
				t.Fatalf("Read(dir) = %+v, %v", cur, err)
			}
			// Abort removes a staged copy and nothing else.
			s2, err := tg.Stage(ctx, p, []byte("x"), apply.Meta{Mode: 0o644, UID: -1, GID: -1})
			if err != nil {
				t.Fatal(err)
			}
			s2.Abort()
			if ents, _ := os.ReadDir(filepath.Dir(hp)); len(ents) != 2 {
				t.Fatalf("after Abort %d entries, want the file and the link", len(ents))
			}
			out, err := tg.Run(ctx, dir, "sh", "-c", `pwd; printf '%s' "$1"`, "sh", name)
			if err != nil || string(out) != filepath.Join(root, "d", name)+"\n"+name {
				t.Fatalf("Run = %q, %v", out, err)
			}
			for _, rm := range []string{link, p, dir, p} {
				if err := tg.Remove(ctx, rm); err != nil {
					t.Fatalf("Remove(%q): %v", rm, err)
				}
			}
			if _, err := os.Lstat(filepath.Join(root, "d", name)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("not removed: %v", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(root, "d", "PWNED")); err == nil {
		t.Fatal("a name was run as a command")
	}
	matches, _ := filepath.Glob(filepath.Join(root, "*", "PWNED"))
	if _, err := os.Stat("PWNED"); err == nil || len(matches) > 0 {
		t.Fatal("a name was run as a command")
	}
}

func TestRunErrors(t *testing.T) {
	srv := sshtest.Start(t)
	tg := dial(t, srv, "/")
	ctx := t.Context()
	_, err := tg.Run(ctx, "/", "sh", "-c", "echo out; echo err >&2; exit 3")
	var ec interface{ ExitCode() int }
	if !errors.As(err, &ec) || ec.ExitCode() != 3 {
		t.Errorf("exit 3: %v", err)
	}
	if _, err := tg.Run(ctx, "/", "no-such-tool-here"); err == nil || errors.As(err, &ec) || !strings.Contains(err.Error(), "not found on the host") {
		t.Errorf("missing tool: %v (it must not look like the tool's own failure)", err)
	}
	if _, err := tg.Run(ctx, "/no/such/dir", "true"); err == nil || errors.As(err, &ec) {
		t.Errorf("missing dir: %v", err)
	}
	// The command timeout kills a hung command.
	slow, err := sshtarget.Dial(ctx, sshtarget.Config{Addr: srv.Addr, User: srv.User, IdentityFile: srv.IdentityFile, KnownHosts: srv.KnownHosts, CommandTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	start := time.Now()
	_, err = slow.Run(ctx, "/", "sleep", "20")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("timeout: %v after %s", err, time.Since(start))
	}
	if out, err := slow.Run(ctx, "/", "true"); err != nil {
		t.Errorf("the connection is still usable after a timeout: %q %v", out, err)
	}
}

func TestHostKeysAndAuth(t *testing.T) {
	srv := sshtest.Start(t)
	ctx := t.Context()
	dir := t.TempDir()
	base := sshtarget.Config{Addr: srv.Addr, User: srv.User, IdentityFile: srv.IdentityFile, ConnectTimeout: 5 * time.Second}
	for _, tc := range []struct {
		name  string
		edit  func(c *sshtarget.Config)
		want  string // in the error; "" is success
		input bool   // bad input rather than a failure
	}{
		{"unknown host refused", func(c *sshtarget.Config) { c.KnownHosts = filepath.Join(dir, "empty") }, "is not in", false},
		{"trust on first use records the key", func(c *sshtarget.Config) { c.KnownHosts, c.AcceptNew = filepath.Join(dir, "tofu"), true }, "", false},
		{"then the recorded key is trusted", func(c *sshtarget.Config) { c.KnownHosts = filepath.Join(dir, "tofu") }, "", false},
		{"a changed key is refused even with TOFU", func(c *sshtarget.Config) { c.KnownHosts, c.AcceptNew = filepath.Join(dir, "other"), true }, "host key of " + srv.Addr + " changed", false},
		{"wrong client key refused", func(c *sshtarget.Config) { c.KnownHosts, c.IdentityFile = srv.KnownHosts, filepath.Join(dir, "wrong") }, "the host refused the key", false},
		{"missing key file", func(c *sshtarget.Config) { c.KnownHosts, c.IdentityFile = srv.KnownHosts, filepath.Join(dir, "nope") }, "identity file", true},
		{"not a key", func(c *sshtarget.Config) { c.KnownHosts, c.IdentityFile = srv.KnownHosts, srv.KnownHosts }, "no key found", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600)
			other := sshtest.NewKey(t, filepath.Join(dir, "other_host"))
			line := "[127.0.0.1]:" + strings.Split(srv.Addr, ":")[1] + " " + strings.TrimSpace(string(sshMarshal(other)))
			os.WriteFile(filepath.Join(dir, "other"), []byte(line+"\n"), 0o600)
			sshtest.NewKey(t, filepath.Join(dir, "wrong"))
			c := base
			tc.edit(&c)
			tg, err := sshtarget.Dial(ctx, c)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("%v (hint: %s)", err, hint.Of(err))
				}
				tg.Close()
				return
			}
			if err == nil {
				tg.Close()
				t.Fatal("connected")
			}
			if !strings.Contains(err.Error(), tc.want) || hint.Of(err) == "" || hint.IsInput(err) != tc.input {
				t.Fatalf("error %q (hint %q, input %v), want %q", err, hint.Of(err), hint.IsInput(err), tc.want)
			}
		})
	}
	b, _ := os.ReadFile(filepath.Join(dir, "tofu"))
	if keys, err := sshtarget.Known(filepath.Join(dir, "tofu"), srv.Addr); err != nil || len(keys) != 1 || strings.Count(string(b), "\n") != 1 {
		t.Errorf("TOFU recorded %q (%v, %v)", b, keys, err)
	}
	if keys, err := sshtarget.Known(filepath.Join(dir, "empty"), srv.Addr); err != nil || len(keys) != 0 {
		t.Errorf("Known(empty) = %v, %v", keys, err)
	}
}

// TestTransaction runs apply's one transaction over SSH, judged by Debian's real haproxy.
func TestTransaction(t *testing.T) {
	srv := sshtest.Start(t)
	root := t.TempDir()
	tg := dial(t, srv, root)
	ctx := t.Context()
	p, err := profiles.Load(ctx, profiles.Default)
	if err != nil {
		t.Fatal(err)
	}
	o, err := profiles.Render(p, profiles.Options{HAProxy: hversion.MustParse("2.6"), Dist: "debian"})
	if err != nil {
		t.Fatal(err)
	}
	// The previous files, with modes and owners a rollback must keep.
	old := map[string][]byte{}
	for i, f := range o.Files() {
		hp := filepath.Join(root, f.Name)
		os.MkdirAll(filepath.Dir(hp), 0o755)
		old[f.Name] = []byte("# previous " + f.Name + "\n")
		if err := os.WriteFile(hp, old[f.Name], 0o600+fs.FileMode(i)*0o040); err != nil {
			t.Fatal(err)
		}
		os.Chown(hp, 0, i)
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			fi, _ := d.Info()
			b, _ := os.ReadFile(p)
			m[p] = fi.Mode().String() + " " + string(rune('0'+fi.Sys().(*syscall.Stat_t).Gid)) + " " + string(b)
			return nil
		})
		return m
	}
	before := snapshot()
	same := func(what string) {
		t.Helper()
		after := snapshot()
		if len(after) != len(before) {
			t.Fatalf("%s: %d files, want %d: %v", what, len(after), len(before), after)
		}
		for k, v := range before {
			if after[k] != v {
				t.Fatalf("%s: %s is %q, want %q", what, k, after[k], v)
			}
		}
	}

	// A config haproxy refuses never goes live.
	bad := append([]apply.File(nil), o.Files()...)
	bad[0].Data = append(append([]byte(nil), o.HAProxyCfg...), []byte("\nfrontend broken\n    bind :notaport\n")...)
	_, err = apply.Tx{Target: tg, Files: bad, Validate: apply.HAProxy{}}.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "nothing was replaced") {
		t.Fatalf("refused config: %v", err)
	}
	same("after a refused config")

	// A failing reload puts every file back byte for byte, with its mode and owner.
	_, err = apply.Tx{Target: tg, Files: o.Files(), Validate: apply.HAProxy{}, Reload: apply.Command{Argv: []string{"false"}}}.Run(ctx)
	var rb *apply.RollbackError
	if !errors.As(err, &rb) || rb.Step != "reload" || len(rb.Failed) != 0 {
		t.Fatalf("failing reload: %v", err)
	}
	same("after a failed reload")

	// A good change goes live; the reload runs on the host; a second run changes nothing.
	marker := filepath.Join(root, "reloaded")
	tx := apply.Tx{Target: tg, Files: o.Files(), Validate: apply.HAProxy{}, Reload: apply.Command{Argv: []string{"touch", marker}}}
	res, err := tx.Run(ctx)
	if err != nil || len(res.Written) != 3 {
		t.Fatalf("apply: %+v, %v", res, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/haproxy/haproxy.cfg")); !bytes.Equal(b, o.HAProxyCfg) {
		t.Fatal("haproxy.cfg not written")
	}
	if fi, err := os.Stat(filepath.Join(root, "etc/haproxy/haproxy.cfg")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the file's mode was not kept: %v", fi.Mode())
	}
	os.Remove(marker)
	res, err = tx.Run(ctx)
	if err != nil || len(res.Written) != 0 || len(res.Unchanged) != 3 {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "etc/haproxy"))
	if len(ents) != 1 {
		t.Fatalf("leftovers in etc/haproxy: %v", ents)
	}
}

// cutter is the SSH target whose connection is cut just before its k-th operation.
type cutter struct {
	*sshtarget.Target
	k, n int
}

func (c *cutter) step() {
	c.n++
	if c.n == c.k {
		c.Target.Close()
	}
}

func (c *cutter) Read(ctx context.Context, p string) (apply.Current, error) {
	c.step()
	return c.Target.Read(ctx, p)
}

func (c *cutter) MkdirAll(ctx context.Context, d string) ([]string, error) {
	c.step()
	return c.Target.MkdirAll(ctx, d)
}

func (c *cutter) Stage(ctx context.Context, p string, data []byte, m apply.Meta) (apply.Staged, error) {
	c.step()
	s, err := c.Target.Stage(ctx, p, data, m)
	if err != nil {
		return nil, err
	}
	return &cutStaged{s, c}, nil
}

func (c *cutter) Remove(ctx context.Context, p string) error {
	c.step()
	return c.Target.Remove(ctx, p)
}

func (c *cutter) Run(ctx context.Context, dir string, argv ...string) ([]byte, error) {
	c.step()
	return c.Target.Run(ctx, dir, argv...)
}

type cutStaged struct {
	apply.Staged
	c *cutter
}

func (s *cutStaged) Commit(ctx context.Context) error {
	s.c.step()
	return s.Staged.Commit(ctx)
}

// TestConnectionLost cuts the SSH connection before each operation of a transaction in
// turn: every live file is then whole, old or new, and a run over a new connection
// converges to the new files.
func TestConnectionLost(t *testing.T) {
	srv := sshtest.Start(t)
	ctx := t.Context()
	files := []apply.File{
		{Name: "etc/haproxy/haproxy.cfg", Data: []byte("global\n    maxconn 100\n"), Mode: 0o644},
		{Name: "etc/rsyslog.d/49-haproxy.conf", Data: []byte("# new rsyslog\n"), Mode: 0o644},
		{Name: "etc/logrotate.d/haproxy", Data: []byte("# new logrotate\n"), Mode: 0o644},
	}
	for k := 1; ; k++ {
		root := t.TempDir()
		for _, f := range files[:2] { // the third file is new
			os.MkdirAll(filepath.Join(root, filepath.Dir(f.Name)), 0o755)
			os.WriteFile(filepath.Join(root, f.Name), []byte("old "+f.Name+"\n"), 0o644)
		}
		c := &cutter{Target: dial(t, srv, root), k: k}
		// The reload records what it saw: it may run only once every file is new.
		seen := "cat " + files[0].Name + " " + files[1].Name + " " + files[2].Name + " > seen"
		tx := apply.Tx{Target: c, Files: files, Validate: apply.HAProxy{Binary: "true"}, Reload: apply.Command{Argv: []string{"sh", "-c", seen}}}
		_, err := tx.Run(ctx)
		if b, rerr := os.ReadFile(filepath.Join(root, "seen")); rerr == nil {
			if want := string(files[0].Data) + string(files[1].Data) + string(files[2].Data); string(b) != want {
				t.Fatalf("cut before op %d: the reload ran on %q, not on all the new files", k, b)
			}
		}
		for _, f := range files {
			b, rerr := os.ReadFile(filepath.Join(root, f.Name))
			if errors.Is(rerr, fs.ErrNotExist) && f.Name == files[2].Name {
				continue
			}
			if string(b) != string(f.Data) && string(b) != "old "+f.Name+"\n" {
				t.Fatalf("cut before op %d: %s is %q (err %v), neither old nor new", k, f.Name, b, err)
			}
		}
		if c.n < k { // the transaction ended before the cut: every step was covered
			if err != nil {
				t.Fatalf("uncut run failed: %v", err)
			}
			t.Logf("cut before each of %d operations", k-1)
			return
		}
		if err == nil {
			t.Fatalf("cut before op %d: no error", k)
		}
		res, err := apply.Tx{Target: dial(t, srv, root), Files: files, Validate: apply.HAProxy{Binary: "true"}}.Run(ctx)
		if err != nil {
			t.Fatalf("re-run after a cut before op %d: %v", k, err)
		}
		for _, f := range files {
			if b, _ := os.ReadFile(filepath.Join(root, f.Name)); string(b) != string(f.Data) {
				t.Fatalf("re-run after a cut before op %d: %s is %q (%+v)", k, f.Name, b, res)
			}
		}
	}
}

// TestConfined: with a root, a directory that leads out of it through a symlink is
// refused before anything is written there.
func TestConfined(t *testing.T) {
	srv := sshtest.Start(t)
	root, outside := t.TempDir(), t.TempDir()
	os.Symlink(outside, filepath.Join(root, "etc"))
	os.MkdirAll(filepath.Join(root, "var"), 0o755)
	os.Symlink("var", filepath.Join(root, "inside"))
	tg := dial(t, srv, root)
	_, err := apply.Tx{Target: tg, Files: []apply.File{{Name: "etc/haproxy/haproxy.cfg", Data: []byte("x")}}}.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "leads out of the root") || hint.Of(err) == "" {
		t.Fatalf("escape: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("written outside the root: %v", ents)
	}
	// A link that stays inside the root is fine.
	if _, err := (apply.Tx{Target: tg, Files: []apply.File{{Name: "inside/x.cfg", Data: []byte("x")}}}).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "var/x.cfg")); string(b) != "x" {
		t.Fatalf("inside: %q", b)
	}
}

// TestAgent logs in with a key held by an SSH agent (golang.org/x/crypto/ssh/agent's
// keyring on a unix socket) when no identity file is given.
func TestAgent(t *testing.T) {
	srv := sshtest.Start(t)
	keyring := agent.NewKeyring()
	b, _ := os.ReadFile(srv.IdentityFile)
	raw, err := ssh.ParseRawPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	tg, err := sshtarget.Dial(t.Context(), sshtarget.Config{Addr: srv.Addr, User: srv.User, KnownHosts: srv.KnownHosts})
	if err != nil {
		t.Fatalf("%v (hint %s)", err, hint.Of(err))
	}
	defer tg.Close()
	if out, err := tg.Run(t.Context(), "/", "id", "-u"); err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Fatalf("id -u: %q %v", out, err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := sshtarget.Dial(t.Context(), sshtarget.Config{Addr: srv.Addr, User: srv.User, KnownHosts: srv.KnownHosts}); err == nil || !hint.IsInput(err) || !strings.Contains(err.Error(), "no SSH agent") {
		t.Fatalf("no key and no agent: %v", err)
	}
}

// TestHugeFile: a file beyond safefile.MaxConfig is an error, quickly, not a hang or a
// memory exhaustion.
func TestHugeFile(t *testing.T) {
	srv := sshtest.Start(t)
	root := t.TempDir()
	f, _ := os.Create(filepath.Join(root, "big"))
	f.Truncate(70 << 20)
	f.Close()
	tg := dial(t, srv, root)
	start := time.Now()
	if _, err := tg.Read(t.Context(), "/big"); err == nil || !strings.Contains(err.Error(), "MiB of output") || time.Since(start) > 25*time.Second {
		t.Fatalf("huge file: %v after %s", err, time.Since(start))
	}
}
