// Package discovery asks where a backend's servers are — DNS SRV, DNS A/AAAA, the Consul
// catalog — and turns each answer into the servers HAProxy should run. A bad answer (an
// error, an empty set, too many removals at once) never reaches HAProxy: Guard keeps the last
// good set and says why. harpy watch applies what comes out through the Runtime API.
package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
)

// Target is one server a source names.
type Target struct {
	Name   string     // a stable HAProxy server name: host and port, e.g. db1.example.com_3306
	Host   string     // the SRV target, the Consul node, or the A name, without a trailing dot
	Addr   netip.Addr // its address
	Port   uint16
	Weight int  // HAProxy weight, 1 … 256; see Weigh
	Backup bool // a less preferred SRV priority: HAProxy uses it when no active server is up
}

func (t Target) String() string {
	s := fmt.Sprintf("%s %s weight %d", t.Name, netip.AddrPortFrom(t.Addr, t.Port), t.Weight)
	if t.Backup {
		s += " backup"
	}
	return s
}

// Skipped is a target left out of an answer, with why; the rest of the answer is used.
type Skipped struct {
	Host   string
	Reason string
}

// Answer is one complete view of a source.
type Answer struct {
	Targets []Target // sorted by Name
	Skipped []Skipped
}

// Source is anything that can be asked for the current servers of a backend.
type Source interface {
	// Query returns the current answer. A DNS source asks once; a Consul source blocks
	// until the catalog changes (or its wait time passes) after the first call.
	Query(ctx context.Context) (Answer, error)
	String() string
}

// ErrEmpty is an answer with no usable target: never applied.
var ErrEmpty = errors.New("the answer names no usable server")

// Record is a target as a source sees it, before weights are decided.
type Record struct {
	Host     string
	Addr     netip.Addr
	Port     uint16
	Priority uint16 // SRV priority: lower is preferred
	Weight   uint16 // SRV weight or Consul's passing weight
}

// Weigh decides HAProxy weights and backups from SRV priorities and weights (RFC 2782):
// the records of the lowest priority are the active servers, every other priority is a
// backup. Within a priority, weights are scaled so that the heaviest gets 256, HAProxy's
// maximum, and the others their share of it, at least 1 — so weight 0 means "a very small
// share" as the RFC asks (HAProxy's own resolvers map w to ⌈w/256⌉, which makes every weight
// up to 256 equal and turns 0 into no traffic at all). A priority whose weights are all
// equal (dnsmasq's default 0, Consul's default 1) shares equally at weight 1, HAProxy's
// default, so servers written in the profile without a weight match them.
func Weigh(recs []Record) []Target {
	if len(recs) == 0 {
		return nil
	}
	best := slices.MinFunc(recs, func(a, b Record) int { return cmp.Compare(a.Priority, b.Priority) }).Priority
	heaviest, lightest := map[uint16]uint16{}, map[uint16]uint16{}
	for _, r := range recs {
		heaviest[r.Priority] = max(heaviest[r.Priority], r.Weight)
		if l, ok := lightest[r.Priority]; !ok || r.Weight < l {
			lightest[r.Priority] = r.Weight
		}
	}
	seen := map[string]bool{}
	var out []Target
	for _, r := range recs {
		w := 1 // equal weights share equally, at HAProxy's default weight
		if h := heaviest[r.Priority]; h > lightest[r.Priority] {
			w = max(1, int(math.Round(float64(r.Weight)*256/float64(h))))
		}
		t := Target{Name: ServerName(r.Host, r.Port), Host: strings.TrimSuffix(r.Host, "."), Addr: r.Addr,
			Port: r.Port, Weight: w, Backup: r.Priority != best}
		if seen[t.Name] {
			continue // the same host and port twice (two records, two addresses): the first wins
		}
		seen[t.Name] = true
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Target) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// ServerName makes a server name HAProxy accepts ([A-Za-z0-9_.:-]) from a host and port.
// Everything else becomes '_', so a hostile record cannot put a word into haproxy.cfg.
func ServerName(host string, port uint16) string {
	host = strings.TrimSuffix(host, ".")
	var b strings.Builder
	for _, c := range host {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		b.WriteString("server")
	}
	name := b.String()
	if len(name) > 100 {
		name = name[:100]
	}
	return fmt.Sprintf("%s_%d", name, port)
}
