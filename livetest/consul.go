package livetest

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"harpy/internal/testenv"
)

// Consul is a real Consul agent in -dev mode (a server with in-memory state) on
// 127.0.0.1, every port of it moved to a free one.
type Consul struct {
	HTTP string // 127.0.0.1:port of the HTTP API
	DNS  string // 127.0.0.1:port of its DNS interface
	Dir  string
	proc *Proc
	args []string
}

// StartConsul starts an agent and waits until it has elected itself leader.
func StartConsul(tb testing.TB) *Consul {
	tb.Helper()
	bin := testenv.Consul(tb)
	c := &Consul{Dir: MkdirAll(tb, filepath.Join(tb.TempDir(), "consul"))}
	httpPort, dnsPort := FreePort(tb, "127.0.0.1"), FreeUDPPort(tb, "127.0.0.1")
	c.HTTP, c.DNS = "127.0.0.1:"+strconv.Itoa(httpPort), "127.0.0.1:"+strconv.Itoa(dnsPort)
	c.args = []string{bin, "agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-http-port", strconv.Itoa(httpPort), "-dns-port", strconv.Itoa(dnsPort),
		"-server-port", strconv.Itoa(FreePort(tb, "127.0.0.1")),
		"-serf-lan-port", strconv.Itoa(FreePortOn(tb, "127.0.0.1")),
		"-serf-wan-port", strconv.Itoa(FreePortOn(tb, "127.0.0.1")),
		"-grpc-port", "-1", "-node", "harpy-test"}
	c.Start(tb)
	return c
}

// Start (re)starts the agent with the same ports; a -dev agent starts with an empty catalog.
func (c *Consul) Start(tb testing.TB) {
	tb.Helper()
	c.proc = StartProc(tb, "consul", filepath.Join(c.Dir, "consul.out"), c.args...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Eventually(ctx, 100*time.Millisecond, func() bool {
		resp, err := http.Get("http://" + c.HTTP + "/v1/status/leader")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var b [64]byte
		n, _ := resp.Body.Read(b[:])
		return resp.StatusCode == 200 && n > 4 // `"127.0.0.1:port"`, not `""`
	}); err != nil {
		tb.Fatalf("consul on %s never elected a leader: %v\n%s", c.HTTP, err, Tail(c.proc.LogPath, 30))
	}
}

// Stop stops the agent.
func (c *Consul) Stop() { c.proc.Stop() }

func (c *Consul) String() string { return fmt.Sprintf("consul %s", c.HTTP) }
