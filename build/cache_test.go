package build

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"harpy/hint"
	"harpy/specs"
)

// cacheState is a build of 2.6.12 on a fake host, for the cache steps alone.
func cacheState(t *testing.T, dir string) *State {
	t.Helper()
	cat, err := specs.Load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cat.Resolve(specs.Request{Version: "2.6.12"})
	if err != nil {
		t.Fatal(err)
	}
	return &State{Opts: Options{CacheDir: dir, Progress: &bytes.Buffer{}}, Plan: p,
		Host: &Host{Compiler: "cc (test) 1.0", Arch: "x86_64"}}
}

// lookup runs the lookup step and returns the state, released at the end of the test.
func lookup(t *testing.T, dir string, rebuild bool) (*State, error) {
	t.Helper()
	s := cacheState(t, dir)
	s.Opts.Rebuild = rebuild
	t.Cleanup(s.release)
	return s, lookupStep{}.Run(context.Background(), s)
}

// fakeBuild stores an entry as compile, prove and stage would leave it, without a compiler.
func fakeBuild(t *testing.T, dir string, rebuild bool) *State {
	t.Helper()
	s, err := lookup(t, dir, rebuild)
	if err != nil {
		t.Fatal(err)
	}
	if s.Result.Cached || s.Work == "" {
		t.Fatal("lookup served an entry where a build was expected")
	}
	vv, err := os.ReadFile("testdata/vv-2.6.12.txt")
	if err != nil {
		t.Fatal(err)
	}
	s.Src = filepath.Join(s.Work, "src")
	for name, body := range map[string]string{
		"src/Makefile":         "all:",
		"build.log":            "make: done",
		"haproxy-vv.txt":       string(vv),
		"stage/" + StageBinary: "\x7fELF the binary",
		"stage/" + StageMan:    ".TH HAPROXY 1",
	} {
		p := filepath.Join(s.Work, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := (storeStep{}).Run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	s.release()
	return s
}

func TestCachedBuildIsServedOnlyWhenItsFilesAreIntact(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(entry string)
		want   string // "" when the entry is served
	}{
		{"intact", func(string) {}, ""},
		{"binary replaced", func(e string) {
			os.WriteFile(filepath.Join(e, "stage", StageBinary), []byte("#!/bin/sh\necho evil"), 0o755)
		}, "stage/usr/sbin/haproxy changed"},
		{"binary made non-executable", func(e string) { os.Chmod(filepath.Join(e, "stage", StageBinary), 0o644) }, "changed"},
		{"binary removed", func(e string) { os.Remove(filepath.Join(e, "stage", StageBinary)) }, "is missing"},
		{"file added", func(e string) { os.WriteFile(filepath.Join(e, "stage", "usr", "sbin", "extra"), nil, 0o755) }, "was added"},
		{"binary swapped for a symlink", func(e string) {
			b := filepath.Join(e, "stage", StageBinary)
			os.Remove(b)
			os.Symlink("/bin/sh", b)
		}, "changed"},
		{"-vv edited", func(e string) { os.WriteFile(filepath.Join(e, "haproxy-vv.txt"), []byte("+QUIC"), 0o644) }, "haproxy-vv.txt changed"},
		{"build.json without digests", func(e string) { os.WriteFile(filepath.Join(e, "build.json"), []byte("{}"), 0o644) }, "records no files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			built := fakeBuild(t, dir, false)
			tc.damage(built.Result.Dir)
			s, err := lookup(t, dir, false)
			if tc.want == "" {
				if err != nil || !s.Result.Cached || s.Result.VV == nil || !strings.HasPrefix(s.Result.VV.Version, "2.6.12") {
					t.Fatalf("not served: err %v, cached %v", err, s.Result.Cached)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(hint.Of(err), "--rebuild") {
				t.Fatalf("err = %v, hint %q; want %q and a --rebuild hint", err, hint.Of(err), tc.want)
			}
			if s.Result.Cached {
				t.Error("a damaged entry was marked as served")
			}
			s.release() // as Run does when a step fails
			// --rebuild builds it afresh, and the new entry is served.
			fakeBuild(t, dir, true)
			if s, err := lookup(t, dir, false); err != nil || !s.Result.Cached {
				t.Fatalf("after --rebuild: err %v, cached %v", err, s.Result.Cached)
			}
			assertNoTemps(t, dir)
		})
	}
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"tarballs", "builds"} {
		ents, _ := os.ReadDir(filepath.Join(dir, d))
		for _, e := range ents {
			if isTemp(e.Name()) {
				t.Errorf("%s/%s is left", d, e.Name())
			}
		}
	}
}

// plantTemps leaves what runs killed midway leave: a download and a work directory.
func plantTemps(t *testing.T, dir string) []string {
	t.Helper()
	var p []string
	for _, name := range []string{"tarballs/.tmp-123.tar.gz", "tarballs/.0123abcd.tar.gz.456.tmp", "builds/.tmp-0123abcd-789/src/Makefile"} {
		f := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(f), 0o755)
		if err := os.WriteFile(f, []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
		p = append(p, f)
	}
	return p
}

func TestKilledRunsLeftoversAreSweptByTheNextLoneRun(t *testing.T) {
	dir := t.TempDir()
	fakeBuild(t, dir, false) // makes the cache
	keep := []string{filepath.Join(dir, "tarballs", "0123abcd.tar.gz"), filepath.Join(dir, "builds", "keep.lock")}
	for _, k := range keep {
		os.WriteFile(k, []byte("x"), 0o644)
	}

	// While another run uses the cache, its temporaries may be live: nothing is swept.
	other := &Cache{Dir: dir}
	if err := other.mkdirs(); err != nil {
		t.Fatal(err)
	}
	temps := plantTemps(t, dir)
	if s, err := lookup(t, dir, false); err != nil {
		t.Fatal(err)
	} else {
		s.release()
	}
	for _, p := range temps {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was swept while another run held the cache", p)
		}
	}
	other.Close()

	// The next run that has the cache to itself sweeps, and keeps everything else.
	s, err := lookup(t, dir, false)
	if err != nil || !s.Result.Cached {
		t.Fatalf("err %v, cached %v", err, s.Result.Cached)
	}
	assertNoTemps(t, dir)
	for _, k := range append(keep, s.Result.Binary) {
		if _, err := os.Stat(k); err != nil {
			t.Errorf("%s was swept", k)
		}
	}
	// A run in progress keeps its own work directory from a run that starts after it.
	s.release()
	building, err := lookup(t, dir, true)
	if err != nil || building.Work == "" {
		t.Fatal(err)
	}
	c := &Cache{Dir: dir}
	if err := c.mkdirs(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := os.Stat(building.Work); err != nil {
		t.Errorf("a live work directory was swept: %v", err)
	}
}

// A cache this user cannot write still serves its cached builds. As root, permissions do
// not stop writes, so the check runs in a child process as nobody.
func TestReadOnlyCacheServesCachedBuilds(t *testing.T) {
	if dir := os.Getenv("HARPY_TEST_RO_CACHE"); dir != "" {
		roLookup(t, dir)
		return
	}
	base, err := os.MkdirTemp("", "harpy-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	dir := filepath.Join(base, "cache")
	fakeBuild(t, dir, false)
	// Make the cache read-only for everyone who is not root.
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink == 0 {
			os.Chmod(p, fi.Mode().Perm()&^0o222)
		}
		return nil
	})
	if os.Geteuid() != 0 {
		roLookup(t, dir)
		return
	}
	// The test binary, where nobody can run it.
	bin := filepath.Join(base, "build.test")
	copyFile(t, os.Args[0], bin)
	cmd := exec.Command(bin, "-test.run=^TestReadOnlyCacheServesCachedBuilds$", "-test.v")
	cmd.Dir, _ = os.Getwd()
	cmd.Env = append(os.Environ(), "HARPY_TEST_RO_CACHE="+dir, "HOME="+base)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}

func roLookup(t *testing.T, dir string) {
	if f, err := os.OpenFile(filepath.Join(dir, "probe"), os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		f.Close()
		t.Fatal("the cache is writable: the test proves nothing")
	}
	before, _ := exec.Command("find", dir, "-printf", "%p %s %T@\n").Output()
	s, err := lookup(t, dir, false)
	if err != nil || !s.Result.Cached || !strings.HasPrefix(s.Result.VV.Version, "2.6.12") {
		t.Fatalf("read-only cache: err %v (hint %q), cached %v", err, hint.Of(err), s.Result.Cached)
	}
	// Not cached there: the error says what to do.
	s2 := cacheState(t, dir)
	s2.Host.Compiler = "another compiler"
	err = lookupStep{}.Run(context.Background(), s2)
	if err == nil || !strings.Contains(hint.Of(err), "writable") {
		t.Errorf("uncached build in a read-only cache: err %v, hint %q", err, hint.Of(err))
	}
	if after, _ := exec.Command("find", dir, "-printf", "%p %s %T@\n").Output(); !bytes.Equal(before, after) {
		t.Errorf("the read-only cache changed:\n%s\n%s", before, after)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
