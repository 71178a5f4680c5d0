package packaging

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"harpy/hint"
	"harpy/hversion"
	"harpy/profiles"
)

// Target is what `harpy build --format` and `harpy spec` ask of a package beyond its
// Options: the formats, the dist as given (maybe none), and the profile whose files
// are packaged.
type Target struct {
	Formats []string // default rpm
	Dist    string   // "" means the host's, when that can be right
	Profile string   // embedded name or file
}

// Resolve completes o for t and version: the dist (the host's for a deb-only build or on
// an el host; otherwise it must be given), SOURCE_DATE_EPOCH from the environment, and
// haproxy.cfg, the rsyslog drop-in and logrotate rendered from the profile for that
// dist and version. The dist is checked before the profile is rendered for it.
func Resolve(ctx context.Context, o Options, t Target, version string) (Options, error) {
	host, hostErr := HostDist()
	o.Dist = t.Dist
	formats := t.Formats
	if len(formats) == 0 {
		formats = []string{"rpm"}
	}
	if o.Dist == "" {
		if !slices.Equal(formats, []string{"deb"}) && (hostErr != nil || !strings.HasPrefix(host, "el")) {
			return o, hint.Input(hint.With(fmt.Errorf("no --dist given and this host (%s) is not an el release", host),
				"pass --dist el9 (or el6, el7, el8, el10); a binary built here links this host's libraries, and the package's Requires say so"))
		}
		o.Dist = host
	}
	if err := CheckTarget(formats, o.Dist); err != nil {
		return o, err
	}
	if sde := os.Getenv("SOURCE_DATE_EPOCH"); sde != "" {
		n, err := strconv.ParseInt(sde, 10, 64)
		if err != nil {
			return o, hint.Input(hint.With(fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number", sde), "set it to seconds since 1970"))
		}
		o.SourceDateEpoch = n
	}
	v, err := hversion.Parse(version)
	if err != nil {
		return o, hint.Input(err)
	}
	p, err := profiles.Load(ctx, t.Profile)
	if err != nil {
		return o, err
	}
	out, err := profiles.Render(p, profiles.Options{HAProxy: v, Dist: o.Dist})
	if err != nil {
		return o, err
	}
	o.Config, o.Rsyslog, o.Logrotate = out.HAProxyCfg, out.Rsyslog, out.Logrotate
	return o, nil
}
