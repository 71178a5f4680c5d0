package provision

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"harpy/hint"
)

// positions records where each table and key of an inventory was written, by dotted path
// ("host.web1", "host.web1.port"): the decoder keeps none for values that decode fine but
// fail the inventory's own checks (a duplicate address, an unknown group).
type positions struct {
	file string
	doc  []byte
	off  map[string]int
}

func indexPositions(file string, doc []byte) *positions {
	ps := &positions{file: file, doc: doc, off: map[string]int{}}
	var p unstable.Parser
	p.Reset(doc)
	keyOf := func(n *unstable.Node) (string, int) {
		var parts []string
		first := -1
		it := n.Key()
		for it.Next() {
			k := it.Node()
			if first < 0 {
				first = int(k.Raw.Offset)
			}
			parts = append(parts, string(k.Data))
		}
		return strings.Join(parts, "."), first
	}
	var kv func(prefix string, n *unstable.Node)
	kv = func(prefix string, n *unstable.Node) {
		k, at := keyOf(n)
		full := join(prefix, k)
		ps.record(full, at)
		if v := n.Value(); v.Kind == unstable.InlineTable {
			it := v.Children()
			for it.Next() {
				kv(full, it.Node())
			}
		}
	}
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			kv(prefix, e)
		case unstable.Table, unstable.ArrayTable:
			k, at := keyOf(e)
			prefix = k
			ps.record(k, at)
		}
	}
	return ps
}

// record keeps the first place a path was written, and every dotted parent of it.
func (ps *positions) record(path string, at int) {
	for {
		if _, ok := ps.off[path]; !ok && at >= 0 {
			ps.off[path] = at
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return
		}
		path = path[:i]
	}
}

// offset of path or of its nearest written parent; -1 if none.
func (ps *positions) offset(path string) int {
	for {
		if off, ok := ps.off[path]; ok {
			return off
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return -1
		}
		path = path[:i]
	}
}

// at is file:line:column of path (or of its nearest written parent).
func (ps *positions) at(path string) string {
	off := ps.offset(path)
	if off < 0 || off > len(ps.doc) {
		return ps.file
	}
	line := 1 + bytes.Count(ps.doc[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(ps.doc[:off], '\n')
	return fmt.Sprintf("%s:%d:%d", ps.file, line, col)
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "." + b
}

// decodeError turns go-toml's errors into file:line:column: field: message, one line per
// unknown field.
func decodeError(file string, err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) {
		var lines []string
		for i := range sm.Errors {
			e := &sm.Errors[i]
			l, c := e.Position()
			lines = append(lines, fmt.Sprintf("%s:%d:%d: %s: unknown field", file, l, c, strings.Join(e.Key(), ".")))
		}
		return hint.Input(hint.With(errors.New(strings.Join(lines, "\n")), "`harpy provision --help` lists the fields an inventory can have (check the spelling)"))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		l, c := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if k := strings.Join(de.Key(), "."); k != "" {
			msg = k + ": " + msg
		}
		return hint.Input(hint.With(fmt.Errorf("%s:%d:%d: %s", file, l, c, msg), "fix the value's type or the TOML syntax"))
	}
	return hint.Input(hint.With(fmt.Errorf("%s: %w", file, err), "fix the TOML syntax"))
}
