// Package provision reads an inventory of HAProxy hosts and rolls a rendered profile out
// to them over SSH, host by host through apply's one transaction, in batches.
//
// An inventory is strict TOML; every mistake in it fails before any host is touched:
//
//	[defaults]                 # every field of a host, for all hosts
//	user = "root"
//	identity_file = "~/.ssh/id_ed25519"   # else the SSH agent ($SSH_AUTH_SOCK)
//	known_hosts = "~/.ssh/known_hosts"
//	profile = "web-lb"
//
//	[group.web]                # the same fields, for the hosts in the group
//	set = ["stats.port=8404"]
//
//	[host.web1]
//	address = "10.0.0.11"
//	groups = ["web"]
//	consul = { service = "haproxy", port = 80, tags = ["edge"] }
//
// A host's settings are the defaults, then its groups' in the order it lists them, then
// its own; `set` overrides accumulate in that order. Paths are relative to the inventory.
package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"harpy/hint"
	"harpy/hversion"
	"harpy/profiles"
	"harpy/safefile"
)

// Settings are what defaults, a group and a host may set. Unset fields are zero.
type Settings struct {
	User           string    `toml:"user"`
	Port           int       `toml:"port"`
	IdentityFile   string    `toml:"identity_file"`
	KnownHosts     string    `toml:"known_hosts"`
	AcceptNewKeys  *bool     `toml:"accept_new_host_keys"` // trust on first use, writing the key
	Profile        string    `toml:"profile"`
	Set            []string  `toml:"set"`
	HAProxy        string    `toml:"haproxy"` // version to render for ("" : the host's haproxy -v)
	Dist           string    `toml:"dist"`    // rsyslog/logrotate syntax (el6 … debian)
	Root           string    `toml:"root"`    // directory on the host the files go under ("/")
	Reload         *[]string `toml:"reload"`  // reload command; [] reloads nothing
	Binary         string    `toml:"binary"`  // haproxy that checks the config (the service's)
	ConnectTimeout string    `toml:"connect_timeout"`
	CommandTimeout string    `toml:"command_timeout"`
}

// Consul is how a host's HAProxy is to be registered in Consul: checked and kept, not yet acted
// on by the rollout.
type Consul struct {
	Service string   `toml:"service"`
	Port    int      `toml:"port"`
	Tags    []string `toml:"tags"`
	Monitor string   `toml:"monitor_uri"`
}

type hostDoc struct {
	Settings
	Address string   `toml:"address"`
	Groups  []string `toml:"groups"`
	Consul  *Consul  `toml:"consul"`
}

type document struct {
	Defaults Settings            `toml:"defaults"`
	Group    map[string]Settings `toml:"group"`
	Host     map[string]hostDoc  `toml:"host"`
}

// Host is one host with every setting resolved.
type Host struct {
	Name, Address  string
	Port           int
	User           string
	IdentityFile   string // "" : the SSH agent
	KnownHosts     string
	AcceptNewKeys  bool
	Groups         []string
	Profile        *profiles.Profile
	ProfileName    string
	Sets           []string
	HAProxy        hversion.V // zero: ask the host
	Dist           string
	Root           string
	Reload         []string
	Binary         string
	ConnectTimeout time.Duration
	CommandTimeout time.Duration
	Consul         *Consul
	At             string // file:line:column of the host's table
}

// Addr is host:port for dialing.
func (h *Host) Addr() string { return net.JoinHostPort(h.Address, fmt.Sprint(h.Port)) }

// Inventory is a checked inventory: hosts in file order, groups with their members.
type Inventory struct {
	File   string
	Hosts  []*Host
	Groups map[string][]string
}

// Defaults for what no level of the inventory sets.
const (
	DefaultUser           = "root"
	DefaultPort           = 22
	DefaultConnectTimeout = 10 * time.Second
	DefaultCommandTimeout = 2 * time.Minute
)

// DefaultReload is how a host's HAProxy takes a new config: a running service reloads,
// a stopped one (a fresh host) starts.
var DefaultReload = []string{"systemctl", "reload-or-restart", "haproxy"}

// Load reads and checks an inventory file: every problem is reported (one a line) and
// the error is bad input (exit 2).
func Load(ctx context.Context, file string) (*Inventory, error) {
	data, err := safefile.ReadFile(file, safefile.MaxConfig)
	if err != nil {
		return nil, hint.Input(hint.With(fmt.Errorf("read inventory: %w", err), "give the path of a readable TOML inventory"))
	}
	return Parse(ctx, file, data)
}

// Parse checks an inventory read from file.
func Parse(ctx context.Context, file string, data []byte) (*Inventory, error) {
	var doc document
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&doc); err != nil {
		return nil, decodeError(file, err)
	}
	ps := indexPositions(file, data)
	var problems []string
	bad := func(path, format string, args ...any) {
		problems = append(problems, ps.at(path)+": "+fmt.Sprintf(format, args...))
	}
	base := filepath.Dir(file)
	inv := &Inventory{File: file, Groups: map[string][]string{}}
	for name := range doc.Group {
		if !isName(name) {
			bad("group."+name, "group %q: a name is letters, digits, '-', '_' and '.'", name)
		}
		inv.Groups[name] = nil
	}
	names := make([]string, 0, len(doc.Host))
	for name := range doc.Host {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return ps.offset("host."+names[i]) < ps.offset("host."+names[j]) })
	profileCache := map[string]*profiles.Profile{}
	seen := map[string]string{} // address:port:root → host
	for _, name := range names {
		hd := doc.Host[name]
		key := "host." + name
		if !isName(name) {
			bad(key, "host %q: a name is letters, digits, '-', '_' and '.'", name)
		}
		if _, ok := doc.Group[name]; ok {
			bad(key, "host %q has the name of a group: --limit could not tell them apart", name)
		}
		// Where a setting comes from, for messages: the last level that set it.
		levels := []struct {
			path string
			s    Settings
		}{{"defaults", doc.Defaults}}
		for _, g := range hd.Groups {
			gs, ok := doc.Group[g]
			if !ok {
				bad(key+".groups", "host %s: unknown group %q (define [group.%s])", name, g, g)
				continue
			}
			levels = append(levels, struct {
				path string
				s    Settings
			}{"group." + g, gs})
			inv.Groups[g] = append(inv.Groups[g], name)
		}
		levels = append(levels, struct {
			path string
			s    Settings
		}{key, hd.Settings})
		h := &Host{Name: name, Address: hd.Address, Groups: hd.Groups, Consul: hd.Consul, At: ps.at(key),
			User: DefaultUser, Port: DefaultPort, Reload: DefaultReload, Root: "/",
			ConnectTimeout: DefaultConnectTimeout, CommandTimeout: DefaultCommandTimeout}
		var profileAt, haproxyAt string
		var connectAt, commandAt string
		var connect, command, hv string
		for _, l := range levels {
			s := l.s
			if s.User != "" {
				h.User = s.User
			}
			if s.Port != 0 {
				if s.Port < 1 || s.Port > 65535 {
					bad(l.path+".port", "port %d: want 1 … 65535", s.Port)
				}
				h.Port = s.Port
			}
			if s.IdentityFile != "" {
				h.IdentityFile = resolvePath(base, s.IdentityFile)
			}
			if s.KnownHosts != "" {
				h.KnownHosts = resolvePath(base, s.KnownHosts)
			}
			if s.AcceptNewKeys != nil {
				h.AcceptNewKeys = *s.AcceptNewKeys
			}
			if s.Profile != "" {
				h.ProfileName, profileAt = s.Profile, l.path+".profile"
			}
			h.Sets = append(h.Sets, s.Set...)
			if s.HAProxy != "" {
				hv, haproxyAt = s.HAProxy, l.path+".haproxy"
			}
			if s.Dist != "" {
				h.Dist = s.Dist
			}
			if s.Root != "" {
				h.Root = s.Root
				if !strings.HasPrefix(s.Root, "/") {
					bad(l.path+".root", "root %q: want an absolute path on the host", s.Root)
				}
			}
			if s.Reload != nil {
				h.Reload = *s.Reload
			}
			if s.Binary != "" {
				h.Binary = s.Binary
			}
			if s.ConnectTimeout != "" {
				connect, connectAt = s.ConnectTimeout, l.path+".connect_timeout"
			}
			if s.CommandTimeout != "" {
				command, commandAt = s.CommandTimeout, l.path+".command_timeout"
			}
		}
		if h.Address == "" {
			bad(key, "host %s: no address (set address = \"…\")", name)
		}
		if h.ProfileName == "" {
			h.ProfileName, profileAt = profiles.Default, key
		}
		if hv != "" {
			v, err := hversion.Parse(hv)
			if err != nil {
				bad(haproxyAt, "%v", err)
			}
			h.HAProxy = v
		}
		for _, d := range []struct {
			s, at string
			to    *time.Duration
		}{{connect, connectAt, &h.ConnectTimeout}, {command, commandAt, &h.CommandTimeout}} {
			if d.s == "" {
				continue
			}
			v, err := time.ParseDuration(d.s)
			if err != nil || v <= 0 {
				bad(d.at, "%q: want a positive duration such as \"10s\" or \"2m\"", d.s)
				continue
			}
			*d.to = v
		}
		if h.IdentityFile != "" {
			if err := regularFile(h.IdentityFile); err != nil {
				bad(key, "host %s: identity file: %v", name, err)
			}
		}
		if h.KnownHosts == "" {
			h.KnownHosts = resolvePath(base, "~/.ssh/known_hosts")
		}
		if !h.AcceptNewKeys {
			if err := regularFile(h.KnownHosts); err != nil {
				bad(key, "host %s: known_hosts: %v (set accept_new_host_keys = true to trust the keys hosts offer the first time)", name, err)
			}
		}
		if c := h.Consul; c != nil {
			if c.Service == "" || !isName(c.Service) {
				bad(key+".consul.service", "host %s: consul.service %q: want a service name", name, c.Service)
			}
			if c.Port < 0 || c.Port > 65535 {
				bad(key+".consul.port", "consul.port %d: want 1 … 65535", c.Port)
			}
		}
		id := h.Addr() + " " + h.Root
		if other, ok := seen[id]; ok {
			bad(key+".address", "host %s: same address, port and root as host %s (%s): a host is listed once", name, other, ps.at("host."+other))
		}
		seen[id] = name
		// The profile, with the host's overrides, must load before any host is touched.
		pkey := h.ProfileName + "\x00" + strings.Join(h.Sets, "\x00")
		p, ok := profileCache[pkey]
		if !ok {
			ref := h.ProfileName
			if _, emb := profiles.Embedded(ref); !emb && strings.ContainsAny(ref, "/.") {
				ref = resolvePath(base, ref)
			}
			var err error
			if p, err = profiles.Load(ctx, ref, h.Sets...); err != nil {
				bad(profileAt, "host %s: %v", name, oneLine(err))
			}
			profileCache[pkey] = p
		}
		h.Profile = p
		// Known version and dist: what that HAProxy cannot express is refused now too.
		if p != nil && h.HAProxy != (hversion.V{}) && h.Dist != "" {
			if _, err := profiles.Render(p, profiles.Options{HAProxy: h.HAProxy, Dist: h.Dist}); err != nil {
				bad(profileAt, "host %s: render %s for HAProxy %s on %s: %v", name, h.ProfileName, h.HAProxy, h.Dist, oneLine(err))
			}
		}
		inv.Hosts = append(inv.Hosts, h)
	}
	if len(inv.Hosts) == 0 && len(problems) == 0 {
		bad("", "no hosts (add a [host.NAME] table with an address)")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, hint.Input(hint.With(errors.New(strings.Join(problems, "\n")), "fix the inventory: nothing was done on any host"))
	}
	return inv, nil
}

// Select returns the hosts named by limit: host and group names, comma-separated ("" is
// every host), in inventory order.
func (inv *Inventory) Select(limit string) ([]*Host, error) {
	if strings.TrimSpace(limit) == "" {
		return inv.Hosts, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(limit, ",") {
		n = strings.TrimSpace(n)
		if members, ok := inv.Groups[n]; ok {
			for _, m := range members {
				want[m] = true
			}
			continue
		}
		found := false
		for _, h := range inv.Hosts {
			if h.Name == n {
				want[n], found = true, true
			}
		}
		if !found {
			return nil, hint.Input(hint.With(fmt.Errorf("--limit %s: no host or group %q in %s", limit, n, inv.File), "give names of [host.NAME] or [group.NAME] tables, comma-separated"))
		}
	}
	var out []*Host
	for _, h := range inv.Hosts {
		if want[h.Name] {
			out = append(out, h)
		}
	}
	return out, nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// resolvePath makes p absolute: ~/ is the home directory, a relative path is relative to
// the inventory's directory.
func resolvePath(base, p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func regularFile(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	return nil
}

func oneLine(err error) string {
	s := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
	if h := hint.Of(err); h != "" {
		s += " (" + h + ")"
	}
	return s
}
