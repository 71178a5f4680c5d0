package build

import (
	"context"
	"os"
	"path/filepath"
)

// Staged layout, as the packages install it.
const (
	StageBinary  = "usr/sbin/haproxy"
	StageMan     = "usr/share/man/man1/haproxy.1"
	StageDocDir  = "usr/share/doc/haproxy"
	StageLicense = "usr/share/licenses/haproxy/LICENSE"
)

type stageStep struct{}

func (stageStep) String() string     { return "stage" }
func (stageStep) Skip(s *State) bool { return s.cached() }
func (stageStep) Run(ctx context.Context, s *State) error {
	stage := filepath.Join(s.Work, "stage")
	// The same make arguments as the compile, so install never rebuilds with others.
	args := append([]string{"install", "DESTDIR=" + stage, "PREFIX=/usr", "SBINDIR=/usr/sbin",
		"MANDIR=/usr/share/man", "DOCDIR=/usr/share/doc/haproxy"}, s.Result.MakeArgs...)
	if err := s.make(ctx, args, 0); err != nil {
		return err
	}
	lic, err := os.ReadFile(filepath.Join(s.Src, "LICENSE"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(stage, filepath.Dir(StageLicense)), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(stage, StageLicense), lic, 0o644); err != nil {
		return err
	}
	s.logf("stage: %s", StageBinary)
	return nil
}
