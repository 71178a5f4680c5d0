package livetest

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"harpy/internal/testenv"
)

// TestWebLB proves the web-lb profile (seed 001) under wrk load while a backend dies and
// comes back: no failed request, DOWN within inter×fall with the health-check lines in the
// log file rsyslogd writes, UP after rise, and X-Forwarded-For at the backends. On
// Debian's 2.6 (the bench's baseline) and on harpy's own builds of 2.2.9 and 3.0.11, each
// rendered for its version.
func TestWebLB(t *testing.T) {
	Long(t)
	for _, c := range []struct{ name, version string }{
		{"debian-2.6", "2.6"},
		{"harpy-2.2.9", "2.2"},
		{"harpy-3.0.11", "3.0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin := DebianHAProxy(t)
			if full, ok := strings.CutPrefix(c.name, "harpy-"); ok {
				bin = testenv.HAProxy(t, full)
			}
			testWebLB(t, startWebLBProfileOn(t, "harpy-profile-"+c.version, bin, c.version, cfgEdit{}))
		})
	}
}

func testWebLB(t *testing.T, lb *webLB) {
	t.Run("forwardfor", func(t *testing.T) {
		// Two requests each, so that roundrobin reaches both backends.
		for _, c := range []struct {
			from, wantXFF string
		}{
			{"127.0.0.5", "127.0.0.5"}, // a client: its address reaches the backend
			{"127.0.0.5", "127.0.0.5"},
			{"127.0.0.1", ""}, // the exempted network: no header added
			{"127.0.0.1", ""},
		} {
			body := getFrom(t, c.from, lb.URL+"/xff")
			if want := "xff=" + c.wantXFF + " "; !strings.Contains(body, want) {
				t.Errorf("GET /xff from %s: backend answered %q, want %q", c.from, body, want)
			}
		}
		// nginx writes a log line after the response is sent: wait for all four.
		xffs := func(n *Nginx) []string {
			var got []string
			for _, e := range n.AccessLog() {
				if strings.HasPrefix(e.Request, "GET /xff ") {
					got = append(got, e.XFF)
				}
			}
			sort.Strings(got)
			return got
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer wcancel()
		_, _ = Eventually(wctx, 20*time.Millisecond, func() bool {
			return len(xffs(lb.Backends[0]))+len(xffs(lb.Backends[1])) >= 4
		})
		for _, n := range lb.Backends {
			if got := xffs(n); !slices.Equal(got, []string{"", "127.0.0.5"}) {
				t.Errorf("%s access log: X-Forwarded-For of GET /xff = %q, want one 127.0.0.5 and one empty", n.Name, got)
			}
		}
	})

	r := runFailover(t, lb)
	t.Log(r.figure("web-lb", lb.Name))
	if f := r.Wrk.Failed(); f != 0 {
		t.Errorf("%d of %d requests failed while %s died and came back (%s); want 0", f, r.Wrk.Requests, lb.Backends[0].Name, r.Wrk)
	}

	victim := lb.Backends[0].Name
	want := []string{
		"Health check for server app/" + victim + " failed",
		"Server app/" + victim + " is DOWN",
		"Health check for server app/" + victim + " succeeded",
		"Server app/" + victim + " is UP",
	}
	// rsyslogd writes asynchronously: give the last line a moment to land.
	var lines []string
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	_, _ = Eventually(wctx, 50*time.Millisecond, func() bool {
		lines = healthLines(t, lb, victim)
		for _, w := range want {
			if !containsLine(lines, w) {
				return false
			}
		}
		return true
	})
	for _, w := range want {
		if !containsLine(lines, w) {
			t.Errorf("log file %s has no line with %q; lines about %s:\n%s", lb.LogFile, w, victim, strings.Join(lines, "\n"))
		}
	}
	// The health checks really are GET /health_check.html at the backends.
	checks := 0
	for _, e := range lb.Backends[1].AccessLog() {
		if strings.HasPrefix(e.Request, "GET /health_check.html ") && e.Status == "200" {
			checks++
		}
	}
	if checks == 0 {
		t.Errorf("%s logged no GET /health_check.html", lb.Backends[1].Name)
	}

	t.Run("missing health_check.html takes a server out", func(t *testing.T) {
		// Seed 001's own demonstration: delete the file, the check gets 404, the server
		// goes DOWN; put it back, it comes UP.
		n := lb.Backends[1]
		ctx, cancel := context.WithTimeout(context.Background(), 4*lb.Inter*time.Duration(lb.Fall+lb.Rise))
		defer cancel()
		n.SetHealthy(false)
		if _, err := lb.HAProxy.WaitStatus(ctx, lb.Backend, n.Name, "DOWN"); err != nil {
			t.Fatal(err)
		}
		rows, err := lb.HAProxy.Stat(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r := Find(rows, lb.Backend, n.Name); r["check_status"] != "L7STS" || r["check_code"] != "404" {
			t.Errorf("%s DOWN with check_status %q code %q, want L7STS 404", n.Name, r["check_status"], r["check_code"])
		}
		n.SetHealthy(true)
		if err := lb.HAProxy.WaitChecked(ctx, lb.Backend, n.Name); err != nil {
			t.Fatal(err)
		}
		_, _ = Eventually(ctx, 50*time.Millisecond, func() bool {
			return containsLine(healthLines(t, lb, n.Name), "Layer7 wrong status, code: 404")
		})
		if lines := healthLines(t, lb, n.Name); !containsLine(lines, "Layer7 wrong status, code: 404") {
			t.Errorf("log file %s has no 404 health-check line for %s:\n%s", lb.LogFile, n.Name, strings.Join(lines, "\n"))
		}
	})
}

// getFrom GETs url from the local address ip and returns the body.
func getFrom(tb testing.TB, ip, url string) string {
	tb.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("GET %s from %s: %v", url, ip, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s from %s: %s: %s", url, ip, resp.Status, b)
	}
	return string(b)
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
