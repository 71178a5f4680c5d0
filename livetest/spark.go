package livetest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// SparkMaster imitates a Spark master's web UI: "/" says "Status: ALIVE" or "Status:
// STANDBY" the way Spark's page does, every other path answers with the master's name. It
// records the requests that carry the header X-Livetest (the test's own traffic, as opposed
// to HAProxy's health checks).
type SparkMaster struct {
	Name string
	Addr string

	mu     sync.Mutex
	status string
	seen   []string // request URIs of test traffic
	checks int      // requests without X-Livetest (health checks)
	srv    *http.Server
}

// sparkPage mirrors the line of Spark's master page that seed 004's check matches with
// `.+Status.+ALIVE.+`.
const sparkPage = `<html><head><title>Spark Master at spark://%s</title></head><body>
<ul class="unstyled">
<li><strong>URL:</strong> spark://%s</li>
<li><strong>Status:</strong> %s</li>
</ul>
</body></html>
`

// StartSparkMaster serves a fake master on ip (a free port) with the given status.
func StartSparkMaster(tb testing.TB, name, ip, status string) *SparkMaster {
	tb.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		tb.Fatalf("spark master %s: %v", name, err)
	}
	m := &SparkMaster{Name: name, Addr: l.Addr().String(), status: status}
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 5 * time.Second}
	go m.srv.Serve(l)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.srv.Shutdown(ctx)
	})
	return m
}

func (m *SparkMaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	status := m.status
	if r.Header.Get("X-Livetest") != "" {
		m.seen = append(m.seen, r.RequestURI)
	} else {
		m.checks++
	}
	m.mu.Unlock()
	w.Header().Set("X-Spark-Master", m.Name)
	if r.URL.Path == "/" {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, sparkPage, m.Addr, m.Addr, status)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "master=%s uri=%s\n", m.Name, r.RequestURI)
}

// SetStatus switches the page between ALIVE and STANDBY.
func (m *SparkMaster) SetStatus(s string) {
	m.mu.Lock()
	m.status = s
	m.mu.Unlock()
}

// Seen returns the request URIs of test traffic so far and forgets them.
func (m *SparkMaster) Seen() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.seen
	m.seen = nil
	return s
}

// Checks is the number of requests without X-Livetest (HAProxy's health checks).
func (m *SparkMaster) Checks() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checks
}
