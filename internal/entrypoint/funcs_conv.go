package entrypoint

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"text/template"
)

// convFuncs is the part of gomplate's conv namespace that Dex
// configurations use.
type convFuncs struct{ x *run }

// Default returns def when the input is empty in text/template's sense
// (nil, "", false, 0, an empty list or map), else the input.
func (c *convFuncs) Default(def, in any) (any, error) {
	if truth, ok := template.IsTrue(in); truth && ok {
		return in, c.x.check()
	}
	return def, c.x.check()
}

// ToBool reports whether the input is true, as gomplate reads it: true;
// "1", "t", "true" or "yes" in any case, or text that reads as the number
// 1; the number 1.
func (c *convFuncs) ToBool(in any) (bool, error) {
	if err := c.x.check(); err != nil {
		return false, err
	}
	switch v := in.(type) {
	case bool:
		return v, nil
	case string:
		if err := c.x.charge("conv.ToBool", 3*int64(len(v))); err != nil {
			return false, err
		}
		s := strings.ToLower(v)
		switch s {
		case "1", "t", "true", "yes":
			return true, nil
		}
		s = strings.ReplaceAll(s, ",", "")
		if n, err := strconv.ParseInt(s, 0, 64); err == nil {
			return n == 1, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		return err == nil && f == 1, nil
	}
	v := reflect.Indirect(reflect.ValueOf(in))
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 1, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return v.Uint() == 1, nil
	case reflect.Float32, reflect.Float64:
		return v.Float() == 1, nil
	}
	return false, nil
}

// ToInt converts the input to an integer as gomplate does: text in
// decimal, 0x hex, 0o octal or 0b binary, with any commas left out, or a
// decimal fraction (truncated); a number; a bool (1 or 0). Unlike
// gomplate's, the error does not quote the input, which may be a secret.
func (c *convFuncs) ToInt(in any) (int, error) {
	if err := c.x.check(); err != nil {
		return 0, err
	}
	if s, ok := in.(string); ok {
		if err := c.x.charge("conv.ToInt", int64(len(s))); err != nil {
			return 0, err
		}
		s = strings.ReplaceAll(s, ",", "")
		if n, err := strconv.ParseInt(s, 0, strconv.IntSize); err == nil {
			return int(n), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, errors.New("conv.ToInt: the value is not a number")
		}
		if f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, errors.New("conv.ToInt: the number is out of range")
		}
		return int(f), nil
	}
	v := reflect.Indirect(reflect.ValueOf(in))
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() > math.MaxInt64 {
			return 0, errors.New("conv.ToInt: the number is out of range")
		}
		return int(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return int(v.Float()), nil
	case reflect.Bool:
		if v.Bool() {
			return 1, nil
		}
		return 0, nil
	}
	return 0, errors.New("conv.ToInt: the value is not a number")
}

// Join joins the elements of a list with sep.
func (c *convFuncs) Join(in any, sep string) (string, error) {
	v := reflect.ValueOf(in)
	if v.Kind() != reflect.Slice && v.Kind() != reflect.Array {
		return "", fmt.Errorf("conv.Join: want a list, got %T", in)
	}
	size := mulCap(int64(max(v.Len()-1, 0)), int64(len(sep)))
	for i := range v.Len() {
		if size > c.x.left {
			// The charge refuses it: the other elements need no walk.
			break
		}
		size += c.x.sizeBound(v.Index(i).Interface(), 1)
	}
	if err := c.x.charge("conv.Join", size); err != nil {
		return "", err
	}
	parts := make([]string, v.Len())
	for i := range parts {
		parts[i] = toString(v.Index(i).Interface())
	}
	return strings.Join(parts, sep), nil
}

// Has reports whether a map has the key, or a list the element: gomplate's
// coll.Has, which Dex configurations use as `has .Env "NAME"`.
func (c *convFuncs) Has(in any, key string) (bool, error) {
	if err := c.x.check(); err != nil {
		return false, err
	}
	v := reflect.ValueOf(in)
	switch v.Kind() {
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return false, fmt.Errorf("has: the map's keys are %s, not strings", v.Type().Key())
		}
		return v.MapIndex(reflect.ValueOf(key).Convert(v.Type().Key())).IsValid(), nil
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if reflect.DeepEqual(v.Index(i).Interface(), key) {
				return true, nil
			}
		}
	}
	return false, nil
}

// testFuncs is the part of gomplate's test namespace that Dex
// configurations use.
type testFuncs struct{ x *run }

// Required returns the input, or fails rendering when it is nil or "":
// `required in` or `required message in`.
func (t *testFuncs) Required(args ...any) (any, error) {
	if err := t.x.check(); err != nil {
		return nil, err
	}
	msg := "can not render template: a required value was not set"
	var in any
	switch len(args) {
	case 1:
		in = args[0]
	case 2:
		m, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("at <1>: expected string; found %T", args[0])
		}
		if m != "" {
			msg = m
		}
		in = args[1]
	default:
		return nil, fmt.Errorf("wrong number of args: want 1 or 2, got %d", len(args))
	}
	if s, ok := in.(string); in == nil || (ok && s == "") {
		return nil, errors.New(msg)
	}
	return in, nil
}

// Fail fails rendering, with the message when given.
func (t *testFuncs) Fail(args ...any) (string, error) {
	switch len(args) {
	case 0:
		return "", errors.New("template generation failed")
	case 1:
		msg, err := t.x.str("fail", args[0])
		if err != nil {
			return "", err
		}
		if msg == "" {
			return "", errors.New("template generation failed")
		}
		return "", fmt.Errorf("template generation failed: %s", msg)
	}
	return "", fmt.Errorf("wrong number of args: want 0 or 1, got %d", len(args))
}
