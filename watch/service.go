package watch

import (
	"context"
	"encoding/json"

	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"harpy/apply"
	"harpy/hint"
	"harpy/hversion"
	"harpy/runtimeapi"
)

// ServeOptions are `harpy watch`'s flags.
type ServeOptions struct {
	Once, DryRun, JSON bool
	Out                io.Writer // the plan (--once, --dry-run) and, as JSON lines, the log
	Log                *slog.Logger
}

// New builds a watcher from a config.
func New(ctx context.Context, c *Config, log *slog.Logger, dryRun bool) (*Watcher, error) {
	client := runtimeapi.New(c.Socket)
	var v hversion.V
	var err error
	if c.HAProxy != "" {
		if v, err = hversion.Parse(c.HAProxy); err != nil {
			return nil, hint.Input(fmt.Errorf("watch config %s: haproxy: %w", c.file, err))
		}
		client.SetVersion(v)
	} else if v, err = client.Version(ctx); err != nil {
		return nil, fmt.Errorf("watch: ask the running HAProxy its version: %w", err)
	}
	root := c.root()
	files, err := c.BuildFiles()
	if err != nil {
		return nil, err
	}
	var reload apply.Reloader = apply.None{}
	switch {
	case c.Master != "":
		reload = &apply.MasterReloader{Master: runtimeapi.NewMaster(c.Master)}
	case len(c.ReloadCommand) > 0:
		reload = apply.Command{Argv: c.ReloadCommand}
	}
	debounce, _ := time.ParseDuration(c.ReloadDebounce)
	return &Watcher{
		Runtime: &HAProxy{Client: client},
		Persister: &FilePersister{Profile: c.Profile, Sets: c.Set, HAProxy: v, Target: apply.LocalTarget{Root: root},
			Valid: apply.HAProxy{}, Reloader: reload},
		Backends:       c.BuildBackends(),
		Files:          files,
		Log:            log,
		DryRun:         dryRun,
		ReloadDebounce: debounce,
	}, nil
}

// Serve runs `harpy watch --config path`: once (--once, with --dry-run only printing the
// plan), or until ctx ends, re-reading the config on SIGHUP and serving /healthz,
// /status and /metrics on the config's listen address.
func Serve(ctx context.Context, path string, o ServeOptions) error {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	c, err := LoadConfig(path)
	if err != nil {
		return err
	}
	if o.Once {
		w, err := New(ctx, c, log, o.DryRun)
		if err != nil {
			return err
		}
		changes, err := w.Once(ctx)
		printPlan(o.Out, changes, o.JSON)
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		w, err := New(ctx, c, log, o.DryRun)
		if err != nil {
			return err
		}
		runCtx, stop := context.WithCancel(ctx)
		var srv *http.Server
		if c.Listen != "" {
			ln, err := net.Listen("tcp", c.Listen)
			if err != nil {
				stop()
				return hint.With(fmt.Errorf("watch: listen on %s: %w", c.Listen, err), "choose a free address for listen in %s", path)
			}
			srv = &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second}
			go srv.Serve(ln)
		}
		done := make(chan error, 1)
		go func() { done <- w.Run(runCtx) }()
		select {
		case <-hup:
			log.Info("SIGHUP: re-reading the watch config", "path", path)
			next, err := LoadConfig(path)
			if err != nil {
				log.Error("the new watch config is refused; keeping the old one", "err", err)
			} else {
				c = next
			}
		case <-ctx.Done():
		}
		stop()
		<-done
		if srv != nil {
			srv.Close()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func printPlan(out io.Writer, changes []Change, asJSON bool) {
	if out == nil {
		return
	}
	if asJSON {
		type change struct {
			Kind     Kind     `json:"kind"`
			Server   string   `json:"server"`
			Commands []string `json:"commands"`
			Reload   string   `json:"reload,omitempty"`
		}
		list := []change{}
		for _, c := range changes {
			cmds := []string{}
			for _, cmd := range c.Commands {
				if cmd != "" {
					cmds = append(cmds, cmd)
				}
			}
			list = append(list, change{c.Kind, c.Server, cmds, c.Reload})
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.Encode(list)
		return
	}
	if len(changes) == 0 {
		fmt.Fprintln(out, "no change")
	}
	for _, c := range changes {
		fmt.Fprintf(out, "%s %s\n", c.Kind, c.Server)
		for _, cmd := range c.Commands {
			if cmd == "" {
				cmd = "(wait until it has no session)"
			}
			fmt.Fprintf(out, "    %s\n", cmd)
		}
		if c.Reload != "" {
			fmt.Fprintf(out, "    reload: %s\n", strings.TrimSpace(c.Reload))
		}
	}
}
