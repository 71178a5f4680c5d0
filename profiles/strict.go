package profiles

import (
	"bytes"

	"github.com/pelletier/go-toml/v2"

	"harpy/hint"
)

// Positions finds where a field was written in a TOML document, by its dotted path
// ("backend.0.dns.name"); ok is false for a field the document does not hold.
type Positions func(path string) (p Pos, ok bool)

// DecodeStrict decodes a TOML document into v the way profiles are read: an unknown
// key or a wrong type is bad input reported as file:line:column, with docs named in
// the hint. It returns where each field was written, for the caller's own validation
// errors. Watch configs and inventories are read with it.
func DecodeStrict(file string, data []byte, v any, docs string) (Positions, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	pos, keyPath := indexPositions(file, data)
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(v); err != nil {
		return nil, hint.Input(hint.With(decodeError(file, err, keyPath), "see %s for the fields and their types", docs))
	}
	return Positions(pos), nil
}

// DisplayField writes a dotted field path as users read it: backend.1.dns → backend[1].dns.
func DisplayField(path string) string { return displayField(path) }
