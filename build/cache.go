package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"harpy/hint"
)

// Cache is harpy's on-disk cache:
//
//	tarballs/<sha256>.tar.gz   verified release tarballs, content-addressed
//	builds/<key>/              one finished build: stage/, build.log, build.json, haproxy-vv.txt
//	builds/<key>.lock          held while that key is being built (flock)
//	failed/<key>/build.log     the log of the last failed build of a key
//
// Entries appear only by rename of a complete directory or file, so an interrupted or
// failed run never leaves something that a later run would trust.
type Cache struct{ Dir string }

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

func (c *Cache) mkdirs() error {
	for _, d := range []string{"tarballs", "builds", "failed"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			return hint.With(fmt.Errorf("cache: %w", err), "make the cache dir writable, or pass --cache DIR")
		}
	}
	return nil
}

// lock takes the exclusive lock of a build key, waiting for another harpy (or test
// process) that is building the same key.
func (c *Cache) lock(ctx context.Context, key string) (func(), error) {
	f, err := os.OpenFile(c.entry(key)+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
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
}

type lookupStep struct{}

func (lookupStep) String() string { return "lookup" }
func (lookupStep) Run(ctx context.Context, s *State) error {
	s.Cache = &Cache{Dir: s.Opts.CacheDir}
	if err := s.Cache.mkdirs(); err != nil {
		return err
	}
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
		Format:   1,
	}
	key := in.key()
	s.Result.Key = key
	unlock, err := s.Cache.lock(ctx, key)
	if err != nil {
		return fmt.Errorf("lock build %s: %w", key, err)
	}
	s.unlock = unlock
	dir := s.Cache.entry(key)
	s.Result.Dir = dir
	s.Result.StageDir = filepath.Join(dir, "stage")
	s.Result.Binary = filepath.Join(dir, "stage", "usr", "sbin", "haproxy")
	if _, err := os.Stat(filepath.Join(dir, "build.json")); err == nil && !s.Opts.Rebuild {
		vvText, err := os.ReadFile(filepath.Join(dir, "haproxy-vv.txt"))
		if err != nil {
			return fmt.Errorf("cache entry %s is damaged: %w", dir, err)
		}
		s.Result.VV = ParseVV(string(vvText))
		s.Result.Cached = true
		s.logf("lookup: build %s is cached: nothing to compile", key)
		return nil
	}
	s.logf("lookup: build %s: not cached", key)
	work, err := os.MkdirTemp(filepath.Join(s.Cache.Dir, "builds"), ".tmp-"+key+"-")
	if err != nil {
		return err
	}
	s.Work = work
	return writeJSON(filepath.Join(work, "build.json"), buildInfo{Inputs: in, Features: s.Plan.FeatureNames(), Refused: refusedNames(s)})
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
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

type storeStep struct{}

func (storeStep) String() string     { return "store" }
func (storeStep) Skip(s *State) bool { return s.cached() }
func (storeStep) Run(_ context.Context, s *State) error {
	// The source tree is large and can be rebuilt from the cached tarball.
	if err := os.RemoveAll(s.Src); err != nil {
		return err
	}
	os.RemoveAll(s.Result.Dir) // a stale entry from --rebuild
	if err := os.Rename(s.Work, s.Result.Dir); err != nil {
		return err
	}
	s.Work = ""
	s.logf("store: %s", s.Result.Dir)
	return nil
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
		if os.MkdirAll(dst, 0o755) == nil && os.Rename(log, filepath.Join(dst, "build.log")) == nil {
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
