package entrypoint

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// base64Funcs is gomplate's base64 namespace, less DecodeBytes.
type base64Funcs struct{ x *run }

// Encode returns the input in standard base64.
func (b *base64Funcs) Encode(in any) (string, error) {
	var v []byte
	switch in := in.(type) {
	case nil:
	case []byte:
		v = in
	default:
		s, err := b.x.str("base64.Encode", in)
		if err != nil {
			return "", err
		}
		v = []byte(s)
	}
	if err := b.x.charge("base64.Encode", int64(len(v))+int64(base64.StdEncoding.EncodedLen(len(v)))); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(v), nil
}

// Decode decodes standard base64, else URL-safe base64 (both padded).
func (b *base64Funcs) Decode(in any) (string, error) {
	s, err := b.x.str("base64.Decode", in)
	if err != nil {
		return "", err
	}
	if err := b.x.charge("base64.Decode", 2*int64(base64.StdEncoding.DecodedLen(len(s)))); err != nil {
		return "", err
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		if out, err := enc.DecodeString(s); err == nil {
			return string(out), nil
		}
	}
	// The input may be a secret: the error does not quote it.
	return "", errors.New("base64.Decode: the input is not base64")
}

// fileFuncs is the part of gomplate's file namespace that configurations
// use to read mounted secrets.
type fileFuncs struct{ x *run }

// Read returns the content of the file at path (at most 1 MiB, unlike
// gomplate's).
func (f *fileFuncs) Read(path any) (string, error) {
	p, err := f.x.str("file.Read", path)
	if err != nil {
		return "", err
	}
	b, err := f.x.readFile("file.Read", p)
	if err != nil {
		return "", fmt.Errorf("file.Read: %w", err)
	}
	return string(b), nil
}

// Exists reports whether path exists.
func (f *fileFuncs) Exists(path any) (bool, error) {
	p, err := f.x.str("file.Exists", path)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	return err == nil, nil
}

// dataFuncs is the part of gomplate's data namespace that configurations
// use: toJSON, to write a list or a map into YAML.
type dataFuncs struct{ x *run }

// ToJSON returns the input as JSON (which is also YAML), with map keys
// sorted and <, > and & escaped, as gomplate writes it. The charge is
// three times the result: the encoder's buffer, the copy json.Marshal
// returns, and the string.
func (d *dataFuncs) ToJSON(in any) (string, error) {
	if err := d.x.charge("data.ToJSON", 3*d.x.sizeBound(in, 6)); err != nil {
		return "", err
	}
	b, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("data.ToJSON: %w", err)
	}
	return string(b), nil
}
