package profiles

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"

	"harpy/apply"
	"harpy/check"
	"harpy/hint"
	"harpy/hversion"
)

// Names of the rendered files in an --out directory.
const (
	OutCfg       = "haproxy.cfg"
	OutRsyslog   = "49-haproxy.conf"
	OutLogrotate = "haproxy.logrotate"
)

// Dest is where `harpy render` puts its output: Stdout (haproxy.cfg only, annotated with
// Explain), an Out directory (the three files side by side), or a Root to install them
// under (Root + /etc/haproxy/haproxy.cfg, …).
type Dest struct {
	Out, Root string
	Stdout    io.Writer
	Explain   bool
	// Check judges the staged config with haproxy -c before anything is replaced: with
	// Binary (it must be of the target's branch), or, for Root "/" without an explicit
	// binary, with the host service's own binary, flags and working directory.
	Check       bool
	Binary      string
	BinaryGiven bool
}

// Write puts a rendered profile where d says, atomically, checked first when asked.
func Write(ctx context.Context, o *Output, target hversion.V, d Dest) (apply.Result, error) {
	if d.Root != "" && d.Out != "" {
		return apply.Result{}, hint.Input(hint.With(errors.New("--out and --root both given"), "--out DIR writes the three files side by side; --root DIR installs them under DIR/etc"))
	}
	hostService := d.Root != "" && filepath.Clean(d.Root) == "/" && !d.BinaryGiven
	if d.Check && !hostService {
		if err := check.SameBranch(ctx, d.Binary, target); err != nil {
			return apply.Result{}, err
		}
	}
	var checker apply.Checker
	if d.Check {
		checker = func(ctx context.Context, staged map[string]string) error {
			return check.HAProxy(ctx, d.Binary, staged[OutCfg])
		}
	}
	switch {
	case d.Root != "":
		// An install is checked as the root's haproxy service would check it: its flags
		// (CFGDIR, OPTIONS/EXTRAOPTS) and its working directory.
		tx := apply.Tx{Target: apply.LocalTarget{Root: d.Root}, Files: o.Files()}
		if d.Check {
			v := apply.HAProxy{Binary: d.Binary}
			if hostService {
				v.Binary = ""
			}
			tx.Validate = v
		}
		return tx.Run(ctx)
	case d.Out != "":
		return apply.WriteChecked(ctx, d.Out, []apply.File{
			{Name: OutCfg, Data: o.HAProxyCfg, Mode: 0o644},
			{Name: OutRsyslog, Data: o.Rsyslog, Mode: 0o644},
			{Name: OutLogrotate, Data: o.Logrotate, Mode: 0o644},
		}, checker)
	}
	if checker != nil {
		dir, err := os.MkdirTemp("", "harpy-render-")
		if err != nil {
			return apply.Result{}, err
		}
		defer os.RemoveAll(dir)
		if _, err := apply.WriteChecked(ctx, dir, []apply.File{{Name: OutCfg, Data: o.HAProxyCfg}}, checker); err != nil {
			return apply.Result{}, err
		}
	}
	cfg := o.HAProxyCfg
	if d.Explain {
		cfg = Annotate(cfg, o.Origins)
	}
	_, err := d.Stdout.Write(cfg)
	return apply.Result{}, err
}
