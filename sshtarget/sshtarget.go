// Package sshtarget is apply.Target over SSH (golang.org/x/crypto/ssh): the host's files
// are read, staged, renamed and removed, and its commands run, by POSIX shell commands
// over one SSH connection, one session per call, every path and argument quoted (Quote).
// No ssh or scp binary is run, and the host needs nothing but sshd, sh and coreutils.
//
// Host keys are checked against a known_hosts file; a host not in it is refused unless
// AcceptNew (trust on first use), which records the key it offered. A changed key is
// always refused.
package sshtarget

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"harpy/apply"
	"harpy/hint"
	"harpy/safefile"
)

// Config says how to reach a host.
type Config struct {
	Addr           string // host:port
	User           string
	IdentityFile   string // private key; "" uses the SSH agent ($SSH_AUTH_SOCK)
	KnownHosts     string // known_hosts file
	AcceptNew      bool   // trust a host missing from KnownHosts and record its key
	ConnectTimeout time.Duration
	CommandTimeout time.Duration // bound on each remote command; 0: none
	Root           string        // directory on the host that target paths are under ("/")
}

// Target is a connected host.
type Target struct {
	cfg    Config
	client *ssh.Client
}

var _ apply.Target = (*Target)(nil)

// Dial connects and authenticates. Its errors say which of reaching the host, trusting its
// key or being let in failed, and what to do.
func Dial(ctx context.Context, cfg Config) (*Target, error) {
	if cfg.Root == "" {
		cfg.Root = "/"
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	auth, closeAuth, err := authMethods(cfg)
	if err != nil {
		return nil, err
	}
	defer closeAuth()
	hk, algos, err := hostKeyCheck(cfg.KnownHosts, cfg.Addr, cfg.AcceptNew)
	if err != nil {
		return nil, err
	}
	sc := &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              auth,
		HostKeyCallback:   hk,
		HostKeyAlgorithms: algos,
		Timeout:           cfg.ConnectTimeout,
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, hint.With(fmt.Errorf("connect to %s: %w", cfg.Addr, err), "check the host's address and port, and that sshd runs there")
	}
	// The handshake honours the context too: closing the connection ends it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(cfg.ConnectTimeout))
	c, chans, reqs, err := ssh.NewClientConn(conn, cfg.Addr, sc)
	if !stop() || err != nil {
		conn.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, handshakeError(cfg, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return &Target{cfg: cfg, client: ssh.NewClient(c, chans, reqs)}, nil
}

func handshakeError(cfg Config, err error) error {
	var he *hostKeyError
	switch {
	case errors.As(err, &he):
		return he.err
	case strings.Contains(err.Error(), "unable to authenticate"):
		who := "the SSH agent's keys"
		if cfg.IdentityFile != "" {
			who = "the key " + cfg.IdentityFile
		}
		return hint.With(fmt.Errorf("log in to %s as %s: the host refused %s: %w", cfg.Addr, cfg.User, who, err),
			"add the public key to ~%s/.ssh/authorized_keys on the host, or set identity_file to a key it accepts", cfg.User)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return hint.With(fmt.Errorf("connect to %s: no SSH handshake within %s: %w", cfg.Addr, cfg.ConnectTimeout, err), "check that the port is sshd's and the host is not overloaded; raise connect_timeout")
	}
	return hint.With(fmt.Errorf("connect to %s: %w", cfg.Addr, err), "check that the port is sshd's")
}

// Close ends the connection.
func (t *Target) Close() error { return t.client.Close() }

func (t *Target) String() string { return "ssh " + t.cfg.User + "@" + t.cfg.Addr + ":" + t.cfg.Root }

// Path is p under Root on the host.
func (t *Target) Path(p string) string { return path.Join(t.cfg.Root, p) }

// exitError is a remote command's non-zero exit, shaped like *exec.ExitError.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) ExitCode() int { return e.code }

// exec runs script with /bin/sh on the host (whatever the user's login shell), stdin as
// its input. Output beyond limit bytes fails the command.
func (t *Target) exec(ctx context.Context, script string, stdin []byte, stdout, stderr io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// The host bounds the command itself (timeout(1) kills it there); the local bound,
	// a little later, covers a host that stopped answering.
	cmd := "/bin/sh -c " + Quote(script)
	if d := t.cfg.CommandTimeout; d > 0 {
		cmd = fmt.Sprintf("timeout -s KILL %.3f %s", d.Seconds(), cmd)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d+5*time.Second)
		defer cancel()
	}
	start := time.Now()
	s, err := t.client.NewSession()
	if err != nil {
		return hint.With(fmt.Errorf("%s: open a session: %w", t.cfg.Addr, err), "the connection was lost or sshd's MaxSessions is reached; run again")
	}
	defer s.Close()
	if stdin != nil {
		s.Stdin = bytes.NewReader(stdin)
	}
	s.Stdout, s.Stderr = stdout, stderr
	if err := s.Start(cmd); err != nil {
		return fmt.Errorf("%s: start a command: %w", t.cfg.Addr, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Best effort: sshd may refuse signals; the session's end does not wait for
		// the remote command (timeout(1) ends it there).
		_ = s.Signal(ssh.SIGKILL)
		s.Close()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && t.cfg.CommandTimeout > 0 {
			return t.timedOut(ctx.Err())
		}
		return fmt.Errorf("%s: interrupted: %w", t.cfg.Addr, ctx.Err())
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		if d := t.cfg.CommandTimeout; d > 0 && ee.ExitStatus() == 128+9 && time.Since(start) >= d {
			return t.timedOut(context.DeadlineExceeded)
		}
		return &exitError{code: ee.ExitStatus(), msg: fmt.Sprintf("exit status %d", ee.ExitStatus())}
	}
	if err != nil {
		return hint.With(fmt.Errorf("%s: %w", t.cfg.Addr, err), "the connection was lost; run again (every file is either old or new)")
	}
	return nil
}

func (t *Target) timedOut(err error) error {
	return hint.With(fmt.Errorf("%s: command timed out after %s: %w", t.cfg.Addr, t.cfg.CommandTimeout, err), "raise command_timeout, or see why the host is slow")
}

// script runs a script and returns its stdout; a failure carries its stderr.
func (t *Target) script(ctx context.Context, what, script string, stdin []byte) ([]byte, error) {
	var out, errb bytes.Buffer
	lim := &limited{w: &out, n: safefile.MaxConfig + 4096}
	err := t.exec(ctx, script, stdin, lim, &limited{w: &errb, n: 64 << 10})
	if err == nil && lim.over {
		err = errTooLong
	}
	if err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg != "" {
			return out.Bytes(), fmt.Errorf("%s on %s: %w: %s", what, t.cfg.Addr, err, msg)
		}
		return out.Bytes(), fmt.Errorf("%s on %s: %w", what, t.cfg.Addr, err)
	}
	return out.Bytes(), nil
}

// limited keeps at most n bytes, so that a huge remote file is an error, not a memory
// exhaustion. It goes on reading (and dropping) the rest: a remote command blocked on a
// full channel would never exit.
type limited struct {
	w    io.Writer
	n    int64
	over bool
}

func (l *limited) Write(b []byte) (int, error) {
	if l.over || int64(len(b)) > l.n {
		l.over = true
		return len(b), nil
	}
	l.n -= int64(len(b))
	return l.w.Write(b)
}

var errTooLong = fmt.Errorf("more than %d MiB of output", safefile.MaxConfig>>20)

// Read is lstat plus, for a regular file, its content; for a symlink, its target.
func (t *Target) Read(ctx context.Context, p string) (apply.Current, error) {
	rp := t.Path(p)
	if err := checkArg(rp); err != nil {
		return apply.Current{}, fmt.Errorf("read %s: %w", rp, err)
	}
	script := `p=` + Quote(rp) + `
` + t.confine(rp) + `
if ! s=$(LC_ALL=C stat -c '%f %u %g %s' -- "$p" 2>&1); then
	case $s in *"No such file or directory"*) echo missing; exit 0;; esac
	printf '%s\n' "$s" >&2; exit 1
fi
printf '%s\n' "$s"
if [ -L "$p" ]; then readlink -- "$p"; elif [ -f "$p" ]; then cat -- "$p"; fi`
	out, err := t.script(ctx, "read "+rp, script, nil)
	if err != nil {
		return apply.Current{}, hint.With(err, "check the path and the login user's permissions on the host")
	}
	head, body, ok := bytes.Cut(out, []byte("\n"))
	if !ok {
		return apply.Current{}, fmt.Errorf("read %s on %s: unexpected answer %q", rp, t.cfg.Addr, out)
	}
	if string(head) == "missing" {
		return apply.Current{}, nil
	}
	if real, ok := strings.CutPrefix(string(head), "escape "); ok {
		return apply.Current{}, hint.With(fmt.Errorf("install %s on %s: its directory leads out of the root %s to %s", rp, t.cfg.Addr, t.cfg.Root, real),
			"make the link relative inside the root, or give the link's target as root")
	}
	f := strings.Fields(string(head))
	if len(f) != 4 {
		return apply.Current{}, fmt.Errorf("read %s on %s: unexpected stat answer %q", rp, t.cfg.Addr, head)
	}
	raw, err1 := strconv.ParseUint(f[0], 16, 32)
	uid, err2 := strconv.Atoi(f[1])
	gid, err3 := strconv.Atoi(f[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return apply.Current{}, fmt.Errorf("read %s on %s: unexpected stat answer %q: %w", rp, t.cfg.Addr, head, err)
	}
	cur := apply.Current{Exists: true, Type: fileType(uint32(raw)), Meta: apply.Meta{Mode: fs.FileMode(raw & 0o777), UID: uid, GID: gid}}
	switch {
	case cur.Type == fs.ModeSymlink:
		cur.Link = strings.TrimSuffix(string(body), "\n")
	case cur.Type == 0:
		if size, _ := strconv.ParseInt(f[3], 10, 64); size != int64(len(body)) {
			return apply.Current{}, fmt.Errorf("read %s on %s: %d bytes read, stat said %d (was it changed meanwhile?)", rp, t.cfg.Addr, len(body), size)
		}
		cur.Data = body
	}
	return cur, nil
}

// confine is a script line that, with a Root other than "/", refuses a path whose
// nearest existing directory resolves (through symlinks) outside the root: with root
// /srv/h1, /srv/h1/etc -> /etc would otherwise write into the host's own /etc.
func (t *Target) confine(rp string) string {
	if path.Clean(t.cfg.Root) == "/" {
		return ""
	}
	return `r=$(cd -- ` + Quote(t.cfg.Root) + ` 2>/dev/null && pwd -P) && {
	d=$(dirname -- "$p"); while [ ! -d "$d" ]; do d=$(dirname -- "$d"); done
	real=$(cd -- "$d" && pwd -P) || exit 1
	case $real/ in "$r"/*) ;; *) printf 'escape %s\n' "$real"; exit 0;; esac
}`
}

// fileType maps st_mode's type bits to fs.FileMode's.
func fileType(m uint32) fs.FileMode {
	switch m & 0o170000 {
	case 0o100000:
		return 0
	case 0o040000:
		return fs.ModeDir
	case 0o120000:
		return fs.ModeSymlink
	case 0o010000:
		return fs.ModeNamedPipe
	case 0o140000:
		return fs.ModeSocket
	case 0o020000:
		return fs.ModeDevice | fs.ModeCharDevice
	case 0o060000:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

// MkdirAll creates dir and its missing parents (0755), outermost first.
func (t *Target) MkdirAll(ctx context.Context, dir string) ([]string, error) {
	var chain []string // target paths, outermost first
	for d := path.Clean("/" + dir); ; d = path.Dir(d) {
		chain = append([]string{d}, chain...)
		if d == "/" {
			break
		}
	}
	var b strings.Builder
	b.WriteString("i=0\nfor d in")
	for _, d := range chain {
		rp := t.Path(d)
		if err := checkArg(rp); err != nil {
			return nil, fmt.Errorf("create %s: %w", rp, err)
		}
		b.WriteString(" " + Quote(rp))
	}
	b.WriteString(`; do
	if [ -d "$d" ]; then :
	elif [ -e "$d" ] || [ -L "$d" ]; then echo "!$i"; exit 0
	elif [ $i = 0 ]; then mkdir -p -m 0755 -- "$d" && echo $i || exit 1
	else mkdir -m 0755 -- "$d" && echo $i || exit 1
	fi
	i=$((i+1))
done`)
	out, err := t.script(ctx, "create "+t.Path(dir), b.String(), nil)
	var created []string
	for _, l := range strings.Fields(string(out)) {
		if n, ok := strings.CutPrefix(l, "!"); ok {
			i, _ := strconv.Atoi(n)
			return created, hint.With(fmt.Errorf("create %s: %s is not a directory", t.Path(dir), t.Path(chain[i])), "remove or rename it")
		}
		if i, e := strconv.Atoi(l); e == nil && i < len(chain) {
			created = append(created, chain[i])
		}
	}
	if err != nil {
		return created, hint.With(err, "check the directory's permissions on the host")
	}
	return created, nil
}

// Stage writes data to a new temporary file beside p (never over an existing one), sets
// its mode and owner and fsyncs it.
func (t *Target) Stage(ctx context.Context, p string, data []byte, m apply.Meta) (apply.Staged, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	tp := path.Join(path.Dir(p), "."+path.Base(p)+"."+hex.EncodeToString(rnd[:])+".tmp")
	rp := t.Path(tp)
	if err := checkArg(rp); err != nil {
		return nil, fmt.Errorf("stage %s: %w", t.Path(p), err)
	}
	if data == nil {
		data = []byte{}
	}
	own := ""
	if m.UID >= 0 {
		own = fmt.Sprintf(" && chown %d:%d -- \"$t\"", m.UID, m.GID)
	}
	script := `set -C; umask 077; t=` + Quote(rp) + `
cat > "$t" || { rm -f -- "$t"; exit 1; }
[ "$(wc -c < "$t")" -eq ` + strconv.Itoa(len(data)) + ` ] || { rm -f -- "$t"; echo "short write: the input ended early" >&2; exit 1; }
{ chmod ` + fmt.Sprintf("%04o", m.Mode.Perm()) + ` -- "$t"` + own + ` && { sync -- "$t" 2>/dev/null || sync; }; } || { e=$?; rm -f -- "$t"; exit $e; }`
	if _, err := t.script(ctx, "stage "+t.Path(p), script, data); err != nil {
		return nil, hint.With(err, "check the free space and permissions on the host (keeping an owner needs root)")
	}
	return &staged{t: t, path: tp, dest: p}, nil
}

type staged struct {
	t          *Target
	path, dest string
	mu         sync.Mutex
	done       bool
}

func (s *staged) Path() string { return s.path }

// Commit renames the copy over its destination (mv -T: never into a directory) and
// fsyncs the directory.
func (s *staged) Commit(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, dst := s.t.Path(s.path), s.t.Path(s.dest)
	script := `mv -f -T -- ` + QuoteArgs(src, dst) + ` && { sync -- ` + Quote(path.Dir(dst)) + ` 2>/dev/null || sync; }`
	if _, err := s.t.script(ctx, "install "+dst, script, nil); err != nil {
		return hint.With(err, "check the permissions of %s on the host", path.Dir(dst))
	}
	s.done = true
	return nil
}

// Abort removes the copy (with a fresh bound: it runs after an interrupt too).
func (s *staged) Abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = s.t.script(ctx, "remove "+s.t.Path(s.path), `rm -f -- `+Quote(s.t.Path(s.path)), nil)
}

// Remove removes a file or an empty directory; a missing one is not an error.
func (t *Target) Remove(ctx context.Context, p string) error {
	rp := t.Path(p)
	if err := checkArg(rp); err != nil {
		return fmt.Errorf("remove %s: %w", rp, err)
	}
	script := `p=` + Quote(rp) + `
if [ -d "$p" ] && [ ! -L "$p" ]; then rmdir -- "$p"; else rm -f -- "$p"; fi`
	_, err := t.script(ctx, "remove "+rp, script, nil)
	return err
}

// servicePath is systemd's default PATH for services: a login's PATH may lack sbin.
const servicePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Run runs argv in dir (under Root) on the host and returns its combined output. A
// non-zero exit has ExitCode(); a command the host lacks does not.
func (t *Target) Run(ctx context.Context, dir string, argv ...string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("run: no command")
	}
	rd := t.Path(dir)
	if err := checkArg(append([]string{rd}, argv...)...); err != nil {
		return nil, fmt.Errorf("run %s: %w", argv[0], err)
	}
	script := `cd -- ` + Quote(rd) + ` || exit 125
PATH=` + servicePath + `:$PATH; export PATH
command -v -- ` + Quote(argv[0]) + ` >/dev/null 2>&1 || { echo ` + Quote(argv[0]+": not found on the host's service PATH ("+servicePath+")") + `; exit 127; }
exec ` + QuoteArgs(argv...)
	var out bytes.Buffer
	lim := &limited{w: &out, n: 16 << 20}
	w := &syncWriter{w: lim}
	err := t.exec(ctx, script, nil, w, w)
	if err == nil && lim.over {
		err = fmt.Errorf("run %s on %s: more than 16 MiB of output", argv[0], t.cfg.Addr)
	}
	var ee *exitError
	if errors.As(err, &ee) && (ee.code == 127 || ee.code == 125) {
		return out.Bytes(), hint.With(fmt.Errorf("run %s in %s on %s: %s", argv[0], rd, t.cfg.Addr, strings.TrimSpace(out.String())), "install it on the host, or check the directory")
	}
	return out.Bytes(), err
}

// syncWriter serialises the session's stdout and stderr copies into one buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
