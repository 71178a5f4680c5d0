package livetest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a server started by a test as a plain process in its own process group, with its
// output in a log file. It is stopped by pid (never by name) in t.Cleanup.
type Proc struct {
	Name    string
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}

	mu      sync.Mutex
	waitErr error
	stopped bool
}

// stopGrace is how long a stopped server gets to exit after SIGTERM before SIGKILL.
const stopGrace = 10 * time.Second

// StartProc starts argv with stdout and stderr appended to logPath and registers a cleanup
// that stops it. The process is not tied to a context: the test decides when it stops.
func StartProc(tb testing.TB, name, logPath string, argv ...string) *Proc {
	tb.Helper()
	p, err := startProc(name, logPath, argv...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("%s log tail (%s):\n%s", name, logPath, Tail(logPath, 30))
		}
	})
	return p
}

func startProc(name, logPath string, argv ...string) (*Proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so that a crash can be simulated for a master and its workers;
	// killed with the test binary if that dies without running its cleanups (-timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, strings.Join(argv, " "), err)
	}
	p := &Proc{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id of the started process.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.waitErr
	default:
		return false, nil
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error {
	if ok, _ := p.Exited(); ok {
		return fmt.Errorf("signal %s: already exited", p.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// Stop sends SIGTERM and waits; a process still running after stopGrace gets SIGKILL.
// Stopping twice is harmless.
func (p *Proc) Stop() {
	p.mu.Lock()
	already := p.stopped
	p.stopped = true
	p.mu.Unlock()
	if already {
		<-p.done
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		p.killGroup()
		<-p.done
	}
}

// Kill simulates a crash: SIGKILL to the process and every process of its group (a master
// and its workers), with no chance to close connections cleanly.
func (p *Proc) Kill() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.killGroup()
	<-p.done
}

func (p *Proc) killGroup() {
	// The group id is the pid of the process this test started (Setpgid).
	if err := syscall.Kill(-p.Pid(), syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		_ = p.cmd.Process.Kill()
	}
}

// Tail returns the last n lines of a file, for failure messages.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
