// Package build turns an HAProxy release into a verified, feature-proven, staged binary:
// resolve → host check → checksum → lookup → fetch → unpack → patch → compile → prove →
// stage → store. Each step is a small type; they share one State and never call each other.
package build

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"harpy/specs"
)

// Options are the inputs of a build.
type Options struct {
	Catalog  *specs.Catalog
	Request  specs.Request
	CacheDir string   // harpy's cache (tarballs/, builds/); see DefaultCacheDir
	Mirrors  []string // tried in order instead of upstream; "{version}" and "{branch}" are expanded
	Source   string   // a local tarball to use instead of downloading
	Jobs     int      // make -j; 0 means the number of CPUs
	Rebuild  bool     // ignore a cached build of the same inputs
	Progress io.Writer
	Fetcher  *Fetcher // limits of downloads; nil: the defaults (see Fetcher)
}

// Result is what a build produced.
type Result struct {
	Plan     *specs.Plan
	Key      string // hash of everything that affects the binary
	Dir      string // the cache entry: stage/, build.log, build.json, haproxy-vv.txt
	StageDir string // staged root: usr/sbin/haproxy, man page, docs, license
	Binary   string
	VV       *VV
	Cached   bool // true when nothing was compiled
	MakeArgs []string
}

// State is shared by the steps of one build.
type State struct {
	Opts    Options
	Plan    *specs.Plan
	Host    *Host
	Cache   *Cache
	Tarball string // verified tarball path in the cache
	Work    string // temporary build directory, becomes the cache entry
	Src     string // unpacked source tree
	Result  Result

	unlock   func()   // releases the cache entry's lock
	makeTail []string // last lines of make's output
}

// Step is one stage of the pipeline.
type Step interface {
	String() string
	Run(ctx context.Context, s *State) error
}

// skipper is implemented by steps that have nothing to do in some states.
type skipper interface{ Skip(s *State) bool }

// Preflighter is implemented by steps that can tell before any work whether their
// options are usable. Run calls every step's Preflight, in order, before the first Run:
// a bad option fails in milliseconds, before a download or a compile.
type Preflighter interface {
	Preflight(ctx context.Context, s *State) error
}

// Steps is the build pipeline, in order.
func Steps() []Step {
	return []Step{
		resolveStep{},  // recipe + requested features → plan, before any work
		hostStep{},     // compiler, headers and library versions; known incompatibilities
		checksumStep{}, // the sha256 to trust: recipe, --sha256, or the mirror's .sha256
		lookupStep{},   // a cached build of the same inputs ends the work here
		fetchStep{},    // download or copy the tarball into the cache, verified
		unpackStep{},   // safe extraction into a fresh directory
		patchStep{},    // the recipe's patch queue, all or nothing
		compileStep{},  // make -jN with the plan's flags
		proveStep{},    // haproxy -vv must show every feature asked for, and none refused
		stageStep{},    // make install into a staging root
		storeStep{},    // the work directory becomes the cache entry, atomically
	}
}

// Run preflights every step, then runs them in order; a step that skips itself is not run.
func Run(ctx context.Context, opts Options, steps []Step) (*State, error) {
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.NumCPU()
	}
	s := &State{Opts: opts}
	defer s.release()
	for _, st := range steps {
		if p, ok := st.(Preflighter); ok {
			if err := p.Preflight(ctx, s); err != nil {
				return s, fmt.Errorf("%s: %w", st, err)
			}
		}
	}
	for _, st := range steps {
		if sk, ok := st.(skipper); ok && sk.Skip(s) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return s, fmt.Errorf("%s: interrupted: %w", st, err)
		}
		start := time.Now()
		if err := st.Run(ctx, s); err != nil {
			s.discardWork()
			return s, fmt.Errorf("%s: %w", st, err)
		}
		if d := time.Since(start); d > 200*time.Millisecond {
			s.logf("%s: done in %s", st, d.Round(100*time.Millisecond))
		}
	}
	return s, nil
}

// Build runs the whole pipeline and returns its result.
func Build(ctx context.Context, opts Options) (*Result, error) {
	s, err := Run(ctx, opts, Steps())
	if err != nil {
		return nil, err
	}
	return &s.Result, nil
}

func (s *State) logf(format string, args ...any) {
	fmt.Fprintf(s.Opts.Progress, format+"\n", args...)
}

func (s *State) release() {
	if s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
}

// cached is true once lookup found the build: the build steps skip themselves.
func (s *State) cached() bool { return s.Result.Cached }

type resolveStep struct{}

func (resolveStep) String() string { return "resolve" }
func (resolveStep) Run(_ context.Context, s *State) error {
	if s.Opts.Catalog == nil {
		c, err := specs.Load()
		if err != nil {
			return err
		}
		s.Opts.Catalog = c
	}
	p, err := s.Opts.Catalog.Resolve(s.Opts.Request)
	if err != nil {
		return err
	}
	s.Plan = p
	s.Result.Plan = p
	s.logf("resolve: HAProxy %s, TARGET=%s, features %v", p.Version, p.Target, p.FeatureNames())
	return nil
}

// FetchSteps only resolve the release and put its verified tarball into the cache.
func FetchSteps() []Step { return []Step{resolveStep{}, checksumStep{}, fetchStep{}} }

// FetchOnly downloads and verifies the release tarball and returns its cache path.
func FetchOnly(ctx context.Context, opts Options) (string, error) {
	s, err := Run(ctx, opts, FetchSteps())
	if err != nil {
		return "", err
	}
	return s.Tarball, nil
}
