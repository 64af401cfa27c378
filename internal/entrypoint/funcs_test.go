package entrypoint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The functions Dex configurations use render as gomplate renders them,
// with gomplate's argument order.
func TestFunctions(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte("  from-file\n"), 0o600))
	env := map[string]string{
		"SET":          "value",
		"EMPTY":        "",
		"NUM":          "42",
		"HEX":          "0x10",
		"YES":          "Yes",
		"LIST":         "a,b,c",
		"FROM_FILE":    "",
		"SECRET_FILE":  secretFile,
		"MULTI":        "one\n\ntwo",
		"QUOTED":       `say "hi"`,
		"SINGLE":       "it's",
		"B64":          "aGVsbG8=",
		"PADDED_SPACE": "  x  ",
	}
	tests := []struct {
		name, tmpl, want string
	}{
		{"getenv set", `{{ getenv "SET" }}`, "value"},
		{"getenv unset", `{{ getenv "UNSET" }}`, ""},
		{"getenv default when unset", `{{ getenv "UNSET" "def" }}`, "def"},
		{"getenv default when empty", `{{ getenv "EMPTY" "def" }}`, "def"},
		{"getenv default unused", `{{ getenv "SET" "def" }}`, "value"},
		{"getenv reads NAME_FILE", `{{ getenv "SECRET" }}`, "from-file"},
		{"env.Getenv", `{{ env.Getenv "SET" }}`, "value"},
		{"env.Getenv default", `{{ env.Getenv "UNSET" "def" }}`, "def"},
		{"env.ExpandEnv", `{{ env.ExpandEnv "x-$SET-${NUM}" }}`, "x-value-42"},
		{".Env", `{{ .Env.SET }}`, "value"},
		{"env.Env", `{{ env.Env.SET }}`, "value"},
		{"if getenv", `{{ if getenv "UNSET" }}yes{{ else }}no{{ end }}`, "no"},
		{"required passes", `{{ getenv "SET" | required "SET is needed" }}`, "value"},
		{"required without message", `{{ required (getenv "SET") }}`, "value"},
		{"default piped", `{{ getenv "UNSET" | default "d" }}`, "d"},
		{"default unused", `{{ getenv "SET" | default "d" }}`, "value"},
		{"conv.Default", `{{ conv.Default "d" "" }}`, "d"},
		{"default of zero", `{{ default 5 0 }}`, "5"},
		{"toUpper", `{{ getenv "SET" | toUpper }}`, "VALUE"},
		{"strings.ToLower", `{{ strings.ToLower "ABC" }}`, "abc"},
		{"trimSpace", `[{{ getenv "PADDED_SPACE" | trimSpace }}]`, "[x]"},
		{"strings.Trim cutset first", `{{ strings.Trim "-" "--x--" }}`, "x"},
		{"strings.TrimPrefix", `{{ strings.TrimPrefix "http://" "http://h" }}`, "h"},
		{"strings.TrimSuffix", `{{ strings.TrimSuffix "/" "h/" }}`, "h"},
		{"contains substring first", `{{ getenv "SET" | contains "al" }}`, "true"},
		{"hasPrefix", `{{ hasPrefix "va" "value" }}`, "true"},
		{"hasSuffix", `{{ strings.HasSuffix "x" "value" }}`, "false"},
		{"split separator first", `{{ range getenv "LIST" | split "," }}[{{ . }}]{{ end }}`, "[a][b][c]"},
		{"splitN", `{{ range strings.SplitN "," 2 "a,b,c" }}[{{ . }}]{{ end }}`, "[a][b,c]"},
		{"replaceAll", `{{ "a-b-c" | replaceAll "-" "." }}`, "a.b.c"},
		{"strings.Repeat", `{{ strings.Repeat 3 "ab" }}`, "ababab"},
		{"title", `{{ title "hello big world" }}`, "Hello Big World"},
		{"quote escapes", `{{ getenv "QUOTED" | quote }}`, `"say \"hi\""`},
		{"squote doubles", `{{ getenv "SINGLE" | squote }}`, `'it''s'`},
		{"indent default", `{{ indent "a\nb" }}`, " a\n b"},
		{"indent width", `{{ getenv "MULTI" | indent 2 }}`, "  one\n\n  two"},
		{"indent width and pad", `{{ strings.Indent 2 "-" "a" }}`, "--a"},
		{"conv.ToInt", `{{ conv.ToInt (getenv "NUM") | printf "%d" }}`, "42"},
		{"conv.ToInt hex", `{{ conv.ToInt (getenv "HEX") }}`, "16"},
		{"conv.Atoi", `{{ conv.Atoi "7" }}`, "7"},
		{"conv.ToInt64", `{{ conv.ToInt64 "7" }}`, "7"},
		{"conv.Bool", `{{ getenv "YES" | conv.Bool }}`, "true"},
		{"bool false", `{{ bool "nope" }}`, "false"},
		{"conv.ToBool number", `{{ conv.ToBool 1 }}`, "true"},
		{"conv.ToString", `{{ conv.ToString 3 }}`, "3"},
		{"join", `{{ join (split "," "a,b") ";" }}`, "a;b"},
		{"has list", `{{ has (split "," "a,b") "b" }}`, "true"},
		{"has missing", `{{ has (split "," "a,b") "z" }}`, "false"},
		{"ternary", `{{ ternary "on" "off" (getenv "YES" | conv.Bool) }}`, "on"},
		{"base64.Encode", `{{ base64.Encode "hello" }}`, "aGVsbG8="},
		{"base64.Decode", `{{ getenv "B64" | base64.Decode }}`, "hello"},
		{"file.Read", `{{ file.Read "` + secretFile + `" | trimSpace }}`, "from-file"},
		{"file.Exists", `{{ file.Exists "` + secretFile + `" }}`, "true"},
		{"toJSON", `{{ split "," "a,b" | toJSON }}`, `["a","b"]`},
		{"data.ToJSONPretty", `{{ data.ToJSONPretty "" (split "," "a") }}`, "[\n\"a\"\n]"},
		{"test.Required", `{{ test.Required "m" "v" }}`, "v"},
		{"whitespace trimming", "a:\n{{- if true }}\n  b{{ end }}", "a:\n  b"},
	}
	r := &Renderer{Env: env}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := r.Render("config.yaml", []byte(tt.tmpl))
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(out))
		})
	}
}
