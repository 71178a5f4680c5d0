package specs

import (
	"slices"
	"strings"
	"testing"
)

// TestCatalogValidated: each kind of mistake in the embedded knowledge is caught when the
// catalog is loaded, with its place; several mistakes are all reported at once.
func TestCatalogValidated(t *testing.T) {
	fresh := func(t *testing.T) *Catalog {
		c, err := Load()
		if err != nil {
			t.Fatal(err)
		}
		c.Features = slices.Clone(c.Features)
		for i := range c.Features {
			c.Features[i].Rules = slices.Clone(c.Features[i].Rules)
		}
		c.Targets, c.Compat = slices.Clone(c.Targets), slices.Clone(c.Compat)
		return c
	}
	for _, tc := range []struct {
		name   string
		mutate func(c *Catalog)
		want   []string
	}{
		{"rule without from", func(c *Catalog) { c.Features[0].Rules[0].From = "" }, []string{`feature 1 ("openssl") rule 1: from is required`}},
		{"bad until", func(c *Catalog) { c.Features[1].Rules[0].Until = "two" }, []string{`feature 2 ("pcre") rule 1: until "two" is not a version`}},
		{"make not a variable", func(c *Catalog) { c.Features[0].Rules[0].Make = []string{"USE_OPENSSL=1", "; rm -rf /"} }, []string{`make "; rm -rf /" is not VAR=value`}},
		{"proof form", func(c *Catalog) { c.Features[0].Rules[0].Proof = []string{"QUIC"} }, []string{`proof "QUIC" is neither +TOKEN nor /regexp/`}},
		{"proof regexp", func(c *Catalog) { c.Features[0].Rules[0].Proof = []string{"/(/"} }, []string{`proof "/(/"`, "missing closing )"}},
		{"duplicate feature", func(c *Catalog) { c.Features[1].Name = c.Features[0].Name }, []string{`feature 2 ("openssl"): duplicate name`}},
		{"unknown requirement", func(c *Catalog) { c.Features[0].Requires = []string{"nosuch"} }, []string{`unknown feature "nosuch"`}},
		{"no rules", func(c *Catalog) { c.Features[0].Rules = nil }, []string{`no [[feature.rule]]`}},
		{"target name", func(c *Catalog) { c.Targets[0].Name = "" }, []string{`targets.toml: target 1 (""): name is required`}},
		{"target version", func(c *Catalog) { c.Targets[0].From = "x" }, []string{`from "x" is not a version`}},
		{"compat feature", func(c *Catalog) { c.Compat[0].Feature = "nosuch" }, []string{`compat 1 (nosuch): unknown feature "nosuch"`}},
		{"compat library", func(c *Catalog) { c.Compat[0].Library = "libressl" }, []string{`library "libressl" is not openssl or lua`}},
		{"compat library_from", func(c *Catalog) { c.Compat[0].LibraryFrom = "" }, []string{`library_from is required`}},
		{"compat hint", func(c *Catalog) { c.Compat[0].Hint = "" }, []string{`problem and hint are required`}},
		{"every mistake at once", func(c *Catalog) { c.Features[0].Rules[0].From = ""; c.Targets[0].Name = ""; c.Compat[0].Library = "" },
			[]string{"from is required", "target 1", `library ""`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fresh(t)
			tc.mutate(c)
			err := c.validate()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nlacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %v", err)
			}
		})
	}
	if err := fresh(t).validate(); err != nil {
		t.Fatalf("embedded catalog: %v", err)
	}
}
