package sshtarget

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// unquote reads one word the way a POSIX shell does (quotes, backslashes; anything
// unquoted that is special to the shell is a failure): a quoted word must come back whole.
func unquote(t *testing.T, q string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'':
			j := strings.IndexByte(q[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unterminated quote in %q", q)
			}
			b.WriteString(q[i+1 : i+1+j])
			i += j + 1
		case c == '\\' && i+1 < len(q):
			b.WriteByte(q[i+1])
			i++
		default:
			t.Fatalf("unquoted byte %q in %q", c, q)
		}
	}
	return b.String()
}

// shells that run remote commands: the remote login shell hands the command string to
// /bin/sh (dash on Debian, bash on EL).
func shells() []string {
	var out []string
	for _, s := range []string{"/bin/sh", "/bin/dash", "/bin/bash"} {
		if _, err := exec.LookPath(s); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// FuzzQuote proves that any argument survives the shell as one word, byte for byte, both
// once quoted and quoted twice (as Run sends it: sh -c 'script with quoted words').
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "a b", "'", "''", `\'`, "$(reboot)", "`id`", "a\nb", "; rm -rf /", "-n", "*", "~", "$HOME", "\"", "!", "%s", "\xff\xfe", "a'b'c", "'\\''", "\t", "#x"} {
		f.Add(s)
	}
	sh := shells()
	f.Fuzz(func(t *testing.T, s string) {
		if checkArg(s) != nil {
			if strings.IndexByte(s, 0) < 0 {
				t.Fatalf("refused %q without a NUL", s)
			}
			return
		}
		if got := unquote(t, Quote(s)); got != s {
			t.Fatalf("unquote(Quote(%q)) = %q", s, got)
		}
		inner := "printf '%s' " + Quote(s) + " " + Quote(s)
		for _, shell := range sh {
			for _, cmd := range [][]string{
				{shell, "-c", "printf '%s|' " + QuoteArgs(s, s)},
				{shell, "-c", "/bin/sh -c " + Quote(inner)},
			} {
				out, err := exec.Command(cmd[0], cmd[1:]...).Output()
				if err != nil {
					t.Fatalf("%s: %v", cmd, err)
				}
				want := s + "|" + s + "|"
				if cmd[2] != "printf '%s|' "+QuoteArgs(s, s) {
					want = s + s
				}
				if !bytes.Equal(out, []byte(want)) {
					t.Fatalf("%s -c %q printed %q, want %q", shell, cmd[2], out, want)
				}
			}
		}
	})
}
