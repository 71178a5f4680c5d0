package packaging

import (
	"errors"
	"fmt"
	"harpy/distro"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"harpy/hint"
)

// Validate checks every option that needs no staged tree: name, version (when set),
// release, formats, dist, compression, every metadata field, the signing key and the
// output directory. It writes nothing and reads only the signing key, so the build's
// preflight and `harpy spec` call it before any fetch or compile; Build and ExportSpec
// check the same again. Every error is bad input (hint.Input) and names the flag (or
// the Options field) and the fix.
func (o Options) Validate() error { return o.fill().check() }

var (
	nameRE    = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9+._-]*$`)
	versionRE = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`)
	// A release is valid in both rpm (no '-') and Debian revision syntax.
	releaseRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+~]*$`)
	archRE    = regexp.MustCompile(`^[a-z0-9_]+$`)
	hostRE    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
	// "Name <email>", as Debian's Maintainer and rpm's changelog author want it.
	personRE = regexp.MustCompile(`^[^<>]*[^<>\s] <[^<>\s@]+@[^<>\s@]+>$`)
)

// Limits of the metadata fields: far above real values, far below a flood.
const (
	maxWord      = 64   // name, version, release, arch
	maxLine      = 200  // single-line text fields
	maxTextLine  = 1000 // one line of the description or a changelog entry
	maxTextTotal = 16 << 10
)

// check validates filled-in options (see fill).
func (o Options) check() error {
	for _, c := range []func() error{o.checkWords, o.checkFormats, o.checkMetadata} {
		if err := c(); err != nil {
			return hint.Input(err)
		}
	}
	if err := checkCompression(o.Compression); err != nil {
		return hint.Input(err)
	}
	if len(o.Config) == 0 {
		return hint.Input(hint.With(errors.New("no haproxy.cfg given"), "render one first (harpy render) and pass it in"))
	}
	if o.SignKey != "" {
		if err := checkSigningKey(o.SignKey, o.SignPassphrase); err != nil {
			return hint.Input(err)
		}
	}
	return hint.Input(checkOutDir(o.OutDir))
}

func (o Options) checkWords() error {
	words := []struct {
		flag, value string
		re          *regexp.Regexp
		hint        string
	}{
		{"package name", o.Name, nameRE, "use letters, digits and . _ + -, starting with a letter or digit"},
		{"--version", o.Version, versionRE, "pass the upstream version, e.g. 2.6.12"},
		{"--release", o.Release, releaseRE, "use letters, digits and . + ~, starting with a letter or digit, e.g. --release 2"},
		{"Arch", o.Arch, archRE, "use rpm's name of the architecture, e.g. x86_64 or aarch64, or leave it empty to read it from the binary"},
		{"BuildHost", o.BuildHost, hostRE, "use a host name: letters, digits, . and -"},
	}
	for _, w := range words {
		if w.value == "" && (w.flag == "--version" || w.flag == "Arch") {
			continue // set later, from the build
		}
		if len(w.value) > maxWord || !w.re.MatchString(w.value) {
			return hint.With(fmt.Errorf("%s: %q is not valid", w.flag, w.value), "%s", w.hint)
		}
	}
	return nil
}

// CheckTarget checks the formats and the dist alone (default formats: rpm), for callers
// that render files for the dist before they have the whole Options to Validate.
func CheckTarget(formats []string, dist string) error {
	return hint.Input(Options{Formats: formats, Dist: dist}.fill().checkFormats())
}

func (o Options) checkFormats() error {
	seen := map[string]bool{}
	for _, f := range o.Formats {
		if f != "rpm" && f != "deb" {
			return hint.With(fmt.Errorf("--format: unknown format %q", f), "use --format rpm, deb or rpm,deb")
		}
		if seen[f] {
			return hint.With(fmt.Errorf("--format: %q given twice", f), "name each format once")
		}
		seen[f] = true
	}
	if seen["rpm"] {
		if o.Dist == "" {
			return hint.With(errors.New("--dist: an RPM needs a dist"), "pass --dist el9 (or el6, el7, el8, el10); see `harpy build --help`")
		}
		if _, err := distLayout(o.Dist, "rpm"); err != nil {
			return err
		}
	} else if o.Dist != "" {
		if _, err := distro.Lookup(o.Dist); err != nil {
			return fmt.Errorf("--dist: %w", err)
		}
	}
	return nil
}

// checkMetadata keeps every text that reaches the .deb control file, the RPM header
// or the exported .spec to what it claims to be: one printable line for the
// single-line fields, and for the description and changelog lines that cannot start
// a control field or an rpm spec section.
func (o Options) checkMetadata() error {
	person := "use \"Name <email>\" on one line, e.g. \"Ops <ops@localhost>\""
	packager, maintainer := o.packagerFlag, o.maintainerFlag
	fields := []struct {
		flag, value string
		person      bool
		hint        string
	}{
		{"Summary", o.Summary, false, "give a one-line summary"},
		{"License", o.License, false, "give the license on one line, e.g. GPLv2+"},
		{"--vendor", o.Vendor, false, "give the vendor on one line"},
		{"Group", o.Group, false, "give the RPM group on one line"},
		{packager, o.Packager, true, person},
		{maintainer, o.Maintainer, true, person},
	}
	for _, f := range fields {
		if why := oneLine(f.value); why != "" {
			return hint.With(fmt.Errorf("%s: %q %s", f.flag, f.value, why), "%s", f.hint)
		}
		if f.person && !personRE.MatchString(f.value) {
			return hint.With(fmt.Errorf("%s: %q is not \"Name <email>\"", f.flag, f.value), "%s", f.hint)
		}
	}
	if err := checkURL(o.URL); err != nil {
		return err
	}
	if why := text(o.Description); why != "" {
		return hint.With(fmt.Errorf("Description: %s", why), "write plain lines of text; a line may not start with %%")
	}
	for i, c := range o.Changelog {
		if why := oneLine(c.Author); why != "" || !personRE.MatchString(c.Author) {
			return hint.With(fmt.Errorf("changelog entry %d: author %q is not \"Name <email>\"", i+1, c.Author), "%s", person)
		}
		if why := text(c.Text); why != "" {
			return hint.With(fmt.Errorf("changelog entry %d: %s", i+1, why), "write plain lines of text")
		}
	}
	return nil
}

func checkURL(s string) error {
	h := "give an absolute http or https URL without spaces, e.g. https://www.haproxy.org/"
	if why := oneLine(s); why != "" {
		return hint.With(fmt.Errorf("URL: %q %s", s, why), "%s", h)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(s, " \"'<>\\`") {
		return hint.With(fmt.Errorf("URL: %q is not an http or https URL", s), "%s", h)
	}
	return nil
}

// oneLine says what is wrong with a single-line field, or "".
func oneLine(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case len(s) > maxLine:
		return fmt.Sprintf("is longer than %d bytes", maxLine)
	case strings.TrimSpace(s) != s:
		return "has leading or trailing space"
	}
	for _, r := range s {
		if r == '\n' || r == '\r' {
			return "holds a line break"
		}
		if r != ' ' && !unicode.IsPrint(r) {
			return fmt.Sprintf("holds the control character %U", r)
		}
	}
	return ""
}

// text says what is wrong with a multi-line field (the description, a changelog
// entry), or "". Lines are printable; none may start with % (rpm would take it for a
// spec section such as %post); the .deb control file indents every line, so none can
// start a field there.
func text(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if len(s) > maxTextTotal {
		return fmt.Sprintf("is longer than %d bytes", maxTextTotal)
	}
	for i, line := range strings.Split(s, "\n") {
		if len(line) > maxTextLine {
			return fmt.Sprintf("line %d is longer than %d bytes", i+1, maxTextLine)
		}
		for _, r := range line {
			if r != ' ' && !unicode.IsPrint(r) {
				return fmt.Sprintf("line %d holds the control character %U", i+1, r)
			}
		}
		if strings.HasPrefix(strings.TrimSpace(line), "%") {
			return fmt.Sprintf("line %d starts with %%, which would start an rpm spec section", i+1)
		}
	}
	return ""
}

func checkCompression(c string) error {
	h := "use gzip, gzip:LEVEL (1-9), xz, zstd or zstd:LEVEL (1-22), e.g. --compression zstd:19"
	algo, level, hasLevel := strings.Cut(c, ":")
	max := map[string]int{"gzip": 9, "xz": 0, "zstd": 22}[algo]
	if !slices.Contains([]string{"gzip", "xz", "zstd"}, algo) {
		return hint.With(fmt.Errorf("--compression: unknown compression %q", c), "%s", h)
	}
	if hasLevel {
		n, err := strconv.Atoi(level)
		if err != nil || n < 1 || n > max || strconv.Itoa(n) != level {
			return hint.With(fmt.Errorf("--compression: bad level in %q", c), "%s", h)
		}
	}
	return nil
}

// checkOutDir proves, without creating anything, that the output directory is a
// directory that takes files or can be made: the nearest existing ancestor must be a
// writable directory.
func checkOutDir(dir string) error {
	h := "pass --out with a directory you can write to"
	if dir == "" {
		return hint.With(errors.New("--out: no output directory given"), "%s", h)
	}
	for p := dir; ; {
		fi, err := os.Stat(p)
		switch {
		case err == nil && !fi.IsDir():
			return hint.With(fmt.Errorf("--out %s: %s is not a directory", dir, p), "%s", h)
		case err == nil:
			f, err := os.CreateTemp(p, ".harpy-probe-*")
			if err != nil {
				return hint.With(fmt.Errorf("--out %s: %s is not writable: %w", dir, p, errors.Unwrap(err)), "%s", h)
			}
			f.Close()
			return os.Remove(f.Name())
		case !errors.Is(err, fs.ErrNotExist):
			return hint.With(fmt.Errorf("--out %s: %w", dir, err), "%s", h)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return hint.With(fmt.Errorf("--out %s: %w", dir, err), "%s", h)
		}
		p = parent
	}
}

// makeOutDir creates the output directory (checked by checkOutDir).
func makeOutDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return hint.With(fmt.Errorf("output directory %s: %w", dir, err), "pass --out with a directory you can write to")
	}
	return nil
}
