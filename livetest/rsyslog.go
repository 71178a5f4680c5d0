package livetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Rsyslog is a real rsyslogd running a rendered drop-in, adjusted only to listen on a test
// port on 127.0.0.1 and to write under the test's directory instead of /var/log.
type Rsyslog struct {
	Port   int    // UDP port on 127.0.0.1
	Dir    string // rsyslogd's files
	LogDir string // stands for /var/log
	Conf   string
	// After is appended after the drop-in, where a system's own rules would follow it
	// (Debian and EL include /etc/rsyslog.d/*.conf before their catch-all rules).
	After string

	proc *Proc
}

var (
	rsyslogUDPPort   = regexp.MustCompile(`(?i)(port\s*=\s*")514(")`)
	rsyslogLegacyRun = regexp.MustCompile(`(?m)^(\s*\$UDPServerRun\s+)514\b`)
)

// AdjustRsyslog rewrites a drop-in for a test: UDP port 514 → port, /var/log/ → logDir/.
// A drop-in rendered for the test's port already is left as it is. It fails if the result
// listens on no UDP port "port", since the test would then wait for nothing (or listen on
// the real port 514).
func AdjustRsyslog(dropIn string, port int, logDir string) (string, error) {
	p := strconv.Itoa(port)
	out := rsyslogUDPPort.ReplaceAllString(dropIn, "${1}"+p+"${2}")
	out = rsyslogLegacyRun.ReplaceAllString(out, "${1}"+p)
	out = strings.ReplaceAll(out, "/var/log/", strings.TrimSuffix(logDir, "/")+"/")
	if !strings.Contains(out, `port="`+p+`"`) && !regexp.MustCompile(`(?m)^\s*\$UDPServerRun\s+`+p+`\b`).MatchString(out) {
		return "", fmt.Errorf("adjust rsyslog drop-in: no UDP input on port 514 or %d (port=\"…\" or $UDPServerRun) in:\n%s", port, dropIn)
	}
	return out, nil
}

// NewRsyslog chooses a UDP port on 127.0.0.1 and directories for an rsyslogd, so that a
// profile can be rendered for them before Start.
func NewRsyslog(tb testing.TB) *Rsyslog {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "rsyslog")
	r := &Rsyslog{Port: FreeUDPPort(tb, "127.0.0.1"), Dir: dir, LogDir: filepath.Join(dir, "log")}
	MkdirAll(tb, filepath.Join(dir, "spool"))
	MkdirAll(tb, r.LogDir)
	return r
}

// StartRsyslog is NewRsyslog then Start.
func StartRsyslog(tb testing.TB, dropIn []byte) *Rsyslog {
	tb.Helper()
	r := NewRsyslog(tb)
	r.Start(tb, dropIn)
	return r
}

// Start adjusts dropIn (AdjustRsyslog), validates it with `rsyslogd -N1` and runs it with its
// own pid file in the foreground (-n).
func (r *Rsyslog) Start(tb testing.TB, dropIn []byte) {
	tb.Helper()
	bin := Tool(tb, "rsyslogd", "rsyslog")
	adj, err := AdjustRsyslog(string(dropIn), r.Port, r.LogDir)
	if err != nil {
		tb.Fatal(err)
	}
	r.Conf = filepath.Join(r.Dir, "rsyslog.conf")
	writeFile(tb, r.Conf, fmt.Sprintf("global(workDirectory=%q)\n%s\n%s\n", filepath.Join(r.Dir, "spool"), adj, r.After))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "-N1", "-f", r.Conf).CombinedOutput(); err != nil {
		tb.Fatalf("rsyslogd -N1 -f %s: %v\n%s\nconfig:\n%s", r.Conf, err, out, adj)
	}
	r.proc = StartProc(tb, "rsyslogd", filepath.Join(r.Dir, "rsyslogd.out"),
		bin, "-n", "-f", r.Conf, "-i", filepath.Join(r.Dir, "rsyslogd.pid"))
}

// Addr is where HAProxy should send its logs.
func (r *Rsyslog) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// Facilities maps syslog facility names to numbers.
var Facilities = map[string]int{
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// Send sends one message with facility (severity info) to rsyslogd's UDP input.
func (r *Rsyslog) Send(tb testing.TB, facility, msg string) {
	tb.Helper()
	c, err := net.Dial("udp", r.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "<%d>livetest: %s", Facilities[facility]*8+6, msg); err != nil {
		tb.Fatal(err)
	}
}

// WaitReady sends marked messages with facility until one lands in a file under LogDir,
// proving rsyslogd listens and routes that facility; it returns that file.
func (r *Rsyslog) WaitReady(tb testing.TB, facility string) string {
	tb.Helper()
	fac, ok := Facilities[facility]
	if !ok {
		tb.Fatalf("unknown syslog facility %q", facility)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := net.Dial("udp", r.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	token := fmt.Sprintf("livetest-ready-%d", time.Now().UnixNano())
	var found string
	_, err = Eventually(ctx, 100*time.Millisecond, func() bool {
		if ok, _ := r.proc.Exited(); ok {
			return true
		}
		fmt.Fprintf(c, "<%d>livetest: %s", fac*8+6, token)
		found = grepDir(r.LogDir, token)
		return found != ""
	})
	if ok, err := r.proc.Exited(); ok {
		tb.Fatalf("rsyslogd exited: %v\n%s", err, Tail(r.proc.LogPath, 20))
	}
	if err != nil {
		tb.Fatalf("rsyslogd on %s wrote no %s message under %s: %v\n%s", r.Addr(), facility, r.LogDir, err, Tail(r.proc.LogPath, 20))
	}
	return found
}

// grepDir returns the first regular file under dir containing s.
func grepDir(dir, s string) string {
	var found string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), s) {
			found = p
		}
		return nil
	})
	return found
}

// Stop stops rsyslogd (its files are flushed on exit).
func (r *Rsyslog) Stop() { r.proc.Stop() }
