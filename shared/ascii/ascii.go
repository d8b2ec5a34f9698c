// Package ascii checks identifiers made of ASCII letters, digits and a few
// punctuation characters. It replaces anchored regular expressions such as
// ^[A-Za-z0-9_-]{1,64}$: compiling those at package init cost the functions
// about 2 ms of every cold start.
package ascii

import "strings"

// IsToken reports whether s has between minLen and maxLen bytes, each an
// ASCII letter, an ASCII digit or one of the bytes in punct.
func IsToken(s string, minLen, maxLen int, punct string) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte(punct, c) >= 0:
		default:
			return false
		}
	}
	return true
}
