package watch

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"harpy/hversion"
	"harpy/runtimeapi"
)

// HAProxy is the Runtime the watcher uses on a real HAProxy: the runtimeapi client.
type HAProxy struct {
	Client *runtimeapi.Client
	added  map[string]bool // servers this process added (deletable before 2.6)
}

func (h *HAProxy) Version(ctx context.Context) (hversion.V, error) { return h.Client.Version(ctx) }

// Servers reads a backend's servers: address, port and user weight from `show servers
// state`, the backup flag from `show stat`.
func (h *HAProxy) Servers(ctx context.Context, backend string) ([]Server, error) {
	st, err := h.Client.Stat(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.HasBackend(backend); err != nil {
		return nil, err
	}
	backup := map[string]bool{}
	for _, r := range st.Rows {
		if r.Proxy() == backend && r.IsServer() {
			backup[r.Server()] = r["bck"] == "1"
		}
	}
	states, err := h.Client.ServersState(ctx)
	if err != nil {
		return nil, err
	}
	var out []Server
	for _, s := range states {
		if s["be_name"] != backend {
			continue
		}
		a, err := netip.ParseAddr(s["srv_addr"])
		if err != nil {
			return nil, fmt.Errorf("show servers state: server %s/%s: address %q: %w", backend, s["srv_name"], s["srv_addr"], err)
		}
		port, _ := strconv.Atoi(s["srv_port"])
		w, _ := strconv.Atoi(s["srv_uweight"])
		out = append(out, Server{Name: s["srv_name"], Addr: a, Port: uint16(port), Weight: w,
			Backup: backup[s["srv_name"]], Dynamic: h.added[backend+"/"+s["srv_name"]]})
	}
	return out, nil
}

// Sessions is the server's current sessions (scur).
func (h *HAProxy) Sessions(ctx context.Context, backend, server string) (int, error) {
	r, err := h.Client.Server(ctx, backend, server)
	if err != nil {
		return 0, err
	}
	return r.Int("scur"), nil
}

// Send runs a command line of Plan; "experimental-mode on; X" goes on one connection.
func (h *HAProxy) Send(ctx context.Context, cmd string) (string, error) {
	var out string
	var err error
	if rest, ok := strings.CutPrefix(cmd, "experimental-mode on; "); ok {
		out, err = h.Client.Commands(ctx, "experimental-mode on", rest)
		cmd = rest
	} else {
		out, err = h.Client.Command(ctx, cmd)
	}
	if err == nil {
		if f := strings.Fields(cmd); len(f) >= 3 && f[1] == "server" && (f[0] == "add" || f[0] == "del") {
			if h.added == nil {
				h.added = map[string]bool{}
			}
			h.added[f[2]] = f[0] == "add"
		}
	}
	return out, err
}
