package watch

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"harpy/apply"
	"harpy/discovery"
	"harpy/hint"
	"harpy/hversion"
	"harpy/profiles"
)

// FilePersister keeps haproxy.cfg in step: it renders the profile the backends belong
// to with the servers the watcher runs, and writes the result through one apply
// transaction (validated by the service's own haproxy, atomic, rolled back on failure),
// so a reload or a restart at any moment serves what the watcher applied.
type FilePersister struct {
	Profile  string   // embedded name or file
	Sets     []string // --set overrides
	HAProxy  hversion.V
	Target   apply.Target    // apply.LocalTarget{Root: "/"} on the host
	Valid    apply.Validator // nil: no validation (tests only)
	Reloader apply.Reloader  // how a reload is made when one is needed
}

// Render returns the haproxy.cfg for these servers, without writing it.
func (f *FilePersister) Render(ctx context.Context, servers map[string][]discovery.Target) ([]byte, error) {
	p, err := profiles.Load(ctx, f.Profile, f.Sets...)
	if err != nil {
		return nil, err
	}
	for backend, ts := range servers {
		px := findProxy(p, backend)
		if px == nil {
			return nil, hint.Input(hint.With(fmt.Errorf("watch: profile %s has no backend or listen %q", p.Name, backend),
				"name in the watch config a backend the profile defines"))
		}
		px.ServerTemplate = nil // the watcher owns the pool now
		px.Servers = px.Servers[:0]
		for _, t := range ts {
			w := t.Weight
			px.Servers = append(px.Servers, profiles.Server{Name: t.Name, Address: netip.AddrPortFrom(t.Addr, t.Port).String(), Backup: t.Backup, Weight: &w})
		}
		slices.SortFunc(px.Servers, func(a, b profiles.Server) int {
			if a.Name < b.Name {
				return -1
			}
			if a.Name > b.Name {
				return 1
			}
			return 0
		})
	}
	out, err := profiles.Render(p, profiles.Options{HAProxy: f.HAProxy})
	if err != nil {
		return nil, err
	}
	return out.HAProxyCfg, nil
}

func findProxy(p *profiles.Profile, name string) *profiles.Proxy {
	for _, list := range [][]*profiles.Proxy{p.Backends, p.Listens} {
		for _, px := range list {
			if px.Name == name && !px.Drop {
				return px
			}
		}
	}
	return nil
}

// Persist writes haproxy.cfg (unchanged content is left alone).
func (f *FilePersister) Persist(ctx context.Context, servers map[string][]discovery.Target) error {
	cfg, err := f.Render(ctx, servers)
	if err != nil {
		return err
	}
	tx := apply.Tx{Target: f.Target, Files: []apply.File{{Name: profiles.HAProxyCfgPath, Data: cfg, Mode: 0o644}}, Validate: f.Valid}
	_, err = tx.Run(ctx)
	return err
}

// Reload reloads through the Reloader and confirms.
func (f *FilePersister) Reload(ctx context.Context) error {
	if f.Reloader == nil {
		return nil
	}
	if err := f.Reloader.Reload(ctx, f.Target); err != nil {
		return err
	}
	return f.Reloader.Confirm(ctx, f.Target)
}
