package specs

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"harpy/hint"
	"harpy/hversion"
)

// The catalog is validated once, when it is loaded: every mistake in a recipe is reported
// with its place, before any build plans from it.

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
