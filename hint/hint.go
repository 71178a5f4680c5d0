// Package hint carries the user-facing part of an error: what to try next.
//
// Packages wrap low-level errors with what they were doing (fmt.Errorf("patch %s: %w", …))
// and attach one hint at the place that knows the fix. The CLI prints the chain and the
// hint on one line each and maps the error to an exit code.
package hint

import (
	"errors"
	"fmt"
)

// Error is an error with a hint for the user.
type Error struct {
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// With attaches a hint to err: the one way to give an error a hint, err first. A nil err
// stays nil.
func With(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Hint: fmt.Sprintf(format, args...)}
}

// Of returns the outermost hint in err's chain, or "".
func Of(err error) string {
	var h *Error
	if errors.As(err, &h) {
		return h.Hint
	}
	return ""
}

// badInput marks an error as the user's own bad usage or input (a flag, an argument, the
// content of a profile, recipe or inventory), as opposed to a failure of the work.
type badInput struct{ error }

func (e badInput) Unwrap() error { return e.error }

// Input marks err as bad usage or input: the CLI exits 2 for it instead of 1. The mark
// survives wrapping with fmt.Errorf("…: %w", err). A nil err stays nil.
func Input(err error) error {
	if err == nil {
		return nil
	}
	return badInput{err}
}

// IsInput reports whether err (or anything it wraps) was marked with Input.
func IsInput(err error) bool {
	var b badInput
	return errors.As(err, &b)
}
