package livetest

import (
	"slices"
	"testing"
)

func TestNonLoopbackPeers(t *testing.T) {
	out := `udp   ESTAB  0 0 127.0.0.1:40000 127.0.0.1:5353 users:(("haproxy",pid=42,fd=9))
udp   ESTAB  0 0 10.0.0.2:40001 10.0.0.53:53 users:(("haproxy",pid=42,fd=10))
tcp   LISTEN 0 0 127.0.0.1:8080 0.0.0.0:* users:(("haproxy",pid=42,fd=7))
tcp   ESTAB  0 0 10.0.0.2:5555 192.0.2.1:80 users:(("curl",pid=420,fd=3))
tcp   ESTAB  0 0 [::1]:5555 [::1]:80 users:(("haproxy",pid=42,fd=11))
tcp   LISTEN 0 0 [::]:80 [::]:* users:(("haproxy",pid=42,fd=12))
`
	got := nonLoopbackPeers(out, 42)
	if want := []string{"10.0.0.53:53"}; !slices.Equal(got, want) {
		t.Errorf("nonLoopbackPeers = %v, want %v", got, want)
	}
}
