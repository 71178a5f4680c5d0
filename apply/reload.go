package apply

import (
	"context"
	"fmt"
	"strings"

	"harpy/hint"
)

// Reloader makes the service take the new files and proves that it did. The transaction
// calls Reload once every file is renamed, then Confirm; when either fails the previous
// files are put back, and after a failed Confirm (the service may run the new files)
// Reload is called once more so that it runs the previous ones again.
//
// A Reloader may keep state between the two calls: the runtime issue's master CLI
// reloader records `show proc` in Reload before it sends `reload` (2.7+: its Success=
// line is the answer), and Confirm checks that a new worker generation exists and the
// old one is leaving; a systemd one runs `systemctl reload` and checks the new worker.
// Both run their commands through the Target, so that they work over SSH too.
type Reloader interface {
	Reload(ctx context.Context, t Target) error
	Confirm(ctx context.Context, t Target) error
}

// None is the Reloader that does nothing: the files change, the service is left alone.
type None struct{}

func (None) Reload(context.Context, Target) error  { return nil }
func (None) Confirm(context.Context, Target) error { return nil }

// Command reloads by running Argv on the target (e.g. systemctl reload haproxy) and
// confirms by running ConfirmArgv (none: the reload command's success is the proof),
// both in Dir ("/" if empty).
type Command struct {
	Argv, ConfirmArgv []string
	Dir               string
}

func (c Command) Reload(ctx context.Context, t Target) error {
	return c.run(ctx, t, "reload", c.Argv)
}

func (c Command) Confirm(ctx context.Context, t Target) error {
	return c.run(ctx, t, "confirm", c.ConfirmArgv)
}

func (c Command) run(ctx context.Context, t Target, what string, argv []string) error {
	if len(argv) == 0 {
		return nil
	}
	dir := c.Dir
	if dir == "" {
		dir = "/"
	}
	out, err := t.Run(ctx, dir, argv...)
	if err != nil {
		return hint.With(fmt.Errorf("%s: %s: %w\n%s", what, strings.Join(argv, " "), err, strings.TrimSpace(string(out))),
			"see the service's log (journalctl -u haproxy, or its log file) for why it did not take the new files")
	}
	return nil
}
