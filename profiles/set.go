package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"harpy/hint"
)

// applySets applies --set KEY=VALUE overrides to a merged tree. KEY is a dotted path in
// which a list of named tables (frontend, backend, listen, servers, acl) is indexed by
// name: backend.app.servers.web10.address=127.0.0.1:8080. VALUE is a TOML value, or a
// plain string when it does not parse as one.
func applySets(tree map[string]any, sets []string, l layers) error {
	for i, s := range sets {
		key, raw, ok := strings.Cut(s, "=")
		at := Pos{File: fmt.Sprintf("--set %s", key)} // Pos.String escapes it
		if !ok || key == "" {
			return hint.Input(hint.With(fmt.Errorf("--set %q: no KEY=VALUE", s), "write --set section.field=value, e.g. --set global.maxconn=8000"))
		}
		var val any
		var doc map[string]any
		if err := toml.Unmarshal([]byte("v = "+raw), &doc); err == nil {
			val = doc["v"]
		} else {
			val = raw
		}
		path, err := setPath(tree, strings.Split(key, "."), val)
		if err != nil {
			return hint.Input(hint.With(fmt.Errorf("--set %s (#%d): %w", printable(key), i+1, err), "name list entries by their name: backend.NAME.servers.NAME.address=IP:PORT"))
		}
		if err := checkType(path, val); err != nil {
			return hint.Input(hint.With(fmt.Errorf("--set %s: %s: %w", printable(key), displayField(path), err), "give a value of the field's type (docs/profiles.md)"))
		}
		l[path] = layerRef{pos: func(string) (Pos, bool) { return at, true }}
	}
	return nil
}

// setPath sets val at parts and returns the numeric path of what it set.
func setPath(node map[string]any, parts []string, val any) (string, error) {
	path := ""
	for i := 0; i < len(parts); i++ {
		k := parts[i]
		if k == "" {
			return "", fmt.Errorf("empty key part")
		}
		path = join(path, k)
		if i == len(parts)-1 {
			node[k] = val
			return path, nil
		}
		switch next := node[k].(type) {
		case map[string]any:
			node = next
		case []any:
			if i+1 >= len(parts)-1 {
				return "", fmt.Errorf("%s is a list: name an entry and a field", printable(path))
			}
			name := parts[i+1]
			found := false
			for j, e := range next {
				if t, ok := e.(map[string]any); ok && t["name"] == name {
					node, path, found = t, join(path, strconv.Itoa(j)), true
					break
				}
			}
			if !found {
				return "", fmt.Errorf("%s has no entry named %q", printable(path), name)
			}
			i++
		case nil:
			m := map[string]any{}
			node[k] = m
			node = m
		default:
			return "", fmt.Errorf("%s is a value, not a table", printable(path))
		}
	}
	return path, nil
}

// checkType decodes val alone at path into a Profile, strictly, so a --set of the wrong
// type or an unknown field fails like it would in a file.
func checkType(path string, val any) error {
	parts := strings.Split(path, ".")
	var build func(i int) any
	build = func(i int) any {
		if i == len(parts) {
			return val
		}
		if i+1 < len(parts) {
			if _, err := strconv.Atoi(parts[i+1]); err == nil {
				return map[string]any{parts[i]: []any{build(i + 2)}}
			}
		}
		return map[string]any{parts[i]: build(i + 1)}
	}
	b, err := toml.Marshal(build(0))
	if err != nil {
		return err
	}
	var p Profile
	err = toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields().Decode(&p)
	var sm *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &sm):
		return fmt.Errorf("unknown field")
	case errors.As(err, &de):
		return errors.New(typeMessage(strings.TrimPrefix(de.Error(), "toml: ")))
	}
	return err
}
