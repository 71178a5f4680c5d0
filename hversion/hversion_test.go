package hversion

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"2.6", "2.6", true}, {"2.6.12", "2.6.12", true}, {"3.0-dev1", "3.0-dev1", true},
		{"1.6.0", "1.6.0", true}, {"2", "", false}, {"2.6.12.1", "", false}, {"2.x", "", false},
		{"02.6", "", false}, {"2.6-DEV", "", false}, {"", "", false}, {"2.6\nglobal", "", false},
	} {
		v, err := Parse(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("Parse(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && v.String() != tc.want {
			t.Errorf("Parse(%q) = %s, want %s", tc.in, v, tc.want)
		}
	}
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"2.6.12", "2.6.9", 1}, {"2.2", "2.2.0", 0}, {"3.0-dev1", "3.0.0", -1}, {"1.8.30", "2.0.0", -1},
		{"3.0-rc1", "3.0-dev2", 1},
	} {
		if got := MustParse(tc.a).Compare(MustParse(tc.b)); got != tc.want {
			t.Errorf("%s vs %s = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	if !MustParse("2.4.1").AtLeast(2, 4) || MustParse("2.3.9").AtLeast(2, 4) {
		t.Error("AtLeast")
	}
}
