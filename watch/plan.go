// Package watch keeps an HAProxy backend's servers in step with a discovery source:
// it diffs what the source wants against what HAProxy runs, changes what it can through
// the Runtime API, writes the same state into the config file through apply, and reloads
// only when a change cannot be made at run time.
package watch

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"harpy/discovery"
	"harpy/hversion"
)

// Server is a server as HAProxy runs it (from `show stat` / `show servers state`).
type Server struct {
	Name   string
	Addr   netip.Addr
	Port   uint16
	Weight int
	Backup bool
	// Dynamic servers were added at run time; the others come from the file, and on
	// HAProxy older than 2.6 only dynamic ones can be deleted.
	Dynamic bool
}

// Check is how a dynamic server is checked. Dynamic servers ignore `default-server`, so
// every setting is spelled out on `add server`.
type Check struct {
	Enabled   bool
	Inter     string // "2s"
	Fall      int
	Rise      int
	Extra     []string // further keywords for add server, e.g. "check-send-proxy"; validated by the config
	Slowstart string
}

// Kind of change.
type Kind string

const (
	Add    Kind = "add"
	Remove Kind = "remove"
	Modify Kind = "modify" // address, port or weight
)

// Change is one server's change, with the Runtime API commands that make it.
type Change struct {
	Kind     Kind
	Server   string
	Before   *Server
	After    *discovery.Target
	Commands []string // in order; "" marks a point where the caller waits (drain)
	// Reload says the change cannot be made at run time on this version (the file and a
	// reload make it), and why.
	Reload string
}

// Plan computes the changes that bring the running servers to the wanted ones on a
// backend of HAProxy version v. It is pure: the caller sends the commands.
func Plan(backend string, v hversion.V, running []Server, want []discovery.Target, check Check) []Change {
	have := map[string]Server{}
	for _, s := range running {
		have[s.Name] = s
	}
	wanted := map[string]bool{}
	var out []Change
	for _, t := range want {
		wanted[t.Name] = true
		t := t
		s, ok := have[t.Name]
		switch {
		case !ok:
			out = append(out, addChange(backend, v, t, check))
		case s.Backup != t.Backup:
			// A server cannot become a backup at run time: remove it and add it again.
			rm := removeChange(backend, v, s)
			add := addChange(backend, v, t, check)
			rm.Kind, rm.After = Modify, &t
			rm.Commands = append(rm.Commands, add.Commands...)
			rm.Reload = cmp.Or(rm.Reload, add.Reload)
			out = append(out, rm)
		case s.Addr != t.Addr || s.Port != t.Port || s.Weight != t.Weight:
			out = append(out, modifyChange(backend, v, s, t))
		}
	}
	for _, s := range running {
		if !wanted[s.Name] {
			out = append(out, removeChange(backend, v, s))
		}
	}
	slices.SortStableFunc(out, func(a, b Change) int {
		// Additions first, so the pool grows before it shrinks.
		return cmp.Compare(order(a.Kind), order(b.Kind))
	})
	return out
}

func order(k Kind) int { return map[Kind]int{Add: 0, Modify: 1, Remove: 2}[k] }

func ref(backend, server string) string { return backend + "/" + server }

// experimental is the prefix add/del server need on 2.4 and 2.5.
func experimental(v hversion.V) string {
	if v.AtLeast(2, 4) && !v.AtLeast(2, 6) {
		return "experimental-mode on; "
	}
	return ""
}

func addChange(backend string, v hversion.V, t discovery.Target, c Check) Change {
	ch := Change{Kind: Add, Server: t.Name, After: &t}
	if !v.AtLeast(2, 4) {
		ch.Reload = fmt.Sprintf("HAProxy %s cannot add a server at run time (add server: 2.4)", v)
		return ch
	}
	words := []string{"add server", ref(backend, t.Name), netip.AddrPortFrom(t.Addr, t.Port).String(),
		"weight", strconv.Itoa(t.Weight)}
	if t.Backup {
		words = append(words, "backup")
	}
	withCheck := c.Enabled && v.AtLeast(2, 5) // checks on dynamic servers: 2.5
	if withCheck {
		words = append(words, "check")
		if c.Inter != "" {
			words = append(words, "inter", c.Inter)
		}
		if c.Fall > 0 {
			words = append(words, "fall", strconv.Itoa(c.Fall))
		}
		if c.Rise > 0 {
			words = append(words, "rise", strconv.Itoa(c.Rise))
		}
		words = append(words, c.Extra...)
	}
	if c.Slowstart != "" && v.AtLeast(2, 5) {
		words = append(words, "slowstart", c.Slowstart)
	}
	ch.Commands = []string{experimental(v) + strings.Join(words, " ")}
	if withCheck {
		ch.Commands = append(ch.Commands, "enable health "+ref(backend, t.Name))
	}
	// A dynamic server starts in maintenance.
	ch.Commands = append(ch.Commands, "set server "+ref(backend, t.Name)+" state ready")
	return ch
}

func removeChange(backend string, v hversion.V, s Server) Change {
	ch := Change{Kind: Remove, Server: s.Name, Before: &s}
	r := ref(backend, s.Name)
	switch {
	case !v.AtLeast(2, 4):
		ch.Reload = fmt.Sprintf("HAProxy %s cannot delete a server at run time (del server: 2.4)", v)
		return ch
	case !s.Dynamic && !v.AtLeast(2, 6):
		ch.Reload = fmt.Sprintf("HAProxy %s deletes only servers added at run time (servers from the file: 2.6)", v)
		return ch
	}
	ch.Commands = []string{"set server " + r + " state drain", ""}
	if v.AtLeast(3, 0) {
		ch.Commands = append(ch.Commands, "set server "+r+" state maint", "wait 30s srv-removable "+r)
	} else {
		ch.Commands = append(ch.Commands, "set server "+r+" state maint")
	}
	ch.Commands = append(ch.Commands, experimental(v)+"del server "+r)
	return ch
}

func modifyChange(backend string, v hversion.V, s Server, t discovery.Target) Change {
	ch := Change{Kind: Modify, Server: s.Name, Before: &s, After: &t}
	r := ref(backend, s.Name)
	if s.Addr != t.Addr || s.Port != t.Port {
		if !v.AtLeast(1, 7) {
			ch.Reload = fmt.Sprintf("HAProxy %s cannot change a server's port at run time (set server addr … port: 1.7)", v)
			return ch
		}
		ch.Commands = append(ch.Commands, fmt.Sprintf("set server %s addr %s port %d", r, t.Addr, t.Port))
	}
	if s.Weight != t.Weight {
		ch.Commands = append(ch.Commands, fmt.Sprintf("set server %s weight %d", r, t.Weight))
	}
	return ch
}
