package build

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"harpy/hint"
	"harpy/specs"
)

type proveStep struct{}

func (proveStep) String() string     { return "prove" }
func (proveStep) Skip(s *State) bool { return s.cached() }
func (proveStep) Run(ctx context.Context, s *State) error {
	out, err := exec.CommandContext(ctx, filepath.Join(s.Src, "haproxy"), "-vv").CombinedOutput()
	if err != nil {
		kept := s.discardWork()
		return hint.With(fmt.Errorf("the built haproxy does not run: %v: %s", err, strings.TrimSpace(string(out))), "%s", "read the build log: "+kept)
	}
	vv := ParseVV(string(out))
	if err := Prove(s.Plan, vv); err != nil {
		s.discardWork()
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Work, "haproxy-vv.txt"), out, 0o644); err != nil {
		return err
	}
	s.Result.VV = vv
	s.logf("prove: HAProxy %s has %s", vv.Version, strings.Join(s.Plan.FeatureNames(), " "))
	return nil
}

// Prove checks a binary's -vv against the plan: every planned feature must be proven, and
// every refused one must be absent. make silently ignores flags it does not know (and
// from 3.0 only warns), so this is the only way to know what was really built.
func Prove(p *specs.Plan, vv *VV) error {
	if !strings.HasPrefix(vv.Version, p.Version.String()) {
		return hint.With(fmt.Errorf("binary reports version %q, want %s", vv.Version, p.Version), "the source tree is not the release asked for; clear the cache entry and build again")
	}
	var missing, present []string
	for _, f := range p.Features {
		for _, pr := range f.Rule.Proof {
			if !vv.Proves(pr) {
				missing = append(missing, fmt.Sprintf("%s (no %s in haproxy -vv)", f.Name, pr))
				break
			}
		}
	}
	for _, f := range p.Refused {
		for _, pr := range f.Rule.Proof {
			if vv.Proves(pr) {
				present = append(present, fmt.Sprintf("%s (%s in haproxy -vv)", f.Name, pr))
				break
			}
		}
	}
	switch {
	case len(missing) > 0:
		return hint.With(fmt.Errorf("built binary lacks requested features: %s", strings.Join(missing, ", ")), "the make flags for this version do not enable it: fix the feature's rule in the recipe (harpy versions shows the flags), or build --without it")
	case len(present) > 0:
		return hint.With(fmt.Errorf("built binary has refused features: %s", strings.Join(present, ", ")), "this version enables it by default; fix the recipe's rule to switch it off explicitly")
	}
	return nil
}
