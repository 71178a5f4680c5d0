package sshtarget

import (
	"errors"
	"strings"
)

// Quote makes s one word for a POSIX shell, whatever bytes it holds: inside single
// quotes nothing is special, and a single quote itself is written as '\” (close, an
// escaped quote, reopen). A NUL cannot be in an argument at all: see checkArg.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteArgs quotes each word and joins them with spaces.
func QuoteArgs(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

var errNUL = errors.New("contains a NUL byte, which no remote command can take")

// checkArg refuses what the shell cannot carry.
func checkArg(args ...string) error {
	for _, a := range args {
		if strings.IndexByte(a, 0) >= 0 {
			return errNUL
		}
	}
	return nil
}
