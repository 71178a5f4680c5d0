package livetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRsyslogDropIns runs the web-lb profile's rsyslog drop-in, rendered for each
// distribution, in a real rsyslogd followed by a catch-all rule as a system's own config
// would have: HAProxy's facility lands in the profile's log file and nowhere else, and
// other facilities pass by untouched.
func TestRsyslogDropIns(t *testing.T) {
	for _, dist := range []string{"el6", "el7", "el8", "el9", "debian"} {
		t.Run(dist, func(t *testing.T) {
			rs := NewRsyslog(t)
			other := filepath.Join(rs.LogDir, "messages")
			rs.After = fmt.Sprintf("*.* %s", other)
			dir := MkdirAll(t, filepath.Join(t.TempDir(), "render"))
			data := struct{ Syslog, Dir, Socket, LogDir, Bind string }{
				Syslog: rs.Addr(), Dir: dir, Socket: filepath.Join(dir, "stats"), LogDir: rs.LogDir, Bind: "127.0.0.1:8080",
			}
			_, out, _ := renderUserDist(t, "2.6", dist, dir, rsyslogUser, data)
			rs.Start(t, out.Rsyslog)
			got := rs.WaitReady(t, "local6")
			if want := filepath.Join(rs.LogDir, "haproxy", "haproxy.log"); got != want {
				t.Errorf("local6 landed in %s, want the profile's %s", got, want)
			}
			rs.Send(t, "local5", "not-haproxy")
			rs.Send(t, "local6", "haproxy-only")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := Eventually(ctx, 50*time.Millisecond, func() bool {
				b, _ := os.ReadFile(other)
				return strings.Contains(string(b), "not-haproxy")
			}); err != nil {
				t.Errorf("a local5 message never reached the rules after the drop-in (%s)", other)
			}
			_, _ = Eventually(ctx, 50*time.Millisecond, func() bool {
				b, _ := os.ReadFile(got)
				return strings.Contains(string(b), "haproxy-only")
			})
			b, _ := os.ReadFile(other)
			if strings.Contains(string(b), "livetest-ready") || strings.Contains(string(b), "haproxy-only") {
				t.Errorf("local6 messages also reached the rules after the drop-in:\n%s", b)
			}
			if hb, _ := os.ReadFile(got); strings.Contains(string(hb), "not-haproxy") {
				t.Errorf("a local5 message landed in %s", got)
			}
		})
	}
}

// rsyslogUser is web-lb with its log target and log file moved to the test's rsyslogd.
const rsyslogUser = `extends = "web-lb"

[global]
log = { target = "{{.Syslog}}" }
pidfile = "{{.Dir}}/haproxy.pid"
stats_socket = { path = "{{.Socket}}" }

[logging]
file = "{{.LogDir}}/haproxy/haproxy.log"

[[frontend]]
name = "main"
bind = ["{{.Bind}}"]
`
