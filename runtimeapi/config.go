package runtimeapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"harpy/hint"
)

// DefaultConfig is where packaged HAProxy reads its configuration.
const DefaultConfig = "/etc/haproxy/haproxy.cfg"

// SocketFromConfig returns the address of the first `stats socket` line of the global
// section of the haproxy.cfg at path. The config is read lightly: comments and sections,
// nothing else.
func SocketFromConfig(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", hint.Input(hint.With(fmt.Errorf("no --socket given and %s does not exist", path),
				"give --socket PATH|HOST:PORT (the `stats socket` of your haproxy.cfg) or --config FILE"))
		}
		return "", hint.With(fmt.Errorf("read the stats socket from %s: %w", path, err), "give --socket PATH|HOST:PORT")
	}
	defer f.Close()
	addr, err := socketFromConfig(f)
	if err != nil {
		return "", hint.Input(hint.With(fmt.Errorf("%s: %w", path, err),
			"add `stats socket /run/haproxy/admin.sock mode 660 level admin` to its global section, or give --socket PATH|HOST:PORT"))
	}
	return addr, nil
}

func socketFromConfig(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	section := ""
	n := 0
	for sc.Scan() {
		n++
		l := sc.Text()
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "global", "defaults", "frontend", "backend", "listen", "resolvers", "peers", "userlist",
			"program", "mailers", "cache", "ring", "http-errors", "crt-store", "traces", "log-forward":
			section = f[0]
			continue
		}
		if section == "global" && len(f) >= 2 && f[0] == "stats" && f[1] == "socket" {
			if len(f) < 3 {
				return "", fmt.Errorf("line %d: `stats socket` without an address", n)
			}
			return strings.Trim(f[2], `"'`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no `stats socket` line in the global section")
}
