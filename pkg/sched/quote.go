package sched

import (
	"fmt"
	"strings"
)

// Quote returns s as one POSIX shell word that expands to exactly s: the
// empty string becomes a pair of single quotes, words made only of characters no shell treats
// specially are left bare, everything else is wrapped in single quotes with
// each embedded single quote written as quote, backslash, quote, quote.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isBare(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			b.WriteString(`'\''`)
			continue
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}

// QuoteArgs quotes each word and joins them with single spaces.
func QuoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// isBare reports whether s needs no quoting: letters, digits and
// _ - . , / : = @ + % only, and not starting with a character that is
// special at the start of a word (~ or =, or - which is harmless but kept
// quoted-free).
func isBare(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("_-.,/:=@+%", c) >= 0:
		default:
			return false
		}
	}
	return s[0] != '='
}

// directiveSafe reports whether s may appear in a scheduler directive line
// (#SBATCH, #BSUB, ...), which no shell parses: printable ASCII without
// quotes, backslashes, dollar signs, backticks or whitespace.
func directiveSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("'\"\\$`;&|<>(){}[]*?!#~", c) >= 0 {
			return false
		}
	}
	return true
}

// CheckDirective returns an ErrUnsafe error naming what when value cannot be
// written into a scheduler directive line unquoted.
func CheckDirective(what, value string) error {
	if !directiveSafe(value) {
		return fmt.Errorf("%w: %s %q: only printable characters without spaces, quotes or shell metacharacters may appear in a scheduler directive", ErrUnsafe, what, value)
	}
	return nil
}

// checkLine rejects values that would end a directive line early.
func checkLine(what, value string) error {
	if strings.ContainsAny(value, "\n\r\x00") {
		return fmt.Errorf("%w: %s %q contains a line break or NUL", ErrUnsafe, what, value)
	}
	return nil
}
