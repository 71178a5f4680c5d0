package build

import (
	"context"
	"fmt"

	"harpy/packaging"
)

// PackageStep packages the staged build with harpy/packaging: the last step
// of `harpy build --format rpm,deb`, appended by the caller:
//
//	build.Run(ctx, opts, append(build.Steps(), &build.PackageStep{Options: po}))
//
// Options carries what the pipeline does not know (formats, dist, release,
// rendered config files, signing, out dir); the step fills in the staged tree,
// the version and whether the binary was built with USE_SYSTEMD, and records
// the package paths in Made.
type PackageStep struct {
	Options packaging.Options
	Made    []string
}

func (*PackageStep) String() string { return "package" }

func (p *PackageStep) Run(ctx context.Context, s *State) error {
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
	paths, err := packaging.Build(ctx, o)
	if err != nil {
		return err
	}
	p.Made = paths
	for _, path := range paths {
		s.logf("package: %s", path)
	}
	return nil
}
