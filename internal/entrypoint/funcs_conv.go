package entrypoint

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

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
