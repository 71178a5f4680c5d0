package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"harpy/hint"
	"harpy/specs"
)

// tarGz builds a tarball from entries; a name ending in "@sym:TARGET" is a symlink,
// "@dev" a character device.
func tarGz(t *testing.T, entries map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range entries {
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}
		switch {
		case strings.Contains(name, "@sym:"):
			n, target, _ := strings.Cut(name, "@sym:")
			h = &tar.Header{Name: n, Linkname: target, Typeflag: tar.TypeSymlink}
		case strings.HasSuffix(name, "@dev"):
			h = &tar.Header{Name: strings.TrimSuffix(name, "@dev"), Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// server serves files by name on loopback and counts requests.
func server(t *testing.T, files map[string][]byte) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, ok := files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func fetchState(t *testing.T, version, sha string, mirrors ...string) *State {
	cat, err := specs.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cat.Resolve(specs.Request{Version: version, SHA256: sha})
	if err != nil {
		t.Fatal(err)
	}
	s := &State{Opts: Options{CacheDir: t.TempDir(), Mirrors: mirrors, Progress: &bytes.Buffer{}}, Plan: p}
	return s
}

// cacheFiles lists everything under the cache's tarballs dir.
func cacheFiles(t *testing.T, s *State) []string {
	ents, _ := os.ReadDir(filepath.Join(s.Opts.CacheDir, "tarballs"))
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

func TestFetchVerifiesAndCaches(t *testing.T) {
	good := tarGz(t, map[string]string{"haproxy-9.9.1/Makefile": "all:\n"})
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x01
	srv, hits := server(t, map[string][]byte{
		"good/haproxy-9.9.1.tar.gz":           good,
		"good/haproxy-9.9.1.tar.gz.sha256":    []byte(sum(good) + "  haproxy-9.9.1.tar.gz\n"),
		"flip/haproxy-9.9.1.tar.gz":           flipped,
		"trunc/haproxy-9.9.1.tar.gz":          good[:len(good)/2],
		"nested/9.9/src/haproxy-9.9.1.tar.gz": good,
	})

	t.Run("flipped byte and truncated are refused; cache stays clean", func(t *testing.T) {
		for _, m := range []string{"flip", "trunc"} {
			s := fetchState(t, "9.9.1", sum(good), srv.URL+"/"+m)
			_, err := Fetch(context.Background(), s)
			if err == nil || !strings.Contains(err.Error(), "sha256 mismatch") || hint.Of(err) == "" {
				t.Fatalf("%s: err = %v", m, err)
			}
			if files := cacheFiles(t, s); len(files) != 0 {
				t.Errorf("%s: cache holds %v after a refused download", m, files)
			}
		}
	})
	t.Run("mirrors in order, second download served from cache", func(t *testing.T) {
		s := fetchState(t, "9.9.1", sum(good), srv.URL+"/flip", srv.URL+"/{branch}/src/nope", srv.URL+"/good")
		p, err := Fetch(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := hashFile(p); got != sum(good) {
			t.Fatalf("cached tarball hash %s", got)
		}
		before := hits.Load()
		if _, err := Fetch(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		if hits.Load() != before {
			t.Error("second fetch downloaded again")
		}
		// A damaged cache entry is noticed and replaced, never trusted.
		os.WriteFile(p, []byte("junk"), 0o644)
		if _, err := Fetch(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		if got, _ := hashFile(p); got != sum(good) {
			t.Error("damaged cache entry was trusted")
		}
	})
	t.Run("placeholders", func(t *testing.T) {
		s := fetchState(t, "9.9.1", sum(good), srv.URL+"/nested/{branch}/src/haproxy-{version}.tar.gz")
		if _, err := Fetch(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown version takes the published .sha256", func(t *testing.T) {
		s := fetchState(t, "9.9.1", "", srv.URL+"/good")
		if err := (checksumStep{}).Run(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		if s.Plan.SHA256 != sum(good) {
			t.Errorf("sha256 = %s", s.Plan.SHA256)
		}
		s = fetchState(t, "9.9.1", "", srv.URL+"/flip")
		err := (checksumStep{}).Run(context.Background(), s)
		if err == nil || !strings.Contains(err.Error(), "not in any recipe") || !strings.Contains(hint.Of(err), "--sha256") {
			t.Errorf("err = %v (hint %q)", err, hint.Of(err))
		}
	})
	t.Run("unreachable mirror: one line with a hint", func(t *testing.T) {
		s := fetchState(t, "9.9.1", sum(good), "http://127.0.0.1:1")
		_, err := Fetch(context.Background(), s)
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(hint.Of(err), "--mirror") {
			t.Fatalf("err = %q hint %q", err, hint.Of(err))
		}
	})
}

func TestUnpackRefusesHostileArchives(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries map[string]string
		want    string
	}{
		{"dotdot", map[string]string{"haproxy-1/a": "x", "haproxy-1/../escape": "x"}, "climbs out"},
		{"absolute", map[string]string{"/etc/passwd": "x"}, "absolute"},
		{"symlink escape", map[string]string{"haproxy-1/a": "x", "haproxy-1/l@sym:../../etc": ""}, "points outside"},
		{"absolute symlink", map[string]string{"haproxy-1/l@sym:/etc/passwd": ""}, "absolute symlink"},
		{"device", map[string]string{"haproxy-1/null@dev": ""}, "special file"},
		{"two tops", map[string]string{"haproxy-1/a": "x", "other/b": "y"}, "outside the archive's top"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tgz := filepath.Join(dir, "x.tar.gz")
			os.WriteFile(tgz, tarGz(t, tc.entries), 0o644)
			dst := filepath.Join(dir, "src")
			err := Unpack(context.Background(), tgz, dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(dst); !os.IsNotExist(err) {
				t.Error("a half-extracted tree was left behind")
			}
			if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
				t.Error("escape was written outside the tree")
			}
		})
	}
	t.Run("clean archive with inner symlink", func(t *testing.T) {
		dir := t.TempDir()
		tgz := filepath.Join(dir, "x.tar.gz")
		os.WriteFile(tgz, tarGz(t, map[string]string{"haproxy-1/doc/a.txt": "x", "haproxy-1/l@sym:doc/a.txt": ""}), 0o644)
		if err := Unpack(context.Background(), tgz, filepath.Join(dir, "src")); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "src", "l")); string(b) != "x" {
			t.Errorf("symlink content %q", b)
		}
	})
}
