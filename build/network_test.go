package build

import (
	"harpy/internal/within"

	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"harpy/hint"
	"harpy/safefile"
)

// silent accepts TCP connections on loopback and never answers.
func silent(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// hostileServer serves the hostile behaviours by path: headers then a stall, an endless body,
// a Content-Length above any cap, an endless .sha256 without a newline.
func hostileServer(t *testing.T) string {
	chunk := make([]byte, 32<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/stall/"):
			w.Header().Set("Content-Length", "400000")
			w.WriteHeader(http.StatusOK)
			w.Write(chunk[:1000])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		case strings.HasPrefix(r.URL.Path, "/endless/"):
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case strings.HasPrefix(r.URL.Path, "/huge/"):
			w.Header().Set("Content-Length", "100000000000")
			w.WriteHeader(http.StatusOK)
			w.Write(chunk)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestFetchNetworkBounded: every way a mirror can hang or flood ends in a one-line error
// within a short deadline, and the cache holds no file (not even a temporary one).
func TestFetchNetworkBounded(t *testing.T) {
	quiet, bad := silent(t), hostileServer(t)
	short := &Fetcher{ConnectTimeout: time.Second, HeaderTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond, MaxTarball: 1 << 20, MaxChecksum: 4096}
	for _, tc := range []struct {
		name, mirror string
		checksum     bool          // run the checksum step (the mirror's .sha256) instead of fetch
		cancel       time.Duration // cancel the context after this long
		limits       *Fetcher
		want         string
		is           error
	}{
		{name: "accepts, never answers", mirror: quiet, limits: short, want: "timeout awaiting response headers"},
		{name: "headers, then a stall", mirror: bad + "/stall", limits: short, want: "no data for 300ms, the download stalled"},
		{name: "endless body", mirror: bad + "/endless", limits: short, want: "file too large", is: safefile.ErrTooLarge},
		{name: "announced too large", mirror: bad + "/huge", limits: short, want: "the limit is 1048576", is: safefile.ErrTooLarge},
		{name: "endless .sha256", mirror: bad + "/endless", checksum: true, limits: short, want: "the limit is 4096", is: safefile.ErrTooLarge},
		{name: ".sha256 never answered", mirror: quiet, checksum: true, limits: short, want: "timeout awaiting response headers"},
		{name: "interrupted during a stall", mirror: bad + "/stall", cancel: 300 * time.Millisecond, want: "context canceled", is: context.Canceled},
		{name: "interrupted before headers", mirror: quiet, cancel: 300 * time.Millisecond, want: "context canceled", is: context.Canceled},
		{name: "default limits: endless body", mirror: bad + "/endless", limits: &Fetcher{MaxTarball: 2 << 20}, want: "the limit is 2097152", is: safefile.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sha := strings.Repeat("a", 64)
			if tc.checksum {
				sha = ""
			}
			s := fetchState(t, "9.9.1", sha, tc.mirror)
			s.Opts.Fetcher = tc.limits
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			start := time.Now()
			err := within.Run(t, 5*time.Second, func() error {
				if tc.checksum {
					return (checksumStep{}).Run(ctx, s)
				}
				_, err := Fetch(ctx, s)
				return err
			})
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %q, want one line with %q", err, tc.want)
			}
			if tc.is != nil && !tc.checksum && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v in the chain", err, tc.is)
			}
			if tc.cancel == 0 && hint.Of(err) == "" {
				t.Errorf("no hint: %v", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %s", d)
			}
			if files := cacheFiles(t, s); len(files) != 0 {
				t.Errorf("cache holds %v after a failed download", files)
			}
		})
	}
}

// TestIdleReaderCountsOnlyWaits: a slow consumer is not a stalled mirror; the clock runs
// only while a Read waits for the network.
func TestIdleReaderCountsOnlyWaits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 3000))
	}))
	defer srv.Close()
	f := (&Fetcher{IdleTimeout: 200 * time.Millisecond}).limits()
	rc, _, err := f.open(t.Context(), srv.URL+"/x", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 1000)
	for n := 0; n < 3000; {
		time.Sleep(300 * time.Millisecond) // longer than the idle timeout, between reads
		k, err := rc.Read(buf)
		n += k
		if err != nil && n < 3000 {
			t.Fatalf("after %d bytes: %v", n, err)
		}
	}
}
