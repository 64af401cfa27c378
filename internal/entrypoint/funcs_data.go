package entrypoint

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

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
