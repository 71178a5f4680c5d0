package runtimeapi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"harpy/hint"
	"harpy/hversion"
)

// ErrSocketMissing: nothing at the socket's path, or nothing listening on it.
var ErrSocketMissing = errors.New("no HAProxy answers on this socket")

// ErrPermission: the socket exists but this user may not connect to it.
var ErrPermission = errors.New("permission denied on the socket")

func dialError(addr, network, address string, err error) error {
	base := fmt.Errorf("stats socket %s: %w", addr, err)
	if network != "unix" {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return hint.With(fmt.Errorf("%w (%w)", base, ErrSocketMissing),
				"nothing listens on %s: is haproxy running, and does its `stats socket` line name this address? give --socket PATH|HOST:PORT", address)
		}
		return hint.With(base, "check that %s is reachable and that haproxy's `stats socket` binds it", address)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOENT):
		return hint.With(fmt.Errorf("%w (%w)", base, ErrSocketMissing),
			"%s does not exist: is haproxy running, and is this the path of its `stats socket` line (give --socket PATH)?", address)
	case errors.Is(err, syscall.ECONNREFUSED):
		return hint.With(fmt.Errorf("%w (%w)", base, ErrSocketMissing),
			"%s is a stale socket, no haproxy listens on it: start or reload haproxy", address)
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM):
		return hint.With(fmt.Errorf("%w (%w)", base, ErrPermission), "%s", permissionHint(address))
	}
	return hint.With(base, "check that %s is haproxy's stats socket", address)
}

// permissionHint says who may use the socket: its owner, group and mode, and whether the
// current user is in that group.
func permissionHint(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Sprintf("a directory on the way to %s is not searchable by you (%v): run as root or fix the directory's mode", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Sprintf("%s is mode %04o: run as its owner or a member of its group", path, fi.Mode().Perm())
	}
	owner, group := strconv.Itoa(int(st.Uid)), strconv.Itoa(int(st.Gid))
	if u, err := user.LookupId(owner); err == nil {
		owner = u.Username
	}
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	mode := fi.Mode().Perm()
	s := fmt.Sprintf("%s is owner %s group %s mode %04o; you are uid %d", path, owner, group, mode, os.Getuid())
	if mode&0o060 == 0 {
		return s + fmt.Sprintf(": the group has no access; set `mode 660 group %s` on the `stats socket` line (or run as %s or root)", group, owner)
	}
	return s + fmt.Sprintf(", not in group %s: run `sudo usermod -aG %s $USER` and log in again, or run as root", group, group)
}

// LevelError: the socket's `level` is below what the verb needs.
type LevelError struct {
	Command string
	Need    string // "operator" or "admin"
}

func (e *LevelError) Error() string {
	return fmt.Sprintf("HAProxy refused %q: Permission denied (the socket's level is below %s)", e.Command, e.Need)
}

func levelError(cmd string) error {
	need := "admin"
	if v, ok := VerbOf(cmd); ok && v.Level != "" {
		need = v.Level
	}
	return hint.With(&LevelError{Command: cmd, Need: need},
		"add `level %s` to the `stats socket` line of haproxy.cfg (e.g. `stats socket /run/haproxy/admin.sock mode 660 level %s`) and reload haproxy", need, need)
}

// VersionError: the running HAProxy is older than the first version with the verb.
type VersionError struct {
	Verb string
	Need hversion.V // first version with it
	Have hversion.V // running
	Why  string     // what the version brought, when not just the verb
}

func (e *VersionError) Error() string {
	what := fmt.Sprintf("%q", e.Verb)
	if e.Why != "" {
		what += " (" + e.Why + ")"
	}
	return fmt.Sprintf("HAProxy %s lacks %s: it arrived in %s", e.Have, what, e.Need)
}

func versionError(verb, why string, need, have hversion.V) error {
	return hint.With(&VersionError{Verb: verb, Need: need, Have: have, Why: why},
		"upgrade HAProxy to %s or later (`harpy build %s`), or do it with a reload of the configuration", need.Branch(), need.Branch())
}

// UnknownError: a backend or server name the running HAProxy does not have.
type UnknownError struct {
	Kind  string // "backend" or "server"
	Name  string // as asked ("app" or "app/web9")
	Close []string
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("no %s %q in HAProxy", e.Kind, e.Name)
}

func unknownError(kind, name string, have []string) error {
	e := &UnknownError{Kind: kind, Name: name, Close: closeNames(name, have)}
	h := fmt.Sprintf("`harpy stat` lists the %ss", kind)
	if len(e.Close) > 0 {
		h = "did you mean " + strings.Join(e.Close, ", ") + "? " + h
	}
	return hint.Input(hint.With(e, "%s", h))
}

// closeNames are up to 5 names within a small edit distance of name (or sharing its
// prefix), closest first.
func closeNames(name string, have []string) []string {
	type cand struct {
		s string
		d int
	}
	var cs []cand
	limit := max(2, len(name)/3)
	for _, h := range have {
		d := distance(strings.ToLower(name), strings.ToLower(h))
		if d <= limit || (len(name) >= 2 && strings.HasPrefix(strings.ToLower(h), strings.ToLower(name))) {
			cs = append(cs, cand{h, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for i, c := range cs {
		if i == 5 {
			break
		}
		out = append(out, c.s)
	}
	return out
}

// distance is the Levenshtein distance.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
