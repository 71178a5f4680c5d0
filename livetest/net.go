package livetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"harpy/internal/testport"
)

// FreePort returns a TCP port that is free on ip right now (see internal/testport).
func FreePort(tb testing.TB, ip string) int { return testport.TCP(tb, ip) }

// FreeUDPPort returns a UDP port that is free on ip right now.
func FreeUDPPort(tb testing.TB, ip string) int { return testport.UDP(tb, ip) }

// FreePortOn returns a TCP port free on every one of ips, so that servers on several
// loopback addresses can share one port number the way RDS endpoints all use 3306.
func FreePortOn(tb testing.TB, ips ...string) int {
	tb.Helper()
	for range 50 {
		port := FreePort(tb, ips[0])
		free := true
		for _, ip := range ips[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return port
		}
	}
	tb.Fatalf("no TCP port free on all of %v", ips)
	return 0
}

// FreeAddr returns "ip:port" with a free TCP port.
func FreeAddr(tb testing.TB, ip string) string {
	tb.Helper()
	return net.JoinHostPort(ip, strconv.Itoa(FreePort(tb, ip)))
}

// WaitTCP waits until addr accepts a TCP connection.
func WaitTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to accept connections: %w (last: %v)", addr, ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Eventually polls cond every interval until it returns true or ctx ends, and returns the
// time it took.
func Eventually(ctx context.Context, interval time.Duration, cond func() bool) (time.Duration, error) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(start), ctx.Err()
		case <-time.After(interval):
		}
	}
}

// SocketDir returns a new short directory for unix sockets, removed at cleanup: a socket
// path has at most 107 bytes, and t.TempDir() paths of subtests grow past that.
func SocketDir(tb testing.TB) string {
	tb.Helper()
	d, err := os.MkdirTemp("", "lt")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func itoa(n int) string { return strconv.Itoa(n) }
