package entrypoint

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"text/template"
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
