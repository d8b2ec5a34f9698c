package ascii

import (
	"regexp"
	"testing"
)

func TestIsToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s        string
		min, max int
		punct    string
		want     bool
	}{
		{"abcXYZ019", 1, 64, "_-", true},
		{"a_b-c", 1, 64, "_-", true},
		{"", 1, 64, "_-", false},
		{"a.b", 1, 64, "_-", false},
		{"a.b", 1, 64, "._", true},
		{"é", 1, 64, "_-", false},
		{"a\x00", 1, 64, "_-", false},
		{"abc", 4, 64, "", false},
		{"abcd", 1, 3, "", false},
		{"abc", 3, 3, "", true},
	}
	for _, tt := range tests {
		if got := IsToken(tt.s, tt.min, tt.max, tt.punct); got != tt.want {
			t.Errorf("IsToken(%q, %d, %d, %q) = %v, want %v", tt.s, tt.min, tt.max, tt.punct, got, tt.want)
		}
	}
}

// FuzzIsToken holds IsToken to the regular expressions it replaced.
func FuzzIsToken(f *testing.F) {
	for _, s := range []string{"abc", "a-b_c", "a.b:c=d+e/f", "", "é", "x y"} {
		f.Add(s)
	}
	uuid := regexp.MustCompile(`^[A-Za-z0-9._:=+/-]{1,256}$`)
	id := regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
	jti := regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
	f.Fuzz(func(t *testing.T, s string) {
		if IsToken(s, 1, 256, "._:=+/-") != uuid.MatchString(s) {
			t.Fatalf("%q: message UUID rule disagrees", s)
		}
		if IsToken(s, 1, 64, "_-") != id.MatchString(s) {
			t.Fatalf("%q: ID rule disagrees", s)
		}
		if IsToken(s, 16, 64, "_-") != jti.MatchString(s) {
			t.Fatalf("%q: jti rule disagrees", s)
		}
	})
}
