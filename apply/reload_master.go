package apply

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"harpy/check"
	"harpy/hint"
	"harpy/hversion"
	"harpy/runtimeapi"
)

// MasterReloader reloads HAProxy through its master CLI (haproxy -W -S SOCKET, 1.9+) and
// proves that a new worker generation took over.
//
// Reload records `show proc`, checks the configuration the master will load with the
// binary the master runs and the flags it was started with (read from /proc/PID on the
// target; where that cannot be read, from Service or DiscoverService), refuses when the
// check fails, then sends `reload`: on 2.7+ the master answers Success=1|0 and the
// startup logs; on 1.9–2.6 it answers nothing and `show proc` is polled until the master
// has re-executed. Confirm polls `show proc` until a new worker is current and the old
// ones are gone or listed as leaving.
type MasterReloader struct {
	Master *runtimeapi.Master
	// Binary checks the configuration with this haproxy instead of the master's own.
	Binary string
	// Config is the configuration the caller expects the master to read: an error when
	// the master's command line names another one. "" accepts the master's.
	Config string
	// Service gives the flags when the master's command line cannot be read (nil:
	// DiscoverService on the target).
	Service *Service
	// Timeout bounds the reload and, separately, its confirmation (60s when 0).
	Timeout time.Duration
	// Poll is the interval between two `show proc` (100ms when 0).
	Poll time.Duration

	// Filled in by Reload and Confirm, for the caller's report.
	Version   hversion.V
	Before    runtimeapi.Generation
	After     runtimeapi.Generation
	CheckArgv []string // the `haproxy -c` that passed
	CheckDir  string
	FlagsFrom string   // where the check's flags came from
	Logs      []string // the master's startup logs of this reload (2.7+)
}

// ErrInvalidConfig: the check of the configuration failed; nothing was reloaded.
var ErrInvalidConfig = errors.New("the configuration is invalid")

// ErrReloadFailed: the master tried the new configuration and kept the old workers.
var ErrReloadFailed = errors.New("the reload failed")

// ReloadError is a reload the master refused, with its startup log lines when it gave them.
type ReloadError struct {
	Master string
	Logs   []string
	Why    string
}

func (e *ReloadError) Error() string {
	s := fmt.Sprintf("reload through the master CLI %s: %s", e.Master, e.Why)
	if len(e.Logs) > 0 {
		s += "; the master's startup logs:\n  " + strings.Join(e.Logs, "\n  ")
	}
	return s
}

func (e *ReloadError) Unwrap() error { return ErrReloadFailed }

func (r *MasterReloader) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return 60 * time.Second
}

func (r *MasterReloader) poll() time.Duration {
	if r.Poll > 0 {
		return r.Poll
	}
	return 100 * time.Millisecond
}

func (r *MasterReloader) generation(ctx context.Context) (runtimeapi.Generation, error) {
	procs, err := r.Master.Procs(ctx)
	if err != nil {
		return runtimeapi.Generation{}, err
	}
	return runtimeapi.GenerationOf(procs)
}

// Reload checks the configuration and sends `reload` to the master.
func (r *MasterReloader) Reload(ctx context.Context, t Target) error {
	r.Logs, r.After, r.CheckArgv = nil, runtimeapi.Generation{}, nil
	before, err := r.generation(ctx)
	if err != nil {
		return fmt.Errorf("reload: read the workers from the master CLI %s: %w", r.Master.Addr, err)
	}
	r.Before = before
	if r.Version, err = r.Master.Version(ctx); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if verb, ok := runtimeapi.VerbOf("reload"); ok {
		if err := verb.Check(r.Version); err != nil {
			return fmt.Errorf("reload through the master CLI %s: %w", r.Master.Addr, err)
		}
	}
	s, fromCmdline, err := r.service(ctx, t, before.Master.PID)
	if err != nil {
		return err
	}
	if fromCmdline && r.Config != "" && path.Clean(r.Config) != path.Clean(s.Config) {
		return hint.Input(hint.With(fmt.Errorf("reload: the master (pid %d) reads %s, not %s (%s)", before.Master.PID, s.Config, r.Config, r.FlagsFrom),
			"a reload makes the master read its own -f again: leave --config out, or give --config %s", s.Config))
	}
	binary := r.Binary
	if binary == "" {
		binary = s.Binary
	}
	argv := s.CheckArgs(t, binary, s.Config)
	out, err := t.Run(ctx, s.Dir, argv...)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("reload: check %s: interrupted: %w", s.Config, ctx.Err())
		}
		var ec interface{ ExitCode() int }
		if errors.As(err, &ec) {
			return hint.With(fmt.Errorf("reload refused, the running workers %v are untouched: %w: %w", before.PIDs(), ErrInvalidConfig,
				&check.HAProxyError{Binary: argv[0], Config: t.Path(s.Config), Output: string(out), Err: fmt.Errorf("%w (run as %q in %s, flags from %s)", err, argv, s.Dir, r.FlagsFrom)}),
				"fix the lines HAProxy names above, then run harpy reload again")
		}
		return hint.With(fmt.Errorf("reload: check %s: run %s: %w", s.Config, argv[0], err),
			"pass the haproxy the master runs with --binary")
	}
	r.CheckArgv, r.CheckDir = argv, s.Dir
	ans, err := r.Master.Reload(ctx, r.timeout())
	sync := r.Version.Compare(hversion.MustParse("2.7")) >= 0
	if err != nil {
		// Before 2.7 the master re-executes behind the connection: a cut read is normal.
		if sync && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)) && ctx.Err() == nil {
			return hint.With(err, "the master did not answer within %s: a big configuration may need longer (--timeout); `show proc` on the master tells whether the reload went through", r.timeout())
		}
		var ve *runtimeapi.VersionError
		if sync || errors.As(err, &ve) || errors.Is(err, runtimeapi.ErrSocketMissing) || errors.Is(err, runtimeapi.ErrPermission) || runtimeapi.IsCommandError(err) {
			return err
		}
	}
	if ans.Synchronous {
		r.Logs = ans.Logs
		if !ans.Success {
			return hint.With(&ReloadError{Master: r.Master.Addr, Logs: ans.Logs, Why: fmt.Sprintf("the master answered Success=0, the workers %v still serve", before.PIDs())},
				"fix what the startup logs name (a port in use, a missing file), then run harpy reload again")
		}
		return nil
	}
	// 1.9–2.6: wait until the master has re-executed and decided.
	o, g, err := r.wait(ctx, func(o runtimeapi.Outcome) bool { return o != runtimeapi.Pending })
	r.After = g
	if err != nil {
		return err
	}
	if o == runtimeapi.Failed {
		return hint.With(&ReloadError{Master: r.Master.Addr, Why: fmt.Sprintf("the master re-executed and kept the workers %v (show proc: reloads %d, failed %d)", before.PIDs(), g.Master.Reloads, g.Master.Failed)},
			"HAProxy %s has no `show startup-logs`: the reason is in the master's log (journalctl -u haproxy, or its stderr)", r.Version)
	}
	return nil
}

// Confirm waits until a new worker generation is current and the old one is leaving.
func (r *MasterReloader) Confirm(ctx context.Context, _ Target) error {
	o, g, err := r.wait(ctx, func(o runtimeapi.Outcome) bool { return o == runtimeapi.Reloaded || o == runtimeapi.Failed })
	r.After = g
	if err != nil {
		return err
	}
	if o == runtimeapi.Failed {
		return hint.With(&ReloadError{Master: r.Master.Addr, Logs: r.Logs, Why: fmt.Sprintf("no new worker: the master kept the workers %v", r.Before.PIDs())},
			"see the master's log (journalctl -u haproxy) for why the new configuration did not start")
	}
	return nil
}

// wait polls `show proc` until done accepts the outcome, for at most the timeout. The
// master refuses connections while it re-executes: those errors are retried.
func (r *MasterReloader) wait(ctx context.Context, done func(runtimeapi.Outcome) bool) (runtimeapi.Outcome, runtimeapi.Generation, error) {
	limit := r.timeout()
	ctx2, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(r.poll())
	defer tick.Stop()
	var last runtimeapi.Generation
	var lastErr error
	o := runtimeapi.Pending
	for {
		g, err := r.generation(ctx2)
		if err == nil {
			last = g
			if o = runtimeapi.Compare(r.Before, g); done(o) {
				return o, g, nil
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return o, last, fmt.Errorf("reload: waiting for the new worker: interrupted: %w", ctx.Err())
		case <-ctx2.Done():
			what := fmt.Sprintf("show proc still says %q after %s (workers before %v, now %v)", o, limit, r.Before.PIDs(), last.PIDs())
			if last.Master.PID == 0 && lastErr != nil { // no answer at all
				what = fmt.Sprintf("the master CLI did not answer within %s: %v", limit, lastErr)
			}
			return o, last, hint.With(fmt.Errorf("reload: no new worker generation confirmed: %s", what),
				"a big configuration may need longer: give --timeout; the old workers leave once their connections end (hard-stop-after bounds that)")
		case <-tick.C:
		}
	}
}

// service is how the master runs: its binary (/proc/PID/exe), its flags
// (/proc/PID/cmdline) and its working directory (/proc/PID/cwd), read on the target
// (fromCmdline true). When the command line cannot be read (another user's process, a
// master on another host), Service or DiscoverService gives them, with Config (if set)
// as the configuration.
func (r *MasterReloader) service(ctx context.Context, t Target, pid int) (s Service, fromCmdline bool, err error) {
	proc := "/proc/" + strconv.Itoa(pid)
	if out, err := t.Run(ctx, "/", "cat", proc+"/cmdline"); err == nil && len(out) > 0 {
		if s, ok := parseCmdline(string(out)); ok {
			if exe, err := t.Run(ctx, "/", "readlink", proc+"/exe"); err == nil {
				if e := strings.TrimSuffix(strings.TrimSpace(string(exe)), " (deleted)"); strings.HasPrefix(e, "/") {
					s.Binary = e // the path the master re-executes
				}
			}
			if cwd, err := t.Run(ctx, "/", "readlink", proc+"/cwd"); err == nil {
				if d := strings.TrimSpace(string(cwd)); strings.HasPrefix(d, "/") {
					s.Dir = d
				}
			}
			s.absolute()
			if !strings.HasPrefix(s.Binary, "/") {
				s.Binary = "" // relative to a directory we do not know: the default haproxy
			}
			r.FlagsFrom = proc + "/cmdline"
			s.From = []string{r.FlagsFrom}
			return s, true, nil
		}
	}
	if r.Service != nil {
		s = *r.Service
	} else if s, err = DiscoverService(ctx, t); err != nil {
		return s, false, fmt.Errorf("reload: the master's command line is unreadable, and the service: %w", err)
	}
	if r.Config != "" && r.Config != s.Config {
		args := slices.Clone(s.Args)
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-f" && args[i+1] == s.Config {
				args[i+1] = r.Config
			}
		}
		s.Args, s.Config = args, r.Config
	}
	r.FlagsFrom = from(s) + " (the master's " + proc + "/cmdline is unreadable)"
	return s, false, nil
}

// parseCmdline reads a NUL-separated /proc/PID/cmdline into a Service: the flags the
// master reloads with, without those its re-execution adds (-sf/-st PIDs, -x SOCKET) or
// that only matter to a running master (-S SOCKET). A command line without -S or -f is
// not a master's whose configuration can be known: ok is false.
func parseCmdline(raw string) (Service, bool) {
	argv := strings.Split(strings.TrimRight(raw, "\x00"), "\x00")
	if len(argv) < 2 {
		return Service{}, false
	}
	s := Service{Binary: argv[0], Dir: "/"}
	master := false
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch a {
		case "-sf", "-st":
			for i+1 < len(argv) && argv[i+1] != "" && strings.Trim(argv[i+1], "0123456789") == "" {
				i++
			}
			continue
		case "-x", "-S":
			master = master || a == "-S"
			i++
			continue
		}
		s.Args = append(s.Args, a)
	}
	// The first -f, read as CheckArgs reads the flags (-p takes the next word).
	found := false
	for i := 0; i+1 < len(s.Args) && !found; i++ {
		switch s.Args[i] {
		case "-p":
			i++
		case "-f":
			s.Config, found = s.Args[i+1], true
		}
	}
	// No -S: not a master CLI's process (a TCP master on another host, whose PID is
	// some other process here).
	if s.Config == "" || !master {
		return Service{}, false
	}
	return s, true
}

// absolute resolves relative -f paths and the binary against the working directory.
func (s *Service) absolute() {
	abs := func(p string) string {
		if p == "" || strings.HasPrefix(p, "/") {
			return p
		}
		return path.Join(s.Dir, p)
	}
	for i := 0; i+1 < len(s.Args); i++ { // as CheckArgs reads them: -p takes the next word
		switch s.Args[i] {
		case "-p":
			i++
		case "-f":
			i++
			s.Args[i] = abs(s.Args[i])
		}
	}
	s.Config = abs(s.Config)
	if strings.Contains(s.Binary, "/") {
		s.Binary = abs(s.Binary)
	}
}
