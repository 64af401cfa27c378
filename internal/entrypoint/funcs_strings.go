package entrypoint

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// stringFuncs is gomplate's strings namespace.
type stringFuncs struct{}

// ToUpper returns the input in upper case.
func (stringFuncs) ToUpper(in any) string { return strings.ToUpper(toString(in)) }

// ToLower returns the input in lower case.
func (stringFuncs) ToLower(in any) string { return strings.ToLower(toString(in)) }

// TrimSpace removes leading and trailing white space.
func (stringFuncs) TrimSpace(in any) string { return strings.TrimSpace(toString(in)) }

// Title upper-cases the first letter of every word.
func (stringFuncs) Title(in any) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		start := unicode.IsSpace(prev)
		prev = r
		if start {
			return unicode.ToTitle(r)
		}
		return r
	}, toString(in))
}

// Trim removes the characters of cutset from both ends.
func (stringFuncs) Trim(cutset string, in any) string { return strings.Trim(toString(in), cutset) }

// TrimPrefix removes prefix from the start.
func (stringFuncs) TrimPrefix(prefix string, in any) string {
	return strings.TrimPrefix(toString(in), prefix)
}

// TrimSuffix removes suffix from the end.
func (stringFuncs) TrimSuffix(suffix string, in any) string {
	return strings.TrimSuffix(toString(in), suffix)
}

// Contains reports whether the input contains substr.
func (stringFuncs) Contains(substr string, in any) bool {
	return strings.Contains(toString(in), substr)
}

// HasPrefix reports whether the input starts with prefix.
func (stringFuncs) HasPrefix(prefix string, in any) bool {
	return strings.HasPrefix(toString(in), prefix)
}

// HasSuffix reports whether the input ends with suffix.
func (stringFuncs) HasSuffix(suffix string, in any) bool {
	return strings.HasSuffix(toString(in), suffix)
}

// Split splits the input around sep.
func (stringFuncs) Split(sep string, in any) []string { return strings.Split(toString(in), sep) }

// SplitN splits the input around sep into at most n parts.
func (stringFuncs) SplitN(sep string, n any, in any) ([]string, error) {
	count, err := toInt("strings.SplitN", n)
	if err != nil {
		return nil, err
	}
	return strings.SplitN(toString(in), sep, count), nil
}

// ReplaceAll replaces every old with replacement.
func (stringFuncs) ReplaceAll(old, replacement string, in any) string {
	return strings.ReplaceAll(toString(in), old, replacement)
}

// Repeat returns count copies of the input.
func (stringFuncs) Repeat(count any, in any) (string, error) {
	n, err := toInt("strings.Repeat", count)
	if err != nil {
		return "", err
	}
	s := toString(in)
	if n < 0 || (len(s) > 0 && n > maxOutputSize/len(s)) {
		return "", fmt.Errorf("strings.Repeat: count %d is out of range", n)
	}
	return strings.Repeat(s, n), nil
}

// Quote returns the input in double quotes, escaped as a Go (and YAML
// double-quoted) string.
func (stringFuncs) Quote(in any) string { return strconv.Quote(toString(in)) }

// Squote returns the input in single quotes, a ' doubled as YAML escapes it.
func (stringFuncs) Squote(in any) string {
	return "'" + strings.ReplaceAll(toString(in), "'", "''") + "'"
}

// Indent prefixes every non-empty line of the input: `indent in` with one
// space, `indent width in` with width spaces, `indent width pad in` with
// width copies of pad.
func (stringFuncs) Indent(args ...any) (string, error) {
	width, pad := 1, " "
	switch len(args) {
	case 1:
	case 2:
		n, err := toInt("strings.Indent", args[0])
		if err != nil {
			return "", err
		}
		width = n
	case 3:
		n, err := toInt("strings.Indent", args[0])
		if err != nil {
			return "", err
		}
		width, pad = n, toString(args[1])
	default:
		return "", fmt.Errorf("strings.Indent: want 1 to 3 arguments, got %d", len(args))
	}
	if width < 0 || width > 1024 {
		return "", fmt.Errorf("strings.Indent: width %d is out of range", width)
	}
	prefix := strings.Repeat(pad, width)
	var b strings.Builder
	startOfLine := true
	for _, r := range toString(args[len(args)-1]) {
		if startOfLine && r != '\n' {
			b.WriteString(prefix)
		}
		b.WriteRune(r)
		startOfLine = r == '\n'
	}
	return b.String(), nil
}
