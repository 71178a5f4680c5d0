// Package hversion parses and compares HAProxy version numbers ("2.6", "2.6.12", "3.0-dev1").
package hversion

import (
	"fmt"
	"strconv"
	"strings"

	"harpy/hint"
)

// V is an HAProxy version. Patch is -1 when only a branch ("2.6") was given.
type V struct {
	Major, Minor, Patch int
	Suffix              string // "-dev1", "-rc2": kept, never compared beyond ordering before the release
}

// Parse reads "MAJOR.MINOR" or "MAJOR.MINOR.PATCH[-suffix]".
func Parse(s string) (V, error) {
	bad := func() (V, error) {
		return V{}, hint.With(fmt.Errorf("bad HAProxy version %q", s), "write a version like 2.6 or 2.6.12")
	}
	core, suffix, _ := strings.Cut(s, "-")
	if suffix != "" {
		suffix = "-" + suffix
	}
	parts := strings.Split(core, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return bad()
	}
	n := []int{0, 0, -1}
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || x > 999 || (len(p) > 1 && p[0] == '0') {
			return bad()
		}
		n[i] = x
	}
	for _, r := range suffix {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return bad()
		}
	}
	return V{Major: n[0], Minor: n[1], Patch: n[2], Suffix: suffix}, nil
}

// MustParse is Parse for constants in code and tests.
func MustParse(s string) V {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

func (v V) String() string {
	if v.Patch < 0 {
		return fmt.Sprintf("%d.%d%s", v.Major, v.Minor, v.Suffix)
	}
	return fmt.Sprintf("%d.%d.%d%s", v.Major, v.Minor, v.Patch, v.Suffix)
}

// Branch is "MAJOR.MINOR", the directory name on upstream's download site.
func (v V) Branch() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Compare orders versions; a branch-only version sorts as its .0 release.
func (v V) Compare(o V) int {
	for _, d := range [][2]int{{v.Major, o.Major}, {v.Minor, o.Minor}, {max(v.Patch, 0), max(o.Patch, 0)}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.Suffix == o.Suffix:
		return 0
	case v.Suffix == "": // a release sorts after its -dev/-rc
		return 1
	case o.Suffix == "":
		return -1
	case v.Suffix < o.Suffix:
		return -1
	}
	return 1
}

// AtLeast reports whether v is at or after branch major.minor.
func (v V) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// Less is Compare(o) < 0.
func (v V) Less(o V) bool { return v.Compare(o) < 0 }
