package livetest

import (
	"testing"

	"harpy/internal/testenv"
)

// Tool returns the path of a real tool; a missing one fails the test, naming the Debian
// package that provides it. Under -short the scenario is skipped (the fast tier).
func Tool(tb testing.TB, name, debPackage string) string {
	tb.Helper()
	return testenv.Tool(tb, name, debPackage)
}

// Long marks a live scenario of tens of seconds: it belongs to the real tier.
func Long(tb testing.TB) {
	tb.Helper()
	testenv.Real(tb)
}
