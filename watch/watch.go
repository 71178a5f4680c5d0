package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"harpy/discovery"
	"harpy/hversion"
)

// Runtime is the part of HAProxy's Runtime API a watcher uses (the runtimeapi package
// implements it over the stats socket).
type Runtime interface {
	Version(ctx context.Context) (hversion.V, error)
	Servers(ctx context.Context, backend string) ([]Server, error)
	// Sessions is the server's current sessions (scur), for draining.
	Sessions(ctx context.Context, backend, server string) (int, error)
	// Send runs one command line (commands joined by ';' run on one connection) and
	// returns an error when HAProxy refuses it.
	Send(ctx context.Context, cmd string) (string, error)
}

// Backend is one backend a watcher keeps in step.
type Backend struct {
	Name   string // the backend in haproxy.cfg
	Source discovery.Source
	Guard  discovery.Guard
	Check  Check
	// Interval between queries of a polling source (DNS), with up to Jitter added; a
	// blocking source (Consul) is asked again as soon as it answers.
	Interval, Jitter time.Duration
	Blocking         bool
	// DrainTimeout bounds the wait for a removed server's sessions to end.
	DrainTimeout time.Duration
}

// Persister writes the servers of every backend into the config file (through apply: the
// file is validated and replaced atomically), so a reload or restart keeps them, and
// reloads HAProxy when asked.
type Persister interface {
	Persist(ctx context.Context, servers map[string][]discovery.Target) error
	Reload(ctx context.Context) error
}

// Watcher runs the backends.
type Watcher struct {
	Runtime   Runtime
	Persister Persister
	Backends  []Backend
	Files     []*File // other files rendered from the same servers
	Log       *slog.Logger
	DryRun    bool // plan and print, change nothing
	// ReloadDebounce is the quiet time before a reload that run-time commands could not
	// avoid; changes within it share one reload.
	ReloadDebounce time.Duration

	mu      sync.Mutex
	current map[string][]discovery.Target
	stats   Stats
	reload  *time.Timer
}

// Stats count what a watcher did; /status and /metrics report them.
type Stats struct {
	Queries, Refused, Changes, Commands, Reloads, Failures int
	LastChange, LastError                                  time.Time
	LastErrorText                                          string
}

// Status is a snapshot for /status.
func (w *Watcher) Status() (Stats, map[string][]discovery.Target) {
	w.mu.Lock()
	defer w.mu.Unlock()
	cur := map[string][]discovery.Target{}
	for k, v := range w.current {
		cur[k] = append([]discovery.Target(nil), v...)
	}
	return w.stats, cur
}

func (w *Watcher) log() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// Once queries every backend once and applies what its guard accepts; it returns the
// changes made (or, with DryRun, planned).
func (w *Watcher) Once(ctx context.Context) ([]Change, error) {
	var all []Change
	var errs []error
	for i := range w.Backends {
		ch, err := w.step(ctx, &w.Backends[i])
		all = append(all, ch...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// Run keeps every backend in step until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range w.Backends {
		b := &w.Backends[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := w.step(ctx, b); err != nil && ctx.Err() == nil {
					w.log().Error("watch step failed", "backend", b.Name, "err", err)
				}
				if b.Blocking {
					continue // the source itself waits (and paces itself)
				}
				d := b.Interval
				if d <= 0 {
					d = time.Second
				}
				if b.Jitter > 0 {
					d += rand.N(b.Jitter)
				}
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// step asks one backend's source and applies the accepted answer.
func (w *Watcher) step(ctx context.Context, b *Backend) ([]Change, error) {
	ans, qerr := b.Source.Query(ctx)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	v, err := w.Runtime.Version(ctx)
	if err != nil {
		return nil, w.fail(fmt.Errorf("backend %s: %w", b.Name, err))
	}
	running, err := w.Runtime.Servers(ctx, b.Name)
	if err != nil {
		return nil, w.fail(fmt.Errorf("backend %s: %w", b.Name, err))
	}
	cur := make([]discovery.Target, 0, len(running))
	for _, s := range running {
		cur = append(cur, discovery.Target{Name: s.Name, Addr: s.Addr, Port: s.Port, Weight: s.Weight, Backup: s.Backup})
	}
	w.mu.Lock()
	w.stats.Queries++
	w.mu.Unlock()
	d := b.Guard.Decide(cur, ans, qerr)
	for _, s := range ans.Skipped {
		w.log().Warn("target skipped", "backend", b.Name, "source", b.Source.String(), "host", s.Host, "reason", s.Reason)
	}
	if d.Refused != "" {
		w.mu.Lock()
		w.stats.Refused++
		w.mu.Unlock()
		w.log().Error("answer refused: pool kept", "backend", b.Name, "source", b.Source.String(), "why", d.Refused)
		return nil, nil
	}
	if len(d.Kept) > 0 {
		w.log().Warn("removal limited: some servers kept for now", "backend", b.Name, "kept", len(d.Kept))
	}
	changes := Plan(b.Name, v, running, d.Apply, b.Check)
	if len(changes) == 0 {
		w.remember(b.Name, d.Apply)
		return nil, nil
	}
	if w.DryRun {
		return changes, nil
	}
	needReload := false
	for _, c := range changes {
		if c.Reload != "" {
			needReload = true
			continue
		}
		if err := w.apply(ctx, b, c); err != nil {
			// What failed at run time is made by the file and a reload instead.
			w.log().Error("run-time change failed: falling back to a reload", "backend", b.Name, "server", c.Server, "err", err)
			needReload = true
		}
	}
	w.remember(b.Name, d.Apply)
	w.mu.Lock()
	w.stats.Changes += len(changes)
	w.stats.LastChange = time.Now()
	snapshot := map[string][]discovery.Target{}
	for k, v := range w.current {
		snapshot[k] = v
	}
	w.mu.Unlock()
	if w.Persister != nil {
		if err := w.Persister.Persist(ctx, snapshot); err != nil {
			return changes, w.fail(fmt.Errorf("backend %s: write the config: %w", b.Name, err))
		}
		if needReload {
			w.scheduleReload(ctx)
		}
	}
	for _, f := range w.Files {
		if _, err := f.Write(ctx, snapshot); err != nil {
			return changes, w.fail(fmt.Errorf("backend %s: write %s: %w", b.Name, f.Path, err))
		}
	}
	return changes, nil
}

func (w *Watcher) remember(backend string, ts []discovery.Target) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.current == nil {
		w.current = map[string][]discovery.Target{}
	}
	w.current[backend] = append([]discovery.Target(nil), ts...)
}

func (w *Watcher) fail(err error) error {
	w.mu.Lock()
	w.stats.Failures++
	w.stats.LastError, w.stats.LastErrorText = time.Now(), err.Error()
	w.mu.Unlock()
	return err
}

// apply sends a change's commands; "" waits for the server to drain.
func (w *Watcher) apply(ctx context.Context, b *Backend, c Change) error {
	for _, cmd := range c.Commands {
		if cmd == "" {
			if err := w.drain(ctx, b, c.Server); err != nil {
				return err
			}
			continue
		}
		out, err := w.Runtime.Send(ctx, cmd)
		w.mu.Lock()
		w.stats.Commands++
		w.mu.Unlock()
		if err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		w.log().Info("runtime", "backend", b.Name, "cmd", cmd, "reply", strings.TrimSpace(out))
	}
	return nil
}

// drain waits until a server has no session left, or DrainTimeout passes (then the
// removal goes on: a stuck client must not keep a dead server forever).
func (w *Watcher) drain(ctx context.Context, b *Backend, server string) error {
	timeout := b.DrainTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		n, err := w.Runtime.Sessions(ctx, b.Name, server)
		if err == nil && n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				w.log().Warn("drain timed out: removing anyway", "backend", b.Name, "server", server, "sessions", n)
				return nil
			}
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// scheduleReload reloads after ReloadDebounce of quiet: a record flapping many times in
// a few seconds costs one reload.
func (w *Watcher) scheduleReload(ctx context.Context) {
	d := w.ReloadDebounce
	if d <= 0 {
		d = 2 * time.Second
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.reload != nil {
		w.reload.Stop()
	}
	w.reload = time.AfterFunc(d, func() {
		if err := w.Persister.Reload(ctx); err != nil {
			w.fail(fmt.Errorf("reload: %w", err))
			return
		}
		w.mu.Lock()
		w.stats.Reloads++
		w.mu.Unlock()
	})
}
