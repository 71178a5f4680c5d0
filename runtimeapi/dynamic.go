package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"harpy/hint"
	"harpy/hversion"
)

// AddOptions are the settings of a dynamic server. Dynamic servers ignore
// `default-server`, so each setting is spelled out on the `add server` line.
type AddOptions struct {
	Backend, Server, Addr string
	Weight                int           // 0: HAProxy's default (1)
	Check                 bool          // health checks (2.5+ on dynamic servers)
	Inter                 time.Duration // check interval (0: HAProxy's 2s)
	Rise, Fall            int           // 0: HAProxy's 2 and 3
}

// AddCommands are the commands that add the server on version ver and bring it into
// service: `add server` (after `experimental-mode on` in 2.4 and 2.5), `enable health`
// when checked, and `set server … state ready` (a dynamic server starts in maintenance).
func (o AddOptions) AddCommands(ver hversion.V) ([]string, error) {
	if _, _, err := splitAddr(o.Addr); err != nil {
		return nil, err
	}
	t := o.Backend + "/" + o.Server
	line := "add server " + t + " " + o.Addr
	add, _ := VerbOf(line)
	if ver != (hversion.V{}) {
		if err := add.Check(ver); err != nil {
			return nil, err
		}
	}
	if o.Weight > 0 {
		line += " weight " + strconv.Itoa(o.Weight)
	}
	if o.Check {
		if ver.Compare(v("2.5")) < 0 && ver != (hversion.V{}) {
			return nil, versionError("add server … check", "health checks on dynamic servers", v("2.5"), ver)
		}
		line += " check"
		if o.Inter > 0 {
			line += " inter " + strconv.FormatInt(o.Inter.Milliseconds(), 10)
		}
		if o.Rise > 0 {
			line += " rise " + strconv.Itoa(o.Rise)
		}
		if o.Fall > 0 {
			line += " fall " + strconv.Itoa(o.Fall)
		}
	}
	if add.Experimental(ver) {
		line = "experimental-mode on; " + line
	}
	cmds := []string{line}
	if o.Check {
		cmds = append(cmds, "enable health "+t)
	}
	return append(cmds, "set server "+t+" state ready"), nil
}

// AddServer adds a dynamic server and brings it into service; with checks it returns once
// the first check has passed (or ctx ends). The returned view is the server's new state.
func (c *Client) AddServer(ctx context.Context, o AddOptions) (View, error) {
	ver, err := c.Version(ctx)
	if err != nil {
		return View{}, err
	}
	cmds, err := o.AddCommands(ver)
	if err != nil {
		return View{}, err
	}
	st, err := c.Stat(ctx)
	if err != nil {
		return View{}, err
	}
	if err := st.HasBackend(o.Backend); err != nil {
		return View{}, err
	}
	if Find(st.Rows, o.Backend, o.Server) != nil {
		return View{}, hint.Input(hint.With(fmt.Errorf("server %s/%s exists already", o.Backend, o.Server),
			"pick another name, or change it with `harpy server addr %s/%s IP[:PORT]`", o.Backend, o.Server))
	}
	for _, cmd := range cmds {
		// experimental-mode applies to the next command on the same connection
		if _, err := c.Commands(ctx, strings.Split(cmd, "; ")...); err != nil {
			return View{}, fmt.Errorf("add %s/%s: %w", o.Backend, o.Server, err)
		}
	}
	if o.Check {
		if err := c.waitRow(ctx, o.Backend, o.Server, func(r StatRow) bool {
			return strings.HasPrefix(r["check_status"], "L4OK") || strings.HasPrefix(r["check_status"], "L6OK") || strings.HasPrefix(r["check_status"], "L7OK")
		}); err != nil {
			return View{}, hint.With(fmt.Errorf("add %s/%s: added, but its first health check has not passed: %w", o.Backend, o.Server, err),
				"`harpy stat %s` shows its check result; the server is in the backend but gets no traffic until a check passes", o.Backend)
		}
	}
	return c.View(ctx, o.Backend, o.Server)
}

// waitRow polls show stat until cond holds for backend/server.
func (c *Client) waitRow(ctx context.Context, backend, server string, cond func(StatRow) bool) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var last StatRow
	// the socket's own deadline may fire a moment before ctx reports it
	timedOut := func() error {
		cause := ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		if last == nil {
			return cause
		}
		return fmt.Errorf("%w (status %s, check %s, %d sessions)", cause, last.Status(), dashed(last["check_status"]), last.Int("scur"))
	}
	expired := func() bool {
		dl, ok := ctx.Deadline()
		return ctx.Err() != nil || ok && !time.Now().Before(dl.Add(-10*time.Millisecond))
	}
	for {
		st, err := c.Stat(ctx)
		if err != nil {
			if expired() {
				return timedOut()
			}
			return err
		}
		r, err := st.Server(backend, server)
		if err != nil {
			return err
		}
		last = r
		if cond(r) {
			return nil
		}
		select {
		case <-ctx.Done():
			return timedOut()
		case <-t.C:
		}
	}
}

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WaitDrained returns when backend/server has no sessions left (polling show stat; `wait
// srv-removable` needs maintenance, so a drain is watched).
func (c *Client) WaitDrained(ctx context.Context, backend, server string) error {
	err := c.waitRow(ctx, backend, server, func(r StatRow) bool { return r.Int("scur") == 0 && r.Int("qcur") == 0 })
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		return hint.With(fmt.Errorf("%s/%s still has sessions: %w", backend, server, err),
			"give it longer (--timeout), or look at `harpy stat %s`: long-lived connections (websockets, tunnels) keep a drained server busy", backend)
	}
	return err
}

// DelCommands are the steps of removing a server on ver: drain, then (after the
// sessions ended) maint, then `del server` (after `experimental-mode on` in 2.4, 2.5).
func DelCommands(backend, server string, ver hversion.V) (drain []string, remove []string, err error) {
	t := backend + "/" + server
	del, _ := VerbOf("del server " + t)
	if ver != (hversion.V{}) {
		if err := del.Check(ver); err != nil {
			return nil, nil, err
		}
	}
	line := "del server " + t
	if del.Experimental(ver) {
		line = "experimental-mode on; " + line
	}
	return []string{"set server " + t + " state drain"}, []string{"set server " + t + " state maint", line}, nil
}

// DelServer drains backend/server, waits until it has no sessions (`wait srv-removable`
// on 3.0+ once in maintenance, polling before), and deletes it.
func (c *Client) DelServer(ctx context.Context, backend, server string) error {
	ver, err := c.Version(ctx)
	if err != nil {
		return err
	}
	drain, remove, err := DelCommands(backend, server, ver)
	if err != nil {
		return err
	}
	if _, err := c.Server(ctx, backend, server); err != nil {
		return err
	}
	for _, cmd := range drain {
		if _, err := c.Command(ctx, cmd); err != nil {
			return fmt.Errorf("del %s/%s: %w", backend, server, err)
		}
	}
	if err := c.WaitDrained(ctx, backend, server); err != nil {
		return fmt.Errorf("del %s/%s: %w", backend, server, err)
	}
	if _, err := c.Command(ctx, remove[0]); err != nil {
		return fmt.Errorf("del %s/%s: %w", backend, server, err)
	}
	if ver.Compare(v("3.0")) >= 0 {
		wait := 10 * time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = max(time.Until(dl)-time.Second, time.Second)
		}
		cc := &Client{Addr: c.Addr, Timeout: wait + 5*time.Second, prefix: c.prefix}
		cc.SetVersion(ver)
		if _, err := cc.Command(ctx, fmt.Sprintf("wait %dms srv-removable %s/%s", wait.Milliseconds(), backend, server)); err != nil {
			return fmt.Errorf("del %s/%s: %w", backend, server, err)
		}
	}
	if _, err := c.Commands(ctx, strings.Split(remove[1], "; ")...); err != nil {
		return fmt.Errorf("del %s/%s: %w", backend, server, err)
	}
	st, err := c.Stat(ctx)
	if err != nil {
		return err
	}
	if Find(st.Rows, backend, server) != nil {
		return fmt.Errorf("del %s/%s: HAProxy accepted `del server` but show stat still lists it", backend, server)
	}
	return nil
}
