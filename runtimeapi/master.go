package runtimeapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"harpy/hversion"
)

// DefaultMasterSocket is the master CLI of Debian's and harpy's packaged unit (-S).
const DefaultMasterSocket = "/run/haproxy-master.sock"

// Master is a client of the master CLI (1.9+, `-S` on haproxy's command line).
type Master struct{ *Client }

// NewMaster returns a client of the master CLI at addr.
func NewMaster(addr string) *Master { return &Master{New(addr)} }

// Worker returns a client whose commands go to worker n (its relative pid, 1 the
// current one) through the master: every command is sent with the "@n " prefix.
func (m *Master) Worker(n int) *Client {
	return &Client{Addr: m.Addr, Timeout: m.Timeout, prefix: "@" + strconv.Itoa(n) + " "}
}

// Version of the master: the master's row of `show proc` (the master answers no
// `show info` of its own before 2.x), checked against the master CLI's 1.9.
func (m *Master) Version(ctx context.Context) (hversion.V, error) {
	m.mu.Lock()
	ver := m.version
	m.mu.Unlock()
	if ver != nil {
		return *ver, nil
	}
	procs, err := m.Procs(ctx)
	if err != nil {
		return hversion.V{}, err
	}
	for _, p := range procs {
		if p.Type == "master" {
			if s := versionRe.FindString(p.Version); s != "" {
				vv, err := hversion.Parse(s)
				if err == nil {
					m.SetVersion(vv)
					return vv, nil
				}
			}
		}
	}
	return hversion.V{}, fmt.Errorf("master CLI %s: show proc has no master row with a version", m.Addr)
}

// Proc is one row of the master CLI's `show proc`.
type Proc struct {
	PID         int
	Type        string // master, worker, program
	RelativePID int    // 1.9–2.4 print it; 0 when absent
	Reloads     int
	Failed      int // 2.7+: the master's "[failed: N]"
	Uptime      string
	Version     string
	Old         bool // listed under "# old workers": leaving after a reload
}

// ParseProcs reads `show proc`. Its columns are named in a header line
// ("#<PID> <type> <relative PID> <reloads> <uptime> <version>" in 1.9–2.4, without
// <relative PID> from 2.5), so rows are read by those names.
func ParseProcs(out string) ([]Proc, error) {
	var cols []string
	var procs []Proc
	section := ""
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			continue
		case strings.HasPrefix(t, "#<"):
			cols = procHeader(t)
			continue
		case strings.HasPrefix(t, "#"):
			section = strings.TrimSpace(strings.TrimPrefix(t, "#"))
			continue
		}
		if cols == nil {
			return nil, fmt.Errorf("show proc: a row before the \"#<PID> <type> …\" header: %q", trunc(t, 60))
		}
		f := procFields(t)
		p := Proc{Old: section == "old workers"}
		for i, c := range cols {
			if i >= len(f) {
				break
			}
			val := f[i]
			switch c {
			case "PID":
				n, err := strconv.Atoi(val)
				if err != nil {
					return nil, fmt.Errorf("show proc: bad PID %q in %q", val, t)
				}
				p.PID = n
			case "type":
				p.Type = val
			case "relative PID": // "1", or "[was: 1]" for an old worker
				p.RelativePID, _ = strconv.Atoi(strings.Trim(val, "[]was: "))
			case "reloads":
				n, rest, _ := strings.Cut(val, " ")
				p.Reloads, _ = strconv.Atoi(n)
				if r := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(rest), "[failed:"), "]"); r != rest {
					p.Failed, _ = strconv.Atoi(strings.TrimSpace(r))
				}
			case "uptime":
				p.Uptime = val
			case "version":
				p.Version = val
			}
		}
		procs = append(procs, p)
	}
	if cols == nil {
		return nil, fmt.Errorf("show proc: no \"#<PID> <type> …\" header in the answer (is this the master CLI, haproxy -S?)")
	}
	return procs, nil
}

// procHeader splits "#<PID>   <type>  <relative PID>" into its names.
func procHeader(h string) []string {
	var cols []string
	for _, part := range strings.Split(h, "<")[1:] {
		name, _, _ := strings.Cut(part, ">")
		cols = append(cols, strings.TrimSpace(name))
	}
	return cols
}

// procFields splits a row on blanks, keeping a "[failed: N]" with the field before it and
// a "[was: N]" as one field.
func procFields(row string) []string {
	var out []string
	words := strings.Fields(row)
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "[failed:") && len(out) > 0 {
			for !strings.HasSuffix(w, "]") && i+1 < len(words) {
				i++
				w += " " + words[i]
			}
			out[len(out)-1] += " " + w
			continue
		}
		if strings.HasPrefix(w, "[") {
			for !strings.HasSuffix(w, "]") && i+1 < len(words) {
				i++
				w += " " + words[i]
			}
		}
		out = append(out, w)
	}
	return out
}

// Procs runs `show proc` on the master CLI.
func (m *Master) Procs(ctx context.Context) ([]Proc, error) {
	out, err := m.Raw(ctx, "show proc")
	if err != nil {
		return nil, err
	}
	if err := answerError("show proc", out); err != nil {
		return nil, err
	}
	return ParseProcs(out)
}
