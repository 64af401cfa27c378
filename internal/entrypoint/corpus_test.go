package entrypoint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dex-spectro/dex-spectro/internal/dextest"
)

// corpusCase is a template of the corpus that the renderer and gomplate
// both render (TestCorpus for the renderer, TestGomplateParity for both).
type corpusCase struct {
	name string
	tmpl string
	// want is the output both render.
	want string
	// fail, when set, is part of the renderer's error: both fail.
	fail string
	// stricter, when set, is part of the renderer's error for a template
	// that gomplate renders: a difference that docs/operations.md lists.
	stricter string
}

// corpusEnv is the environment of every corpus case, relative to the
// directory that writeCorpusFiles fills: gomplate sees it as its whole
// environment, and the renderer as its Env.
var corpusEnv = map[string]string{
	"DEX_ISSUER":      "https://dex.example.com/dex",
	"SET":             "value",
	"EMPTY":           "",
	"LIST":            "a,b,c",
	"YES":             "Yes",
	"FALSE":           "false",
	"B64":             "aGVsbG8=",
	"B64URL":          "aGk_Pz8-",
	"QUOTED":          `say "hi"`,
	"SINGLE":          "it's",
	"MULTI":           "one\n\ntwo\n",
	"PADDED":          "  x  ",
	"UNICODE":         "héllo <&> \u2028 ✓",
	"CONTROL":         "a\x01b\tc\x7f",
	"PEM":             "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----",
	"TOKEN_FILE":      "secrets/token",
	"SHADOWED":        "from-env",
	"SHADOWED_FILE":   "secrets/token",
	"BLANK":           "",
	"BLANK_FILE":      "secrets/token",
	"UNREADABLE_FILE": "secrets/absent",

	// The image's config.docker.yaml with a spectrocloud connector.
	"SPECTROCLOUD_TENANT":        dextest.TenantUID,
	"SPECTROCLOUD_CLIENT_ID":     "dex",
	"SPECTROCLOUD_CLIENT_SECRET": "not-rendered",
	"DEX_CONNECTORS_ENABLE_MOCK": "true",

	// testdata/corpus/helm-values.yaml and kubernetes.yaml.
	"GITHUB_CLIENT_ID":        "gh-client",
	"GITHUB_CLIENT_SECRET":    "gh-secret",
	"BACKSTAGE_REDIRECT_URIS": "https://backstage.example.com/api/auth/oidc/handler/frame,http://localhost:7007/api/auth/oidc/handler/frame",
	"DEX_TLS":                 "true",
	"DEX_STATIC_PASSWORD":     "JDJhJDEwJDJiMmNVOENQaE9UYUdyczFIUlF1QXVlUzdKVFQ1WkhzSFN6WWlGUG0xbGVaY2s3TWM4VDRX",
}

// writeCorpusFiles writes the files corpusEnv and the corpus name, in dir.
func writeCorpusFiles(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "secrets"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", "token"), []byte("  from-file\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", "ca.pem"),
		[]byte("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"), 0o600))
}

// corpus covers every function the renderer offers, the forms of Dex's
// configurations, and templates that must fail. The files under
// testdata/corpus and the image configurations (corpusFiles) complete it.
var corpus = []corpusCase{
	// The environment.
	{name: "getenv", tmpl: `{{ getenv "SET" }}`, want: "value"},
	{name: "getenv unset", tmpl: `[{{ getenv "UNSET" }}]`, want: "[]"},
	{name: "getenv default when unset", tmpl: `{{ getenv "UNSET" "def" }}`, want: "def"},
	{name: "getenv default when empty", tmpl: `{{ getenv "EMPTY" "def" }}`, want: "def"},
	{name: "getenv default unused", tmpl: `{{ getenv "SET" "def" }}`, want: "value"},
	{name: "getenv NAME_FILE", tmpl: `[{{ getenv "TOKEN" }}]`, want: "[from-file]"},
	{name: "getenv NAME_FILE before the default", tmpl: `{{ getenv "TOKEN" "def" }}`, want: "from-file"},
	{name: "getenv NAME before NAME_FILE", tmpl: `{{ getenv "SHADOWED" }}`, want: "from-env"},
	{name: "getenv empty NAME reads NAME_FILE", tmpl: `{{ getenv "BLANK" }}`, want: "from-file"},
	{name: "getenv piped", tmpl: `{{ "SET" | getenv }}`, want: "value"},
	{name: "env.Getenv", tmpl: `{{ env.Getenv "SET" }}`, want: "value"},
	{name: "env.Getenv default", tmpl: `{{ env.Getenv "UNSET" "def" }}`, want: "def"},
	{name: "env.Getenv NAME_FILE", tmpl: `{{ env.Getenv "TOKEN" }}`, want: "from-file"},
	{name: ".Env", tmpl: `{{ .Env.SET }}`, want: "value"},
	{name: ".Env empty", tmpl: `[{{ .Env.EMPTY }}]`, want: "[]"},
	{name: "index .Env", tmpl: `{{ index .Env "SET" }}`, want: "value"},
	{name: "index .Env unset is empty", tmpl: `[{{ index .Env "UNSET" }}]`, want: "[]"},
	{name: ".Env with a default", tmpl: `{{ .Env.SET | default "d" }} {{ index .Env "UNSET" | default "d" }} {{ .Env.EMPTY | default "d" }}`, want: "value d d"},
	{name: "an undefined template", tmpl: `{{ template "nope" }}`, fail: `template "nope" not defined`},
	{name: "has .Env", tmpl: `{{ has .Env "EMPTY" }} {{ has .Env "UNSET" }}`, want: "true false"},
	{name: "if getenv", tmpl: `{{ if getenv "UNSET" }}yes{{ else }}no{{ end }}`, want: "no"},
	{name: "if .Env through index", tmpl: `{{ if index .Env "SET" }}yes{{ end }}`, want: "yes"},
	{name: "with getenv", tmpl: `{{ with getenv "SET" }}v={{ . }}{{ end }}`, want: "v=value"},
	{name: "range .Env", tmpl: `{{ range $k, $v := .Env }}{{ if hasPrefix $k "SPECTROCLOUD_" }}{{ $k }};{{ end }}{{ end }}`,
		want: "SPECTROCLOUD_CLIENT_ID;SPECTROCLOUD_CLIENT_SECRET;SPECTROCLOUD_TENANT;"},
	{name: "the context prints as an empty map", tmpl: `{{ . }}`, want: "map[]"},
	{name: ".Env unset", tmpl: "\n{{ .Env.UNSET }}", fail: `map has no entry for key "UNSET"`},
	{name: ".Env does not read NAME_FILE", tmpl: `{{ .Env.TOKEN }}`, fail: `map has no entry for key "TOKEN"`},
	{name: "a key the context does not have", tmpl: `{{ .Values.issuer }}`, fail: "can't evaluate field Values"},
	{name: "env.Env is not gomplate's", tmpl: `{{ env.Env.SET }}`, fail: "can't evaluate field Env"},
	{name: "index .Env with a number", tmpl: `{{ index .Env 1 }}`, fail: "should be string"},
	{name: "getenv without a name", tmpl: `{{ getenv }}`, fail: "wrong number of args for getenv"},
	{name: "an unreadable NAME_FILE", tmpl: `{{ getenv "UNREADABLE" "def" }}`, stricter: "read the file named by UNREADABLE_FILE"},
	{name: "two defaults", tmpl: `{{ getenv "UNSET" "a" "b" }}`, stricter: "at most one default"},
	{name: "the context is not a map", tmpl: `{{ len . }}`, stricter: "len of type"},

	// Checks.
	{name: "required", tmpl: `{{ getenv "SET" | required "SET is needed" }}`, want: "value"},
	{name: "required without a message", tmpl: `{{ required (getenv "SET") }}`, want: "value"},
	{name: "required of a number", tmpl: `{{ required 0 }}`, want: "0"},
	{name: "test.Required", tmpl: `{{ test.Required "m" "v" }}`, want: "v"},
	{name: "required of an unset variable", tmpl: "a: b\ntlsKey: {{ getenv \"TLS_KEY\" | required \"TLS_KEY must be set\" }}\n",
		fail: "TLS_KEY must be set"},
	{name: "required of an empty variable", tmpl: `{{ getenv "EMPTY" | required }}`, fail: "a required value was not set"},
	{name: "required with an empty message", tmpl: `{{ required "" "" }}`, fail: "a required value was not set"},
	{name: "required of nil", tmpl: `{{ required nil }}`, fail: "a required value was not set"},
	{name: "required with a message that is not text", tmpl: `{{ required 1 "x" }}`, fail: "expected string; found int"},
	{name: "required with three arguments", tmpl: `{{ required "a" "b" "c" }}`, fail: "want 1 or 2, got 3"},
	{name: "fail", tmpl: `{{ fail "not supported here" }}`, fail: "template generation failed: not supported here"},
	{name: "fail without a message", tmpl: `{{ fail }}`, fail: "template generation failed"},
	{name: "test.Fail", tmpl: `{{ if not (getenv "UNSET") }}{{ test.Fail "set UNSET" }}{{ end }}`, fail: "set UNSET"},

	// Conversions.
	{name: "default piped", tmpl: `{{ getenv "UNSET" | default "d" }}`, want: "d"},
	{name: "default unused", tmpl: `{{ getenv "SET" | default "d" }}`, want: "value"},
	{name: "default of zero", tmpl: `{{ default 5 0 }}`, want: "5"},
	{name: "default of false", tmpl: `{{ default "d" false }}`, want: "d"},
	{name: "conv.Default", tmpl: `{{ conv.Default "d" "" }}`, want: "d"},
	{name: "conv.ToBool", tmpl: `{{ conv.ToBool "Yes" }} {{ conv.ToBool "TRUE" }} {{ conv.ToBool "1.0" }} {{ conv.ToBool "0x1" }} {{ conv.ToBool "nope" }} {{ conv.ToBool "" }}`,
		want: "true true true true false false"},
	{name: "conv.ToBool of numbers", tmpl: `{{ conv.ToBool 1 }} {{ conv.ToBool 2 }} {{ conv.ToBool 1.0 }} {{ conv.ToBool true }} {{ conv.ToBool nil }}`,
		want: "true false true true false"},
	{name: "if conv.ToBool", tmpl: `{{ if conv.ToBool (getenv "FALSE" "true") }}on{{ else }}off{{ end }}`, want: "off"},
	{name: "conv.ToInt", tmpl: `{{ conv.ToInt "42" }} {{ conv.ToInt "0x10" }} {{ conv.ToInt "1,000" }} {{ conv.ToInt "3.9" }} {{ conv.ToInt 7 }} {{ conv.ToInt true }} {{ conv.ToInt "-0b101" }}`,
		want: "42 16 1000 3 7 1 -5"},
	{name: "conv.ToInt in a comparison", tmpl: `{{ if gt (conv.ToInt (getenv "REPLICAS" "3")) 1 }}replicated{{ end }}`, want: "replicated"},
	{name: "conv.ToInt of text", tmpl: `{{ conv.ToInt "many" }}`, fail: "conv.ToInt: the value is not a number"},
	{name: "conv.ToInt of a padded number", tmpl: `{{ conv.ToInt " 1" }}`, fail: "conv.ToInt: the value is not a number"},
	{name: "conv.ToInt of a list", tmpl: `{{ conv.ToInt (split "1" ",") }}`, fail: "conv.ToInt: the value is not a number"},
	{name: "join", tmpl: `{{ join (strings.Split "," "a,b") ";" }}`, want: "a;b"},
	{name: "conv.Join of mixed values", tmpl: `{{ conv.Join (slice "a" 1 true) "-" }}`, want: "a-1-true"},
	{name: "join of text", tmpl: `{{ join "abc" "," }}`, fail: "want a list"},
	{name: "has", tmpl: `{{ has (strings.Split "," (getenv "LIST")) "b" }} {{ has (split "a" ",") "z" }}`, want: "true false"},

	// Strings.
	{name: "strings.Split", tmpl: `{{ range getenv "LIST" | strings.Split "," }}[{{ . }}]{{ end }}`, want: "[a][b][c]"},
	{name: "strings.Split into characters", tmpl: `{{ strings.Split "" "héllo" }}`, want: "[h é l l o]"},
	{name: "split, the string first", tmpl: `{{ range split (getenv "LIST") "," }}[{{ . }}]{{ end }}`, want: "[a][b][c]"},
	{name: "split piped takes the separator", tmpl: `{{ "," | split "a,b" }}`, want: "[a b]"},
	{name: "contains, the string first", tmpl: `{{ contains (getenv "SET") "al" }}`, want: "true"},
	{name: "strings.Contains piped", tmpl: `{{ getenv "SET" | strings.Contains "al" }}`, want: "true"},
	{name: "hasPrefix and hasSuffix", tmpl: `{{ hasPrefix "value" "va" }} {{ hasSuffix "value" "x" }}`, want: "true false"},
	{name: "strings.HasPrefix and HasSuffix", tmpl: `{{ getenv "DEX_ISSUER" | strings.HasPrefix "https://" }} {{ strings.HasSuffix "/" (getenv "DEX_ISSUER") }}`,
		want: "true false"},
	{name: "toLower and toUpper", tmpl: `{{ getenv "YES" | toLower }} {{ toUpper "info" }} {{ strings.ToLower "DEBUG" }} {{ strings.ToUpper "héllo" }}`,
		want: "yes INFO debug HÉLLO"},
	{name: "toLower and toUpper by Unicode's full case mapping", tmpl: `{{ toUpper "straße" }} {{ toLower "ΟΔΟΣ" }} {{ toLower "İ" }}`,
		want: "STRASSE οδος i̇"},
	{name: "trimSpace", tmpl: `[{{ getenv "PADDED" | trimSpace }}] [{{ strings.TrimSpace "\n x \t" }}]`, want: "[x] [x]"},
	{name: "strings.TrimPrefix and TrimSuffix", tmpl: `{{ getenv "DEX_ISSUER" | strings.TrimSuffix "/dex" | strings.TrimPrefix "https://" }}`,
		want: "dex.example.com"},
	{name: "replaceAll", tmpl: `{{ "a-b-c" | replaceAll "-" "." }} {{ strings.ReplaceAll "" "|" "ab" }}`, want: "a.b.c |a|b|"},
	{name: "quote", tmpl: `{{ getenv "QUOTED" | quote }} {{ quote (getenv "UNICODE") }} {{ strings.Quote (getenv "CONTROL") }} {{ quote 3 }}`,
		want: `"say \"hi\"" "héllo <&> \u2028 ✓" "a\x01b\tc\x7f" "3"`},
	{name: "squote", tmpl: `{{ getenv "SINGLE" | squote }} {{ strings.Squote "" }}`, want: `'it''s' ''`},
	{name: "quote of nil", tmpl: `{{ quote nil }}`, want: `"nil"`},
	{name: "indent", tmpl: `{{ indent "a\nb" }}`, want: " a\n b"},
	{name: "indent width", tmpl: `{{ getenv "MULTI" | indent 2 }}`, want: "  one\n\n  two\n"},
	{name: "indent pad", tmpl: `{{ indent "> " "a\nb" }}`, want: "> a\n> b"},
	{name: "strings.Indent width and pad", tmpl: `{{ strings.Indent 2 "-" "a" }}`, want: "--a"},
	{name: "indent a PEM block into YAML", tmpl: "rootCA: |\n{{ getenv \"PEM\" | indent 2 }}\n",
		want: "rootCA: |\n  -----BEGIN CERTIFICATE-----\n  MIIBszCCAVmgAwIBAgIU\n  -----END CERTIFICATE-----\n"},
	{name: "indent of zero", tmpl: `{{ indent 0 "x" }}`, fail: "width must be > 0"},
	{name: "indent with a width that is text", tmpl: `{{ indent "2" "x" "y" }}`, fail: "invalid arguments"},
	{name: "indent with a new line", tmpl: `{{ indent "\n" "x" }}`, fail: "must not contain"},
	{name: "indent without input", tmpl: `{{ indent }}`, fail: "expected at least 1 argument"},
	{name: "strings.Split with a number for a separator", tmpl: `{{ strings.Split 1 "a" }}`, fail: "expected string; found 1"},

	// base64, files, JSON.
	{name: "base64.Encode", tmpl: `{{ base64.Encode "hello" }} {{ base64.Encode 42 }} [{{ base64.Encode nil }}]`, want: "aGVsbG8= NDI= []"},
	{name: "base64.Decode", tmpl: `{{ getenv "B64" | base64.Decode }} {{ base64.Decode (getenv "B64URL") }}`, want: "hello hi???>"},
	{name: "base64.Decode of text", tmpl: `{{ base64.Decode "not base64!" }}`, fail: "not base64"},
	{name: "file.Read", tmpl: `[{{ file.Read "secrets/token" | trimSpace }}]`, want: "[from-file]"},
	{name: "file.Exists", tmpl: `{{ file.Exists "secrets/token" }} {{ file.Exists "secrets/absent" }}`, want: "true false"},
	{name: "file.Read of a missing file", tmpl: `{{ file.Read "secrets/absent" }}`, fail: "file.Read"},
	{name: "toJSON", tmpl: `{{ getenv "LIST" | strings.Split "," | toJSON }}`, want: `["a","b","c"]`},
	{name: "toJSON escapes", tmpl: `{{ toJSON (getenv "UNICODE") }} {{ data.ToJSON (getenv "CONTROL") }}`,
		want: `"héllo \u003c\u0026\u003e \u2028 ✓" "a\u0001b\tc` + "\x7f" + `"`},
	{name: "toJSON of values", tmpl: `{{ toJSON (slice "a" 1 true 1.5 nil) }}`, want: `["a",1,true,1.5,null]`},
	{name: "toJSON of a map, keys sorted", tmpl: `{{ toJSON .Env | strings.Contains "\"B64\":\"aGVsbG8=\",\"B64URL\"" }}`, want: "true"},

	// text/template's built-ins, as Dex configurations use them.
	{name: "printf", tmpl: `{{ printf "%s/callback" (getenv "DEX_ISSUER") }}`, want: "https://dex.example.com/dex/callback"},
	{name: "printf verbs", tmpl: `{{ printf "%q %05d %x %v %-4s| %.2f %t" "x" 42 "hi" (split "a,b" ",") "ab" 3.14159 true }}`,
		want: `"x" 00042 6869 [a b] ab  | 3.14 true`},
	{name: "printf with a missing argument", tmpl: `{{ printf "%s %s" "a" }}`, want: "a %!s(MISSING)"},
	{name: "print and println", tmpl: `{{ print "a" 1 2 "b" }}|{{ println "x" 1 }}`, want: "a1 2b|x 1\n"},
	{name: "html, js and urlquery", tmpl: `{{ html "<a href='x'>&</a>" }} {{ js "it's <x>" }} {{ urlquery "a b&c=d" }}`,
		want: `&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt; it\'s \u003Cx\u003E a+b%26c%3Dd`},
	{name: "slice is gomplate's list", tmpl: `{{ range slice "a" "b" }}[{{ . }}]{{ end }} {{ slice "abc" 1 2 }}`, want: "[a][b] [abc 1 2]"},
	{name: "comparisons and logic", tmpl: `{{ if and (eq (getenv "SET") "value") (ne (len (getenv "LIST")) 0) (not (getenv "EMPTY")) }}ok{{ end }} {{ or (getenv "EMPTY") "fallback" }} {{ lt 1 2 }}`,
		want: "ok fallback true"},
	{name: "a comparison of text with a number", tmpl: `{{ lt "a" 1 }}`, fail: "incompatible types for comparison"},
	{name: "variables and whitespace trimming", tmpl: "{{- $issuer := getenv \"DEX_ISSUER\" -}}\nissuer: {{ $issuer }}\nweb:\n{{- if true }}\n  http: 0.0.0.0:5556\n{{- end }}\n",
		want: "issuer: https://dex.example.com/dex\nweb:\n  http: 0.0.0.0:5556\n"},
	{name: "comments", tmpl: "{{/* a comment */}}a{{- /* another */ -}} b", want: "ab"},
	{name: "range with else, break and continue", tmpl: `{{ range $i, $v := split "a,b,c,d" "," }}{{ if eq $v "b" }}{{ continue }}{{ end }}{{ if eq $v "d" }}{{ break }}{{ end }}{{ $i }}{{ $v }}{{ end }}{{ range slice }}x{{ else }}none{{ end }}`,
		want: "0a2cnone"},
	{name: "range over a number", tmpl: `{{ range $i := 3 }}{{ $i }}{{ end }}`, want: "012"},
	{name: "range over zero, with else", tmpl: `{{ range 0 }}x{{ else }}none{{ end }}`, want: "none"},
	{name: "range over text", tmpl: `{{ range getenv "SET" }}{{ end }}`, fail: "range over a value of type string: it is not a list, map or number"},
	{name: "range over a number with two variables", tmpl: `{{ range $i, $v := 3 }}{{ end }}`, fail: "range over a number (int) with 2 variables: it gives one value"},
	{name: "define, template and block", tmpl: `{{ define "client" }}- id: {{ . }}{{ "\n" }}{{ end }}{{ range split "a,b" "," }}{{ template "client" . }}{{ end }}{{ block "footer" "x" }}[{{ . }}]{{ end }}`,
		want: "- id: a\n- id: b\n[x]"},
	{name: "plain YAML", tmpl: "issuer: https://dex.example.com\nstorage:\n  type: memory\n# a comment with $VAR and ${VAR}\n", want: "issuer: https://dex.example.com\nstorage:\n  type: memory\n# a comment with $VAR and ${VAR}\n"},
	{name: "an unknown function", tmpl: "issuer: x\n\nfile: {{ sprig_only \"a\" }}\n", fail: `function "sprig_only" not defined`},
	{name: "a syntax error", tmpl: "a: {{ if }}", fail: "missing value for if"},
	{name: "an unclosed action", tmpl: "a: {{ getenv \"SET\"", fail: "unclosed action"},
	{name: "a template that calls itself", tmpl: `{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}`, fail: "took too long"},

	// gomplate's functions that no Dex configuration needs: the renderer
	// does not offer them.
	{name: "title is not offered", tmpl: `{{ title "a" }}`, stricter: `function "title" not defined`},
	{name: "strings.Repeat is not offered", tmpl: `{{ strings.Repeat 3 "a" }}`, stricter: "can't evaluate field Repeat"},
	{name: "conv.ToInt64 is not offered", tmpl: `{{ conv.ToInt64 "1" }}`, stricter: "can't evaluate field ToInt64"},
	{name: "env.ExpandEnv is not offered", tmpl: `{{ env.ExpandEnv "$SET" }}`, stricter: "can't evaluate field ExpandEnv"},
	{name: "datasources are not offered", tmpl: `{{ datasourceExists "x" }}`, stricter: `function "datasourceExists" not defined`},
}

// corpusFiles are the configuration files of the corpus: the forms people
// write, for Dex's image and for the Helm chart's values. A path starting
// with "dex:" is in Dex's module.
var corpusFiles = []string{
	"dex:config.docker.yaml",
	"../../docker/config.docker.yaml",
	"../../examples/config.yaml",
	"testdata/corpus/helm-values.yaml",
	"testdata/corpus/kubernetes.yaml",
}
