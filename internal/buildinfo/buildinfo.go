// Package buildinfo reports the version of dex-spectro, of the Dex release it
// is built on, and of the Go toolchain that built it.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is the version of dex-spectro. Release builds set it with
//
//	-ldflags "-X github.com/dex-spectro/dex-spectro/internal/buildinfo.Version=v1.2.3"
var Version = "dev"

const (
	// DexModule is the module path of upstream Dex.
	DexModule = "github.com/dexidp/dex"

	// DexRelease is the Dex release this build is pinned to.
	DexRelease = "v2.45.1"

	// dexReleaseModuleVersion is the module version that corresponds to
	// DexRelease. Dex's release tags are not served by the Go module proxy,
	// so the release is pinned by its pseudo-version.
	dexReleaseModuleVersion = "v0.0.0-20260303133905-11d2eeb52b42"
)

// Info describes a build.
type Info struct {
	// Version is dex-spectro's own version.
	Version string
	// DexVersion is the Dex release name (for example v2.45.1), or the
	// module version when it matches no known release.
	DexVersion string
	// DexModuleVersion is the version of the Dex module linked into the
	// binary, as recorded by the Go toolchain ("unknown" when unavailable).
	DexModuleVersion string
	// GoVersion is the version of the Go toolchain that built the binary.
	GoVersion string
	// Platform is GOOS/GOARCH.
	Platform string
	// Fixes are the security fixes carried on top of the Dex release.
	Fixes []Fix
}

// Read returns the build information of the running binary.
func Read() Info {
	info := Info{
		Version:          Version,
		DexModuleVersion: "unknown",
		GoVersion:        runtime.Version(),
		Platform:         runtime.GOOS + "/" + runtime.GOARCH,
		Fixes:            Fixes(),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path != DexModule {
				continue
			}
			if dep.Replace != nil && dep.Replace.Version != "" {
				dep = dep.Replace
			}
			info.DexModuleVersion = dep.Version
		}
	}
	info.DexVersion = releaseName(info.DexModuleVersion)
	return info
}

// releaseName maps a Dex module version to its release name.
func releaseName(moduleVersion string) string {
	switch moduleVersion {
	case dexReleaseModuleVersion, DexRelease, "unknown", "":
		// A binary without module information (e.g. built from a vendored
		// tree) still links the pinned release.
		return DexRelease
	default:
		return moduleVersion
	}
}

// String renders the information as the version command prints it.
func (i Info) String() string {
	return fmt.Sprintf("dex-spectro Version: %s\nDex Version: %s (module %s %s)\nGo Version: %s\nGo OS/ARCH: %s\n",
		i.Version, i.DexVersion, DexModule, i.DexModuleVersion, i.GoVersion, i.Platform) + fixesText(i.Fixes)
}

// APIVersion is the version string Dex's gRPC API reports for this build.
func (i Info) APIVersion() string {
	return fmt.Sprintf("%s (dex-spectro %s)", i.DexVersion, i.Version)
}
