package build

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"harpy/hint"
	"harpy/hversion"
	"harpy/safefile"
	"harpy/specs"
)

// Host is what the build host offers: compiler, header locations, library versions.
type Host struct {
	Compiler    string // first line of `cc --version`
	Arch        string
	IncludeDirs []string
	OpenSSL     string // "3.0.2" from opensslv.h, "" when absent
	Quictls     bool   // the OpenSSL headers have the QUIC API (quictls/BoringSSL)
	LuaInc      string // directory holding lua.h
	LuaLib      string // -l name: lua5.4, lua
	Lua         string // "5.4"
}

// packageHints maps a header to the packages that provide it: Debian/Ubuntu, RHEL family.
var packageHints = map[string][2]string{
	"openssl/ssl.h":       {"libssl-dev", "openssl-devel"},
	"pcre.h":              {"libpcre3-dev", "pcre-devel"},
	"pcre2.h":             {"libpcre2-dev", "pcre2-devel"},
	"zlib.h":              {"zlib1g-dev", "zlib-devel"},
	"lua.h":               {"liblua5.4-dev", "lua-devel"},
	"systemd/sd-daemon.h": {"libsystemd-dev", "systemd-devel"},
}

// maxHeader bounds a header harpy reads to learn a library's version (ssl.h is about
// 100 KiB): a header that is a FIFO, a device or huge reads as absent, never blocks.
const maxHeader = 4 << 20

// ProbeHost looks at the build host. It runs the compiler once and reads a few headers.
func ProbeHost(ctx context.Context) (*Host, error) {
	h := &Host{Arch: runtime.GOARCH}
	out, err := exec.CommandContext(ctx, "cc", "--version").Output()
	if err != nil {
		return nil, hint.With(errors.New("no C compiler: `cc --version` failed"), "install build-essential (Debian/Ubuntu) or gcc and make (RHEL: dnf install gcc make)")
	}
	h.Compiler = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	if ma, err := exec.CommandContext(ctx, "cc", "-print-multiarch").Output(); err == nil && len(strings.TrimSpace(string(ma))) > 0 {
		h.IncludeDirs = append(h.IncludeDirs, "/usr/include/"+strings.TrimSpace(string(ma)))
	}
	h.IncludeDirs = append(h.IncludeDirs, "/usr/local/include", "/usr/include")
	if p := h.find("openssl/opensslv.h"); p != "" {
		h.OpenSSL = openSSLVersion(p)
		if b, err := safefile.ReadFile(filepath.Join(filepath.Dir(p), "ssl.h"), maxHeader); err == nil {
			h.Quictls = strings.Contains(string(b), "SSL_set_quic_method")
		}
	}
	// Prefer the newest Lua whose headers are installed; distros put them in versioned dirs.
	for _, v := range []string{"5.4", "5.3"} {
		dir := "/usr/include/lua" + v
		if fileExists(filepath.Join(dir, "lua.h")) {
			h.LuaInc, h.LuaLib, h.Lua = dir, "lua"+v, v
			break
		}
	}
	if h.LuaInc == "" {
		if p := h.find("lua.h"); p != "" {
			h.LuaInc, h.LuaLib, h.Lua = filepath.Dir(p), "lua", luaVersion(p)
		}
	}
	if _, err := exec.LookPath("make"); err != nil {
		return nil, hint.With(errors.New("no make on PATH"), "install build-essential (Debian/Ubuntu) or make (RHEL)")
	}
	return h, nil
}

// find returns the path of an include file, or "".
func (h *Host) find(header string) string {
	if header == "lua.h" && h.LuaInc != "" {
		return filepath.Join(h.LuaInc, "lua.h")
	}
	for _, d := range h.IncludeDirs {
		if p := filepath.Join(d, header); fileExists(p) {
			return p
		}
	}
	return ""
}

var (
	osslMajorRE = regexp.MustCompile(`(?m)^#\s*define\s+OPENSSL_VERSION_(MAJOR|MINOR|PATCH)\s+(\d+)`)
	osslNumRE   = regexp.MustCompile(`(?m)^#\s*define\s+OPENSSL_VERSION_NUMBER\s+0x([0-9a-fA-F]{9})L`)
	luaVerRE    = regexp.MustCompile(`(?m)^#define\s+LUA_VERSION_(MAJOR|MINOR)\s+"(\d+)"`)
)

// openSSLVersion reads the version from opensslv.h: OpenSSL 3 has MAJOR/MINOR/PATCH
// macros, 1.x only the packed OPENSSL_VERSION_NUMBER.
func openSSLVersion(path string) string {
	b, err := safefile.ReadFile(path, maxHeader)
	if err != nil {
		return ""
	}
	parts := map[string]string{}
	for _, m := range osslMajorRE.FindAllStringSubmatch(string(b), -1) {
		parts[m[1]] = m[2]
	}
	if parts["MAJOR"] != "" {
		return parts["MAJOR"] + "." + parts["MINOR"] + "." + parts["PATCH"]
	}
	if m := osslNumRE.FindStringSubmatch(string(b)); m != nil {
		var maj, min, fix int
		fmt.Sscanf(m[1][0:1], "%x", &maj)
		fmt.Sscanf(m[1][1:3], "%x", &min)
		fmt.Sscanf(m[1][3:5], "%x", &fix)
		return fmt.Sprintf("%d.%d.%d", maj, min, fix)
	}
	return ""
}

func luaVersion(path string) string {
	b, err := safefile.ReadFile(path, maxHeader)
	if err != nil {
		return ""
	}
	parts := map[string]string{}
	for _, m := range luaVerRE.FindAllStringSubmatch(string(b), -1) {
		parts[m[1]] = m[2]
	}
	if parts["MAJOR"] == "" {
		return ""
	}
	return parts["MAJOR"] + "." + parts["MINOR"]
}

// libVersion returns the host's version of a library named in a compat rule.
func (h *Host) libVersion(lib string) string {
	switch lib {
	case "openssl":
		return h.OpenSSL
	case "lua":
		return h.Lua
	}
	return ""
}

type hostStep struct{}

func (hostStep) String() string { return "host" }
func (hostStep) Run(ctx context.Context, s *State) error {
	h, err := ProbeHost(ctx)
	if err != nil {
		return err
	}
	s.Host = h
	args, err := CheckHost(s.Plan, h)
	if err != nil {
		return err
	}
	s.Result.MakeArgs = args
	s.logf("host: %s, OpenSSL %s, Lua %s", h.Compiler, orNone(h.OpenSSL), orNone(h.Lua))
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// CheckHost verifies that the host can build the plan — headers present, no known
// incompatibility left unpatched — and returns the full make arguments.
func CheckHost(plan *specs.Plan, h *Host) ([]string, error) {
	var missing, deb, rhel []string
	for _, f := range plan.Features {
		for _, hd := range f.Rule.Headers {
			if h.find(hd) == "" {
				missing = append(missing, fmt.Sprintf("%s (for %s)", hd, f.Name))
				if ph, ok := packageHints[hd]; ok {
					deb = append(deb, ph[0])
					rhel = append(rhel, ph[1])
				}
			}
		}
		if f.Rule.NeedsQuictls && !h.Quictls {
			return nil, hint.With(fmt.Errorf("QUIC in HAProxy %s needs an OpenSSL with the QUIC API (quictls); the host's OpenSSL %s has none", plan.Version, orNone(h.OpenSSL)), "build --without quic, or choose 2.9 or later (which carries an OpenSSL compatibility layer), or build against quictls")
		}
	}
	if len(missing) > 0 {
		return nil, hint.With(fmt.Errorf("missing build dependencies: %s", strings.Join(missing, ", ")), "%s", fmt.Sprintf("install them: apt-get install %s (Debian/Ubuntu) or dnf install %s (RHEL family); or build --without the feature",
			strings.Join(deb, " "), strings.Join(rhel, " ")))
	}
	for _, c := range plan.Compat {
		have := h.libVersion(c.Library)
		if have == "" {
			continue
		}
		hv, err := hversion.Parse(majorMinor(have))
		if err != nil || hv.Less(hversion.MustParse(c.LibraryFrom)) {
			continue
		}
		if c.FixedBy != "" && plan.HasPatch(c.FixedBy) {
			continue
		}
		return nil, hint.With(fmt.Errorf("HAProxy %s with %s %s: %s", plan.Version, c.Library, have, c.Problem), "%s", c.Hint)
	}
	args := plan.MakeArgs()
	if plan.Has("lua") && h.LuaInc != "" {
		args = append(args, "LUA_INC="+h.LuaInc, "LUA_LIB_NAME="+h.LuaLib)
	}
	return args, nil
}

func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v + ".0"
	}
	return parts[0] + "." + parts[1]
}
