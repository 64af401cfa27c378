package entrypoint

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"unicode"
)

// maxReadFileSize caps what getenv (through NAME_FILE) and file.Read read.
const maxReadFileSize = 1 << 20

// funcs returns the template functions: gomplate's namespaces (env,
// strings, conv, test, base64, file, data) and its top-level aliases, with
// gomplate's argument order (the piped input comes last).
func (r *Renderer) funcs() template.FuncMap {
	e := envFuncs{r: r}
	s := stringFuncs{}
	c := convFuncs{}
	t := testFuncs{}
	d := dataFuncs{}
	return template.FuncMap{
		"env":     func() envFuncs { return e },
		"strings": func() stringFuncs { return s },
		"conv":    func() convFuncs { return c },
		"test":    func() testFuncs { return t },
		"base64":  func() base64Funcs { return base64Funcs{} },
		"file":    func() fileFuncs { return fileFuncs{} },
		"data":    func() dataFuncs { return d },

		"getenv": e.Getenv,

		"required": t.Required,
		"fail":     t.Fail,
		"ternary":  t.Ternary,

		"default": c.Default,
		"bool":    c.Bool,
		"join":    c.Join,
		"has":     c.Has,

		"toUpper":    s.ToUpper,
		"toLower":    s.ToLower,
		"trimSpace":  s.TrimSpace,
		"title":      s.Title,
		"trim":       s.Trim,
		"contains":   s.Contains,
		"hasPrefix":  s.HasPrefix,
		"hasSuffix":  s.HasSuffix,
		"split":      s.Split,
		"splitN":     s.SplitN,
		"replaceAll": s.ReplaceAll,
		"quote":      s.Quote,
		"squote":     s.Squote,
		"indent":     s.Indent,

		"toJSON":       d.ToJSON,
		"toJSONPretty": d.ToJSONPretty,
	}
}

// envFuncs is gomplate's env namespace.
type envFuncs struct{ r *Renderer }

// Getenv returns the variable name, else the trimmed content of the file
// that name_FILE names, else def (when given), else "".
func (e envFuncs) Getenv(name string, def ...string) (string, error) {
	if len(def) > 1 {
		return "", fmt.Errorf("getenv %s: at most one default, got %d", name, len(def))
	}
	v, err := e.r.lookup(name)
	if err != nil {
		return "", err
	}
	if v == "" && len(def) == 1 {
		return def[0], nil
	}
	return v, nil
}

// Env returns every variable, as .Env does: a key that is not set is an
// error, and NAME_FILE is not read.
func (e envFuncs) Env() map[string]string { return e.r.envMap() }

// ExpandEnv replaces $NAME and ${NAME} in the input with the variables'
// values, as getenv reads them.
func (e envFuncs) ExpandEnv(in any) (string, error) {
	var firstErr error
	out := os.Expand(toString(in), func(name string) string {
		v, err := e.r.lookup(name)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return v
	})
	return out, firstErr
}

// lookup reads name from the environment, falling back to the file that
// name_FILE names, as gomplate does for Docker and Kubernetes secrets.
func (r *Renderer) lookup(name string) (string, error) {
	if v := r.Env[name]; v != "" {
		return v, nil
	}
	path := r.Env[name+"_FILE"]
	if path == "" {
		return "", nil
	}
	b, err := readFileLimited(path)
	if err != nil {
		return "", fmt.Errorf("getenv %s: read the file named by %s_FILE: %w", name, name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

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

// convFuncs is gomplate's conv namespace.
type convFuncs struct{}

// Default returns def when the input is empty (nil, "", false, 0, or an
// empty list or map), else the input.
func (convFuncs) Default(def, in any) any {
	if isEmpty(in) {
		return def
	}
	return in
}

// Bool reports whether the input is "1", "t", "true" or "yes", in any case.
func (convFuncs) Bool(in any) bool {
	if b, ok := in.(bool); ok {
		return b
	}
	switch strings.ToLower(strings.TrimSpace(toString(in))) {
	case "1", "t", "true", "yes":
		return true
	}
	return false
}

// ToBool is Bool, also taking numbers (non-zero is true).
func (c convFuncs) ToBool(in any) bool {
	v := reflect.ValueOf(in)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() != 0
	case reflect.Float32, reflect.Float64:
		return v.Float() != 0
	}
	return c.Bool(in)
}

// ToInt converts the input (decimal, 0x hex, 0o octal, or a number) to an
// integer. Unlike gomplate, which yields 0, input that is not a number is
// an error.
func (convFuncs) ToInt(in any) (int, error) { return toInt("conv.ToInt", in) }

// ToInt64 is ToInt for 64-bit integers.
func (convFuncs) ToInt64(in any) (int64, error) {
	n, err := toInt("conv.ToInt64", in)
	return int64(n), err
}

// Atoi is ToInt.
func (convFuncs) Atoi(in any) (int, error) { return toInt("conv.Atoi", in) }

// ToString converts the input to a string.
func (convFuncs) ToString(in any) string { return toString(in) }

// Join joins the elements of a list with sep.
func (convFuncs) Join(in any, sep string) (string, error) {
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return "", fmt.Errorf("conv.Join: want a list, got %T", in)
	}
	parts := make([]string, v.Len())
	for i := range parts {
		parts[i] = toString(v.Index(i).Interface())
	}
	return strings.Join(parts, sep), nil
}

// Has reports whether a map has the key, or a list the element.
func (convFuncs) Has(in any, key any) bool {
	v := reflect.ValueOf(in)
	switch v.Kind() {
	case reflect.Map:
		k := reflect.ValueOf(key)
		if !k.IsValid() || !k.Type().AssignableTo(v.Type().Key()) {
			return false
		}
		return v.MapIndex(k).IsValid()
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if reflect.DeepEqual(v.Index(i).Interface(), key) {
				return true
			}
		}
	}
	return false
}

// testFuncs is gomplate's test namespace.
type testFuncs struct{}

// Required returns the input, or fails rendering when it is empty (nil or
// ""): `required in` or `required message in`.
func (testFuncs) Required(args ...any) (any, error) {
	var msg string
	var in any
	switch len(args) {
	case 1:
		in = args[0]
	case 2:
		msg, in = toString(args[0]), args[1]
	default:
		return nil, fmt.Errorf("want 1 or 2 arguments, got %d", len(args))
	}
	if in == nil || toString(in) == "" {
		if msg == "" {
			msg = "a required value was not set"
		}
		return nil, errors.New(msg)
	}
	return in, nil
}

// Fail fails rendering with the message.
func (testFuncs) Fail(args ...any) (string, error) {
	if len(args) == 0 {
		return "", errors.New("template called fail")
	}
	return "", errors.New(toString(args[0]))
}

// Ternary returns t when the input is true (as conv.ToBool), else f.
func (testFuncs) Ternary(t, f, in any) any {
	if (convFuncs{}).ToBool(in) {
		return t
	}
	return f
}

// base64Funcs is gomplate's base64 namespace.
type base64Funcs struct{}

// Encode returns the input in standard base64.
func (base64Funcs) Encode(in any) string {
	return base64.StdEncoding.EncodeToString([]byte(toString(in)))
}

// Decode decodes standard (or URL-safe, unpadded) base64.
func (base64Funcs) Decode(in any) (string, error) {
	s := strings.TrimSpace(toString(in))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return string(b), nil
		}
	}
	// The input may be a secret: the error does not quote it.
	return "", errors.New("base64.Decode: the input is not base64")
}

// fileFuncs is the part of gomplate's file namespace that configurations
// use to read mounted secrets.
type fileFuncs struct{}

// Read returns the content of the file at path (at most 1 MiB).
func (fileFuncs) Read(path string) (string, error) {
	b, err := readFileLimited(path)
	if err != nil {
		return "", fmt.Errorf("file.Read: %w", err)
	}
	return string(b), nil
}

// Exists reports whether path exists.
func (fileFuncs) Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// dataFuncs is the JSON part of gomplate's data namespace.
type dataFuncs struct{}

// ToJSON returns the input as JSON (which is also YAML).
func (dataFuncs) ToJSON(in any) (string, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("data.ToJSON: %w", err)
	}
	return string(b), nil
}

// ToJSONPretty returns the input as JSON indented with indent.
func (dataFuncs) ToJSONPretty(indent string, in any) (string, error) {
	b, err := json.MarshalIndent(in, "", indent)
	if err != nil {
		return "", fmt.Errorf("data.ToJSONPretty: %w", err)
	}
	return string(b), nil
}

func toString(in any) string {
	switch v := in.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(in)
}

// toInt converts in to an int. The error does not quote the input, which
// may come from a secret.
func toInt(fn string, in any) (int, error) {
	v := reflect.ValueOf(in)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return int(v.Float()), nil
	}
	s := strings.TrimSpace(toString(in))
	if n, err := strconv.ParseInt(s, 0, strconv.IntSize); err == nil {
		return int(n), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return int(f), nil
	}
	return 0, fmt.Errorf("%s: the value is not a number", fn)
}

func isEmpty(in any) bool {
	if in == nil {
		return true
	}
	v := reflect.ValueOf(in)
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}

// readFileLimited reads at most maxReadFileSize bytes of path; a larger
// file is an error.
func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxReadFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxReadFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxReadFileSize)
	}
	return b, nil
}
