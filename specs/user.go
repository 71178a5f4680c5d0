package specs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"harpy/hint"
	"harpy/hversion"
	"harpy/safefile"
)

// User recipes: files given with --recipe or found in the user's config dir, decoded
// strictly and laid over the embedded releases.

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
