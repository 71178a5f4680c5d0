package packaging

import (
	"context"
	"fmt"

	"harpy/build"
)

// Step packages a staged build: the last step of the build pipeline for
// `harpy build --format rpm,deb`, appended by the caller:
//
//	step := &packaging.Step{Options: o}
//	build.Run(ctx, opts, append(build.Steps(), step))
//
// It lives here rather than in build/ so that build never imports packaging
// (packaging's tests use the pipeline's builds through testenv). Options
// carries what the pipeline does not know (formats, dist, release, rendered
// config files, signing, out dir); the step fills in the staged tree, the
// version and whether the binary was built with USE_SYSTEMD, and records the
// package paths in Made.
type Step struct {
	Options Options
	Made    []string
}

func (*Step) String() string { return "package" }

// Preflight checks every packaging option before the pipeline fetches or compiles
// anything (build.Preflighter): a bad --format, --release, --dist, --compression,
// --sign-key, --out or metadata field fails in milliseconds.
func (p *Step) Preflight(context.Context, *build.State) error { return p.Options.Validate() }

func (p *Step) Run(ctx context.Context, s *build.State) error {
	if s.Plan == nil || s.Result.StageDir == "" {
		return fmt.Errorf("nothing staged to package")
	}
	o := p.Options
	o.StageDir = s.Result.StageDir
	o.Version = s.Plan.Version.String()
	o.Systemd = s.Result.VV != nil && s.Result.VV.Features["SYSTEMD"]
	if o.Notes == nil {
		o.Notes = s.Opts.Progress
	}
	paths, err := Build(ctx, o)
	if err != nil {
		return err
	}
	p.Made = paths
	for _, path := range paths {
		fmt.Fprintf(s.Opts.Progress, "package: %s\n", path)
	}
	return nil
}
