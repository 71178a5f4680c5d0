package specs

import (
	"fmt"
	"slices"
	"strings"

	"harpy/hint"
	"harpy/hversion"
)

// Request is what the user asked for.
type Request struct {
	Version string   // "2.6.12", "2.6" (newest known on the branch) or "" (Default)
	SHA256  string   // required for a version no recipe knows, unless the mirror publishes .sha256
	With    []string // features to add to the release's defaults
	Without []string // features to remove
}

// Plan is a resolved recipe: everything the build needs, decided before any work starts.
type Plan struct {
	Version  hversion.V
	Release  *Release // nil for a version no recipe knows
	SHA256   string   // "" when it must come from the mirror's .sha256 file
	Target   string
	Features []PlannedFeature // requested, in catalog order
	Refused  []PlannedFeature // asked --without: must be absent from the binary
	Patches  []Patch
	Compat   []Compat // incompatibilities to check against the host before compiling
}

// PlannedFeature is a feature with the rule that applies to the planned version.
type PlannedFeature struct {
	Name string
	Rule Rule
}

// MakeArgs are the make variables for the plan, without host-specific ones (Lua paths).
func (p *Plan) MakeArgs() []string {
	args := []string{"TARGET=" + p.Target}
	for _, f := range p.Features {
		args = append(args, f.Rule.Make...)
	}
	return args
}

// FeatureNames lists the planned features.
func (p *Plan) FeatureNames() []string {
	var n []string
	for _, f := range p.Features {
		n = append(n, f.Name)
	}
	return n
}

// Has reports whether feature name is planned.
func (p *Plan) Has(name string) bool {
	return slices.ContainsFunc(p.Features, func(f PlannedFeature) bool { return f.Name == name })
}

// defaultFeatures are used for a version no recipe knows, filtered to what exists there.
var defaultFeatures = []string{"openssl", "pcre2", "pcre2-jit", "zlib"}

// Resolve turns a request into a plan, or says exactly what is wrong with it.
func (c *Catalog) Resolve(req Request) (*Plan, error) {
	version := req.Version
	if version == "" {
		version = Default
	}
	rel, v, err := c.Find(version)
	if err != nil {
		return nil, err
	}
	p := &Plan{Version: v, Release: rel}
	if req.SHA256 != "" {
		if !sha256RE.MatchString(req.SHA256) {
			return nil, hint.With(fmt.Errorf("bad --sha256 %q", req.SHA256), "--sha256 takes the 64 lowercase hex digits of the tarball's SHA-256")
		}
		if rel != nil && rel.SHA256 != req.SHA256 {
			return nil, hint.With(fmt.Errorf("--sha256 %s… disagrees with the recipe for %s (%s, %s…)", req.SHA256[:12], rel.Version, rel.Origin, rel.SHA256[:12]), "drop --sha256 to use the recipe's value, or override the release with --recipe")
		}
		p.SHA256 = req.SHA256
	}
	base := defaultFeatures
	if rel != nil {
		p.SHA256 = rel.SHA256
		base = rel.Features
		if p.Patches, err = rel.PatchQueue(); err != nil {
			return nil, err
		}
	} else {
		// Keep only the defaults that exist in this version.
		base = slices.DeleteFunc(slices.Clone(base), func(n string) bool { return c.Feature(n).RuleFor(v) == nil })
	}
	if p.Target, err = c.TargetFor(v); err != nil {
		return nil, err
	}

	for _, n := range append(slices.Clone(req.With), req.Without...) {
		if c.Feature(n) == nil {
			return nil, hint.With(fmt.Errorf("unknown feature %q", n), "%s", "known features: "+strings.Join(c.FeatureNames(), ", "))
		}
	}
	for _, n := range req.With {
		if slices.Contains(req.Without, n) {
			return nil, hint.With(fmt.Errorf("feature %q is both wanted and refused", n), "ask for a feature either with --with or with --without")
		}
	}
	want := map[string]bool{}
	for _, n := range base {
		want[n] = true
	}
	for _, n := range req.With {
		want[n] = true
		// Asking for pcre replaces the default pcre2 (and the other way round).
		for _, x := range c.Feature(n).Conflicts {
			if !slices.Contains(req.With, x) {
				delete(want, x)
				if x == "pcre2" {
					delete(want, "pcre2-jit")
				}
			}
		}
	}
	for _, n := range req.Without {
		delete(want, n)
	}
	for _, f := range c.Features {
		if !want[f.Name] {
			if slices.Contains(req.Without, f.Name) {
				if r := f.RuleFor(v); r != nil {
					p.Refused = append(p.Refused, PlannedFeature{Name: f.Name, Rule: *r})
				}
			}
			continue
		}
		r := f.RuleFor(v)
		if r == nil {
			return nil, hint.With(fmt.Errorf("feature %q does not exist in HAProxy %s", f.Name, v), "%s", fmt.Sprintf("%s exists from %s; build without it (--without %s) or choose a later version", f.Name, firstFrom(f), f.Name))
		}
		for _, x := range f.Requires {
			if !want[x] {
				return nil, hint.With(fmt.Errorf("feature %q needs %q", f.Name, x), "%s", fmt.Sprintf("add --with %s, or drop %s", x, f.Name))
			}
		}
		for _, x := range f.Conflicts {
			if want[x] {
				return nil, hint.With(fmt.Errorf("features %q and %q exclude each other", f.Name, x), "%s", fmt.Sprintf("keep one of them: --without %s or --without %s", f.Name, x))
			}
		}
		p.Features = append(p.Features, PlannedFeature{Name: f.Name, Rule: *r})
	}
	for _, cp := range c.Compat {
		if want[cp.Feature] && inRange(v, cp.From, cp.Until) {
			p.Compat = append(p.Compat, cp)
		}
	}
	return p, nil
}

func firstFrom(f Feature) string {
	first := ""
	for _, r := range f.Rules {
		if first == "" || hversion.MustParse(r.From).Less(hversion.MustParse(first)) {
			first = r.From
		}
	}
	return first
}

// HasPatch reports whether the plan's queue carries a patch whose name contains s.
func (p *Plan) HasPatch(s string) bool {
	return slices.ContainsFunc(p.Patches, func(q Patch) bool { return strings.Contains(q.Name, s) })
}
