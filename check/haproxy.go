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
	"syscall"
	"time"

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

// Timeout bounds one `haproxy -c`: a real check takes well under a second, even for a
// config of thousands of servers; a check that hangs (a binary waiting on a resolver, a
// FIFO, a wrapper script) is killed, with its children, after this long.
const Timeout = 60 * time.Second

// versionTimeout bounds `haproxy -v`.
const versionTimeout = 10 * time.Second

// HAProxyOutput is HAProxy that also returns the output (warnings) of a passing check.
func HAProxyOutput(ctx context.Context, binary, cfgPath string) (string, error) {
	return haproxyOutput(ctx, binary, cfgPath, Timeout)
}

func haproxyOutput(ctx context.Context, binary, cfgPath string, timeout time.Duration) (string, error) {
	path, err := resolve(binary)
	if err != nil {
		return "", hint.With(fmt.Errorf("check %s: %w", cfgPath, err), "install haproxy, or pass the binary with --binary (harpy build makes one)")
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := command(tctx, path, "-c", "-V", "-f", cfgPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return out.String(), fmt.Errorf("check %s: interrupted: %w", cfgPath, ctx.Err())
		}
		if tctx.Err() != nil {
			return out.String(), hint.With(fmt.Errorf("check %s: %s -c did not finish within %s and was killed", cfgPath, path, timeout),
				"a check takes a second; see whether %s hangs on its own (a resolver, a file it opens), or pass another --binary", path)
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

// command is exec.CommandContext that kills the whole process group when ctx ends (a
// wrapper script's children too) and stops waiting for their output soon after.
func command(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	return cmd
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
	return binaryVersion(ctx, binary, versionTimeout)
}

func binaryVersion(ctx context.Context, binary string, timeout time.Duration) (hversion.V, error) {
	if p, err := resolve(binary); err == nil {
		binary = p
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := command(tctx, binary, "-v").CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return hversion.V{}, fmt.Errorf("%s -v: interrupted: %w", binary, ctx.Err())
		}
		if tctx.Err() != nil {
			return hversion.V{}, hint.With(fmt.Errorf("%s -v did not answer within %s and was killed", binary, timeout), "pass the target with --haproxy, or another --binary")
		}
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

// SameBranch checks that binary is of the branch a config was written for, so that
// `haproxy -c` judges the syntax the config will meet: a 2.6 binary accepts what 3.0
// refuses and the reverse.
func SameBranch(ctx context.Context, binary string, want hversion.V) error {
	have, err := BinaryVersion(ctx, binary)
	if err != nil {
		return err
	}
	if have.Branch() != want.Branch() {
		return hint.Input(hint.With(fmt.Errorf("--check: %s is HAProxy %s, but the config is rendered for %s", binary, have, want),
			"pass --binary with a %s haproxy (`harpy build --version %s` builds one) or render with --haproxy %s", want.Branch(), want.Branch(), have.Branch()))
	}
	return nil
}
