package profiles

import (
	"fmt"
	"strings"
	"testing"
)

// A tokenizer of haproxy.cfg as HAProxy itself reads it (readcfgfile and parse_line in
// src/cfgparse.c and src/tools.c, with PARSE_OPT_ENV|DQUOTE|SQUOTE|BKSLASH|SHARP|
// WORD_EXPAND): the judge of the renderer's structure. It is written from HAProxy's
// code, not from harpy's renderer, so that the renderer cannot agree with itself.

// cfgLine is one non-empty line as HAProxy splits it into words.
type cfgLine struct {
	N       int      // 1-based line number
	Words   []string // after quotes, escapes and ${VAR} are resolved
	Comment bool     // an unquoted '#' cut the line
	Env     bool     // a "${VAR}" was expanded (to "<$VAR>")
	Scope   bool     // the line is a "[scope]" line
	Section bool     // the first word starts a section
}

// cfgSectionWords are the keywords that start a section in HAProxy 1.6 … 3.2.
var cfgSectionWords = set("global", "defaults", "frontend", "backend", "listen", "resolvers", "peers",
	"userlist", "mailers", "cache", "program", "http-errors", "ring", "log-forward", "crt-store",
	"traces", "acme", "fcgi-app", "dynamic-update", "namespace_list", "email-alert")

func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// tokenizeCfg splits a config into lines of words, or says where HAProxy would refuse it.
func tokenizeCfg(cfg string) ([]cfgLine, error) {
	var out []cfgLine
	raw := strings.SplitAfter(cfg, "\n")
	for i, l := range raw {
		n := i + 1
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\n") {
			return nil, fmt.Errorf("line %d: no final newline (fatal from HAProxy 2.3)", n)
		}
		l = strings.TrimSuffix(l, "\n")
		if j := strings.IndexByte(l, 0); j >= 0 {
			return nil, fmt.Errorf("line %d: stray NUL at byte %d", n, j+1)
		}
		l = strings.TrimLeftFunc(l, func(r rune) bool { return r < 0x80 && isCSpace(byte(r)) })
		if strings.HasPrefix(l, "[") {
			out = append(out, cfgLine{N: n, Scope: true, Words: []string{l}})
			continue
		}
		cl, err := parseCfgLine(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		if len(cl.Words) == 0 {
			if cl.Comment {
				out = append(out, cfgLine{N: n, Comment: true})
			}
			continue
		}
		cl.N = n
		cl.Section = cfgSectionWords[cl.Words[0]]
		out = append(out, cl)
	}
	return out, nil
}

// parseCfgLine is parse_line: words split on unquoted blanks, "…" and '…' strings,
// backslash escapes outside single quotes, '#' comments outside quotes, ${VAR}
// inside double quotes, and CR ending the line.
func parseCfgLine(in string) (cfgLine, error) {
	var cl cfgLine
	var word strings.Builder
	inWord, squote, dquote := false, false, false
	quoteAt := -1
	emit := func(c byte) { word.WriteByte(c); inWord = true }
	flush := func() {
		if inWord {
			cl.Words = append(cl.Words, word.String())
		}
		word.Reset()
		inWord = false
	}
	i := 0
loop:
	for i < len(in) {
		c := in[i]
		switch {
		case c == '\r':
			break loop
		case c == '#' && !squote && !dquote:
			cl.Comment = true
			break loop
		case c == '"' && !squote:
			dquote = !dquote
			quoteAt = i
			inWord = true // "" is an empty word
			i++
		case c == '\'' && !dquote:
			squote = !squote
			quoteAt = i
			inWord = true
			i++
		case c == '\\' && !squote:
			next := byte(0)
			if i+1 < len(in) {
				next = in[i+1]
			}
			switch next {
			case ' ', '\\', '#', '\'', '"':
				emit(next)
				i += 2
			case 't':
				emit('\t')
				i += 2
			case 'n':
				emit('\n')
				i += 2
			case 'r':
				emit('\r')
				i += 2
			case '$':
				if dquote {
					emit('$')
					i += 2
				} else {
					emit('\\')
					i++
				}
			case 'x':
				if i+3 >= len(in) || !isHex(in[i+2]) || !isHex(in[i+3]) {
					return cl, fmt.Errorf("invalid \\x sequence at byte %d", i+1)
				}
				var v byte
				fmt.Sscanf(in[i+2:i+4], "%02x", &v)
				emit(v)
				i += 4
			default:
				emit('\\')
				i++
			}
		case isCSpace(c) && !squote && !dquote:
			// A run of blanks is one separator; it takes a CR with it (isspace), a
			// CR right after a word ends the line.
			flush()
			for i < len(in) && isCSpace(in[i]) {
				i++
			}
		case c == '$' && dquote:
			j := i + 1
			brace := j < len(in) && in[j] == '{'
			if brace {
				j++
			}
			start := j
			if j >= len(in) || !(isAlpha(in[j]) || in[j] == '_' || in[j] == '.') {
				return cl, fmt.Errorf("bad variable name at byte %d", j+1)
			}
			j++
			for j < len(in) && (isAlpha(in[j]) || in[j] >= '0' && in[j] <= '9' || in[j] == '_') {
				j++
			}
			name := in[start:j]
			if brace {
				if strings.HasPrefix(in[j:], "[*]") {
					j += 3
				}
				if j < len(in) && in[j] == '-' {
					for j < len(in) && in[j] != '}' {
						j++
					}
				}
				if j >= len(in) || in[j] != '}' {
					return cl, fmt.Errorf("unmatched brace at byte %d", start)
				}
				j++
			}
			cl.Env = true
			word.WriteString("<$" + name + ">")
			inWord = true
			i = j
		default:
			emit(c)
			i++
		}
	}
	if squote || dquote {
		return cl, fmt.Errorf("unmatched quote at byte %d", quoteAt+1)
	}
	if word.Len() > 0 {
		flush() // an empty "" at the end of a line is no word (parse_line)
	}
	return cl, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// twoWordKeywords are keywords whose second word is harpy's own, part of what the line is.
var twoWordKeywords = set("option", "timeout", "stats", "http-check", "http-request", "hold")

// cfgShape is a config's structure: per line, the section it is in and its keyword.
type cfgShape []string

// shapeOf tokenizes cfg and returns its shape, refusing anything harpy never writes:
// a comment after line 1, a quote, an ${VAR}, a scope line, or a directive before the
// first section.
func shapeOf(cfg string) (cfgShape, error) {
	lines, err := tokenizeCfg(cfg)
	if err != nil {
		return nil, err
	}
	var shape cfgShape
	section := ""
	for _, l := range lines {
		switch {
		case l.N == 1 && l.Comment && len(l.Words) == 0:
			continue // the header
		case l.Comment:
			return nil, fmt.Errorf("line %d: a comment: %q", l.N, l.Words)
		case l.Env:
			return nil, fmt.Errorf("line %d: an environment variable: %q", l.N, l.Words)
		case l.Scope:
			return nil, fmt.Errorf("line %d: a scope line: %q", l.N, l.Words)
		case l.Section:
			section = fmt.Sprintf("%s/%d", l.Words[0], len(l.Words))
			shape = append(shape, "["+section+"]")
			continue
		case section == "":
			return nil, fmt.Errorf("line %d: %q before any section", l.N, l.Words)
		}
		kw := l.Words[0]
		if twoWordKeywords[kw] && len(l.Words) > 1 {
			kw += " " + l.Words[1]
		}
		shape = append(shape, section+": "+kw)
	}
	return shape, nil
}

// diffShape names the first line where two shapes differ.
func diffShape(a, b cfgShape) string {
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("entry %d: %q, want %q", i, x, y)
		}
	}
	return ""
}

func TestTokenizeCfg(t *testing.T) {
	for _, c := range []struct {
		line  string
		words []string
		err   bool
		cmt   bool
		env   bool
	}{
		{"    server a 127.0.0.1:80 check", []string{"server", "a", "127.0.0.1:80", "check"}, false, false, false},
		{"bind :80 # http", []string{"bind", ":80"}, false, true, false},
		{`reqrep ^([^\ :]*)\ /x/(.*) \1\ /\2`, []string{"reqrep", `^([^ :]*) /x/(.*)`, `\1 /\2`}, false, false, false},
		{`option httpchk GET / HTTP/1.1\r\nHost:\ x`, []string{"option", "httpchk", "GET", "/", "HTTP/1.1\r\nHost: x"}, false, false, false},
		{`a "b c" 'd e'`, []string{"a", "b c", "d e"}, false, false, false},
		{`a "b#c" x#y`, []string{"a", "b#c", "x"}, false, true, false},
		{`a "${HOME}x" $HOME`, []string{"a", "<$HOME>x", "$HOME"}, false, false, true},
		{`a "${A[*]}" "${B-def}"`, []string{"a", "<$A>", "<$B>"}, false, false, true},
		{`a '${HOME}'`, []string{"a", "${HOME}"}, false, false, false},
		{`a \x41\#\"\'`, []string{"a", `A#"'`}, false, false, false},
		{`a "b`, nil, true, false, false},
		{`a \x4`, nil, true, false, false},
		{`a "${1}"`, nil, true, false, false},
		{"a b\rlisten evil", []string{"a", "b"}, false, false, false},
		{"a \rlisten evil", []string{"a", "listen", "evil"}, false, false, false},
		{"a\tb\vc\fd", []string{"a", "b", "c", "d"}, false, false, false},
		{`a ""`, []string{"a"}, false, false, false},
		{`a "" b`, []string{"a", "", "b"}, false, false, false},
		{"a \u2028 b", []string{"a", "\u2028", "b"}, false, false, false},
		{`a\ b\`, []string{`a b\`}, false, false, false},
	} {
		cl, err := parseCfgLine(c.line)
		if (err != nil) != c.err {
			t.Errorf("%q: error %v, want error %v", c.line, err, c.err)
			continue
		}
		if c.err {
			continue
		}
		if fmt.Sprintf("%q", cl.Words) != fmt.Sprintf("%q", c.words) || cl.Comment != c.cmt || cl.Env != c.env {
			t.Errorf("%q: %q comment=%v env=%v, want %q comment=%v env=%v", c.line, cl.Words, cl.Comment, cl.Env, c.words, c.cmt, c.env)
		}
	}
	lines, err := tokenizeCfg("# header\nglobal\n    daemon\n\n  [scope]\nlisten x\n    bind :1\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 6 || !lines[1].Section || lines[2].Section || !lines[3].Scope || !lines[4].Section {
		t.Fatalf("%+v", lines)
	}
	for _, bad := range []string{"global\n    daemon", "global\x00\n"} {
		if _, err := tokenizeCfg(bad); err == nil {
			t.Errorf("%q tokenized", bad)
		}
	}
}
