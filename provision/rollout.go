package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	udiff "github.com/aymanbagabas/go-udiff"

	"harpy/apply"
	"harpy/hint"
	"harpy/hversion"
	"harpy/profiles"
	"harpy/sshtarget"
)

// Target is a connected host.
type Target interface {
	apply.Target
	io.Closer
}

// Options of a rollout.
type Options struct {
	Serial  int  // hosts changed at once, one batch after the other (<1: 1)
	MaxFail int  // stop after a batch once more hosts than this failed
	DryRun  bool // diff only: nothing is written, nothing reloaded
	// Dial connects to a host; nil is SSH (sshtarget) after Preflight.
	Dial func(ctx context.Context, h *Host) (Target, error)
	Log  io.Writer // one line per host as it finishes; nil: none
}

// Outcomes of a host's config.
const (
	Changed     = "changed"
	Unchanged   = "unchanged"
	WouldChange = "would change"
	Failed      = "failed"
	Skipped     = "skipped" // not tried: the run stopped before its batch
)

// HostResult is what happened on one host.
type HostResult struct {
	Host     string   `json:"host"`
	Address  string   `json:"address"`
	Dist     string   `json:"dist,omitempty"`
	Arch     string   `json:"arch,omitempty"`
	Init     string   `json:"init,omitempty"` // systemd or sysvinit
	HAProxy  string   `json:"haproxy,omitempty"`
	Config   string   `json:"config"`
	Files    []string `json:"files_changed,omitempty"`
	Reloaded bool     `json:"reloaded"`
	Diff     string   `json:"diff,omitempty"` // dry run; secrets masked
	Seconds  float64  `json:"seconds"`
	Error    string   `json:"error,omitempty"`
	Hint     string   `json:"hint,omitempty"`
}

// Summary is a whole run.
type Summary struct {
	Hosts     []HostResult `json:"hosts"`
	Changed   int          `json:"changed"`
	Unchanged int          `json:"unchanged"`
	Failed    int          `json:"failed"`
	Skipped   int          `json:"skipped"`
	Reloads   int          `json:"reloads"`
	Stopped   bool         `json:"stopped"` // --max-fail was exceeded
}

// ErrFailed is returned by Run when any host failed.
var ErrFailed = errors.New("provision failed on some hosts")

// Preflight checks what can be checked of the hosts without connecting: each is in its
// known_hosts (unless it accepts new keys). Every problem is reported, as bad input.
func Preflight(hosts []*Host) error {
	var problems []string
	for _, h := range hosts {
		if h.AcceptNewKeys {
			continue
		}
		keys, err := sshtarget.Known(h.KnownHosts, h.Addr())
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: host %s: %v", h.At, h.Name, err))
			continue
		}
		if len(keys) == 0 {
			problems = append(problems, fmt.Sprintf("%s: host %s: %s has no key for %s", h.At, h.Name, h.KnownHosts, h.Addr()))
		}
	}
	if len(problems) > 0 {
		return hint.Input(hint.With(errors.New(strings.Join(problems, "\n")),
			"add the hosts' keys to known_hosts (check their fingerprints out of band), or set accept_new_host_keys = true; nothing was done on any host"))
	}
	return nil
}

func dialSSH(ctx context.Context, h *Host) (Target, error) {
	return sshtarget.Dial(ctx, sshtarget.Config{Addr: h.Addr(), User: h.User, IdentityFile: h.IdentityFile, KnownHosts: h.KnownHosts,
		AcceptNew: h.AcceptNewKeys, ConnectTimeout: h.ConnectTimeout, CommandTimeout: h.CommandTimeout, Root: h.Root})
}

// Run provisions hosts in batches of opts.Serial. A batch runs to its end; after it, the
// run stops if more than opts.MaxFail hosts failed, and the rest are left untouched.
func Run(ctx context.Context, hosts []*Host, opts Options) (*Summary, error) {
	dial := opts.Dial
	if dial == nil {
		if err := Preflight(hosts); err != nil {
			return nil, err
		}
		dial = dialSSH
	}
	serial := max(opts.Serial, 1)
	sum := &Summary{Hosts: make([]HostResult, len(hosts))}
	var logMu sync.Mutex
	failed := 0
	for start := 0; start < len(hosts); start += serial {
		if failed > opts.MaxFail || ctx.Err() != nil {
			for i := start; i < len(hosts); i++ {
				sum.Hosts[i] = HostResult{Host: hosts[i].Name, Address: hosts[i].Addr(), Config: Skipped}
			}
			sum.Stopped = failed > opts.MaxFail
			break
		}
		end := min(start+serial, len(hosts))
		var wg sync.WaitGroup
		for i := start; i < end; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := one(ctx, hosts[i], dial, opts.DryRun)
				sum.Hosts[i] = r
				if opts.Log != nil {
					logMu.Lock()
					line := fmt.Sprintf("%s: %s", r.Host, r.Config)
					if r.Reloaded {
						line += ", reloaded"
					}
					if r.Error != "" {
						line += ": " + strings.ReplaceAll(r.Error, "\n", "\n  ")
					}
					fmt.Fprintln(opts.Log, line)
					logMu.Unlock()
				}
			}()
		}
		wg.Wait()
		failed = 0
		for _, r := range sum.Hosts[:end] {
			if r.Config == Failed {
				failed++
			}
		}
	}
	for _, r := range sum.Hosts {
		switch r.Config {
		case Changed, WouldChange:
			sum.Changed++
		case Unchanged:
			sum.Unchanged++
		case Failed:
			sum.Failed++
		case Skipped:
			sum.Skipped++
		}
		if r.Reloaded {
			sum.Reloads++
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	if sum.Failed > 0 {
		return sum, ErrFailed
	}
	return sum, nil
}

// one provisions one host; its failure is in the result.
func one(ctx context.Context, h *Host, dial func(context.Context, *Host) (Target, error), dry bool) HostResult {
	start := time.Now()
	r := HostResult{Host: h.Name, Address: h.Addr(), Dist: h.Dist}
	fail := func(err error) HostResult {
		r.Config, r.Error, r.Hint = Failed, mask(err.Error()), hint.Of(err)
		r.Seconds = time.Since(start).Seconds()
		return r
	}
	t, err := dial(ctx, h)
	if err != nil {
		return fail(err)
	}
	defer t.Close()
	r.Arch, r.Init = facts(ctx, t) // for the summary only: a host without them still provisions
	v := h.HAProxy
	if v == (hversion.V{}) {
		if v, err = installedVersion(ctx, t, h.Binary); err != nil {
			return fail(err)
		}
	}
	r.HAProxy = v.String()
	if r.Dist == "" {
		if r.Dist, err = detectDist(ctx, t); err != nil {
			return fail(err)
		}
	}
	out, err := profiles.Render(h.Profile, profiles.Options{HAProxy: v, Dist: r.Dist})
	if err != nil {
		return fail(fmt.Errorf("render %s for HAProxy %s on %s: %w", h.ProfileName, v, r.Dist, err))
	}
	files := out.Files()
	if dry {
		var diffs []string
		for _, f := range files {
			p := "/" + strings.TrimPrefix(f.Name, "/")
			cur, err := t.Read(ctx, p)
			if err != nil {
				return fail(err)
			}
			if cur.Exists && string(cur.Data) == string(f.Data) {
				continue
			}
			r.Files = append(r.Files, t.Path(p))
			diffs = append(diffs, udiff.Unified(t.Path(p), t.Path(p)+" (new)", string(cur.Data), string(f.Data)))
		}
		r.Config, r.Diff = Unchanged, mask(strings.Join(diffs, ""))
		if len(r.Files) > 0 {
			r.Config = WouldChange
		}
		r.Seconds = time.Since(start).Seconds()
		return r
	}
	tx := apply.Tx{Target: t, Files: files, Validate: apply.HAProxy{Binary: h.Binary}}
	if len(h.Reload) > 0 {
		tx.Reload = apply.Command{Argv: h.Reload}
	}
	res, err := tx.Run(ctx)
	if err != nil {
		return fail(err)
	}
	r.Files, r.Reloaded = res.Written, res.Reloaded
	r.Config = Unchanged
	if len(res.Written) > 0 {
		r.Config = Changed
	}
	r.Seconds = time.Since(start).Seconds()
	return r
}

// facts are the host's architecture and init system ("" when it cannot tell).
func facts(ctx context.Context, t apply.Target) (arch, init string) {
	out, err := t.Run(ctx, "/", "sh", "-c", "uname -m; if [ -d /run/systemd/system ]; then echo systemd; else echo sysvinit; fi")
	if f := strings.Fields(string(out)); err == nil && len(f) == 2 {
		return f[0], f[1]
	}
	return "", ""
}

var versionRE = regexp.MustCompile(`(?m)^HA-?Proxy version (\d+\.\d+(?:\.\d+)?)`)

// installedVersion asks the host's haproxy which version it is.
func installedVersion(ctx context.Context, t apply.Target, binary string) (hversion.V, error) {
	if binary == "" {
		binary = "haproxy"
	}
	out, err := t.Run(ctx, "/", binary, "-v")
	if err != nil {
		return hversion.V{}, hint.With(fmt.Errorf("ask the host's HAProxy its version (%s -v): %w", binary, err), "install haproxy on the host, or set haproxy = \"2.6\" in the inventory")
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return hversion.V{}, hint.With(fmt.Errorf("%s -v printed no version: %q", binary, out), "set haproxy = \"X.Y\" in the inventory")
	}
	return hversion.Parse(string(m[1]))
}

// detectDist reads /etc/os-release for the rsyslog/logrotate syntax.
func detectDist(ctx context.Context, t apply.Target) (string, error) {
	cur, err := t.Read(ctx, "/etc/os-release")
	if err == nil && !cur.Exists {
		cur, err = t.Read(ctx, "/usr/lib/os-release")
	}
	if err != nil {
		return "", err
	}
	if !cur.Exists {
		return "", hint.With(fmt.Errorf("%s is missing: cannot tell the host's distribution", t.Path("/etc/os-release")), "set dist = \"debian\" (or el7, el8, el9) for the host")
	}
	d, ok := DistOf(string(cur.Data))
	if !ok {
		return "", hint.With(fmt.Errorf("%s: distribution not supported", t.Path("/etc/os-release")), "set dist = \"debian\" (or el6 … el9) for the host")
	}
	return d, nil
}

// DistOf maps os-release to a profiles dist: Debian and Ubuntu are "debian", RHEL and its
// rebuilds elN by major version, Fedora el9.
func DistOf(osRelease string) (string, bool) {
	kv := map[string]string{}
	for _, l := range strings.Split(osRelease, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if ok {
			kv[k] = strings.Trim(v, `"'`)
		}
	}
	ids := append([]string{kv["ID"]}, strings.Fields(kv["ID_LIKE"])...)
	major, _, _ := strings.Cut(kv["VERSION_ID"], ".")
	for _, id := range ids {
		switch id {
		case "debian", "ubuntu":
			return "debian", true
		case "fedora":
			if kv["ID"] == "fedora" {
				return "el9", true
			}
		case "rhel", "centos", "rocky", "almalinux", "ol":
			switch major {
			case "6", "7", "8", "9":
				return "el" + major, true
			case "10":
				return "el9", true
			}
		}
	}
	return "", false
}

var secretRE = regexp.MustCompile(`(?i)(stats\s+auth\s+[^:\s]+:|(?:insecure-)?password\s+|token\s*[=:]\s*)\S+`)

// mask hides stats passwords, userlist passwords and tokens in diffs and messages.
func mask(s string) string { return secretRE.ReplaceAllString(s, "${1}********") }
