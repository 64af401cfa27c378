package entrypoint

import (
	"fmt"
	"strings"
	"text/template"
)

// builtinFuncs replaces text/template's built-ins that build strings by
// copies that give the same results, but count them first; and slice by
// gomplate's (a list of its arguments).
type builtinFuncs struct{ x *run }

// Print is text/template's print. fmt's buffer grows as it prints, and is
// then copied: the charge is three times the result.
func (b *builtinFuncs) Print(args ...any) (string, error) {
	if err := b.x.charge("print", 3*b.x.argsBound(args, 1)); err != nil {
		return "", err
	}
	return fmt.Sprint(args...), nil
}

// Println is text/template's println.
func (b *builtinFuncs) Println(args ...any) (string, error) {
	if err := b.x.charge("println", 3*(b.x.argsBound(args, 1)+1)); err != nil {
		return "", err
	}
	return fmt.Sprintln(args...), nil
}

// Printf is text/template's printf. Its bound: every verb may print the
// largest argument with the largest width or precision in the format (fmt
// caps both at 10⁶), which fmt applies to every scalar in a list or map,
// and every argument may be printed again as extra.
func (b *builtinFuncs) Printf(format string, args ...any) (string, error) {
	verbs := int64(strings.Count(format, "%"))
	width := widest(format)
	var largest int64
	for _, a := range args {
		m := b.x.measure(a, 6)
		largest = max(largest, m.size+mulCap(width, max(m.scalars, 1)))
	}
	perVerb := width + largest + 64
	if err := b.x.charge("printf", int64(len(format))+mulCap(verbs, perVerb)+b.x.argsBound(args, 6)); err != nil {
		return "", err
	}
	return fmt.Sprintf(format, args...), nil
}

// HTML is text/template's html.
func (b *builtinFuncs) HTML(args ...any) (string, error) {
	if err := b.x.charge("html", 6*b.x.argsBound(args, 1)); err != nil {
		return "", err
	}
	return template.HTMLEscaper(args...), nil
}

// JS is text/template's js.
func (b *builtinFuncs) JS(args ...any) (string, error) {
	if err := b.x.charge("js", 6*b.x.argsBound(args, 1)); err != nil {
		return "", err
	}
	return template.JSEscaper(args...), nil
}

// URLQuery is text/template's urlquery.
func (b *builtinFuncs) URLQuery(args ...any) (string, error) {
	if err := b.x.charge("urlquery", 6*b.x.argsBound(args, 1)); err != nil {
		return "", err
	}
	return template.URLQueryEscaper(args...), nil
}

// Slice is gomplate's slice (coll.Slice): the list of its arguments.
// text/template's slice, which gomplate replaces, is not provided. The
// list takes little memory, as it shares its arguments, but printing it
// takes as much as printing them: a list of a list of a string, nested
// ten deep, prints the string a thousand times, and fmt builds the text
// before the output's cap sees it. So the list is charged what it prints,
// which charges nesting at every level.
func (b *builtinFuncs) Slice(args ...any) ([]any, error) {
	if err := b.x.charge("slice", 24+16*int64(len(args))+b.x.argsBound(args, 1)); err != nil {
		return nil, err
	}
	return args, nil
}

// argsBound bounds the length of args printed one after the other.
func (x *run) argsBound(args []any, perByte int64) int64 {
	n := int64(len(args))
	for _, a := range args {
		n += x.sizeBound(a, perByte) + 64
	}
	return n
}

// widest returns the largest width or precision that format may ask of
// fmt: the largest number written in it, or fmt's cap of 10⁶ when a width
// is taken from an argument (*).
func widest(format string) int64 {
	const fmtCap = 1e6
	if strings.Contains(format, "*") {
		return fmtCap
	}
	var largest, n int64
	for i := range len(format) {
		if c := format[i]; c >= '0' && c <= '9' {
			n = min(n*10+int64(c-'0'), fmtCap)
			largest = max(largest, n)
		} else {
			n = 0
		}
	}
	return largest
}
