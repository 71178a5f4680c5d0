package specs

import (
	"fmt"
	"io/fs"
	"regexp"
	"sort"

	"harpy/hint"
	"harpy/hversion"
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
