package runtimeapi

import (
	"strings"

	"harpy/hversion"
)

// Verb is one Runtime API or master CLI command form and the first HAProxy version that
// has it (from the first release tag holding its commit; see docs REFERENCE).
type Verb struct {
	// Pattern is the command's leading words; "*" matches any one word (a name, a value).
	Pattern string
	Since   hversion.V
	// Level is the socket level the verb needs ("user", "operator", "admin"), or "master"
	// for the master CLI's own commands.
	Level string
	// Why says what the version brought when it is an argument form of an older verb.
	Why string
	// ExperimentalBefore: before this version the verb needs `experimental-mode on` on the
	// same connection (zero: never).
	ExperimentalBefore hversion.V
}

func v(s string) hversion.V { return hversion.MustParse(s) }

// Verbs are the commands harpy sends, with their first versions. The most specific form
// matching a command decides.
var Verbs = []Verb{
	{Pattern: "show info", Since: v("1.4"), Level: "user"},
	{Pattern: "show info typed", Since: v("1.7"), Level: "user", Why: "typed output"},
	{Pattern: "show info json", Since: v("1.8"), Level: "user", Why: "JSON output"},
	{Pattern: "show stat", Since: v("1.4"), Level: "user"},
	{Pattern: "show stat typed", Since: v("1.7"), Level: "user", Why: "typed output"},
	{Pattern: "show stat json", Since: v("1.8"), Level: "user", Why: "JSON output"},
	{Pattern: "show schema json", Since: v("1.8"), Level: "user"},
	{Pattern: "show servers state", Since: v("1.6"), Level: "user"},
	{Pattern: "get weight", Since: v("1.4"), Level: "user"},
	{Pattern: "set weight", Since: v("1.4"), Level: "admin"},
	{Pattern: "enable server", Since: v("1.4"), Level: "admin"},
	{Pattern: "disable server", Since: v("1.4"), Level: "admin"},
	{Pattern: "enable agent", Since: v("1.5"), Level: "admin"},
	{Pattern: "disable agent", Since: v("1.5"), Level: "admin"},
	{Pattern: "enable health", Since: v("1.5"), Level: "admin"},
	{Pattern: "disable health", Since: v("1.5"), Level: "admin"},
	{Pattern: "set server * state", Since: v("1.5"), Level: "admin"},
	{Pattern: "set server * health", Since: v("1.5"), Level: "admin"},
	{Pattern: "set server * agent", Since: v("1.5"), Level: "admin"},
	{Pattern: "set server * weight", Since: v("1.6"), Level: "admin"},
	{Pattern: "set server * addr", Since: v("1.6"), Level: "admin"},
	{Pattern: "set server * addr * port", Since: v("1.7"), Level: "admin", Why: "a port with the address"},
	{Pattern: "set maxconn server", Since: v("1.7"), Level: "admin"},
	{Pattern: "set severity-output", Since: v("1.8"), Level: "user"},
	{Pattern: "show proc", Since: v("1.9"), Level: "master"},
	{Pattern: "reload", Since: v("1.9"), Level: "master"},
	{Pattern: "show startup-logs", Since: v("2.7"), Level: "master"},
	{Pattern: "hard-reload", Since: v("2.9"), Level: "master"},
	{Pattern: "experimental-mode", Since: v("2.4"), Level: "admin"},
	{Pattern: "add server", Since: v("2.4"), Level: "admin", ExperimentalBefore: v("2.6")},
	{Pattern: "del server", Since: v("2.4"), Level: "admin", ExperimentalBefore: v("2.6")},
	{Pattern: "wait * srv-removable", Since: v("3.0"), Level: "admin"},
}

// VerbOf finds the most specific verb matching cmd (a "@N " master prefix is skipped).
func VerbOf(cmd string) (Verb, bool) {
	words := strings.Fields(cmd)
	if len(words) > 0 && strings.HasPrefix(words[0], "@") {
		words = words[1:]
	}
	best, bestN := Verb{}, 0
	for _, vb := range Verbs {
		p := strings.Fields(vb.Pattern)
		if len(p) <= bestN || len(p) > len(words) {
			continue
		}
		ok := true
		for i, w := range p {
			if w != "*" && w != words[i] {
				ok = false
				break
			}
		}
		if ok {
			best, bestN = vb, len(p)
		}
	}
	return best, bestN > 0
}

// Check returns a *VersionError (with a hint) when have is older than the verb.
func (vb Verb) Check(have hversion.V) error {
	if have.Compare(vb.Since) < 0 {
		return versionError(vb.Pattern, vb.Why, vb.Since, have)
	}
	return nil
}

// Experimental reports whether the verb needs `experimental-mode on` on have (false for
// an unknown, zero, version).
func (vb Verb) Experimental(have hversion.V) bool {
	return vb.ExperimentalBefore != (hversion.V{}) && have != (hversion.V{}) && have.Compare(vb.ExperimentalBefore) < 0
}
