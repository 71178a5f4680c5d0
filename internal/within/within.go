// Package within bounds a test step in time: a read that blocks or a check that hangs is
// a failure, not a slow test. (It imports nothing of harpy, so any package's internal
// tests can use it.)
package within

import (
	"testing"
	"time"
)

// Run runs f and fails the test when it has not returned after d.
func Run[T any](t testing.TB, d time.Duration, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(d):
		t.Fatalf("still running after %s", d)
	}
	panic("unreachable")
}
