package profiles

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Pos is a place in a profile file, 1-based.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return printable(p.File)
	}
	return fmt.Sprintf("%s:%d:%d", printable(p.File), p.Line, p.Col)
}

// printable returns s as is when a terminal shows it as written, and Go-quoted
// otherwise: a file name or TOML key with an escape sequence or a newline in it must not
// drive the user's terminal or forge a line of the error report.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == '\\' {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

// posFunc finds where the value at a dotted field path ("listen.0.servers.2.address")
// was written. A merged profile composes the posFuncs of its layers.
type posFunc func(path string) (Pos, bool)

// indexPositions records where each key path of a TOML document is, using go-toml's
// parser: the decoder itself keeps no positions for values that decode fine but fail
// harpy's own validation (a bad port, a duplicate name).
func indexPositions(file string, doc []byte) (posFunc, func(line, col int) string) {
	// Offsets only: turning each into line:column while parsing would rescan the
	// document every time (quadratic in a 10,000-server profile). Lines are counted
	// for the few positions an error needs.
	idx := map[string]int{}
	keyAt := map[int]string{} // offset of a key → its path
	var p unstable.Parser
	p.Reset(doc)
	at := func(n *unstable.Node) int { return int(n.Raw.Offset) }
	// Line starts are found once, when the first position is asked for: --explain asks
	// for one per line of a 100,000-server config.
	var lineStarts []int
	toPos := func(off int) Pos {
		if off < 0 || off > len(doc) {
			return Pos{File: file}
		}
		if lineStarts == nil {
			lineStarts = append(lineStarts, 0)
			for i, c := range doc {
				if c == '\n' {
					lineStarts = append(lineStarts, i+1)
				}
			}
		}
		line := sort.Search(len(lineStarts), func(i int) bool { return lineStarts[i] > off })
		return Pos{File: file, Line: line, Col: off - lineStarts[line-1] + 1}
	}
	toOffset := func(line, col int) int {
		off := 0
		for l := 1; l < line; l++ {
			i := bytes.IndexByte(doc[off:], '\n')
			if i < 0 {
				return -1
			}
			off += i + 1
		}
		return off + col - 1
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
	var value func(path string, v *unstable.Node, keyPos int)
	value = func(path string, v *unstable.Node, keyPos int) {
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
				keyAt[kp] = join(path, strings.Join(parts, "."))
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
			kp := -1
			if k != nil {
				kp = at(k)
			}
			keyAt[kp] = join(prefix, strings.Join(parts, "."))
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
	keyPath := func(line, col int) string { return keyAt[toOffset(line, col)] }
	// The bool reports an exact match; otherwise the nearest recorded ancestor is the
	// best place to point at.
	return func(path string) (Pos, bool) {
		exact := path
		for {
			if off, ok := idx[path]; ok {
				return toPos(off), path == exact
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
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "." + b
}
