package livetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Host is a real systemd host for a test: a `systemd-nspawn --boot` container on an overlay
// of this machine's `/`, with systemd as its PID 1, sharing the network namespace. Every
// service in it binds its own address, Addr (127.0.1.N); its sshd listens there on port 22.
type Host struct {
	Name string
	// Addr is the host's own loopback address, 127.0.1.N.
	Addr string
	// Root is the overlay mount point: files written under it appear in the host (writes
	// land in the overlay's upper directory, never in the machine's `/`).
	Root string
	// KeyFile is an ed25519 private key (OpenSSH format) that root's authorized_keys accepts.
	KeyFile string
	// KnownHosts is a known_hosts file holding the line for the host's own host key.
	KnownHosts string
	// BootTime is from starting systemd-nspawn until `systemctl is-system-running` answered.
	BootTime time.Duration
	// State is what `systemctl is-system-running` answered: running or degraded.
	State string
	// FailedUnits are the units `systemctl --failed` listed when State is degraded.
	FailedUnits []string

	signer  ssh.Signer
	hostKey ssh.PublicKey
	proc    *Proc
}

// nspawnBoot bounds a host's boot, from nspawn's start to systemd answering over SSH.
// Hosts boot in about a second alone; several on 2 busy cores take longer.
const nspawnBoot = 90 * time.Second

// keepEnabled are enabled units a host keeps: its sshd and systemd's own. Every other unit
// the image enables is masked, since it would start and bind ports on the shared network
// (or spin on a console nobody reads).
func keepEnabled(unit string) bool {
	switch {
	case unit == "ssh.service", unit == "sshd.service":
		return true
	case strings.HasPrefix(unit, "systemd-"):
		return true
	case strings.HasSuffix(unit, ".target"):
		return true
	}
	return false
}

// alwaysMasked are units masked whether or not the image enables them: consoles in a
// container with no one at them, and socket activation on the wildcard address.
// ssh.socket would listen on every address, port 22.
var alwaysMasked = []string{"ssh.socket", "console-getty.service", "container-getty@.service", "getty@.service", "getty.target"}

// StartHost boots host n (1–254) named name, registers its stop in tb.Cleanup, and returns
// once systemd inside answers `running` (or `degraded`, logging the failed units) over SSH.
// It needs root and systemd-nspawn (package systemd-container).
func StartHost(tb testing.TB, name string, n int) *Host {
	tb.Helper()
	nspawn := Tool(tb, "systemd-nspawn", "systemd-container")
	h, err := startHost(tb, nspawn, name, n)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// StartHosts boots count hosts in parallel, named prefix1, prefix2, … on 127.0.1.first,
// 127.0.1.first+1, …; it returns once all have booted.
func StartHosts(tb testing.TB, prefix string, first, count int) []*Host {
	tb.Helper()
	nspawn := Tool(tb, "systemd-nspawn", "systemd-container")
	hosts := make([]*Host, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hosts[i], errs[i] = startHost(tb, nspawn, fmt.Sprintf("%s%d", prefix, i+1), first+i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	return hosts
}

// startHost does StartHost's work without failing tb, so that hosts can boot from
// several goroutines; it uses tb only for TempDir, Cleanup and Logf.
func startHost(tb testing.TB, nspawn, name string, n int) (*Host, error) {
	if n < 1 || n > 254 {
		return nil, fmt.Errorf("start host %s: host number %d is outside 1–254 (it becomes 127.0.1.N)", name, n)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("start host %s: needs root (overlay mounts and systemd-nspawn)", name)
	}
	if err := nspawnPropagateDir(); err != nil {
		return nil, err
	}
	dir := tb.TempDir()
	h := &Host{
		Name:       name,
		Addr:       fmt.Sprintf("127.0.1.%d", n),
		Root:       filepath.Join(dir, "root"),
		KeyFile:    filepath.Join(dir, "id_ed25519"),
		KnownHosts: filepath.Join(dir, "known_hosts"),
	}
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	for _, d := range []string{h.Root, upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	opts := "lowerdir=/,upperdir=" + upper + ",workdir=" + work
	if err := syscall.Mount("overlay", h.Root, "overlay", 0, opts); err != nil {
		return nil, fmt.Errorf("start host %s: mount -t overlay overlay -o %s %s: %w", name, opts, h.Root, err)
	}
	// Registered before nspawn starts, so it runs after nspawn has stopped (cleanups are LIFO).
	tb.Cleanup(func() {
		if err := unmount(h.Root); err != nil {
			tb.Error(err)
		}
	})
	if err := h.prepare(); err != nil {
		return nil, fmt.Errorf("start host %s: prepare %s: %w", name, h.Root, err)
	}
	start := time.Now()
	logPath := filepath.Join(dir, "nspawn.log")
	p, err := startProc("nspawn-"+name, logPath,
		nspawn, "-D", h.Root, "--register=no", "--keep-unit", "--boot", "--link-journal=no", "-M", name)
	if err != nil {
		return nil, err
	}
	h.proc = p
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("host %s: nspawn log tail (%s):\n%s", name, logPath, Tail(logPath, 30))
		}
	})
	if err := h.waitBooted(); err != nil {
		return nil, fmt.Errorf("start host %s (%s): %w\nnspawn log (%s):\n%s", name, h.Addr, err, logPath, Tail(logPath, 40))
	}
	h.BootTime = time.Since(start)
	if h.State == "degraded" {
		tb.Logf("host %s (%s) booted degraded in %v; failed units: %s", name, h.Addr, h.BootTime.Round(time.Millisecond), strings.Join(h.FailedUnits, ", "))
	}
	return h, nil
}

var propagateOnce sync.Mutex

// nspawnPropagateDir mounts a tmpfs on /run/systemd/nspawn once per machine: without it
// nspawn refuses ("Attempted to remove disk file system under /run/systemd/nspawn/propagate")
// where / is not a tmpfs-backed /run.
func nspawnPropagateDir() error {
	propagateOnce.Lock()
	defer propagateOnce.Unlock()
	const dir = "/run/systemd/nspawn"
	mounted, err := isMountPoint(dir)
	if err != nil || mounted {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s for systemd-nspawn: %w", dir, err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount -t tmpfs tmpfs %s (systemd-nspawn needs it): %w", dir, err)
	}
	return nil
}

// isMountPoint reports whether path is a mount point in /proc/self/mountinfo.
func isMountPoint(path string) (bool, error) {
	points, err := MountPoints()
	if err != nil {
		return false, err
	}
	for _, p := range points {
		if p == path {
			return true, nil
		}
	}
	return false, nil
}

// MountPoints lists the mount points of /proc/self/mountinfo (octal escapes decoded).
func MountPoints() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	var points []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		points = append(points, unescapeMount(f[4]))
	}
	return points, sc.Err()
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unmount unmounts everything at or below root (deepest first), retrying a busy mount for
// a few seconds before detaching it lazily.
func unmount(root string) error {
	points, err := MountPoints()
	if err != nil {
		return err
	}
	var mine []string
	for _, p := range points {
		if p == root || strings.HasPrefix(p, root+"/") {
			mine = append(mine, p)
		}
	}
	var errs []error
	for i := len(mine) - 1; i >= 0; i-- {
		p := mine[i]
		var err error
		for try := 0; try < 20; try++ {
			if err = syscall.Unmount(p, 0); err == nil || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOENT) {
				err = nil
				break
			}
			if !errors.Is(err, syscall.EBUSY) {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			if lerr := syscall.Unmount(p, syscall.MNT_DETACH); lerr != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %v (lazy: %v)", p, err, lerr))
			} else {
				errs = append(errs, fmt.Errorf("unmount %s: %v; detached lazily", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// prepare configures the overlay before boot: masks, machine id, hostname, sshd and keys.
func (h *Host) prepare() error {
	if err := h.maskUnits(); err != nil {
		return err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	if err := h.writeFile("/etc/machine-id", hex.EncodeToString(id)+"\n", 0o444); err != nil {
		return err
	}
	if err := h.writeFile("/etc/hostname", h.Name+"\n", 0o644); err != nil {
		return err
	}

	// A host key of its own, so that SSH clients can tell hosts apart and verify each.
	hostPub, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	hostPEM, err := ssh.MarshalPrivateKey(hostPriv, "root@"+h.Name)
	if err != nil {
		return err
	}
	hostKey, err := ssh.NewPublicKey(hostPub)
	if err != nil {
		return err
	}
	h.hostKey = hostKey
	const hostKeyPath = "/etc/ssh/harpy_test_host_ed25519_key"
	if err := h.writeFile(hostKeyPath, string(pem.EncodeToMemory(hostPEM)), 0o600); err != nil {
		return err
	}
	if err := h.writeFile(hostKeyPath+".pub", string(ssh.MarshalAuthorizedKey(hostKey)), 0o644); err != nil {
		return err
	}
	// sshd_config includes sshd_config.d first and the first value of an option wins;
	// HostKey given here replaces the default keys (shared with the machine).
	dropIn := fmt.Sprintf("# harpy livetest host %s\nListenAddress %s\nUsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nHostKey %s\n",
		h.Name, h.Addr, hostKeyPath)
	if err := h.writeFile("/etc/ssh/sshd_config.d/00-harpy-livetest.conf", dropIn, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(h.KnownHosts, []byte(knownhosts.Line([]string{h.Addr}, hostKey)+"\n"), 0o644); err != nil {
		return err
	}

	// The client key for tests.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "harpy-livetest")
	if err != nil {
		return err
	}
	if err := os.WriteFile(h.KeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	if h.signer, err = ssh.NewSignerFromKey(priv); err != nil {
		return err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	if err := os.WriteFile(h.KeyFile+".pub", ssh.MarshalAuthorizedKey(sshPub), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(h.Root, "root/.ssh"), 0o700); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(h.Root, "root/.ssh"), 0o700); err != nil {
		return err
	}
	return h.writeFile("/root/.ssh/authorized_keys", string(ssh.MarshalAuthorizedKey(sshPub)), 0o600)
}

// writeFile writes path (absolute inside the host) under Root.
func (h *Host) writeFile(path, content string, mode os.FileMode) error {
	p := filepath.Join(h.Root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	// Remove first: the lower file may be a symlink (e.g. /etc/machine-id elsewhere).
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

// maskUnits masks, inside the overlay, every enabled unit the host does not keep.
func (h *Host) maskUnits() error {
	out, err := exec.Command("systemctl", "list-unit-files", "--root="+h.Root, "--state=enabled", "--no-legend", "--no-pager").Output()
	if err != nil {
		return fmt.Errorf("systemctl list-unit-files --root=%s --state=enabled: %w", h.Root, err)
	}
	mask := append([]string(nil), alwaysMasked...)
	mask = append(mask, unitsToMask(string(out))...)
	args := append([]string{"--root=" + h.Root, "mask", "--"}, mask...)
	if out, err := exec.Command("systemctl", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("systemctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// unitsToMask picks, from `systemctl list-unit-files --state=enabled --no-legend` output,
// the units a host must not start.
func unitsToMask(listing string) []string {
	var units []string
	for _, line := range strings.Split(listing, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || keepEnabled(f[0]) {
			continue
		}
		units = append(units, f[0])
	}
	return units
}

// waitBooted polls `systemctl is-system-running` over SSH until systemd has finished booting.
func (h *Host) waitBooted() error {
	ctx, cancel := context.WithTimeout(context.Background(), nspawnBoot)
	defer cancel()
	var last string
	for {
		if done, err := h.proc.Exited(); done {
			return fmt.Errorf("systemd-nspawn exited during boot: %v", err)
		}
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		out, err := h.Run(rctx, "systemctl is-system-running")
		rcancel()
		state := strings.TrimSpace(out)
		switch {
		case state == "running":
			h.State = state
			return nil
		case state == "degraded":
			h.State = state
			failed, _ := h.Run(ctx, "systemctl list-units --failed --no-legend --plain")
			for _, line := range strings.Split(failed, "\n") {
				if f := strings.Fields(line); len(f) > 0 {
					h.FailedUnits = append(h.FailedUnits, f[0])
				}
			}
			return nil
		case state != "":
			last = "systemd: " + state
		case err != nil:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not booted after %v (last: %s)", nspawnBoot, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sshHandshake bounds an SSH handshake with a host.
const sshHandshake = 15 * time.Second

// Client opens an SSH connection to the host as root, checking its host key.
func (h *Host) Client(ctx context.Context) (*ssh.Client, error) {
	cfg := &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(h.signer)},
		HostKeyCallback: ssh.FixedHostKey(h.hostKey),
		Timeout:         5 * time.Second,
	}
	addr := net.JoinHostPort(h.Addr, "22")
	d := net.Dialer{Timeout: cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	// The handshake is bounded on its own: sshd holds a stalled login for LoginGraceTime (2 min).
	dl := time.Now().Add(sshHandshake)
	if cdl, ok := ctx.Deadline(); ok && cdl.Before(dl) {
		dl = cdl
	}
	_ = conn.SetDeadline(dl)
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("ssh %s: handshake: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// Run runs cmd through root's shell on the host and returns its standard output. A non-zero
// exit is an error carrying the exit status and standard error; the output is returned too.
func (h *Host) Run(ctx context.Context, cmd string) (string, error) {
	c, err := h.Client(ctx)
	if err != nil && ctx.Err() == nil {
		// Nothing ran yet: one more connection is safe (a stalled handshake was seen once
		// on a loaded machine, with the host otherwise answering).
		c, err = h.Client(ctx)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", fmt.Errorf("ssh %s: session: %w", h.Addr, err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	go func() { done <- s.Run(cmd) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		c.Close()
		<-done
		err = fmt.Errorf("command still running: %w", ctx.Err())
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("%s on %s (%s): %w: %s", cmd, h.Name, h.Addr, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Stop halts the host now (SIGTERM to systemd-nspawn, bounded wait); the overlay is
// unmounted by the cleanup StartHost registered. Stopping twice is harmless.
func (h *Host) Stop() { h.proc.Stop() }
