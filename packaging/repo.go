package packaging

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"harpy/hint"
)

// MakeRepo turns a directory of RPMs into a yum/dnf repository with the real
// createrepo_c (repodata/ next to the packages) and returns the RPMs it holds.
// Hosts then use it with a .repo file whose baseurl points at the directory
// (file:// or served over HTTP), or once with `dnf --repofrompath`.
func MakeRepo(ctx context.Context, dir string) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, hint.With(fmt.Errorf("repo %s: %w", dir, err), "pass the directory harpy build wrote its RPMs to")
	}
	if !st.IsDir() {
		return nil, hint.With(fmt.Errorf("repo %s: not a directory", dir), "pass a directory of .rpm files")
	}
	rpms, err := filepath.Glob(filepath.Join(dir, "*.rpm"))
	if err != nil {
		return nil, err
	}
	if len(rpms) == 0 {
		return nil, hint.With(fmt.Errorf("repo %s: no .rpm files", dir), "%s", "build packages into it first: harpy build --format rpm --out "+dir)
	}
	tool, err := exec.LookPath("createrepo_c")
	if err != nil {
		return nil, hint.With(fmt.Errorf("repo %s: createrepo_c not found: %w", dir, err), "install createrepo-c (apt) or createrepo_c (dnf)")
	}
	args := []string{"--quiet"}
	if _, err := os.Stat(filepath.Join(dir, "repodata", "repomd.xml")); err == nil {
		args = append(args, "--update")
	}
	cmd := exec.CommandContext(ctx, tool, append(args, dir)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, hint.With(fmt.Errorf("repo %s: createrepo_c: %w: %s", dir, err, bytes.TrimSpace(out.Bytes())),
			"check that the directory is writable and holds valid RPMs (rpm -K)")
	}
	return rpms, nil
}
