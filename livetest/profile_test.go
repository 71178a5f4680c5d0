package livetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"text/template"
	"time"

	"harpy/hversion"
	"harpy/profiles"
)

// renderUser writes a user profile (a text/template executed with data) to the test's
// directory, loads it through profiles.Load as `harpy render --profile FILE` would, and
// renders it for Debian's HAProxy 2.6 and an el9 rsyslog. The rendered haproxy.cfg is
// written next to it and returned with the profile and the other files.
func renderUser(tb testing.TB, dir, userTOML string, data any) (*profiles.Profile, *profiles.Output, string) {
	tb.Helper()
	return renderUserFor(tb, "2.6", dir, userTOML, data)
}

// renderUserFor is renderUser for another HAProxy version.
func renderUserFor(tb testing.TB, version, dir, userTOML string, data any) (*profiles.Profile, *profiles.Output, string) {
	tb.Helper()
	return renderUserDist(tb, version, "el9", dir, userTOML, data)
}

// renderUserDist is renderUser for another HAProxy version and distribution.
func renderUserDist(tb testing.TB, version, dist, dir, userTOML string, data any) (*profiles.Profile, *profiles.Output, string) {
	tb.Helper()
	var b bytes.Buffer
	if err := template.Must(template.New("profile").Parse(userTOML)).Execute(&b, data); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "profile.toml")
	// The test's pidfile, socket and logs live under the temp directory, not /run and /var/log.
	writeFile(tb, path, fmt.Sprintf("allow_paths = [%q]\n", os.TempDir())+b.String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := profiles.Load(ctx, path)
	if err != nil {
		tb.Fatalf("load user profile:\n%s\n%v", b.String(), err)
	}
	out, err := profiles.Render(p, profiles.Options{HAProxy: hversion.MustParse(version), Dist: dist})
	if err != nil {
		tb.Fatalf("render user profile:\n%s\n%v", b.String(), err)
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	writeFile(tb, cfg, string(out.HAProxyCfg))
	return p, out, cfg
}

// checkTiming reads inter, fall and rise of a proxy's health check in a loaded profile.
func checkTiming(tb testing.TB, p *profiles.Profile, proxy string) (inter time.Duration, fall, rise int) {
	tb.Helper()
	for _, px := range append(append([]*profiles.Proxy{}, p.Backends...), p.Listens...) {
		if px.Name != proxy || px.Health == nil {
			continue
		}
		inter, err := haDuration(px.Health.Inter)
		if err != nil {
			tb.Fatalf("profile %s: %s health.inter: %v", p.Name, proxy, err)
		}
		return inter, px.Health.Fall, px.Health.Rise
	}
	tb.Fatalf("profile %s has no health check on %s", p.Name, proxy)
	return 0, 0, 0
}

// haDuration reads an HAProxy time: a bare number is milliseconds; "" is HAProxy's 2s.
func haDuration(s string) (time.Duration, error) {
	if s == "" {
		return 2 * time.Second, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Millisecond, nil
	}
	return time.ParseDuration(s)
}
