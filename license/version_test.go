package license

import (
	"errors"
	"slices"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
	}{
		{"4", Version{Major: 4}},
		{"v4.2", Version{Major: 4, Minor: 2}},
		{"4.2.1", Version{4, 2, 1, "", ""}},
		{"4.0.0-rc1", Version{4, 0, 0, "rc1", ""}},
		{"4.0.0+build.7", Version{4, 0, 0, "", "build.7"}},
		{"4.0.0-rc.1+build-7.x", Version{4, 0, 0, "rc.1", "build-7.x"}},
		{"12.0.0-0.3.7", Version{12, 0, 0, "0.3.7", ""}},
	} {
		got, err := ParseVersion(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "v", "4.", ".4", "04.1", "4.01", "1.2.3.4", "4.0.0-", "4.0.0+", "4.0.0-01", "4.0.0-a..b", "4.0.0-ä", "4.0.0+b_1", "1234567890", "-1.0.0", "4 .0"} {
		if _, err := ParseVersion(bad); !errors.Is(err, ErrBadVersion) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

// The precedence example of semver.org §11, in order.
func TestVersionPrecedence(t *testing.T) {
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"}
	var vs []Version
	for _, s := range order {
		v, err := ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	shuffled := slices.Clone(vs)
	slices.Reverse(shuffled)
	slices.SortFunc(shuffled, Version.Compare)
	if !slices.Equal(shuffled, vs) {
		t.Fatalf("sorted %v, want %v", shuffled, vs)
	}
	a, _ := ParseVersion("4.0.0+build.7")
	b, _ := ParseVersion("4.0.0+build.8")
	if a.Compare(b) != 0 {
		t.Fatal("build metadata changed precedence")
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"4.2.1", "4.0.0-rc.1+b.7", "v1", "1.2.3-0a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		// The canonical form parses to the same version.
		w, err := ParseVersion(v.String())
		if err != nil || w != v {
			t.Fatalf("%q -> %q -> %+v %v", s, v.String(), w, err)
		}
	})
}
