package buildinfo

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFixes(t *testing.T) {
	fixes := Fixes()
	require.NotEmpty(t, fixes)
	for i, f := range fixes {
		assert.GreaterOrEqual(t, f.PR, 0, "fix %d", i)
		assert.NotEmpty(t, f.Summary, "fix %d", i)
		if i > 0 && f.PR != 0 {
			assert.NotZero(t, fixes[i-1].PR, "fixes Dex has not fixed yet come last")
			assert.LessOrEqual(t, fixes[i-1].PR, f.PR, "ordered by pull request")
		}
	}
	fixes[0].Summary = "changed"
	assert.NotEqual(t, "changed", Fixes()[0].Summary, "each call returns its own list")
}

func TestFixesListed(t *testing.T) {
	out := Read().String()
	assert.Contains(t, out, "  dexidp/dex#4928: device callback")
	assert.Contains(t, out, "  not fixed in dexidp/dex yet: device flow completes only in a browser that entered the user code")
	assert.Contains(t, out, "Security fixes carried on top of Dex "+DexRelease+":\n")
	for _, f := range Fixes() {
		assert.Contains(t, out, "  "+f.String()+"\n")
	}
	assert.Empty(t, fixesText(nil), "nothing listed once no fix is carried")
}
