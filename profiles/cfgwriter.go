package profiles

import (
	"bytes"
	"fmt"
	"strings"

	"harpy/hint"
	"harpy/hversion"
)

// cfgWriter builds haproxy.cfg. Every value it writes was validated, and every word
// still passes cfgWord on its way out: a check that validation missed cannot add a
// line, a word or a comment to the config.
type cfgWriter struct {
	b       bytes.Buffer
	v       hversion.V
	p       *Profile
	err     error
	origins *[]Origin // non-nil when explaining
	lineNo  int       // lines written so far
	// mixed: some proxy runs in another mode than defaults, so the mode-specific log
	// and forwardfor options go into each proxy instead (HAProxy warns otherwise).
	mixed bool
}

// src is what a line of haproxy.cfg comes from: a profile field, or (rule set) none, a
// default of harpy's, for the reason rule gives. Every line is written with its source
// in the same call, so --explain cannot credit a line to the field written before it.
type src struct{ field, rule string }

// from is a line a profile field produced (or its default, when the profile leaves the
// field out).
func from(field string) src { return src{field: field} }

// byRule is a line no field produced: harpy writes it always, for the reason given.
func byRule(rule string) src { return src{rule: rule} }

// orDefault is a line field produces; when the profile leaves the field out, harpy
// writes its default, for the reason given (what --explain prints).
func orDefault(field, why string) src { return src{field: field, rule: why} }

func (w *cfgWriter) section(from src, head ...string) {
	if !w.words(from, head) {
		return
	}
	if w.b.Len() > 0 {
		w.b.WriteByte('\n')
		w.lineNo++
	}
	w.record(from)
	w.b.WriteString(strings.Join(head, " "))
	w.b.WriteByte('\n')
	w.lineNo++
}

// maxWords is HAProxy's MAX_LINE_ARGS: words beyond it are cut off.
const maxWords = 64

// words is the renderer's choke point: every word of every line passes it. It refuses
// (with the field the line comes from) a word HAProxy would not read back as exactly
// that one word, and a line longer than HAProxy reads.
func (w *cfgWriter) words(from src, words []string) bool {
	if w.err != nil {
		return false
	}
	fail := func(msg string) bool {
		pos, _ := w.pos(from.field)
		field := displayField(from.field)
		if field == "" {
			field = "harpy default (" + from.rule + ")"
		}
		w.err = hint.Input(hint.With(fmt.Errorf("render %s: %s: %s: %s", printable(w.p.Name), pos, field, msg),
			"write the value as one word of printable ASCII without blanks, quotes, '#' or '\\' (docs/profiles.md)"))
		return false
	}
	if len(words) > maxWords {
		return fail(fmt.Sprintf("the line would have %d words; HAProxy reads at most %d", len(words), maxWords))
	}
	for _, s := range words {
		if err := cfgWord(s); err != nil {
			return fail(err.Error())
		}
	}
	return true
}

// cfgWord returns why s is not exactly one word of haproxy.cfg as HAProxy's tokenizer
// (parse_line) reads it outside quotes, or nil. Only printable ASCII is written;
// blanks, quotes and '#' would split the word, start a string or a comment; CR, LF
// and NUL end the line. A backslash is allowed only in the escapes harpy writes itself:
// "\ " (a blank inside the word), "\r", "\n" (inside an httpchk version string) and
// "\1"…"\9" (regex back-references). '$' is literal outside double quotes.
func cfgWord(s string) error {
	if s == "" {
		return fmt.Errorf("empty word")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("%q has a control character (0x%02x) at byte %d", s, c, i+1)
		case c >= 0x80:
			return fmt.Errorf("%q has a non-ASCII byte at byte %d", s, i+1)
		case c == ' ':
			return fmt.Errorf("%q has a blank at byte %d, which would split it in two words", s, i+1)
		case c == '#':
			return fmt.Errorf("%q has '#' at byte %d, which would start a comment", s, i+1)
		case c == '"' || c == '\'':
			return fmt.Errorf("%q has a quote at byte %d", s, i+1)
		case c == '\\':
			if i+1 == len(s) || !strings.ContainsRune(" rn123456789", rune(s[i+1])) {
				return fmt.Errorf("%q has a '\\' at byte %d that is not an escape harpy writes", s, i+1)
			}
			i++
		}
	}
	return nil
}

func (w *cfgWriter) record(from src) {
	if w.origins == nil {
		return
	}
	if from.field == "" {
		*w.origins = append(*w.origins, Origin{Line: w.lineNo + 1, Pos: Pos{File: w.p.Name}, Default: true, Rule: from.rule})
		return
	}
	pos, ok := w.pos(from.field)
	o := Origin{Line: w.lineNo + 1, Field: displayField(from.field), Pos: pos, Default: !ok}
	if !ok {
		o.Pos, o.Rule = Pos{File: w.p.Name}, from.rule
	}
	*w.origins = append(*w.origins, o)
}

// pos finds where a field was written; a profile built in code has no positions.
func (w *cfgWriter) pos(field string) (Pos, bool) {
	if w.p.pos == nil {
		return Pos{File: w.p.Name}, false
	}
	return w.p.pos(field)
}

// line writes one directive and records where it came from.
func (w *cfgWriter) line(from src, words ...string) {
	if !w.words(from, words) {
		return
	}
	w.record(from)
	w.b.WriteString("    ")
	w.b.WriteString(strings.Join(words, " "))
	w.b.WriteByte('\n')
	w.lineNo++
}

// need refuses a feature the target version lacks.
func (w *cfgWriter) need(field string, major, minor int, what string) bool {
	if w.v.AtLeast(major, minor) {
		return true
	}
	if w.err == nil {
		pos, _ := w.pos(field)
		w.err = hint.Input(hint.With(fmt.Errorf("render %s for HAProxy %s: %s: %s: %s needs HAProxy %d.%d+", printable(w.p.Name), w.v, pos, displayField(field), what, major, minor),
			"target HAProxy %d.%d or later (--haproxy), or remove %s from the profile", major, minor, displayField(field)))
	}
	return false
}

func renderCfg(p *Profile, v hversion.V, explain bool, origins *[]Origin) ([]byte, error) {
	w := &cfgWriter{v: v, p: p}
	if explain {
		w.origins = origins
	}
	for _, list := range [][]*Proxy{p.Frontends, p.Backends, p.Listens} {
		for _, px := range list {
			if !px.Drop && px.Mode != "" && px.Mode != p.effectiveMode(&Proxy{}) {
				w.mixed = true
			}
		}
	}
	fmt.Fprintf(&w.b, "# Generated by harpy from profile %q for HAProxy %s. Edit the profile, not this file.\n", safeComment(p.Name), v)
	w.lineNo = 1
	w.global()
	w.defaults()
	for _, name := range sortedKeys(p.Resolvers) {
		w.resolvers(name, p.Resolvers[name])
	}
	for i, px := range p.Frontends {
		w.proxy("frontend", fmt.Sprintf("frontend.%d", i), px)
	}
	for i, px := range p.Backends {
		w.proxy("backend", fmt.Sprintf("backend.%d", i), px)
	}
	for i, px := range p.Listens {
		w.proxy("listen", fmt.Sprintf("listen.%d", i), px)
	}
	w.stats()
	if w.err != nil {
		return nil, w.err
	}
	return w.b.Bytes(), nil
}

// safeComment keeps a file name from breaking out of the header comment.
func safeComment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
