package entrypoint

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A template that would run for hours stops at the render's time limit
// (here shortened) with an error naming the file and the limit; one that
// calls itself stops at the limit of template calls (with the time limit
// out of the way).
func TestRenderTimeLimit(t *testing.T) {
	tests := []struct {
		name    string
		tmpl    string
		timeout time.Duration
		budget  int64
		want    string
	}{
		{name: "range over 10^12", tmpl: `{{ range 1000000000000 }}{{ end }}`},
		{name: "range over 10^12 with a variable", tmpl: `{{ range $i := 1000000000000 }}{{ $x := $i }}{{ end }}`},
		{name: "nested ranges", tmpl: `{{ range 1000000 }}{{ range 1000000 }}{{ end }}{{ end }}`},
		{name: "a range in a defined template", tmpl: `{{ define "t" }}{{ range . }}{{ end }}{{ end }}{{ template "t" 1000000000000 }}`},
		{name: "a range in the else of an if", tmpl: `{{ if false }}{{ else }}{{ range 1000000000000 }}{{ end }}{{ end }}`},
		{name: "a range in a with", tmpl: `{{ with 1000000000000 }}{{ range . }}{{ end }}{{ end }}`},
		{name: "a template that calls itself", tmpl: `{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}`,
			timeout: 5 * time.Minute, want: "templates were entered 10000 times, the limit"},
		{name: "templates that call each other", tmpl: `{{ define "a" }}{{ template "b" }}{{ end }}{{ define "b" }}{{ template "a" }}{{ end }}{{ template "a" }}`,
			timeout: 5 * time.Minute, want: "templates were entered 10000 times, the limit"},
		// A list nested 30 deep holds 2³⁰ strings in a few KiB; measuring it
		// for the functions' budget (here out of the way) visits each.
		{name: "toJSON of a deeply nested list", tmpl: `{{ $a := slice "" "" }}{{ range 30 }}{{ $a = slice $a $a }}{{ end }}{{ toJSON $a }}`, budget: 1 << 40},
		{name: "join of a deeply nested list", tmpl: `{{ $a := slice "" "" }}{{ range 30 }}{{ $a = slice $a $a }}{{ end }}{{ join $a "," }}`, budget: 1 << 40},
		{name: "printf of a deeply nested list", tmpl: `{{ $a := slice "" "" }}{{ range 30 }}{{ $a = slice $a $a }}{{ end }}{{ printf "%v" $a }}`, budget: 1 << 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Renderer{timeout: 100 * time.Millisecond, budget: tt.budget}
			want := "rendering stopped at its limit of 100ms"
			if tt.timeout != 0 {
				r.timeout, want = tt.timeout, tt.want
			}
			start := time.Now()
			out, err := r.Render("/etc/dex/config.yaml", []byte(tt.tmpl))
			assert.Less(t, time.Since(start), 5*time.Second, "the render stops soon after its limit")
			require.ErrorIs(t, err, ErrTooLong)
			assert.Nil(t, out)
			assert.Contains(t, err.Error(), "template /etc/dex/config.yaml: took too long: ")
			assert.Contains(t, err.Error(), want)
			assert.NotContains(t, err.Error(), limitsFunc, "the error speaks of the template, not of the renderer's hook")
		})
	}
}

// A function that would allocate hundreds of MiB is refused before it
// allocates, with an error naming the file, the function and the limit,
// and the render allocates far less than the function would have.
func TestRenderMemoryLimit(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(big, make([]byte, maxReadFileSize), 0o600))
	// 16 Mi characters, which strings.Split "" splits into 16 Mi strings
	// (256 MiB of string headers), built from a template under its size cap.
	chars := `{{ $s := strings.ReplaceAll "" "abc" "` + strings.Repeat("x", 4<<20-100) + `" }}`
	tests := []struct {
		name string
		tmpl string
		fn   string
	}{
		{name: "a 16M-element strings.Split", tmpl: chars + `{{ len (strings.Split "" $s) }}`, fn: "strings.Split"},
		{name: "a 16M-element split", tmpl: chars + `{{ len (split $s "") }}`, fn: "split"},
		{name: "printf doubling a string", tmpl: `{{ $s := "x" }}{{ range 64 }}{{ $s = printf "%s%s" $s $s }}{{ end }}`, fn: "printf"},
		{name: "print doubling a string", tmpl: `{{ $s := "x" }}{{ range 64 }}{{ $s = print $s $s }}{{ end }}`, fn: "print"},
		{name: "replaceAll multiplying", tmpl: `{{ $s := printf "%01000000d" 0 }}{{ replaceAll "" $s $s }}`, fn: "strings.ReplaceAll"},
		{name: "indent by a large width", tmpl: `{{ indent 1000000000 "x" }}`, fn: "strings.Indent"},
		{name: "html of a growing string", tmpl: `{{ $s := "<" }}{{ range 64 }}{{ $s = html $s $s }}{{ end }}`, fn: "html"},
		{name: "toJSON of a growing string", tmpl: `{{ $s := "<" }}{{ range 64 }}{{ $s = toJSON (slice $s $s) }}{{ end }}`, fn: "data.ToJSON"},
		{name: "a file read again and again", tmpl: `{{ range 1000 }}{{ $b := file.Read "` + big + `" }}{{ end }}`, fn: "file.Read"},
		{name: "join of a growing list", tmpl: `{{ $s := "xxxxxxxxxxxxxxxx" }}{{ range 64 }}{{ $s = join (slice $s $s) "" }}{{ end }}`, fn: "conv.Join"},
		{name: "quote of a growing string", tmpl: `{{ $s := "\x00" }}{{ range 64 }}{{ $s = quote $s }}{{ end }}`, fn: "strings.Quote"},
		{name: "a large string in nested lists, printed", tmpl: `{{ $s := printf "%01000000d" 0 }}{{ $a := slice $s $s }}{{ range 12 }}{{ $a = slice $a $a }}{{ end }}{{ $a }}`, fn: "slice"},
		{name: "printf with a width, of a list", tmpl: `{{ $l := split (printf "%0500d" 0) "" }}{{ $x := printf "%999999v" $l }}{{ len $x }}`, fn: "printf"},
		{name: "printf with a width, of a map", tmpl: `{{ $x := printf "%999999v" .Env }}{{ len $x }}`, fn: "printf"},
		{name: "toJSON of a deeply nested list", tmpl: `{{ $a := slice "" "" }}{{ range 26 }}{{ $a = slice $a $a }}{{ end }}{{ toJSON $a }}`, fn: "slice"},
	}
	// The time limit is not under test: under the race detector, building
	// the 16 Mi characters takes seconds.
	env := map[string]string{}
	for i := range 100 {
		env[fmt.Sprintf("VAR_%d", i)] = "x"
	}
	r := &Renderer{Env: env, timeout: 5 * time.Minute}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			out, err := r.Render("/etc/dex/config.yaml", []byte(tt.tmpl))
			runtime.ReadMemStats(&after)

			require.ErrorIs(t, err, ErrTooLarge)
			assert.Nil(t, out)
			assert.Contains(t, err.Error(), "/etc/dex/config.yaml:1:")
			assert.Contains(t, err.Error(), tt.fn+": too large: its result would pass the 64 MiB that the functions of one render may produce")
			allocated := after.TotalAlloc - before.TotalAlloc
			assert.Less(t, allocated, uint64(128<<20), "allocated %d MiB", allocated>>20)
			t.Logf("allocated %d MiB", allocated>>20)
		})
	}
}

// A template cannot call the functions that check the limits and ranges.
func TestRenderLimitsHookIsHidden(t *testing.T) {
	_, err := (&Renderer{}).Render("config.yaml", []byte(`{{ `+limitsFunc+` true }}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `function "`+limitsFunc+`" not defined`)

	_, err = (&Renderer{}).Render("config.yaml", []byte(`{{ `+rangeFunc+` 1 "x" }}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `function "`+rangeFunc+`" not defined`)
}
