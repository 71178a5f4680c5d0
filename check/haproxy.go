// Package check judges an haproxy.cfg: the real `haproxy -c` and harpy's own lint of
// directives a target version deprecated or removed.
package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"

	"harpy/hint"
	"harpy/hversion"
)

// DefaultBinary is the haproxy found on PATH when no binary is given.
const DefaultBinary = "haproxy"

// HAProxyError is a config that `haproxy -c` refused; Output is what it printed.
type HAProxyError struct {
	Binary, Config string
	Output         string
	Err            error
}

func (e *HAProxyError) Error() string {
	return fmt.Sprintf("%s -c -f %s: %v\n%s", e.Binary, e.Config, e.Err, strings.TrimSpace(e.Output))
}

func (e *HAProxyError) Unwrap() error { return e.Err }

// HAProxy runs `binary -c -V -f cfgPath` (3.0 prints nothing on success without -V) and
// returns its output with the error when the config is refused.
func HAProxy(ctx context.Context, binary, cfgPath string) error {
	_, err := HAProxyOutput(ctx, binary, cfgPath)
	return err
}

// HAProxyOutput is HAProxy that also returns the output (warnings) of a passing check.
func HAProxyOutput(ctx context.Context, binary, cfgPath string) (string, error) {
	path, err := resolve(binary)
	if err != nil {
		return "", hint.With(fmt.Errorf("check %s: %w", cfgPath, err), "install haproxy, or pass the binary with --binary (harpy build makes one)")
	}
	cmd := exec.CommandContext(ctx, path, "-c", "-V", "-f", cfgPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return out.String(), fmt.Errorf("check %s: interrupted: %w", cfgPath, ctx.Err())
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), hint.With(&HAProxyError{Binary: path, Config: cfgPath, Output: out.String(), Err: err},
				"fix the lines HAProxy names above (`harpy check` also lists deprecated directives)")
		}
		return out.String(), fmt.Errorf("check %s: run %s: %w", cfgPath, path, err)
	}
	return out.String(), nil
}

// resolve finds binary on PATH; the default name is also looked for in the sbin
// directories a non-root PATH often lacks.
func resolve(binary string) (string, error) {
	if binary == "" {
		binary = DefaultBinary
	}
	path, err := exec.LookPath(binary)
	if err == nil || binary != DefaultBinary {
		return path, err
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		if p, err2 := exec.LookPath(dir + "/" + binary); err2 == nil {
			return p, nil
		}
	}
	return "", err
}

var versionRE = regexp.MustCompile(`(?m)^HA-?Proxy version ([0-9]+\.[0-9]+(\.[0-9]+)?(-(dev|rc)[0-9]+)?)`)

// BinaryVersion asks an haproxy binary its version (`haproxy -v`).
func BinaryVersion(ctx context.Context, binary string) (hversion.V, error) {
	if p, err := resolve(binary); err == nil {
		binary = p
	}
	out, err := exec.CommandContext(ctx, binary, "-v").CombinedOutput()
	if err != nil {
		return hversion.V{}, hint.With(fmt.Errorf("%s -v: %w: %s", binary, err, bytes.TrimSpace(out)), "install haproxy or pass --binary PATH")
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return hversion.V{}, hint.With(fmt.Errorf("%s -v: no version in %q", binary, firstLine(out)), "pass the target with --haproxy")
	}
	return hversion.Parse(string(m[1]))
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}
