package specs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"harpy/hint"
	"harpy/hversion"
	"harpy/safefile"
)

// Release is one known HAProxy release.
type Release struct {
	Version  string   `toml:"version"`
	SHA256   string   `toml:"sha256"`
	URL      string   `toml:"url"`      // optional: overrides the upstream download URL
	Features []string `toml:"features"` // built by default
	Patches  []string `toml:"patches"`  // applied in order

	V      hversion.V `toml:"-"`
	Origin string     `toml:"-"` // "embedded" or the user file it came from
	dir    string     // directory of a user file, to find its patches
}

// Feature is a build feature and its make flags by version.
type Feature struct {
	Name        string   `toml:"name"`
	Description string   `toml:"description"`
	Requires    []string `toml:"requires"`
	Conflicts   []string `toml:"conflicts"`
	Rules       []Rule   `toml:"rule"`
}

// Rule says how a feature is built in the versions [From, Until).
type Rule struct {
	From         string   `toml:"from"`
	Until        string   `toml:"until"`
	Make         []string `toml:"make"`
	Headers      []string `toml:"headers"`
	Proof        []string `toml:"proof"`
	NeedsQuictls bool     `toml:"needs_quictls"`
}

// Target is the make TARGET for a version range.
type Target struct {
	From  string `toml:"from"`
	Until string `toml:"until"`
	Name  string `toml:"name"`
}

// Compat is a known incompatibility between a release range and a host library version.
type Compat struct {
	Feature     string `toml:"feature"`
	From        string `toml:"from"`
	Until       string `toml:"until"`
	Library     string `toml:"library"`
	LibraryFrom string `toml:"library_from"`
	FixedBy     string `toml:"fixed_by"`
	Problem     string `toml:"problem"`
	Hint        string `toml:"hint"`
}

// Catalog is everything harpy knows about building HAProxy.
type Catalog struct {
	Releases []*Release // sorted by version
	Features []Feature
	Targets  []Target
	Compat   []Compat
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Load reads the embedded recipes, then each user file in order; a user release replaces
// the embedded one with the same version.
func Load(userFiles ...string) (*Catalog, error) {
	c := &Catalog{}
	var feat struct {
		Feature []Feature `toml:"feature"`
		Compat  []Compat  `toml:"compat"`
	}
	if err := decodeEmbedded("features.toml", &feat); err != nil {
		return nil, err
	}
	c.Features, c.Compat = feat.Feature, feat.Compat
	var tg struct {
		Target []Target `toml:"target"`
	}
	if err := decodeEmbedded("targets.toml", &tg); err != nil {
		return nil, err
	}
	c.Targets = tg.Target
	if err := c.validate(); err != nil {
		return nil, err
	}
	names, _ := fs.Glob(files, "releases/*.toml")
	for _, n := range names {
		var rf releaseFile
		if err := decodeEmbedded(n, &rf); err != nil {
			return nil, err
		}
		for _, r := range rf.Release {
			r.Origin = "embedded " + n
			if err := c.add(r, false); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range userFiles {
		if err := c.loadUser(f); err != nil {
			return nil, err
		}
	}
	sort.Slice(c.Releases, func(i, j int) bool { return c.Releases[i].V.Less(c.Releases[j].V) })
	return c, nil
}

var makeVarRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*=`)

// validate checks the embedded knowledge (features, targets, compat) once, when it is
// loaded, so that a mistake in it is reported with its place — every mistake, not only
// the first — instead of panicking in a version comparison or building with a flag
// make ignores.
func (c *Catalog) validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	version := func(where, field, v string, required bool) {
		if v == "" {
			if required {
				bad("%s: %s is required", where, field)
			}
			return
		}
		if _, err := hversion.Parse(v); err != nil {
			bad("%s: %s %q is not a version", where, field, v)
		}
	}
	seen := map[string]bool{}
	for i, f := range c.Features {
		where := fmt.Sprintf("features.toml: feature %d (%q)", i+1, f.Name)
		if f.Name == "" {
			bad("%s: name is required", where)
		} else if seen[f.Name] {
			bad("%s: duplicate name", where)
		}
		seen[f.Name] = true
		if len(f.Rules) == 0 {
			bad("%s: no [[feature.rule]]", where)
		}
		for j, r := range f.Rules {
			w := fmt.Sprintf("%s rule %d", where, j+1)
			version(w, "from", r.From, true)
			version(w, "until", r.Until, false)
			for _, m := range r.Make {
				if !makeVarRE.MatchString(m) {
					bad("%s: make %q is not VAR=value", w, m)
				}
			}
			for _, pr := range r.Proof {
				switch {
				case strings.HasPrefix(pr, "+") && len(pr) > 1:
				case len(pr) > 2 && strings.HasPrefix(pr, "/") && strings.HasSuffix(pr, "/"):
					if _, err := regexp.Compile(pr[1 : len(pr)-1]); err != nil {
						bad("%s: proof %q: %v", w, pr, err)
					}
				default:
					bad("%s: proof %q is neither +TOKEN nor /regexp/", w, pr)
				}
			}
		}
	}
	for i, f := range c.Features {
		for _, x := range append(slices.Clone(f.Requires), f.Conflicts...) {
			if !seen[x] {
				bad("features.toml: feature %d (%q): requires or conflicts with unknown feature %q", i+1, f.Name, x)
			}
		}
	}
	for i, t := range c.Targets {
		where := fmt.Sprintf("targets.toml: target %d (%q)", i+1, t.Name)
		if t.Name == "" {
			bad("%s: name is required", where)
		}
		version(where, "from", t.From, false)
		version(where, "until", t.Until, false)
	}
	for i, cp := range c.Compat {
		where := fmt.Sprintf("features.toml: compat %d (%s)", i+1, cp.Feature)
		if !seen[cp.Feature] {
			bad("%s: unknown feature %q", where, cp.Feature)
		}
		if cp.Library != "openssl" && cp.Library != "lua" {
			bad("%s: library %q is not openssl or lua", where, cp.Library)
		}
		version(where, "from", cp.From, false)
		version(where, "until", cp.Until, false)
		version(where, "library_from", cp.LibraryFrom, true)
		if cp.Problem == "" || cp.Hint == "" {
			bad("%s: problem and hint are required", where)
		}
	}
	if len(errs) > 0 {
		return hint.With(fmt.Errorf("embedded recipes: %s", strings.Join(errs, "; ")), "this is a bug in harpy's embedded recipes (specs/*.toml); fix the entries named")
	}
	return nil
}

// UserRecipeFiles lists the recipe files in the user's config dir (harpy/recipes/*.toml),
// which are loaded without a flag.
func UserRecipeFiles() []string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return nil
	}
	m, _ := filepath.Glob(filepath.Join(dir, "harpy", "recipes", "*.toml"))
	return m
}

type releaseFile struct {
	Release []*Release `toml:"release"`
}

func decodeEmbedded(name string, v any) error {
	b, err := files.ReadFile(name)
	if err != nil {
		return err
	}
	return decodeStrict(name, b, v)
}

// decodeStrict decodes TOML refusing unknown keys, with errors that name file:line:column.
func decodeStrict(name string, b []byte, v any) error {
	d := toml.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	err := d.Decode(v)
	if err == nil {
		return nil
	}
	var se *toml.StrictMissingError
	if errors.As(err, &se) && len(se.Errors) > 0 {
		e := se.Errors[0]
		row, col := e.Position()
		return hint.With(fmt.Errorf("%s:%d:%d: unknown key %q", name, row, col, strings.Join(e.Key(), ".")), "known keys of a release: version, sha256, url, features, patches")
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return hint.With(fmt.Errorf("%s:%d:%d: %s", name, row, col, de.Error()), "fix the TOML syntax or the value's type at that place")
	}
	return fmt.Errorf("%s: %w", name, err)
}

func (c *Catalog) loadUser(file string) error {
	b, err := readUser(file, safefile.MaxConfig, "pass a recipe TOML file to --recipe")
	if err != nil {
		return fmt.Errorf("read recipe: %w", err)
	}
	var rf releaseFile
	if err := decodeStrict(file, b, &rf); err != nil {
		return hint.Input(err)
	}
	if len(rf.Release) == 0 {
		return hint.Input(hint.With(fmt.Errorf("%s: no [[release]] in recipe file", file), "add a [[release]] table with version and sha256"))
	}
	for _, r := range rf.Release {
		r.Origin = file
		r.dir = filepath.Dir(file)
		if err := c.add(r, true); err != nil {
			return hint.Input(err)
		}
	}
	return nil
}

// add validates r and puts it into the catalog, replacing a release of the same version
// when replace is set.
func (c *Catalog) add(r *Release, replace bool) error {
	where := func(field string) string { return fmt.Sprintf("%s: release %q: %s", r.Origin, r.Version, field) }
	v, err := hversion.Parse(r.Version)
	if err != nil || v.Patch < 0 {
		return hint.With(fmt.Errorf("%s", where("version is not a release number")), "%s", "write the full release number, e.g. version = \"2.6.12\"")
	}
	r.V = v
	if !sha256RE.MatchString(r.SHA256) {
		return hint.With(fmt.Errorf("%s", where("sha256 must be 64 lowercase hex digits")), "sha256 is the 64 lowercase hex digits published beside the tarball (haproxy-V.tar.gz.sha256)")
	}
	for _, f := range r.Features {
		if c.Feature(f) == nil {
			return hint.With(fmt.Errorf("%s", where("unknown feature "+f)), "%s", "known features: "+strings.Join(c.FeatureNames(), ", "))
		}
	}
	for _, p := range r.Patches {
		if strings.Contains(p, "..") || filepath.IsAbs(p) || p == "" {
			return hint.With(fmt.Errorf("%s", where("patch path "+p+" must be relative and stay inside the recipe's directory")), "name a patch file beside the recipe, or an embedded one")
		}
		if _, err := r.patch(p); err != nil {
			err = fmt.Errorf("%s: %w", where("patch "+p), err)
			if errors.Is(err, fs.ErrNotExist) {
				err = hint.With(err, "put the patch file beside the recipe, or name an embedded patch: %s", strings.Join(EmbeddedPatches(), ", "))
			}
			return err
		}
	}
	for i, old := range c.Releases {
		if old.V.Compare(v) == 0 {
			if !replace {
				return fmt.Errorf("%s: duplicate release (also in %s)", where("version"), old.Origin)
			}
			c.Releases[i] = r
			return nil
		}
	}
	c.Releases = append(c.Releases, r)
	return nil
}

// patch reads a patch by name: beside a user recipe first, then embedded.
func (r *Release) patch(name string) ([]byte, error) {
	if r.dir != "" {
		b, err := readUser(filepath.Join(r.dir, name), safefile.MaxPatch, "put the patch file beside the recipe, or use an embedded patch name")
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return files.ReadFile(path.Join("patches", name))
}

// readUser reads a file the user named (a recipe, a patch beside it): a regular file of at
// most max bytes, opened without blocking. The error names the path, says why and is
// marked as bad input; the hint is safefile's, or fix when it has none.
func readUser(file string, max int64, fix string) ([]byte, error) {
	b, err := safefile.ReadFile(file, max)
	if err != nil {
		if hint.Of(err) == "" {
			err = hint.With(err, "%s", fix)
		}
		return nil, hint.Input(err)
	}
	return b, nil
}

// EmbeddedPatches lists the patch names a recipe can use without a file of its own.
func EmbeddedPatches() []string {
	ents, _ := fs.ReadDir(files, "patches")
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

// Feature returns the named feature, or nil.
func (c *Catalog) Feature(name string) *Feature {
	for i := range c.Features {
		if c.Features[i].Name == name {
			return &c.Features[i]
		}
	}
	return nil
}

// FeatureNames lists the known feature names.
func (c *Catalog) FeatureNames() []string {
	var n []string
	for _, f := range c.Features {
		n = append(n, f.Name)
	}
	return n
}

// Default is the release harpy builds when none is asked for: the newest known release
// that builds on a current host with OpenSSL 3 and whose tarball these machines serve.
const Default = "2.6.12"

// Find returns the release for "2.6.12", or the newest known one of a branch for "2.6".
// An unknown full version returns (nil, nil): it can still be built with a sha256 given.
func (c *Catalog) Find(version string) (*Release, hversion.V, error) {
	v, err := hversion.Parse(version)
	if err != nil {
		return nil, v, err
	}
	var best *Release
	for _, r := range c.Releases {
		if v.Patch < 0 && r.V.Major == v.Major && r.V.Minor == v.Minor && r.V.Suffix == "" {
			best = r
		}
		if v.Patch >= 0 && r.V.Compare(v) == 0 && r.V.Suffix == v.Suffix {
			return r, v, nil
		}
	}
	if best != nil {
		return best, best.V, nil
	}
	if v.Patch < 0 {
		return nil, v, hint.With(fmt.Errorf("no known release on branch %s", v.Branch()), "run `harpy versions` for the known releases, or give a full version with --sha256")
	}
	return nil, v, nil
}

// inRange reports whether v is in [from, until); empty bounds are open.
func inRange(v hversion.V, from, until string) bool {
	if from != "" && v.Less(hversion.MustParse(from)) {
		return false
	}
	if until != "" && !v.Less(hversion.MustParse(until)) {
		return false
	}
	return true
}

// RuleFor returns the rule of f that applies to v, or nil when f does not exist in v.
func (f *Feature) RuleFor(v hversion.V) *Rule {
	for i := range f.Rules {
		if inRange(v, f.Rules[i].From, f.Rules[i].Until) {
			return &f.Rules[i]
		}
	}
	return nil
}

// TargetFor returns the make TARGET for v.
func (c *Catalog) TargetFor(v hversion.V) (string, error) {
	for _, t := range c.Targets {
		if inRange(v, t.From, t.Until) {
			return t.Name, nil
		}
	}
	return "", hint.With(fmt.Errorf("no make TARGET known for HAProxy %s", v), "harpy knows how to build 1.5 and later")
}

// Patch is one entry of a patch queue with its content.
type Patch struct {
	Name string
	Data []byte
}

// PatchQueue reads the release's patches in order.
func (r *Release) PatchQueue() ([]Patch, error) {
	var q []Patch
	for _, n := range r.Patches {
		b, err := r.patch(n)
		if err != nil {
			return nil, fmt.Errorf("patch %s: %w", n, err)
		}
		q = append(q, Patch{Name: n, Data: b})
	}
	return q, nil
}

// Versions lists the known release numbers, oldest first.
func (c *Catalog) Versions() []string {
	var out []string
	for _, r := range c.Releases {
		out = append(out, r.Version)
	}
	return out
}
