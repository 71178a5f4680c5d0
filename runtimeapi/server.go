package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"harpy/hint"
)

// Action is one change to a server: the Runtime API commands it sends and how the new
// state is recognised when read back.
type Action struct {
	Verb            string // drain, maint, ready, weight, health, agent, addr
	Backend, Server string
	Arg             string
	cmds            []string
	expect          func(after View) error
}

// Actions lists the verbs of `harpy server`, with their argument.
var Actions = []struct{ Verb, Arg, Doc string }{
	{"drain", "", "no new sessions from load balancing; persistent and existing ones continue"},
	{"maint", "", "maintenance: no traffic, checks stopped"},
	{"ready", "", "back to normal (out of drain or maintenance)"},
	{"weight", "N|N%", "weight 0–256, or a percentage of the configured weight"},
	{"health", "on|off", "enable or disable health checks"},
	{"agent", "on|off", "enable or disable agent checks"},
	{"addr", "IP[:PORT]", "change the address (and port, 1.7+)"},
}

// ParseTarget splits "BACKEND/SERVER".
func ParseTarget(s string) (backend, server string, err error) {
	b, sv, ok := strings.Cut(s, "/")
	if !ok || b == "" || sv == "" || strings.Contains(sv, "/") || !cleanName(s) {
		return "", "", hint.Input(hint.With(fmt.Errorf("bad server %q: want BACKEND/SERVER", s),
			"name the server as its backend and its name, e.g. app/web1 (`harpy stat` lists them)"))
	}
	return b, sv, nil
}

// cleanName: HAProxy's proxy and server names are letters, digits, '-', '_', '.' and ':';
// anything else (a blank, ";", a newline) could smuggle a second command onto the line.
func cleanName(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("-_.:/", r):
		default:
			return false
		}
	}
	return true
}

func bad(format string, args ...any) func(string) error {
	return func(h string) error {
		return hint.Input(hint.With(fmt.Errorf(format, args...), "%s", h))
	}
}

// NewAction validates verb and arg and prepares the commands.
func NewAction(verb, backend, server, arg string) (*Action, error) {
	a := &Action{Verb: verb, Backend: backend, Server: server, Arg: arg}
	t := backend + "/" + server
	needArg := func(want string) error {
		if arg == "" {
			return bad("server %s needs an argument: %s", verb, want)("e.g. `harpy server " + verb + " " + t + " " + strings.SplitN(want, "|", 2)[0] + "`")
		}
		return nil
	}
	noArg := func() error {
		if arg != "" {
			return bad("server %s takes no argument (got %q)", verb, arg)("`harpy server " + verb + " " + t + "`")
		}
		return nil
	}
	onOff := func() (bool, error) {
		if err := needArg("on|off"); err != nil {
			return false, err
		}
		switch arg {
		case "on":
			return true, nil
		case "off":
			return false, nil
		}
		return false, bad("server %s %q: want on or off", verb, arg)("`harpy server " + verb + " " + t + " on`")
	}
	switch verb {
	case "drain", "maint", "ready":
		if err := noArg(); err != nil {
			return nil, err
		}
		a.cmds = []string{fmt.Sprintf("set server %s state %s", t, verb)}
		a.expect = func(v View) error {
			st := v.Status
			switch verb {
			case "maint":
				if !strings.HasPrefix(st, "MAINT") {
					return fmt.Errorf("status is %q, not MAINT", st)
				}
			case "drain":
				if strings.HasPrefix(st, "MAINT") || strings.HasPrefix(st, "UP") {
					return fmt.Errorf("status is %q, not DRAIN", st)
				}
			case "ready":
				if strings.HasPrefix(st, "MAINT") || st == "DRAIN" {
					return fmt.Errorf("status is still %q", st)
				}
			}
			return nil
		}
	case "weight":
		if err := needArg("N|N%"); err != nil {
			return nil, err
		}
		num, pct := strings.CutSuffix(arg, "%")
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 || (!pct && n > 256) || (pct && n > 100) {
			return nil, bad("bad weight %q: want 0–256 or a percentage 0%%–100%%", arg)("e.g. `harpy server weight " + t + " 50` or `… 50%`")
		}
		a.cmds = []string{fmt.Sprintf("set weight %s %s", t, arg)}
		a.expect = func(v View) error {
			if !pct && v.Weight != n && v.Status != "DRAIN" && !strings.HasPrefix(v.Status, "MAINT") {
				return fmt.Errorf("weight is %d, not %d", v.Weight, n)
			}
			return nil
		}
	case "health", "agent":
		on, err := onOff()
		if err != nil {
			return nil, err
		}
		op := "disable"
		if on {
			op = "enable"
		}
		a.cmds = []string{fmt.Sprintf("%s %s %s", op, verb, t)}
		a.expect = func(v View) error {
			got := v.HealthOn
			if verb == "agent" {
				got = v.AgentOn
			}
			if got != nil && *got != on {
				return fmt.Errorf("%s checks are still %s", verb, onOffWord(*got))
			}
			return nil
		}
	case "addr":
		if err := needArg("IP[:PORT]"); err != nil {
			return nil, err
		}
		ip, port, err := splitAddr(arg)
		if err != nil {
			return nil, err
		}
		c := fmt.Sprintf("set server %s addr %s", t, ip)
		if port != "" {
			c += " port " + port
		}
		a.cmds = []string{c}
		a.expect = func(v View) error {
			if v.Addr == "" {
				return nil
			}
			h, p, err := net.SplitHostPort(v.Addr)
			if err != nil {
				h = v.Addr
			}
			if net.ParseIP(h).String() != net.ParseIP(ip).String() || (port != "" && p != port) {
				return fmt.Errorf("address is %s", v.Addr)
			}
			return nil
		}
	default:
		var verbs []string
		for _, x := range Actions {
			verbs = append(verbs, x.Verb)
		}
		return nil, bad("unknown server verb %q", verb)("one of: " + strings.Join(verbs, ", "))
	}
	return a, nil
}

func onOffWord(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// splitAddr reads IP, IP:PORT or [IPv6]:PORT.
func splitAddr(s string) (ip, port string, err error) {
	badAddr := bad("bad address %q: want IP or IP:PORT ([IPv6]:PORT)", s)
	if net.ParseIP(strings.Trim(s, "[]")) != nil {
		return strings.Trim(s, "[]"), "", nil
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil || net.ParseIP(h) == nil {
		return "", "", badAddr("e.g. 10.0.0.5 or 10.0.0.5:8080; a server's address must be an IP, not a name")
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", "", badAddr("the port is 1–65535")
	}
	return h, p, nil
}

// Commands are the Runtime API commands the action sends (what --dry-run prints).
func (a *Action) Commands() []string { return a.cmds }

// View is what an action changes, read from `show stat` (and `show servers state` for the
// check switches, which show stat does not tell apart from a check that never ran).
type View struct {
	Status   string
	Weight   int
	Check    string // check_status, e.g. L7OK
	Addr     string
	HealthOn *bool
	AgentOn  *bool
	Sessions int
}

func (v View) String() string {
	s := fmt.Sprintf("status %s, weight %d", v.Status, v.Weight)
	if v.Addr != "" {
		s += ", addr " + v.Addr
	}
	if v.HealthOn != nil {
		s += ", health " + onOffWord(*v.HealthOn)
	}
	if v.AgentOn != nil {
		s += ", agent " + onOffWord(*v.AgentOn)
	}
	return s
}

// Check-state flags of `show servers state` (srv_check_state, srv_agent_state).
const chkEnabled = 0x4

// View reads backend/server's View.
func (c *Client) View(ctx context.Context, backend, server string) (View, error) {
	row, err := c.Server(ctx, backend, server)
	if err != nil {
		return View{}, err
	}
	v := View{Status: row.Status(), Weight: row.Int("weight"), Check: row["check_status"], Addr: row["addr"], Sessions: row.Int("scur")}
	ver, err := c.Version(ctx)
	if err != nil || ver.Compare(v16) < 0 {
		return v, nil
	}
	states, err := c.ServersState(ctx)
	if err != nil {
		var le *LevelError
		if errors.As(err, &le) {
			return v, nil
		}
		return View{}, err
	}
	for _, s := range states {
		if s["be_name"] == backend && s["srv_name"] == server {
			flag := func(col string, bit int) *bool {
				n, err := strconv.Atoi(s[col])
				if err != nil {
					return nil
				}
				b := n&bit != 0
				return &b
			}
			v.HealthOn = flag("srv_check_state", chkEnabled)
			v.AgentOn = flag("srv_agent_state", chkEnabled)
			if v.Addr == "" && s["srv_addr"] != "" {
				v.Addr = net.JoinHostPort(s["srv_addr"], s["srv_port"])
			}
		}
	}
	return v, nil
}

var v16 = v("1.6")

// readBackFor is how long Apply reads the state back before it calls a change missing.
const readBackFor = 2 * time.Second

// Result is an applied action: the state before and after, read back.
type Result struct {
	Before, After View
	Answer        string // HAProxy's message, e.g. "IP changed from … to …"
}

// Apply checks the version, reads the server's state, sends the commands, and reads the
// state back; an answer that does not show the change is an error.
func (c *Client) Apply(ctx context.Context, a *Action) (*Result, error) {
	ver, err := c.Version(ctx)
	if err != nil {
		return nil, err
	}
	for _, cmd := range a.cmds {
		if vb, ok := VerbOf(cmd); ok {
			if err := vb.Check(ver); err != nil {
				return nil, err
			}
		}
	}
	before, err := c.View(ctx, a.Backend, a.Server)
	if err != nil {
		return nil, err
	}
	res := &Result{Before: before}
	for _, cmd := range a.cmds {
		out, err := c.Command(ctx, cmd)
		if err != nil {
			return nil, fmt.Errorf("%s %s/%s: %w", a.Verb, a.Backend, a.Server, err)
		}
		res.Answer += strings.TrimSpace(out)
	}
	// Read back until the change shows: 3.0 applies some (an address) a moment later.
	deadline := time.Now().Add(readBackFor)
	for {
		if res.After, err = c.View(ctx, a.Backend, a.Server); err != nil {
			return nil, fmt.Errorf("%s %s/%s: read back: %w", a.Verb, a.Backend, a.Server, err)
		}
		if a.expect == nil || a.expect(res.After) == nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if a.expect != nil {
		if err := a.expect(res.After); err != nil {
			return res, hint.With(fmt.Errorf("%s %s/%s: HAProxy accepted %q but show stat says %w", a.Verb, a.Backend, a.Server, strings.Join(a.cmds, "; "), err),
				"another change (a health check, an agent, another operator) may have overridden it: `harpy stat %s` shows the state", a.Backend)
		}
	}
	return res, nil
}
