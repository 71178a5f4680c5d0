package livetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"harpy/runtimeapi"
)

// HAProxy is a running haproxy in the foreground (-db) with a stats socket the test reads.
type HAProxy struct {
	Bin    string
	Cfg    string
	Socket string
	Dir    string
	// API is the Runtime API client of the stats socket.
	API *runtimeapi.Client

	tb   testing.TB
	proc *Proc
	gen  int
}

// DebianHAProxy is Debian's haproxy 2.6, the version these scenarios are measured with.
func DebianHAProxy(tb testing.TB) string {
	tb.Helper()
	return Tool(tb, "haproxy", "haproxy")
}

// CheckConfig runs `haproxy -c` on cfg and fails the test with haproxy's words if it refuses.
func CheckConfig(tb testing.TB, bin, cfg string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "-c", "-f", cfg).CombinedOutput(); err != nil {
		tb.Fatalf("haproxy -c -f %s: %v\n%s", cfg, err, out)
	}
}

// StartHAProxy checks cfg, starts haproxy on it and waits until the stats socket answers
// and every address in waitAddrs accepts connections. socket is the stats socket path that
// cfg declares (it must be under the test's directory: a shared path would let two tests'
// haproxys replace each other's socket).
func StartHAProxy(tb testing.TB, bin, cfg, socket string, waitAddrs ...string) *HAProxy {
	tb.Helper()
	h := &HAProxy{Bin: bin, Cfg: cfg, Socket: socket, Dir: filepath.Dir(cfg), API: runtimeapi.New(socket), tb: tb}
	CheckConfig(tb, bin, cfg)
	h.proc = StartProc(tb, "haproxy", filepath.Join(h.Dir, "haproxy.out"), bin, "-db", "-f", cfg)
	h.wait(h.proc, waitAddrs)
	return h
}

func (h *HAProxy) wait(p *Proc, addrs []string) {
	h.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := Eventually(ctx, 20*time.Millisecond, func() bool {
		if ok, _ := p.Exited(); ok {
			return true
		}
		_, err := h.API.Raw(ctx, "show info")
		return err == nil
	}); err != nil {
		h.tb.Fatalf("haproxy stats socket %s never answered: %v\n%s", h.Socket, err, Tail(p.LogPath, 30))
	}
	if ok, err := p.Exited(); ok {
		h.tb.Fatalf("haproxy exited at start: %v\n%s", err, Tail(p.LogPath, 30))
	}
	for _, a := range addrs {
		if err := waitProcTCP(ctx, p, a); err != nil {
			h.tb.Fatal(err)
		}
	}
}

// Reload starts a new haproxy on the (possibly rewritten) config with -sf, as a reload
// does: the new process takes the listeners and the old one finishes its connections.
func (h *HAProxy) Reload(waitAddrs ...string) { h.ReloadWith(nil, waitAddrs...) }

// ReloadWith is Reload with extra haproxy arguments, such as "-x", socket to take the
// listening sockets over from the old process (seamless reload, 1.8+).
func (h *HAProxy) ReloadWith(extra []string, waitAddrs ...string) {
	h.tb.Helper()
	CheckConfig(h.tb, h.Bin, h.Cfg)
	old := h.proc
	h.gen++
	args := append([]string{h.Bin, "-db", "-f", h.Cfg}, extra...)
	args = append(args, "-sf", strconv.Itoa(old.Pid()))
	p := StartProc(h.tb, "haproxy", filepath.Join(h.Dir, "haproxy-"+strconv.Itoa(h.gen)+".out"), args...)
	h.proc = p
	h.wait(p, waitAddrs)
	select {
	case <-old.Done():
	case <-time.After(30 * time.Second):
		h.tb.Fatalf("old haproxy (pid %d) did not finish after -sf", old.Pid())
	}
}

// Pid is the pid of the current haproxy process.
func (h *HAProxy) Pid() int { return h.proc.Pid() }

// Stat reads `show stat` from the stats socket.
func (h *HAProxy) Stat(ctx context.Context) ([]StatRow, error) {
	st, err := h.API.Stat(ctx)
	if err != nil {
		return nil, err
	}
	return st.Rows, nil
}

// ServerStatus returns the status column of proxy/server ("" if the row is missing).
func (h *HAProxy) ServerStatus(ctx context.Context, proxy, server string) (string, error) {
	rows, err := h.Stat(ctx)
	if err != nil {
		return "", err
	}
	r := Find(rows, proxy, server)
	if r == nil {
		return "", fmt.Errorf("no %s/%s in show stat", proxy, server)
	}
	return r.Status(), nil
}

// WaitStatus polls until proxy/server has status want (exact match, e.g. "UP", "DOWN") and
// returns how long that took.
func (h *HAProxy) WaitStatus(ctx context.Context, proxy, server, want string) (time.Duration, error) {
	var last string
	d, err := Eventually(ctx, 50*time.Millisecond, func() bool {
		s, err := h.ServerStatus(ctx, proxy, server)
		if err == nil {
			last = s
		}
		return s == want
	})
	if err != nil {
		return d, fmt.Errorf("%s/%s still %q after %s, want %q", proxy, server, last, d.Round(time.Millisecond), want)
	}
	return d, nil
}

// MkdirAll is os.MkdirAll failing the test.
func MkdirAll(tb testing.TB, dir string) string {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// boundAddr is the first `bind` address of the config (the frontend a client connects to).
func (h *HAProxy) boundAddr(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile(h.Cfg)
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "bind" {
			return f[1]
		}
	}
	tb.Fatalf("%s has no bind line", h.Cfg)
	return ""
}

// NonLoopbackPeers lists the remote addresses of the process's TCP and UDP sockets that
// are outside 127.0.0.0/8 (read with ss): a guard that a config under test, with its
// resolvers and logs, talks to nothing but the test's own servers.
func NonLoopbackPeers(ctx context.Context, pid int) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ss", "-Htunap").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ss -Htunap: %w\n%s", err, out)
	}
	return nonLoopbackPeers(string(out), pid), nil
}

func nonLoopbackPeers(ssOut string, pid int) []string {
	tag := "pid=" + strconv.Itoa(pid) + ","
	var bad []string
	for _, l := range strings.Split(ssOut, "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || !strings.Contains(l, tag) {
			continue
		}
		peer := f[5]
		i := strings.LastIndexByte(peer, ':')
		if i < 0 {
			continue
		}
		host := strings.Trim(peer[:i], "[]")
		if host == "*" || host == "0.0.0.0" || host == "::" {
			continue
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			continue
		}
		bad = append(bad, peer)
	}
	return bad
}

// WaitChecked polls until proxy/server is UP with a passed layer-7 check (check_status
// L7OK). A server counts as UP from start-up before any check ran; this proves one did.
func (h *HAProxy) WaitChecked(ctx context.Context, proxy, server string) error {
	var last StatRow
	_, err := Eventually(ctx, 50*time.Millisecond, func() bool {
		rows, err := h.Stat(ctx)
		if err != nil {
			return false
		}
		last = Find(rows, proxy, server)
		return last != nil && last.Status() == "UP" && last["check_status"] == "L7OK"
	})
	if err != nil {
		return fmt.Errorf("%s/%s never UP with a passed layer-7 check (last: status %q check_status %q %q)",
			proxy, server, last.Status(), last["check_status"], last["last_chk"])
	}
	return nil
}
