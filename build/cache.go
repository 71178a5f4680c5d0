package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"harpy/hint"
	"harpy/safefile"
)

// Cache is harpy's on-disk cache:
//
//	tarballs/<sha256>.tar.gz   verified release tarballs, content-addressed
//	builds/<key>/              one finished build: stage/, build.log, build.json, haproxy-vv.txt
//	builds/<key>.lock          held while that key is being built (flock)
//	failed/<key>/build.log     the log of the last failed build of a key
//	cache.lock                 shared by every run; taken alone to sweep temporaries
//
// Entries appear only by rename of a complete directory or file, so an interrupted or
// failed run never leaves something that a later run would trust; what a killed run
// leaves (.tmp-* and .*.tmp in tarballs/ and builds/) is swept by the next run that finds
// no other run using the cache. build.json records the sha256 of every file of an entry,
// and the entry is verified against it before it is served.
type Cache struct {
	Dir string

	joined *os.File // cache.lock, held shared from the first write until Close
}

// DefaultCacheDir is $HARPY_CACHE, else the user's cache dir + /harpy.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("HARPY_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", hint.With(fmt.Errorf("find cache dir: %w", err), "set HARPY_CACHE or pass --cache DIR")
	}
	return filepath.Join(d, "harpy"), nil
}

func (c *Cache) tarball(sum string) string { return filepath.Join(c.Dir, "tarballs", sum+".tar.gz") }
func (c *Cache) entry(key string) string   { return filepath.Join(c.Dir, "builds", key) }

// mkdirs makes the cache's directories and joins the cache (see join): every run that
// writes to the cache goes through here first.
func (c *Cache) mkdirs() error {
	for _, d := range []string{"tarballs", "builds", "failed"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			return hint.With(fmt.Errorf("cache: %w", err), "make the cache dir writable, or pass --cache DIR")
		}
	}
	if err := c.join(); err != nil {
		return hint.With(fmt.Errorf("cache: %w", err), "make the cache dir writable, or pass --cache DIR")
	}
	return nil
}

// join takes cache.lock shared for the rest of the run (until Close). A run that gets it
// exclusively first knows that no other run is using the cache: it sweeps the temporary
// files and directories that killed runs left, then keeps the lock shared like everyone.
func (c *Cache) join() error {
	if c.joined != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(c.Dir, "cache.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		c.sweep()
	}
	// From exclusive (or nothing) to shared; it waits only while another run sweeps.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return err
	}
	c.joined = f
	return nil
}

// sweep removes what killed runs left: temporaries in tarballs/ and builds/. Only call it
// holding cache.lock exclusively.
func (c *Cache) sweep() {
	for _, d := range []string{"tarballs", "builds"} {
		ents, _ := os.ReadDir(filepath.Join(c.Dir, d))
		for _, e := range ents {
			if isTemp(e.Name()) {
				os.RemoveAll(filepath.Join(c.Dir, d, e.Name()))
			}
		}
	}
}

// isTemp matches harpy's temporary names: .tmp-* (work directories, older downloads) and
// .*.tmp (safefile).
func isTemp(name string) bool {
	return strings.HasPrefix(name, ".tmp-") || (strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp"))
}

// Close leaves the cache: another run may sweep it.
func (c *Cache) Close() {
	if c.joined != nil {
		c.joined.Close()
		c.joined = nil
	}
}

// lock takes the exclusive lock of a build key, waiting for another harpy (or test
// process) that is building the same key.
func (c *Cache) lock(ctx context.Context, key string) (func(), error) {
	f, err := os.OpenFile(c.entry(key)+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	return flock(ctx, f, syscall.LOCK_EX)
}

// rlock waits, in a cache it cannot write, until nobody is building key. A missing lock
// file means nobody ever built it there.
func (c *Cache) rlock(ctx context.Context, key string) (func(), error) {
	f, err := os.Open(c.entry(key) + ".lock")
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	return flock(ctx, f, syscall.LOCK_SH)
}

func flock(ctx context.Context, f *os.File, how int) (func(), error) {
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), how) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, err
		}
	case <-ctx.Done():
		// The flock goroutine stays blocked until the holder releases; closing the file
		// when it returns would race with it, and the process is ending anyway.
		return nil, ctx.Err()
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// keyInputs is everything that changes the compiled binary. Anything not here (the
// package release number, profiles, init scripts) must not cause a recompile.
type keyInputs struct {
	Version  string   `json:"version"`
	SHA256   string   `json:"sha256"`
	Patches  []string `json:"patches"` // name:sha256 of content, in order
	MakeArgs []string `json:"make_args"`
	Compiler string   `json:"compiler"`
	Arch     string   `json:"arch"`
	Format   int      `json:"format"` // bump when the cache layout or stage step changes
}

func (k keyInputs) key() string {
	b, _ := json.Marshal(k)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// buildInfo is written as build.json in each entry.
type buildInfo struct {
	Inputs   keyInputs `json:"inputs"`
	Features []string  `json:"features"`
	Refused  []string  `json:"refused"`
	// Files is what the entry served holds, by path relative to it: "sha256 MODE HEX" for
	// a file (MODE without its write bits), "symlink TARGET" for a link. Written by store, verified by lookup.
	Files map[string]string `json:"files,omitempty"`
}

type lookupStep struct{}

func (lookupStep) String() string { return "lookup" }
func (lookupStep) Run(ctx context.Context, s *State) error {
	s.Cache = &Cache{Dir: s.Opts.CacheDir}
	var patches []string
	for _, p := range s.Plan.Patches {
		h := sha256.Sum256(p.Data)
		patches = append(patches, p.Name+":"+hex.EncodeToString(h[:]))
	}
	in := keyInputs{
		Version:  s.Plan.Version.String(),
		SHA256:   s.Plan.SHA256,
		Patches:  patches,
		MakeArgs: s.Result.MakeArgs,
		Compiler: s.Host.Compiler,
		Arch:     s.Host.Arch,
		Format:   2,
	}
	key := in.key()
	s.Result.Key = key
	dir := s.Cache.entry(key)
	s.Result.Dir = dir
	s.Result.StageDir = filepath.Join(dir, "stage")
	s.Result.Binary = filepath.Join(dir, "stage", "usr", "sbin", "haproxy")
	if err := s.Cache.mkdirs(); err != nil {
		// A cache this run cannot write (another user's, a read-only mount) still serves
		// what it holds.
		if s.Opts.Rebuild || !fileExists(filepath.Join(dir, "build.json")) {
			return err
		}
		unlock, lerr := s.Cache.rlock(ctx, key)
		if lerr != nil {
			return err
		}
		s.unlock = unlock
		if err := s.serve(dir); err != nil {
			return err
		}
		s.logf("lookup: build %s is cached (read-only cache): nothing to compile", key)
		return nil
	}
	unlock, err := s.Cache.lock(ctx, key)
	if err != nil {
		s.Cache.Close()
		return fmt.Errorf("lock build %s: %w", key, err)
	}
	c := s.Cache
	s.unlock = func() { unlock(); c.Close() }
	if fileExists(filepath.Join(dir, "build.json")) && !s.Opts.Rebuild {
		if err := s.serve(dir); err != nil {
			return err
		}
		s.logf("lookup: build %s is cached: nothing to compile", key)
		return nil
	}
	s.logf("lookup: build %s: not cached", key)
	work, err := os.MkdirTemp(filepath.Join(s.Cache.Dir, "builds"), ".tmp-"+key+"-")
	if err != nil {
		return err
	}
	// MkdirTemp makes it 0700: the entry it becomes is readable by all, like the cache.
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	s.Work = work
	return writeJSON(filepath.Join(work, "build.json"), buildInfo{Inputs: in, Features: s.Plan.FeatureNames(), Refused: refusedNames(s)})
}

// serve checks a cache entry against the digests it recorded and takes its -vv.
func (s *State) serve(dir string) error {
	damaged := func(err error) error {
		return hint.With(fmt.Errorf("cache entry %s is damaged: %w", dir, err),
			"run again with --rebuild to build it afresh (or delete %s)", dir)
	}
	b, err := safefile.ReadFile(filepath.Join(dir, "build.json"), safefile.MaxConfig)
	if err != nil {
		return damaged(err)
	}
	var info buildInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return damaged(fmt.Errorf("build.json: %w", err))
	}
	if len(info.Files) == 0 {
		return damaged(errors.New("build.json records no files"))
	}
	got, err := manifest(dir)
	if err != nil {
		return damaged(err)
	}
	if diff := diffManifest(info.Files, got); diff != "" {
		return damaged(errors.New(diff))
	}
	vvText, err := safefile.ReadFile(filepath.Join(dir, "haproxy-vv.txt"), safefile.MaxConfig)
	if err != nil {
		return damaged(err)
	}
	s.Result.VV = ParseVV(string(vvText))
	s.Result.Cached = true
	return nil
}

// notServed are the files of an entry that are not part of what it serves.
var notServed = map[string]bool{"build.json": true, "build.log": true}

// manifest records every file and symlink under an entry (see buildInfo.Files).
func manifest(dir string) (map[string]string, error) {
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || notServed[rel] {
			return err
		}
		switch t := d.Type(); {
		case t.IsDir():
		case t&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[rel] = "symlink " + l
		case t.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			sum, err := hashFile(p)
			if err != nil {
				return err
			}
			// Write bits are left out: a cache made read-only is not damaged.
			m[rel] = fmt.Sprintf("sha256 %04o %s", fi.Mode().Perm()&^0o222, sum)
		default:
			m[rel] = "special " + t.String()
		}
		return nil
	})
	return m, err
}

// diffManifest says how got differs from want, at most a few paths, or "".
func diffManifest(want, got map[string]string) string {
	var d []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			d = append(d, p+" is missing")
		case g != w:
			d = append(d, p+" changed since it was built")
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			d = append(d, p+" was added since it was built")
		}
	}
	if len(d) == 0 {
		return ""
	}
	sort.Strings(d)
	if len(d) > 3 {
		d = append(d[:3], fmt.Sprintf("and %d more", len(d)-3))
	}
	return strings.Join(d, "; ")
}

func refusedNames(s *State) []string {
	var n []string
	for _, f := range s.Plan.Refused {
		n = append(n, f.Name)
	}
	return n
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteFile(path, append(b, '\n'), 0o644)
}

type storeStep struct{}

func (storeStep) String() string     { return "store" }
func (storeStep) Skip(s *State) bool { return s.cached() }
func (storeStep) Run(_ context.Context, s *State) error {
	// The source tree is large and can be rebuilt from the cached tarball.
	if err := os.RemoveAll(s.Src); err != nil {
		return err
	}
	if err := s.recordFiles(); err != nil {
		return err
	}
	// A stale entry (--rebuild, or a damaged one) is moved aside first: it becomes a
	// temporary that the sweep removes if this run is killed before it does.
	var old string
	if fileExists(s.Result.Dir) {
		old = filepath.Join(s.Cache.Dir, "builds", ".tmp-"+s.Result.Key+"-old")
		os.RemoveAll(old)
		if err := os.Rename(s.Result.Dir, old); err != nil {
			return err
		}
	}
	if err := safefile.Rename(s.Work, s.Result.Dir); err != nil {
		return err
	}
	if old != "" {
		os.RemoveAll(old)
	}
	s.Work = ""
	s.logf("store: %s", s.Result.Dir)
	return nil
}

// recordFiles adds the digests of everything the work directory will serve to its
// build.json.
func (s *State) recordFiles() error {
	p := filepath.Join(s.Work, "build.json")
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var info buildInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if info.Files, err = manifest(s.Work); err != nil {
		return err
	}
	return writeJSON(p, info)
}

// discardWork removes the temporary build directory of a failed build, keeping its log
// under failed/<key>/ for the user to read.
func (s *State) discardWork() string {
	if s.Work == "" {
		return ""
	}
	kept := ""
	if log := filepath.Join(s.Work, "build.log"); fileExists(log) {
		dst := filepath.Join(s.Cache.Dir, "failed", s.Result.Key)
		os.RemoveAll(dst)
		if os.MkdirAll(dst, 0o755) == nil && safefile.Rename(log, filepath.Join(dst, "build.log")) == nil {
			kept = filepath.Join(dst, "build.log")
		}
	}
	os.RemoveAll(s.Work)
	s.Work = ""
	return kept
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// shortHex abbreviates a digest for messages.
func shortHex(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}
