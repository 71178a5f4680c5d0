// Package testport picks ports for test servers on loopback. It imports nothing of harpy,
// so any package's own tests can use it.
package testport

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// Test ports are drawn below the kernel's ephemeral range (32768–60999 on Linux): a port
// the kernel hands out for ":0" is also the kind it gives as the source port of outgoing
// connections, so a server of one test could find it taken by another test's client
// between FreePort and its bind. Here a port is only taken by another test drawing the
// same number, and the bind check below makes even that rare.
const (
	testPortLow  = 20000
	testPortHigh = 32767
)

// TCP returns a TCP port that is free on ip right now.
func TCP(tb testing.TB, ip string) int {
	tb.Helper()
	for range 200 {
		port := testPortLow + rand.IntN(testPortHigh-testPortLow+1)
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	tb.Fatalf("find a free TCP port on %s in %d-%d", ip, testPortLow, testPortHigh)
	return 0
}

// UDP returns a UDP port that is free on ip right now.
func UDP(tb testing.TB, ip string) int {
	tb.Helper()
	for range 200 {
		port := testPortLow + rand.IntN(testPortHigh-testPortLow+1)
		c, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		c.Close()
		return port
	}
	tb.Fatalf("find a free UDP port on %s in %d-%d", ip, testPortLow, testPortHigh)
	return 0
}
