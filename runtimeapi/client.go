// Package runtimeapi is a client of HAProxy's Runtime API (the stats socket) and of the
// master CLI: one connection per command in non-interactive mode, over a unix socket
// (PATH) or TCP (HOST:PORT).
//
// Errors are detected by severity (`set severity-output number`, 1.8+: an answer starting
// with "[N]: " where N ≤ 3 is an error) and, where the version or the master's forwarding
// lacks it, by HAProxy's own error phrases. Each verb knows the first HAProxy version that
// has it (see Verbs); asking an older HAProxy returns a *VersionError naming both.
package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"harpy/hint"
	"harpy/hversion"
)

// DefaultTimeout bounds one command when ctx has no earlier deadline.
const DefaultTimeout = 5 * time.Second

// Client talks to one stats socket (or one worker behind the master CLI, see Worker).
type Client struct {
	// Addr is a unix socket path or HOST:PORT; HAProxy's prefixes unix@, ipv4@ and ipv6@
	// are accepted too.
	Addr string
	// Timeout bounds one command (DefaultTimeout when 0); ctx's deadline wins if earlier.
	Timeout time.Duration
	// Origin says where Addr was found (e.g. "haproxy.cfg:3"), for error messages.
	Origin string

	prefix string // "@1 " for a worker behind the master CLI

	mu      sync.Mutex
	version *hversion.V
}

// New returns a client of the stats socket at addr (PATH or HOST:PORT).
func New(addr string) *Client { return &Client{Addr: addr} }

// Network splits an address into net.Dial's network and address.
func Network(addr string) (network, address string) {
	switch {
	case strings.HasPrefix(addr, "unix@"):
		return "unix", strings.TrimPrefix(addr, "unix@")
	case strings.HasPrefix(addr, "ipv4@"):
		return "tcp4", strings.TrimPrefix(addr, "ipv4@")
	case strings.HasPrefix(addr, "ipv6@"):
		return "tcp6", strings.TrimPrefix(addr, "ipv6@")
	case strings.HasPrefix(addr, "tcp@"):
		return "tcp", strings.TrimPrefix(addr, "tcp@")
	case strings.Contains(addr, "/"):
		return "unix", addr
	}
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" && strings.Trim(port, "0123456789") == "" {
		return "tcp", addr
	}
	return "unix", addr
}

// Raw sends cmd (one line; several commands may be separated by ";") exactly as given and
// returns HAProxy's answer, without any error detection but the connection's.
func (c *Client) Raw(ctx context.Context, cmd string) (string, error) {
	t := c.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	network, address := Network(c.Addr)
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		name := c.Addr
		if c.Origin != "" {
			name += " (the `stats socket` of " + c.Origin + ")"
		}
		return "", dialError(name, network, address, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Close the connection when ctx ends early (an interrupt), not only at the deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("stats socket %s: send %q: %w", c.Addr, cmd, ctxErr(ctx, err))
	}
	// Half-close: the master CLI answers and closes only once it has read the end of input.
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		err = fmt.Errorf("stats socket %s: read the answer to %q: %w", c.Addr, cmd, ctxErr(ctx, err))
		if errors.Is(err, context.DeadlineExceeded) {
			err = hint.With(err, "HAProxy did not answer within %s: retry, or allow longer with --socket-timeout", t)
		}
		return "", err
	}
	return string(b), nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Version is the running HAProxy's version, read once from `show info`.
func (c *Client) Version(ctx context.Context) (hversion.V, error) {
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if v != nil {
		return *v, nil
	}
	out, err := c.Raw(ctx, c.prefix+"show info")
	if err != nil {
		return hversion.V{}, err
	}
	if err := answerError(c.prefix+"show info", out); err != nil {
		return hversion.V{}, err
	}
	info := ParseInfo(out)
	ver, err := info.Version()
	if err != nil {
		return hversion.V{}, fmt.Errorf("stats socket %s: %w", c.Addr, err)
	}
	c.mu.Lock()
	c.version = &ver
	c.mu.Unlock()
	return ver, nil
}

// SetVersion fixes the version the client assumes (for --dry-run and tests), so that no
// `show info` is sent.
func (c *Client) SetVersion(v hversion.V) {
	c.mu.Lock()
	c.version = &v
	c.mu.Unlock()
}

// Command runs one Runtime API command after checking that the running version has its
// verb, and returns the answer with the severity marker stripped. An answer HAProxy marks
// as an error (or, without severity, one of its error phrases) is returned as an error:
// *LevelError for "Permission denied", *CommandError otherwise.
func (c *Client) Command(ctx context.Context, cmd string) (string, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return "", err
	}
	if verb, ok := VerbOf(cmd); ok {
		if err := verb.Check(v); err != nil {
			return "", err
		}
	}
	return c.send(ctx, v, cmd)
}

func (c *Client) send(ctx context.Context, v hversion.V, cmd string) (string, error) {
	severity := c.prefix == "" && v.Compare(hversion.MustParse("1.8")) >= 0
	line := c.prefix + cmd
	if severity {
		line = "set severity-output number; " + line
	}
	out, err := c.Raw(ctx, line)
	if err != nil {
		return "", err
	}
	if severity {
		out = strings.TrimPrefix(out, "\n") // the empty answer of set severity-output
	}
	if err := answerError(cmd, out); err != nil {
		return "", err
	}
	return stripSeverity(out), nil
}

// Commands runs several commands on one connection, ";"-separated, as HAProxy requires for
// `experimental-mode on` to apply to the next command. The verb of each is checked.
func (c *Client) Commands(ctx context.Context, cmds ...string) (string, error) {
	v, err := c.Version(ctx)
	if err != nil {
		return "", err
	}
	for _, cmd := range cmds {
		if verb, ok := VerbOf(cmd); ok {
			if err := verb.Check(v); err != nil {
				return "", err
			}
		}
	}
	return c.send(ctx, v, strings.Join(cmds, "; "+c.prefix))
}

// stripSeverity removes the "[N]: " markers at the start of lines.
func stripSeverity(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if _, rest, ok := severityOf(l); ok {
			lines[i] = rest
		}
	}
	return strings.Join(lines, "\n")
}

// severityOf reads a leading "[N]: " (N a syslog severity 0–7).
func severityOf(line string) (int, string, bool) {
	if len(line) >= 4 && line[0] == '[' && line[1] >= '0' && line[1] <= '7' && line[2] == ']' && line[3] == ':' {
		return int(line[1] - '0'), strings.TrimPrefix(line[4:], " "), true
	}
	return 0, line, false
}

// errorPhrases start HAProxy's error answers in versions (or master forwarding) without
// severity output.
var errorPhrases = []string{
	"Unknown command", "No such ", "Can't find", "Permission denied", "Require ", "Invalid ",
	"'set server' expects", "'set weight' ", "Backend is using a static LB algorithm",
	"Agent was not configured", "Health checks are not configured", "agent checks are not enabled",
	"Missing ", "Unsupported ", "Unknown ", "This command is restricted", "is only supported on",
	"Can't find the target PID", "Server is not in maintenance", "Server still has connections",
	"Experimental", "This command is experimental", "'add server' ", "'del server' ",
}

// answerError returns the error an answer carries, or nil. A line with a severity marker
// is judged by it; one without (older versions, the master's forwarding, commands that
// print their errors raw) by HAProxy's error phrases, which no data answer starts with.
func answerError(cmd, out string) error {
	first := strings.TrimSpace(strings.SplitN(strings.TrimLeft(out, "\n"), "\n", 2)[0])
	msg := first
	isErr := false
	if n, rest, ok := severityOf(first); ok {
		msg = rest
		isErr = n <= 3
	}
	// "Unknown command" is answered at severity 6 (info) with the command list.
	if strings.HasPrefix(msg, "Unknown command") {
		isErr = true
	}
	if _, _, marked := severityOf(first); !isErr && !marked {
		for _, p := range errorPhrases {
			if strings.HasPrefix(msg, p) {
				isErr = true
				break
			}
		}
	}
	if !isErr {
		return nil
	}
	if strings.HasPrefix(msg, "Permission denied") {
		return levelError(cmd)
	}
	return &CommandError{Command: cmd, Message: msg}
}

// CommandError is HAProxy refusing a command, with its own words.
type CommandError struct {
	Command, Message string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("HAProxy refused %q: %s", e.Command, e.Message)
}

// IsCommandError reports whether err is HAProxy refusing a command.
func IsCommandError(err error) bool {
	var ce *CommandError
	return errors.As(err, &ce)
}
