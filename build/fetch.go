package build

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"harpy/hint"
	"harpy/safefile"
)

// UpstreamURL is where HAProxy publishes release tarballs.
const UpstreamURL = "https://www.haproxy.org/download/{branch}/src/haproxy-{version}.tar.gz"

// Limits of a download. Each is far above what a healthy mirror needs and far below what
// would hurt: a mirror that never answers, stalls mid-body or sends without end fails in
// seconds or minutes, not after the disk is full.
const (
	DefaultConnectTimeout = 30 * time.Second // TCP connect, then again for the TLS handshake
	DefaultHeaderTimeout  = time.Minute      // request sent → response headers (first byte)
	DefaultIdleTimeout    = time.Minute      // the longest wait for the next byte of a body
	MaxTarball            = 256 << 20        // HAProxy tarballs are 3-5 MiB
	MaxChecksum           = 64 << 10         // a .sha256 file is one line
)

// Fetcher holds the limits of every read from a mirror or a local tarball. The zero value
// (or a nil *Fetcher) uses the defaults above; tests set them short.
type Fetcher struct {
	ConnectTimeout time.Duration
	HeaderTimeout  time.Duration
	IdleTimeout    time.Duration
	MaxTarball     int64
	MaxChecksum    int64
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (f *Fetcher) limits() Fetcher {
	var l Fetcher
	if f != nil {
		l = *f
	}
	return Fetcher{
		ConnectTimeout: or(l.ConnectTimeout, DefaultConnectTimeout),
		HeaderTimeout:  or(l.HeaderTimeout, DefaultHeaderTimeout),
		IdleTimeout:    or(l.IdleTimeout, DefaultIdleTimeout),
		MaxTarball:     or(l.MaxTarball, MaxTarball),
		MaxChecksum:    or(l.MaxChecksum, MaxChecksum),
	}
}

// client is an HTTP client with the connect and first-byte timeouts. There is no
// whole-request timeout: a large download on a slow but live link may take long; the idle
// timeout (idleReader) and the size cap bound the body instead, and the context stops it.
func (f Fetcher) client() *http.Client {
	d := &net.Dialer{Timeout: f.ConnectTimeout, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   f.ConnectTimeout,
		ResponseHeaderTimeout: f.HeaderTimeout,
		ExpectContinueTimeout: time.Second,
		DisableKeepAlives:     true, // a few requests per run: no idle connections left behind
		ForceAttemptHTTP2:     true,
	}}
}

// sources lists the tarball URLs to try, in order.
func (s *State) sources() []string {
	v := s.Plan.Version
	name := "haproxy-" + v.String() + ".tar.gz"
	expand := func(u string) string {
		if !strings.Contains(u, "{version}") {
			u = strings.TrimRight(u, "/") + "/" + name
		}
		return strings.NewReplacer("{version}", v.String(), "{branch}", v.Branch()).Replace(u)
	}
	if len(s.Opts.Mirrors) > 0 {
		var out []string
		for _, m := range s.Opts.Mirrors {
			out = append(out, expand(m))
		}
		return out
	}
	if s.Plan.Release != nil && s.Plan.Release.URL != "" {
		return []string{expand(s.Plan.Release.URL)}
	}
	return []string{expand(UpstreamURL)}
}

type checksumStep struct{}

func (checksumStep) String() string { return "checksum" }
func (checksumStep) Run(ctx context.Context, s *State) error {
	if s.Plan.SHA256 != "" {
		return nil
	}
	// A version no recipe knows: trust the .sha256 published beside the tarball.
	if s.Opts.Source != "" {
		return hint.With(fmt.Errorf("HAProxy %s is not in any recipe and --source gives no checksum", s.Plan.Version), "pass --sha256 HEX (from the release's .sha256 file) or add the version to a recipe (--recipe FILE)")
	}
	var errs []string
	for _, u := range s.sources() {
		sum, err := fetchSHA256(ctx, s.Opts.Fetcher.limits(), u+".sha256")
		if err == nil {
			s.Plan.SHA256 = sum
			s.logf("checksum: %s from %s.sha256", shortHex(sum), u)
			return nil
		}
		errs = append(errs, err.Error())
	}
	return hint.With(fmt.Errorf("HAProxy %s is not in any recipe and no .sha256 could be read: %s", s.Plan.Version, strings.Join(errs, "; ")), "pass --sha256 HEX or add the version to a recipe (--recipe FILE)")
}

var sumLine = regexp.MustCompile(`^([0-9a-f]{64})(\s|$)`)

func fetchSHA256(ctx context.Context, f Fetcher, u string) (string, error) {
	rc, _, err := f.open(ctx, u, f.MaxChecksum)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	line, err := bufio.NewReader(rc).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	m := sumLine.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return "", fmt.Errorf("%s: not a sha256 file", u)
	}
	return m[1], nil
}

// open returns a reader for an http(s) or file URL, with its size when known. Reading it
// fails past max bytes, and for http(s) when no byte arrives for f.IdleTimeout; the
// context aborts it.
func (f Fetcher) open(ctx context.Context, raw string, max int64) (io.ReadCloser, int64, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, 0, err
	}
	switch u.Scheme {
	case "file":
		// A regular file only, opened without blocking: a FIFO or a device given as
		// --source or as a file:// mirror is refused at once.
		fh, err := safefile.Open(u.Path)
		if err != nil {
			return nil, 0, err
		}
		st, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, 0, err
		}
		if st.Size() > max {
			fh.Close()
			return nil, 0, tooLarge(u.Path, st.Size(), max)
		}
		return readCloser{&capped{r: fh, max: max, name: u.Path}, fh}, st.Size(), nil
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, "GET", raw, nil)
		if err != nil {
			return nil, 0, err
		}
		resp, err := f.client().Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, 0, fmt.Errorf("%s: %w", raw, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, 0, fmt.Errorf("%s: %s", raw, resp.Status)
		}
		if resp.ContentLength > max {
			resp.Body.Close()
			return nil, 0, tooLarge(raw, resp.ContentLength, max)
		}
		idle := newIdleReader(resp.Body, f.IdleTimeout, raw)
		return readCloser{&capped{r: idle, max: max, name: raw}, idle}, resp.ContentLength, nil
	}
	return nil, 0, hint.With(fmt.Errorf("unsupported URL %q", raw), "mirrors are http://, https:// or file:// URLs")
}

func tooLarge(name string, size, max int64) error {
	return hint.With(fmt.Errorf("%s: %w (%d bytes or more, the limit is %d)", name, safefile.ErrTooLarge, size, max),
		"this is not an HAProxy release file; check the mirror URL or the path")
}

type readCloser struct {
	io.Reader
	io.Closer
}

// capped fails a read that goes past max bytes.
type capped struct {
	r    io.Reader
	n    int64
	max  int64
	name string
}

func (c *capped) Read(p []byte) (int, error) {
	if left := c.max + 1 - c.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, tooLarge(c.name, c.n, c.max)
	}
	return n, err
}

// idleReader fails when no byte arrives for d: it closes the body under a Read that
// waits longer, which ends that Read. The clock runs only while a Read waits, so a slow
// disk on the writing side never counts.
type idleReader struct {
	rc    io.ReadCloser
	d     time.Duration
	name  string
	timer *time.Timer
	fired atomic.Bool
}

func newIdleReader(rc io.ReadCloser, d time.Duration, name string) *idleReader {
	r := &idleReader{rc: rc, d: d, name: name}
	r.timer = time.AfterFunc(time.Hour, func() {
		r.fired.Store(true)
		rc.Close()
	})
	r.timer.Stop()
	return r
}

func (r *idleReader) Read(p []byte) (int, error) {
	r.timer.Reset(r.d)
	n, err := r.rc.Read(p)
	r.timer.Stop()
	if err != nil && err != io.EOF && r.fired.Load() {
		err = fmt.Errorf("%s: no data for %s, the download stalled", r.name, r.d)
	}
	return n, err
}

func (r *idleReader) Close() error {
	r.timer.Stop()
	return r.rc.Close()
}

type fetchStep struct{}

func (fetchStep) String() string     { return "fetch" }
func (fetchStep) Skip(s *State) bool { return s.cached() }
func (fetchStep) Run(ctx context.Context, s *State) error {
	t, err := Fetch(ctx, s)
	s.Tarball = t
	return err
}

// Fetch puts the plan's verified tarball into the cache and returns its path. A cached
// tarball is re-hashed (cheap) so a damaged cache is noticed, never trusted.
func Fetch(ctx context.Context, s *State) (string, error) {
	c := s.Cache
	if c == nil {
		c = &Cache{Dir: s.Opts.CacheDir}
		if err := c.mkdirs(); err != nil {
			return "", err
		}
		s.Cache = c
	}
	want := s.Plan.SHA256
	dst := c.tarball(want)
	if got, err := hashFile(dst); err == nil {
		if got == want {
			s.logf("fetch: %s is in the cache", filepath.Base(dst))
			return dst, nil
		}
		os.Remove(dst) // damaged: fetch again
	}
	name := "haproxy-" + s.Plan.Version.String() + ".tar.gz"
	if s.Opts.Source != "" {
		abs, _ := filepath.Abs(s.Opts.Source)
		if err := copyVerified(ctx, s, "file://"+abs, dst, want); err != nil {
			if errors.Is(err, safefile.ErrNotRegular) || errors.Is(err, safefile.ErrTooLarge) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				// The path itself is wrong: the error names it and says why.
				return "", hint.Input(hint.With(fmt.Errorf("--source: %w", err), "give the path of the release tarball haproxy-%s.tar.gz", s.Plan.Version))
			}
			return "", hint.With(fmt.Errorf("%s: %w", s.Opts.Source, err), "check that --source is the release tarball of %s", s.Plan.Version)
		}
		return dst, nil
	}
	var errs []any
	for _, u := range s.sources() {
		err := copyVerified(ctx, s, u, dst, want)
		if err == nil {
			return dst, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var mm *mismatchError
		if errors.As(err, &mm) {
			// A wrong tarball is a fact about that source, not a network hiccup: say so,
			// but still try the next source.
			s.logf("fetch: %s: %v", u, err)
		}
		errs = append(errs, err)
	}
	// One line, every source's error in the chain (errors.Is sees through it).
	why := strings.TrimSuffix(strings.Repeat("%w; ", len(errs)), "; ")
	return "", hint.With(fmt.Errorf("could not get %s: "+why, append([]any{name}, errs...)...), "%s", "check the mirror URLs (--mirror URL, tried in order; \"{version}\" and \"{branch}\" are expanded, otherwise /"+name+" is appended), or pass --source FILE")
}

type mismatchError struct{ got, want string }

func (e *mismatchError) Error() string {
	return fmt.Sprintf("sha256 mismatch: got %s, want %s (corrupt or truncated download, or a different file)", shortHex(e.got), shortHex(e.want))
}

// copyVerified streams src into a temp file beside dst while hashing it, and renames it
// into place only when the digest matches: the cache never holds an unverified file, and
// a failed or interrupted download leaves nothing behind.
func copyVerified(ctx context.Context, s *State, src, dst, want string) error {
	f := s.Opts.Fetcher.limits()
	rc, size, err := f.open(ctx, src, f.MaxTarball)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := safefile.Create(dst, 0o644)
	if err != nil {
		return err
	}
	defer tmp.Abort()
	h := sha256.New()
	pw := &progressWriter{s: s, label: "fetch " + filepath.Base(src), total: size, last: time.Now()}
	if _, err := io.Copy(io.MultiWriter(tmp, h, pw), rc); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: interrupted: %w", src, ctx.Err())
		}
		if strings.HasPrefix(err.Error(), src) {
			return err
		}
		return fmt.Errorf("%s: %w", src, err)
	}
	pw.done()
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &mismatchError{got: got, want: want}
	}
	return tmp.Commit()
}

func hashFile(p string) (string, error) {
	f, err := safefile.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// progressWriter reports bytes copied, at most twice a second.
type progressWriter struct {
	s     *State
	label string
	n     int64
	total int64
	last  time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if time.Since(p.last) > 500*time.Millisecond {
		p.last = time.Now()
		p.report()
	}
	return len(b), nil
}

func (p *progressWriter) report() {
	if p.total > 0 {
		p.s.logf("%s: %.1f/%.1f MiB", p.label, float64(p.n)/(1<<20), float64(p.total)/(1<<20))
	} else {
		p.s.logf("%s: %.1f MiB", p.label, float64(p.n)/(1<<20))
	}
}

func (p *progressWriter) done() { p.report() }
