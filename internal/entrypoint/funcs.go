package entrypoint

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"text/template"
)

// maxReadFileSize caps what getenv (through NAME_FILE) and file.Read read.
const maxReadFileSize = 1 << 20

// funcs returns the functions templates may call: the part of gomplate's
// that Dex configurations use, each with gomplate's name, argument order
// and result, and text/template's built-ins that build strings, replaced
// by bounded copies with the same results. Every one of them checks the
// render's deadline, and counts what it produces before allocating it.
func (x *run) funcs() template.FuncMap {
	env := &envFuncs{x}
	str := &stringFuncs{x}
	conv := &convFuncs{x}
	test := &testFuncs{x}
	b64 := &base64Funcs{x}
	file := &fileFuncs{x}
	data := &dataFuncs{x}
	b := &builtinFuncs{x}
	return template.FuncMap{
		"env":     func() *envFuncs { return env },
		"strings": func() *stringFuncs { return str },
		"conv":    func() *convFuncs { return conv },
		"test":    func() *testFuncs { return test },
		"base64":  func() *base64Funcs { return b64 },
		"file":    func() *fileFuncs { return file },
		"data":    func() *dataFuncs { return data },

		"getenv": env.Getenv,

		"required": test.Required,
		"fail":     test.Fail,

		"default": conv.Default,
		"join":    conv.Join,
		"has":     conv.Has,

		// gomplate's old top-level string functions take Go's argument
		// order (the string first), unlike the strings namespace.
		"contains":  str.oldContains,
		"hasPrefix": str.oldHasPrefix,
		"hasSuffix": str.oldHasSuffix,
		"split":     str.oldSplit,

		"toLower":    str.ToLower,
		"toUpper":    str.ToUpper,
		"trimSpace":  str.TrimSpace,
		"replaceAll": str.ReplaceAll,
		"quote":      str.Quote,
		"squote":     str.Squote,
		"indent":     str.Indent,

		"toJSON": data.ToJSON,

		"print":    b.Print,
		"printf":   b.Printf,
		"println":  b.Println,
		"html":     b.HTML,
		"js":       b.JS,
		"urlquery": b.URLQuery,
		"slice":    b.Slice,
	}
}

// str converts in to a string as gomplate does (nil is "nil"), counting
// the conversion of anything that is not already a string.
func (x *run) str(fn string, in any) (string, error) {
	switch v := in.(type) {
	case string:
		return v, x.check()
	case nil:
		return "nil", x.check()
	}
	if err := x.charge(fn, x.sizeBound(in, 1)); err != nil {
		return "", err
	}
	return toString(in), nil
}

// toString is gomplate's conv.ToString.
func toString(in any) string {
	switch v := in.(type) {
	case nil:
		return "nil"
	case string:
		return v
	case fmt.Stringer:
		return v.String()
	case []byte:
		return string(v)
	}
	return fmt.Sprint(in)
}

// readFile reads the file at path, at most maxReadFileSize bytes; a larger
// file is an error, and so is anything but a regular file: a named pipe or
// a device (/dev/stdin) would block the open or the read past the render's
// deadline. The read is counted before it allocates: a buffer of the
// file's size, and the string the caller makes of it.
func (x *run) readFile(fn, path string) ([]byte, error) {
	if err := x.check(); err != nil {
		return nil, err
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, notRegular(path, info.Mode())
	}
	// Opened without blocking, and checked again: the path may name a named
	// pipe by now.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, notRegular(path, info.Mode())
	}
	// One byte more, to see a file that grew since.
	size := min(info.Size(), maxReadFileSize) + 1
	if err := x.charge(fn, 2*size); err != nil {
		return nil, err
	}
	b := make([]byte, 0, size)
	for len(b) < cap(b) {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
	x.refund(size - int64(len(b)))
	switch {
	case len(b) > maxReadFileSize:
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxReadFileSize)
	case int64(len(b)) == size:
		return nil, fmt.Errorf("%s changed while it was read", path)
	}
	return b, nil
}

// notRegular is readFile's error for a file that is not a regular file.
func notRegular(path string, mode fs.FileMode) error {
	kind := "not a regular file"
	switch {
	case mode.IsDir():
		kind = "a directory"
	case mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	case mode&fs.ModeDevice != 0:
		kind = "a device"
	}
	return fmt.Errorf("%s is %s: only a regular file is read", path, kind)
}
