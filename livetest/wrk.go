package livetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// WrkResult is what one wrk run reports.
type WrkResult struct {
	Requests  int // responses completed, including non-2xx/3xx
	Duration  time.Duration
	ReqPerSec float64
	Non2xx    int // "Non-2xx or 3xx responses"
	Connect   int // socket errors by kind
	Read      int
	Write     int
	Timeout   int
}

// Failed counts the requests a client saw fail: error responses and socket errors
// (a read error is a connection closed or reset before a full response).
func (r WrkResult) Failed() int { return r.Non2xx + r.Connect + r.Read + r.Write + r.Timeout }

func (r WrkResult) String() string {
	return fmt.Sprintf("%d requests in %s, %.0f req/s, %d non-2xx/3xx, socket errors connect %d read %d write %d timeout %d",
		r.Requests, r.Duration, r.ReqPerSec, r.Non2xx, r.Connect, r.Read, r.Write, r.Timeout)
}

var (
	wrkTotal   = regexp.MustCompile(`^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h),`)
	wrkSocket  = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx  = regexp.MustCompile(`^\s*Non-2xx or 3xx responses: (\d+)`)
	wrkRateRe  = regexp.MustCompile(`^Requests/sec:\s+([0-9.]+)`)
	wrkRunning = regexp.MustCompile(`^Running `)
)

// ParseWrk reads wrk's text report.
func ParseWrk(out []byte) (WrkResult, error) {
	var r WrkResult
	var sawRun, sawTotal, sawRate bool
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case wrkRunning.MatchString(line):
			sawRun = true
		case wrkTotal.MatchString(line):
			m := wrkTotal.FindStringSubmatch(line)
			r.Requests, _ = strconv.Atoi(m[1])
			d, err := time.ParseDuration(m[2] + m[3])
			if err != nil {
				return r, fmt.Errorf("parse wrk duration %q: %w", line, err)
			}
			r.Duration = d
			sawTotal = true
		case wrkSocket.MatchString(line):
			m := wrkSocket.FindStringSubmatch(line)
			r.Connect, _ = strconv.Atoi(m[1])
			r.Read, _ = strconv.Atoi(m[2])
			r.Write, _ = strconv.Atoi(m[3])
			r.Timeout, _ = strconv.Atoi(m[4])
		case wrkNon2xx.MatchString(line):
			r.Non2xx, _ = strconv.Atoi(wrkNon2xx.FindStringSubmatch(line)[1])
		case wrkRateRe.MatchString(line):
			r.ReqPerSec, _ = strconv.ParseFloat(wrkRateRe.FindStringSubmatch(line)[1], 64)
			sawRate = true
		}
	}
	if !sawRun || !sawTotal || !sawRate {
		return r, fmt.Errorf("parse wrk output: no summary (want \"Running\", \"N requests in\", \"Requests/sec:\"):\n%s", out)
	}
	return r, nil
}

// Wrk is a load to run with wrk.
type Wrk struct {
	URL      string
	Threads  int
	Conns    int
	Duration time.Duration
	Timeout  time.Duration // per-request; wrk's default is 2s
}

// Run runs wrk and parses its report. The context bounds the run beyond its duration.
func (w Wrk) Run(ctx context.Context, bin string) (WrkResult, []byte, error) {
	args := []string{
		"-t" + strconv.Itoa(w.Threads), "-c" + strconv.Itoa(w.Conns),
		"-d" + strconv.Itoa(int(w.Duration.Seconds())) + "s",
	}
	if w.Timeout > 0 {
		args = append(args, "--timeout", strconv.Itoa(int(w.Timeout.Seconds()))+"s")
	}
	args = append(args, w.URL)
	ctx, cancel := context.WithTimeout(ctx, w.Duration+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return WrkResult{}, out, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	r, err := ParseWrk(out)
	return r, out, err
}
