package profiles

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Pos is a place in a profile file, 1-based.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// posFunc finds where the value at a dotted field path ("listen.0.servers.2.address")
// was written. A merged profile composes the posFuncs of its layers.
type posFunc func(path string) (Pos, bool)

// indexPositions records where each key path of a TOML document is, using go-toml's
// parser: the decoder itself keeps no positions for values that decode fine but fail
// harpy's own validation (a bad port, a duplicate name).
func indexPositions(file string, doc []byte) (posFunc, func(line, col int) string) {
	idx := map[string]Pos{}
	keyAt := map[[2]int]string{} // position of a key → its path
	var p unstable.Parser
	p.Reset(doc)
	at := func(n *unstable.Node) Pos {
		s := p.Shape(n.Raw)
		return Pos{File: file, Line: s.Start.Line, Col: s.Start.Column}
	}
	arrays := map[string]int{} // array-of-tables path → elements seen
	resolve := func(parts []string) string {
		path := ""
		for _, part := range parts {
			path = join(path, part)
			if n, ok := arrays[path]; ok {
				path = join(path, strconv.Itoa(n-1))
			}
		}
		return path
	}
	keyParts := func(n *unstable.Node) ([]string, *unstable.Node) {
		var parts []string
		var first *unstable.Node
		it := n.Key()
		for it.Next() {
			k := it.Node()
			if first == nil {
				first = k
			}
			parts = append(parts, string(k.Data))
		}
		return parts, first
	}
	var value func(path string, v *unstable.Node, keyPos Pos)
	value = func(path string, v *unstable.Node, keyPos Pos) {
		pos := keyPos
		if v.Raw.Length > 0 {
			pos = at(v)
		}
		idx[path] = pos
		switch v.Kind {
		case unstable.Array:
			i := 0
			it := v.Children()
			for it.Next() {
				value(join(path, strconv.Itoa(i)), it.Node(), pos)
				i++
			}
		case unstable.InlineTable:
			it := v.Children()
			for it.Next() {
				kv := it.Node()
				parts, k := keyParts(kv)
				kp := pos
				if k != nil {
					kp = at(k)
				}
				keyAt[[2]int{kp.Line, kp.Col}] = join(path, strings.Join(parts, "."))
				value(join(path, strings.Join(parts, ".")), kv.Value(), kp)
			}
		}
	}
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			parts, k := keyParts(e)
			kp := Pos{File: file}
			if k != nil {
				kp = at(k)
			}
			keyAt[[2]int{kp.Line, kp.Col}] = join(prefix, strings.Join(parts, "."))
			value(join(prefix, strings.Join(parts, ".")), e.Value(), kp)
		case unstable.Table:
			parts, k := keyParts(e)
			prefix = resolve(parts)
			if k != nil {
				idx[prefix] = at(k)
			}
		case unstable.ArrayTable:
			parts, k := keyParts(e)
			parent := resolve(parts[:len(parts)-1])
			full := join(parent, parts[len(parts)-1])
			arrays[full]++
			prefix = join(full, strconv.Itoa(arrays[full]-1))
			if k != nil {
				idx[prefix] = at(k)
				if _, ok := idx[full]; !ok {
					idx[full] = at(k)
				}
			}
		}
	}
	keyPath := func(line, col int) string { return keyAt[[2]int{line, col}] }
	return func(path string) (Pos, bool) {
		// The nearest recorded ancestor is the best place to point at.
		for {
			if pos, ok := idx[path]; ok {
				return pos, true
			}
			i := strings.LastIndexByte(path, '.')
			if i < 0 {
				return Pos{File: file}, false
			}
			path = path[:i]
		}
	}, keyPath
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}
