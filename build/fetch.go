package build

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"harpy/hint"
)

// UpstreamURL is where HAProxy publishes release tarballs.
const UpstreamURL = "https://www.haproxy.org/download/{branch}/src/haproxy-{version}.tar.gz"

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
		sum, err := fetchSHA256(ctx, s.Opts.Client, u+".sha256")
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

func fetchSHA256(ctx context.Context, c *http.Client, u string) (string, error) {
	rc, _, err := open(ctx, c, u)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	line, _ := bufio.NewReader(io.LimitReader(rc, 4096)).ReadString('\n')
	m := sumLine.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		return "", fmt.Errorf("%s: not a sha256 file", u)
	}
	return m[1], nil
}

// open returns a reader for an http(s) or file URL, with its size when known.
func open(ctx context.Context, c *http.Client, raw string) (io.ReadCloser, int64, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, 0, err
	}
	switch u.Scheme {
	case "file":
		f, err := os.Open(u.Path)
		if err != nil {
			return nil, 0, err
		}
		st, _ := f.Stat()
		return f, st.Size(), nil
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, "GET", raw, nil)
		if err != nil {
			return nil, 0, err
		}
		resp, err := c.Do(req)
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
		return resp.Body, resp.ContentLength, nil
	}
	return nil, 0, hint.With(fmt.Errorf("unsupported URL %q", raw), "mirrors are http://, https:// or file:// URLs")
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
			return "", hint.With(fmt.Errorf("%s: %w", s.Opts.Source, err), "check that --source is the release tarball of %s", s.Plan.Version)
		}
		return dst, nil
	}
	var errs []string
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
		errs = append(errs, err.Error())
	}
	return "", hint.With(fmt.Errorf("could not get %s: %s", name, strings.Join(errs, "; ")), "%s", "check the mirror URLs (--mirror URL, tried in order; \"{version}\" and \"{branch}\" are expanded, otherwise /"+name+" is appended), or pass --source FILE")
}

type mismatchError struct{ got, want string }

func (e *mismatchError) Error() string {
	return fmt.Sprintf("sha256 mismatch: got %s, want %s (corrupt or truncated download, or a different file)", shortHex(e.got), shortHex(e.want))
}

// copyVerified streams src into a temp file beside dst while hashing it, and renames it
// into place only when the digest matches: the cache never holds an unverified file.
func copyVerified(ctx context.Context, s *State, src, dst, want string) error {
	rc, size, err := open(ctx, s.Opts.Client, src)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*.tar.gz")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	pw := &progressWriter{s: s, label: "fetch " + filepath.Base(src), total: size, last: time.Now()}
	if _, err := io.Copy(io.MultiWriter(tmp, h, pw), rc); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	pw.done()
	if err := tmp.Sync(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &mismatchError{got: got, want: want}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
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
