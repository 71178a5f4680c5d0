package runtimeapi

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"harpy/hversion"
)

// Info is `show info`: "Name: value" lines in HAProxy's order.
type Info struct {
	Keys   []string
	Values map[string]string
}

// ParseInfo reads `show info`'s "Key: value" lines (other lines are ignored).
func ParseInfo(out string) *Info {
	in := &Info{Values: map[string]string{}}
	for _, l := range strings.Split(out, "\n") {
		k, val, ok := strings.Cut(strings.TrimRight(l, "\r"), ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		if _, dup := in.Values[k]; !dup {
			in.Keys = append(in.Keys, k)
		}
		in.Values[k] = strings.TrimSpace(val)
	}
	return in
}

var versionRe = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?`)

// Version is the numeric part of the Version line ("2.6.12-1+deb12u4" → 2.6.12;
// "3.1-dev4" → 3.1).
func (in *Info) Version() (hversion.V, error) {
	raw := in.Values["Version"]
	m := versionRe.FindString(raw)
	if m == "" {
		return hversion.V{}, fmt.Errorf("show info has no readable Version line (got %q)", raw)
	}
	return hversion.Parse(m)
}

// Info runs `show info`.
func (c *Client) Info(ctx context.Context) (*Info, error) {
	out, err := c.Command(ctx, "show info")
	if err != nil {
		return nil, err
	}
	return ParseInfo(out), nil
}

// ServerState is one line of `show servers state`, by the header's names
// (be_name, srv_name, srv_addr, srv_op_state, srv_admin_state, srv_uweight, …).
type ServerState map[string]string

// ParseServersState reads `show servers state`: a format version line ("1"), a "# "
// header of space-separated names, then one line per server.
func ParseServersState(out string) ([]ServerState, error) {
	lines := strings.Split(out, "\n")
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i == len(lines) || strings.TrimSpace(lines[i]) != "1" {
		got := ""
		if i < len(lines) {
			got = lines[i]
		}
		return nil, fmt.Errorf("show servers state: want format version 1 on the first line, got %q", trunc(got, 60))
	}
	i++
	if i == len(lines) || !strings.HasPrefix(lines[i], "# ") {
		return nil, fmt.Errorf("show servers state: no \"# be_id be_name …\" header after the version line")
	}
	cols := strings.Fields(strings.TrimPrefix(lines[i], "# "))
	var out2 []ServerState
	for _, l := range lines[i+1:] {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(l, "#") {
			continue
		}
		s := ServerState{}
		for j, c := range cols {
			if j < len(f) {
				s[c] = f[j]
			}
		}
		out2 = append(out2, s)
	}
	return out2, nil
}

// ServersState runs `show servers state` (1.6+).
func (c *Client) ServersState(ctx context.Context) ([]ServerState, error) {
	out, err := c.Command(ctx, "show servers state")
	if err != nil {
		return nil, err
	}
	return ParseServersState(out)
}
