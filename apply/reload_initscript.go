package apply

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"harpy/hint"
	"harpy/runtimeapi"
)

// InitScriptReloader reloads a HAProxy run by the el6 SysV init script (daemon mode,
// `-D … -sf OLD`, no master): Reload runs the script's reload, which checks the config
// first and refuses a broken one; Confirm proves through the stats socket (`show info`'s
// Pid) and the pidfile that a new process serves.
type InitScriptReloader struct {
	Script  string   // default /etc/rc.d/init.d/haproxy
	Env     []string // extra VAR=value for the script (tests point HAPROXY_SYSCONFIG elsewhere)
	Socket  string   // the stats socket the new process answers on
	Pidfile string   // default /var/run/haproxy.pid
	Timeout time.Duration

	// OldPID and NewPID are filled in by Reload and Confirm, for the caller's report.
	OldPID, NewPID int
}

func (r *InitScriptReloader) pid(ctx context.Context) (int, error) {
	in, err := runtimeapi.New(r.Socket).Info(ctx)
	if err != nil {
		return 0, err
	}
	p, err := strconv.Atoi(in.Values["Pid"])
	if err != nil {
		return 0, fmt.Errorf("show info on %s has no Pid line", r.Socket)
	}
	return p, nil
}

// Reload records the serving process and runs `SCRIPT reload`.
func (r *InitScriptReloader) Reload(ctx context.Context, t Target) error {
	var err error
	if r.OldPID, err = r.pid(ctx); err != nil {
		return fmt.Errorf("reload: before: %w", err)
	}
	script := r.Script
	if script == "" {
		script = "/etc/rc.d/init.d/haproxy"
	}
	argv := []string{script, "reload"}
	if len(r.Env) > 0 {
		argv = append(append([]string{"env"}, r.Env...), argv...)
	}
	out, err := t.Run(ctx, "/", argv...)
	if err != nil {
		return hint.With(fmt.Errorf("reload: %s reload: %w\n%s", script, err, strings.TrimSpace(string(out))),
			"the running process was left alone; fix what the script's check names (haproxy -c) and reload again")
	}
	return nil
}

// Confirm waits until show info answers from another process and the pidfile names it.
func (r *InitScriptReloader) Confirm(ctx context.Context, t Target) error {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	pidfile := r.Pidfile
	if pidfile == "" {
		pidfile = "/var/run/haproxy.pid"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		p, err := r.pid(ctx)
		if err == nil && p != r.OldPID {
			cur, err := t.Read(ctx, pidfile)
			if err == nil && strings.TrimSpace(string(cur.Data)) == strconv.Itoa(p) {
				r.NewPID = p
				return nil
			}
			last = fmt.Sprintf("pid %d serves but %s says %q", p, pidfile, strings.TrimSpace(string(cur.Data)))
		} else if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("pid %d still serves", p)
		}
		select {
		case <-ctx.Done():
			return hint.With(fmt.Errorf("confirm: no new process within %s: %s", timeout, last),
				"look at the script's output and HAProxy's log; the old process may still serve")
		case <-time.After(100 * time.Millisecond):
		}
	}
}
