package build

import (
	"regexp"
	"strings"
)

// VV is what `haproxy -vv` says about a binary. Its format varies by version: 1.x and
// 2.2 print "HA-Proxy version", later ones "HAProxy version"; the feature list exists
// from 2.0; 3.2 renamed "Built with OpenSSL version" to "Built with SSL library version".
type VV struct {
	Version  string          // "2.6.12-1" as printed
	Features map[string]bool // "Feature list" tokens: +X → true, -X → false
	Options  []string        // USE_* from "OPTIONS ="
	Target   string
	SSL      string // "OpenSSL 3.0.15 3 Sep 2024"
	PCRE2    string
	PCRE     string
	Lua      string
	Lines    []string // every line, trimmed
}

var vvVersionRE = regexp.MustCompile(`^(?:HA-Proxy|HAProxy) version (\S+)`)

// ParseVV parses `haproxy -vv` output.
func ParseVV(out string) *VV {
	vv := &VV{Features: map[string]bool{}}
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		vv.Lines = append(vv.Lines, l)
		if m := vvVersionRE.FindStringSubmatch(l); m != nil && vv.Version == "" {
			vv.Version = m[1]
			continue
		}
		key, val, ok := strings.Cut(l, ":")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch {
		case ok && key == "Feature list":
			// The list may wrap onto following indented lines in some versions.
			for _, tok := range strings.Fields(val) {
				vv.addFeature(tok)
			}
			for i+1 < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i+1]), "+") || i+1 < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i+1]), "-") {
				i++
				for _, tok := range strings.Fields(lines[i]) {
					vv.addFeature(tok)
				}
			}
		case strings.HasPrefix(l, "TARGET"):
			if _, v, ok := strings.Cut(l, "="); ok {
				vv.Target = strings.TrimSpace(v)
			}
		case strings.HasPrefix(l, "OPTIONS"):
			if _, v, ok := strings.Cut(l, "="); ok {
				vv.Options = strings.Fields(v)
			}
		case ok && (key == "Built with OpenSSL version" || key == "Built with SSL library version"):
			vv.SSL = val
		case ok && key == "Built with PCRE2 version":
			vv.PCRE2 = val
		case ok && key == "Built with PCRE version":
			vv.PCRE = val
		case ok && key == "Built with Lua version":
			vv.Lua = val
		}
	}
	return vv
}

func (vv *VV) addFeature(tok string) {
	if len(tok) < 2 {
		return
	}
	switch tok[0] {
	case '+':
		vv.Features[tok[1:]] = true
	case '-':
		vv.Features[tok[1:]] = false
	}
}

// Proves reports whether a proof ("+TOKEN" or "/regexp/") holds for this binary.
func (vv *VV) Proves(proof string) bool {
	if strings.HasPrefix(proof, "+") {
		return vv.Features[proof[1:]]
	}
	if len(proof) > 1 && strings.HasPrefix(proof, "/") && strings.HasSuffix(proof, "/") {
		re, err := regexp.Compile(proof[1 : len(proof)-1])
		if err != nil {
			return false
		}
		for _, l := range vv.Lines {
			if re.MatchString(l) {
				return true
			}
		}
	}
	return false
}
