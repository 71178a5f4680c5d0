package packaging

import (
	"context"
	"fmt"
	"harpy/distro"
	"os/exec"
	"path/filepath"
	"strings"

	"harpy/build"
	"harpy/hint"
)

// HostDist names the dist of the machine harpy runs on (distro.Host).
//
// harpy compiles on the host it runs on, so the binary links the host's
// libraries. An RPM made on Debian therefore gets no default dist: the caller
// must pass one explicitly, and Build notes that the package's Requires
// (derived from the binary) name the Debian libraries it really needs.
func HostDist() (string, error) { return distro.Host() }

// DistNote says what a package made for dist on host really is, or "" when
// they match. It never claims a Debian-built binary suits another dist.
func DistNote(dist, host string) string {
	if dist == "" || dist == host {
		return ""
	}
	return fmt.Sprintf("note: packaging for %s on a %s host: the binary links %s's libraries; "+
		"the package's Requires name exactly those (e.g. glibc symbol versions), so it installs "+
		"only where they exist — build on %s host for a native %s package", dist, host, host, article(dist), dist)
}

// StagedSystemd tells whether the staged binary was built with USE_SYSTEMD,
// from its `haproxy -vv` feature list (+SYSTEMD), for callers that only have
// a staged tree.
func StagedSystemd(ctx context.Context, stage string) (bool, error) {
	bin := filepath.Join(stage, "usr/sbin/haproxy")
	out, err := exec.CommandContext(ctx, bin, "-vv").Output()
	if err != nil {
		return false, hint.With(fmt.Errorf("run %s -vv: %w", bin, err), "pass a staged tree built on this host")
	}
	return build.ParseVV(string(out)).Features["SYSTEMD"], nil
}

// article prefixes a dist name with "a" or "an" as it is read aloud ("an el9").
func article(dist string) string {
	if strings.HasPrefix(dist, "el") {
		return "an " + dist
	}
	return "a " + dist
}
