package profiles

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"harpy/hint"
	"harpy/safefile"
)

// Default is the profile packages install when nobody chose one.
const Default = "web-lb"

//go:embed embedded/*.toml
var embedded embed.FS

// maxExtends bounds `extends` chains (and so catches cycles).
const maxExtends = 8

// Info describes an embedded profile.
type Info struct {
	Name, Description string
}

// List returns the embedded profiles, sorted by name.
func List() ([]Info, error) {
	ents, err := fs.ReadDir(embedded, "embedded")
	if err != nil {
		return nil, fmt.Errorf("list embedded profiles: %w", err)
	}
	var out []Info
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ".toml")
		p, err := Load(context.Background(), name)
		if err != nil {
			return nil, err
		}
		out = append(out, Info{Name: name, Description: p.Description})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Embedded returns the source of an embedded profile.
func Embedded(name string) ([]byte, bool) {
	if !isIdent(name) {
		return nil, false
	}
	b, err := embedded.ReadFile("embedded/" + name + ".toml")
	return b, err == nil
}

// Load reads an embedded profile by name, or a profile file by path, resolves its
// `extends` chain, applies sets (KEY=VALUE, see `harpy render --set`) and validates
// the result.
func Load(ctx context.Context, nameOrPath string, sets ...string) (*Profile, error) {
	ly, err := loadTree(ctx, nameOrPath, "", 0)
	if err != nil {
		return nil, err
	}
	if len(sets) > 0 {
		l := layers{"": {ly.pos, ""}}
		if err := applySets(ly.tree, sets, l); err != nil {
			return nil, err
		}
		ly.pos, ly.single = l.pos, nil
	}
	return fromTree(nameOrPath, ly)
}

// Parse reads a profile from bytes; file names it in errors. An `extends` names an
// embedded profile or a file relative to the current directory.
func Parse(ctx context.Context, file string, data []byte) (*Profile, error) {
	ly, err := parseTree(ctx, file, data, 0)
	if err != nil {
		return nil, err
	}
	return fromTree(file, ly)
}

// layer is a profile document as a tree, merged over what it extends; single is the
// document decoded as is when nothing was merged into it (the common, fast case).
type layer struct {
	tree   map[string]any
	pos    posFunc
	single *Profile
}

func fromTree(name string, ly *layer) (*Profile, error) {
	p := ly.single
	if p == nil {
		delete(ly.tree, "extends")
		b, err := toml.Marshal(ly.tree)
		if err != nil {
			return nil, fmt.Errorf("profile %s: re-encode merged profile: %w", printable(name), err)
		}
		p = &Profile{}
		if err := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields().Decode(p); err != nil {
			// Every layer was decoded strictly on its own, so this is a bug in merging.
			return nil, fmt.Errorf("profile %s: decode merged profile: %w", printable(name), err)
		}
	}
	p.Extends = ""
	p.Name = name
	p.pos = ly.pos
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func loadTree(ctx context.Context, nameOrPath, relTo string, depth int) (*layer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b, ok := Embedded(nameOrPath); ok {
		return parseTree(ctx, nameOrPath+".toml", b, depth)
	}
	path := nameOrPath
	if relTo != "" && !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(relTo), path)
	}
	b, err := safefile.ReadFile(path, safefile.MaxConfig)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(nameOrPath, "/.") {
			return nil, hint.Input(hint.With(fmt.Errorf("profile %q: no embedded profile and no file of that name", nameOrPath), "`harpy profiles` lists the embedded profiles; a file needs its path"))
		}
		err = fmt.Errorf("read profile: %w", err)
		if hint.Of(err) == "" {
			err = hint.With(err, "give an embedded profile name or a readable TOML file")
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
			errors.Is(err, safefile.ErrNotRegular) || errors.Is(err, safefile.ErrTooLarge) {
			// The path the user gave is wrong; a read error of the disk is not their input.
			err = hint.Input(err)
		}
		return nil, err
	}
	return parseTree(ctx, path, b, depth)
}

// parseTree strictly decodes one layer (unknown keys and wrong types are reported with
// their position) and returns it as a tree merged over what it extends.
func parseTree(ctx context.Context, file string, data []byte, depth int) (*layer, error) {
	// Editors on Windows start UTF-8 files with a byte order mark; TOML does not allow
	// it. Positions are counted without it, as the editor shows them.
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	pos, keyPath := indexPositions(file, data)
	strict := &Profile{}
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(strict); err != nil {
		return nil, decodeError(file, err, keyPath)
	}
	var tree map[string]any
	if err := toml.Unmarshal(data, &tree); err != nil {
		return nil, decodeError(file, err, keyPath)
	}
	if strict.Extends == "" {
		return &layer{tree: tree, pos: pos, single: strict}, nil
	}
	if depth >= maxExtends {
		at, _ := pos("extends")
		return nil, hint.Input(hint.With(fmt.Errorf("%s: extends: more than %d levels (a cycle?)", at, maxExtends), "remove the cycle in the extends chain"))
	}
	rel := file
	if _, ok := Embedded(strings.TrimSuffix(file, ".toml")); ok {
		rel = ""
	}
	base, err := loadTree(ctx, strict.Extends, rel, depth+1)
	if err != nil {
		at, _ := pos("extends")
		return nil, fmt.Errorf("%s: extends %q: %w", at, strict.Extends, err)
	}
	l := layers{"": {base.pos, ""}}
	merged := mergeTables(base.tree, tree, "", pos, l)
	return &layer{tree: merged, pos: l.pos}, nil
}

// decodeError turns go-toml's errors into file:line:column: field: message, marked as
// bad input.
func decodeError(file string, err error, keyPath func(line, col int) string) error {
	return hint.Input(describeDecodeError(file, err, keyPath))
}

func describeDecodeError(file string, err error, keyPath func(line, col int) string) error {
	file = printable(file)
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		var lines []string
		for i := range sm.Errors {
			e := &sm.Errors[i]
			l, c := e.Position()
			field := keyPath(l, c) // go-toml's Key() drops inline-table parents
			if field == "" {
				field = strings.Join(e.Key(), ".")
			}
			lines = append(lines, fmt.Sprintf("%s:%d:%d: %s: unknown field", file, l, c, displayField(field)))
		}
		return hint.With(fmt.Errorf("%s", strings.Join(lines, "\n")), "see docs/profiles.md for the fields a profile can have (check the spelling)")
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		l, c := de.Position()
		field := strings.Join(de.Key(), ".")
		msg := typeMessage(strings.TrimPrefix(de.Error(), "toml: "))
		if field != "" {
			return hint.With(fmt.Errorf("%s:%d:%d: %s: %s", file, l, c, displayField(field), printable(msg)), "fix the value's type or the TOML syntax; see docs/profiles.md")
		}
		return hint.With(fmt.Errorf("%s:%d:%d: %s", file, l, c, printable(msg)), "fix the TOML syntax")
	}
	return hint.With(fmt.Errorf("%s: %s", file, printable(err.Error())), "fix the TOML syntax")
}

var mismatchRE = regexp.MustCompile(`^cannot decode TOML (\w+) into .*?(?:of )?type (\S+)$`)

// typeMessage says a type mismatch in TOML's words, not Go's.
func typeMessage(msg string) string {
	m := mismatchRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want := "a table"
	switch t := strings.TrimPrefix(m[2], "*"); {
	case t == "int" || t == "int64":
		want = "an integer"
	case t == "string":
		want = "a string"
	case t == "bool":
		want = "true or false"
	case t == "[]string":
		want = "an array of strings"
	case strings.HasPrefix(t, "[]"):
		want = "an array of tables"
	}
	return fmt.Sprintf("want %s, not a TOML %s", want, m[1])
}
