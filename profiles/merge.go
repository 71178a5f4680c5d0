package profiles

import (
	"strconv"
	"strings"
)

// namedArrays are the arrays of tables that an extending profile merges element by
// element, matching on "name"; every other array is replaced whole (servers, bind, acl).
var namedArrays = map[string]bool{"frontend": true, "backend": true, "listen": true}

// layers maps a merged path to the layer (and the path in that layer) its value came from.
type layers map[string]layerRef

type layerRef struct {
	pos  posFunc
	path string
}

func (l layers) pos(path string) (Pos, bool) {
	p := path
	for {
		if ref, ok := l[p]; ok {
			return ref.pos(join(ref.path, strings.TrimPrefix(strings.TrimPrefix(path, p), ".")))
		}
		if p == "" {
			return Pos{}, false
		}
		if i := strings.LastIndexByte(p, '.'); i >= 0 {
			p = p[:i]
		} else {
			p = ""
		}
	}
}

// mergeTables lays over onto base (both decoded TOML tables) and records in l where
// each value taken from over came from.
func mergeTables(base, over map[string]any, path string, overPos posFunc, l layers) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, ov := range over {
		p := join(path, k)
		bv, ok := out[k]
		switch {
		case ok && path == "" && namedArrays[k]:
			out[k] = mergeNamed(asList(bv), asList(ov), p, overPos, l)
			continue
		case ok:
			bt, bok := bv.(map[string]any)
			ot, ook := ov.(map[string]any)
			if bok && ook {
				out[k] = mergeTables(bt, ot, p, overPos, l)
				continue
			}
		}
		out[k] = ov
		l[p] = layerRef{overPos, p}
	}
	return out
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []map[string]any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = x[i]
		}
		return out
	}
	return nil
}

// mergeNamed merges arrays of tables by their "name" key: a table named like one in
// base is merged into it, others are appended.
func mergeNamed(base, over []any, path string, overPos posFunc, l layers) []any {
	out := append([]any(nil), base...)
	for oi, ov := range over {
		op := join(path, strconv.Itoa(oi))
		ot, _ := ov.(map[string]any)
		name, _ := ot["name"].(string)
		merged := false
		for bi, bv := range out {
			bt, ok := bv.(map[string]any)
			if !ok || ot == nil || name == "" || bt["name"] != name {
				continue
			}
			bp := join(path, strconv.Itoa(bi))
			// Paths inside the over table are renumbered to the base element's index.
			out[bi] = mergeTables(bt, ot, bp, shifted(overPos, bp, op), l)
			merged = true
			break
		}
		if !merged {
			np := join(path, strconv.Itoa(len(out)))
			out = append(out, ov)
			l[np] = layerRef{overPos, op}
		}
	}
	return out
}

// shifted makes a posFunc answer for paths under to as if they were under from.
func shifted(f posFunc, to, from string) posFunc {
	return func(p string) (Pos, bool) {
		if rest, ok := strings.CutPrefix(p, to); ok {
			return f(from + rest)
		}
		return f(p)
	}
}
