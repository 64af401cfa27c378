package entrypoint

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// stringFuncs is the part of gomplate's strings namespace that Dex
// configurations use.
type stringFuncs struct{ x *run }

// ToLower returns the input in lower case, by Unicode's full case mapping
// (İ is i̇, a final Σ is ς), as gomplate does.
func (s *stringFuncs) ToLower(in any) (string, error) {
	v, err := s.caseInput("strings.ToLower", in)
	if err != nil {
		return "", err
	}
	return cases.Lower(language.Und).String(v), nil
}

// ToUpper returns the input in upper case, by Unicode's full case mapping
// (ß is SS), as gomplate does.
func (s *stringFuncs) ToUpper(in any) (string, error) {
	v, err := s.caseInput("strings.ToUpper", in)
	if err != nil {
		return "", err
	}
	return cases.Upper(language.Und).String(v), nil
}

// caseInput converts the input of a case mapping to a string and counts
// the result: a mapping makes at most three bytes of one.
func (s *stringFuncs) caseInput(fn string, in any) (string, error) {
	v, err := s.x.str(fn, in)
	if err != nil {
		return "", err
	}
	return v, s.x.charge(fn, 3*int64(len(v)))
}

// TrimSpace removes leading and trailing white space.
func (s *stringFuncs) TrimSpace(in any) (string, error) {
	v, err := s.x.str("strings.TrimSpace", in)
	return strings.TrimSpace(v), err
}

// TrimPrefix removes prefix from the start.
func (s *stringFuncs) TrimPrefix(prefix string, in any) (string, error) {
	v, err := s.x.str("strings.TrimPrefix", in)
	return strings.TrimPrefix(v, prefix), err
}

// TrimSuffix removes suffix from the end.
func (s *stringFuncs) TrimSuffix(suffix string, in any) (string, error) {
	v, err := s.x.str("strings.TrimSuffix", in)
	return strings.TrimSuffix(v, suffix), err
}

// Contains reports whether the input contains substr.
func (s *stringFuncs) Contains(substr string, in any) (bool, error) {
	v, err := s.x.str("strings.Contains", in)
	return strings.Contains(v, substr), err
}

// HasPrefix reports whether the input starts with prefix.
func (s *stringFuncs) HasPrefix(prefix string, in any) (bool, error) {
	v, err := s.x.str("strings.HasPrefix", in)
	return strings.HasPrefix(v, prefix), err
}

// HasSuffix reports whether the input ends with suffix.
func (s *stringFuncs) HasSuffix(suffix string, in any) (bool, error) {
	v, err := s.x.str("strings.HasSuffix", in)
	return strings.HasSuffix(v, suffix), err
}

// Split splits the input around sep.
func (s *stringFuncs) Split(sep string, in any) ([]string, error) {
	v, err := s.x.str("strings.Split", in)
	if err != nil {
		return nil, err
	}
	return s.split("strings.Split", v, sep)
}

// ReplaceAll replaces every old in the input with replacement.
func (s *stringFuncs) ReplaceAll(old, replacement string, in any) (string, error) {
	v, err := s.x.str("strings.ReplaceAll", in)
	if err != nil {
		return "", err
	}
	n := int64(strings.Count(v, old))
	if err := s.x.charge("strings.ReplaceAll", int64(len(v))+mulCap(n, int64(len(replacement)))); err != nil {
		return "", err
	}
	return strings.ReplaceAll(v, old, replacement), nil
}

// Quote returns the input in double quotes, escaped as a Go (and YAML
// double-quoted) string.
func (s *stringFuncs) Quote(in any) (string, error) {
	v, err := s.x.str("strings.Quote", in)
	if err != nil {
		return "", err
	}
	// An escape takes at most 4 bytes for each byte: \x00.
	if err := s.x.charge("strings.Quote", 2+4*int64(len(v))); err != nil {
		return "", err
	}
	return strconv.Quote(v), nil
}

// Squote returns the input in single quotes, a ' doubled as YAML escapes it.
func (s *stringFuncs) Squote(in any) (string, error) {
	v, err := s.x.str("strings.Squote", in)
	if err != nil {
		return "", err
	}
	if err := s.x.charge("strings.Squote", 2+int64(len(v))+int64(strings.Count(v, "'"))); err != nil {
		return "", err
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'", nil
}

// Indent prefixes every line of the input that is not empty: `indent in`
// with one space, `indent width in` with width spaces, `indent pad in`
// with pad, `indent width pad in` with width copies of pad. width and pad
// must be a literal number and string, as in gomplate.
func (s *stringFuncs) Indent(args ...any) (string, error) {
	width, pad := 1, " "
	var ok bool
	switch len(args) {
	case 0:
		return "", errors.New("expected at least 1 argument")
	case 2:
		if pad, ok = args[0].(string); !ok {
			if width, ok = args[0].(int); !ok {
				return "", errors.New("invalid arguments")
			}
			pad = " "
		}
	case 3:
		if width, ok = args[0].(int); !ok {
			return "", errors.New("invalid arguments")
		}
		if pad, ok = args[1].(string); !ok {
			return "", errors.New("invalid arguments")
		}
	}
	in, err := s.x.str("strings.Indent", args[len(args)-1])
	if err != nil {
		return "", err
	}
	if width <= 0 {
		return "", errors.New("width must be > 0")
	}
	if strings.Contains(pad, "\n") {
		return "", errors.New(`indent must not contain '\n'`)
	}
	prefix := mulCap(int64(width), int64(len(pad)))
	lines := int64(strings.Count(in, "\n")) + 1
	if err := s.x.charge("strings.Indent", prefix+int64(len(in))+mulCap(lines, prefix)); err != nil {
		return "", err
	}
	indent := strings.Repeat(pad, width)
	var b strings.Builder
	b.Grow(len(in) + len(indent)*int(lines))
	startOfLine := true
	for i := range len(in) {
		c := in[i]
		if startOfLine && c != '\n' {
			b.WriteString(indent)
		}
		b.WriteByte(c)
		startOfLine = c == '\n'
	}
	return b.String(), nil
}

// oldContains is gomplate's top-level contains: the string first.
func (s *stringFuncs) oldContains(in, substr string) (bool, error) {
	return strings.Contains(in, substr), s.x.check()
}

// oldHasPrefix is gomplate's top-level hasPrefix: the string first.
func (s *stringFuncs) oldHasPrefix(in, prefix string) (bool, error) {
	return strings.HasPrefix(in, prefix), s.x.check()
}

// oldHasSuffix is gomplate's top-level hasSuffix: the string first.
func (s *stringFuncs) oldHasSuffix(in, suffix string) (bool, error) {
	return strings.HasSuffix(in, suffix), s.x.check()
}

// oldSplit is gomplate's top-level split: the string first.
func (s *stringFuncs) oldSplit(in, sep string) ([]string, error) {
	return s.split("split", in, sep)
}

// split is strings.Split, counting the list before it is allocated: the
// parts share the input's memory, but each takes a string header.
func (s *stringFuncs) split(fn, in, sep string) ([]string, error) {
	var n int
	if sep == "" {
		n = utf8.RuneCountInString(in)
	} else {
		n = strings.Count(in, sep) + 1
	}
	if err := s.x.charge(fn, mulCap(int64(n), 16)+24); err != nil {
		return nil, err
	}
	return strings.Split(in, sep), nil
}
