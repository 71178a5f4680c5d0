package runtimeapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"harpy/hversion"
)

// ReloadAnswer is the master CLI's answer to `reload`. From 2.7 the master keeps the
// connection across its re-exec and answers "Success=1" (or 0), a "--" line and the
// startup logs of the new load; before, it closes the connection and answers nothing.
type ReloadAnswer struct {
	Synchronous bool     // the answer had a Success= line (2.7+)
	Success     bool     // Success=1
	Logs        []string // the startup log lines after "--"
}

// ParseReload reads the answer to `reload`. An empty answer (1.9–2.6) is asynchronous:
// the outcome must be read from `show proc`. Any other answer without a Success= line
// is an error carrying it.
func ParseReload(out string) (ReloadAnswer, error) {
	lines := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i == len(lines) {
		return ReloadAnswer{}, nil
	}
	first := strings.TrimSpace(lines[i])
	val, ok := strings.CutPrefix(first, "Success=")
	if !ok {
		if err := answerError("reload", out); err != nil {
			return ReloadAnswer{}, err
		}
		return ReloadAnswer{}, &CommandError{Command: "reload", Message: "unexpected answer: " + trunc(first, 120)}
	}
	a := ReloadAnswer{Synchronous: true}
	switch val {
	case "1":
		a.Success = true
	case "0":
	default:
		return ReloadAnswer{}, &CommandError{Command: "reload", Message: fmt.Sprintf("bad Success= value %q", trunc(val, 20))}
	}
	rest := lines[i+1:]
	if len(rest) > 0 && strings.TrimSpace(rest[0]) == "--" {
		rest = rest[1:]
	}
	for _, l := range rest {
		if l = strings.TrimRight(l, " \t"); l != "" {
			a.Logs = append(a.Logs, l)
		}
	}
	return a, nil
}

// Reload sends `reload` to the master and returns its answer. The connection is allowed
// timeout (the master answers on 2.7+ only once the new configuration is loaded and its
// worker forked); on 1.9–2.6 the answer is empty and the master re-executes behind it.
func (m *Master) Reload(ctx context.Context, timeout time.Duration) (ReloadAnswer, error) {
	v, err := m.Version(ctx)
	if err != nil {
		return ReloadAnswer{}, err
	}
	if verb, ok := VerbOf("reload"); ok {
		if err := verb.Check(v); err != nil {
			return ReloadAnswer{}, err
		}
	}
	c := &Client{Addr: m.Addr, Timeout: timeout, Origin: m.Origin}
	out, err := c.Raw(ctx, "reload")
	if err != nil {
		return ReloadAnswer{}, fmt.Errorf("master CLI %s: reload: %w", m.Addr, err)
	}
	return ParseReload(out)
}

// StartupLogs runs `show startup-logs` (2.7+): the log lines of the last load.
func (m *Master) StartupLogs(ctx context.Context) ([]string, error) {
	v, err := m.Version(ctx)
	if err != nil {
		return nil, err
	}
	if err := (Verb{Pattern: "show startup-logs", Since: hversion.MustParse("2.7")}).Check(v); err != nil {
		return nil, err
	}
	out, err := m.Raw(ctx, "show startup-logs")
	if err != nil {
		return nil, err
	}
	if err := answerError("show startup-logs", out); err != nil {
		return nil, err
	}
	var logs []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimRight(l, " \t\r"); l != "" {
			logs = append(logs, l)
		}
	}
	return logs, nil
}

// Generation is what `show proc` says about the master and its workers at one moment.
type Generation struct {
	Master  Proc
	Current []Proc // workers under "# workers"
	Old     []Proc // workers under "# old workers": leaving
}

// GenerationOf splits `show proc` rows into the master, the current and the old workers.
func GenerationOf(procs []Proc) (Generation, error) {
	var g Generation
	found := false
	for _, p := range procs {
		switch {
		case p.Type == "master":
			g.Master, found = p, true
		case p.Type != "worker":
		case p.Old:
			g.Old = append(g.Old, p)
		default:
			g.Current = append(g.Current, p)
		}
	}
	if !found {
		return g, fmt.Errorf("show proc: no master row (is this the master CLI, haproxy -S?)")
	}
	return g, nil
}

// PIDs of the current workers, sorted.
func (g Generation) PIDs() []int {
	var out []int
	for _, p := range g.Current {
		out = append(out, p.PID)
	}
	slices.Sort(out)
	return out
}

// Outcome is how a reload went, judged by comparing `show proc` before and after.
type Outcome int

const (
	Pending  Outcome = iota // nothing decided yet: the master has not re-executed, or is loading
	Reloaded                // a new worker generation serves and the old one is leaving
	Leaving                 // a new generation serves, an old worker is still listed current
	Failed                  // the master re-executed and kept the old workers: the new load failed
)

func (o Outcome) String() string {
	return [...]string{"pending", "reloaded", "old worker still current", "failed"}[o]
}

// Compare judges after against before. A new generation is a current worker whose PID
// was not a current worker before; the old one is leaving when none of the old current
// workers is still current (gone, or under "# old workers"). A reload that failed shows
// as a master whose reload counter (or, 2.6+, its failed counter) rose while no new
// worker appeared: 2.6+ keep the old worker current, 2.2 lists it as old with no current.
func Compare(before, after Generation) Outcome {
	old := before.PIDs()
	newWorker, oldCurrent := false, false
	for _, p := range after.Current {
		if slices.Contains(old, p.PID) {
			oldCurrent = true
		} else {
			newWorker = true
		}
	}
	switch {
	case after.Master.PID != before.Master.PID && after.Master.PID != 0 && newWorker:
		return Reloaded // a new master (a restart): its workers are new too
	case newWorker && !oldCurrent:
		return Reloaded
	case newWorker:
		return Leaving
	case after.Master.Failed > before.Master.Failed:
		return Failed
	case after.Master.Reloads > before.Master.Reloads:
		return Failed
	}
	return Pending
}
