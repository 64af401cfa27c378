package demo

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Default ports and token lifetime of the demo.
const (
	// DefaultAppPort is the port of the demo app, the page to open.
	DefaultAppPort = 5555
	// DefaultDexPort is the port of Dex, as in Dex's own examples.
	DefaultDexPort = 5556
	// DefaultPalettePort is the port of the emulated Palette console.
	DefaultPalettePort = 5557
	// DefaultTokenLifetime is how long the emulated Palette's ID tokens, and
	// so the Dex sessions made from them, stay valid: long enough to look
	// around and refresh, short enough to watch the session end.
	DefaultTokenLifetime = 2 * time.Minute
)

// MinTokenLifetime is the shortest accepted Options.TokenLifetime.
const MinTokenLifetime = 2 * time.Second

// The command-line flags that set Options, named in error messages so that
// a user knows what to change.
const (
	FlagDexPort       = "dex-port"
	FlagPalettePort   = "palette-port"
	FlagAppPort       = "app-port"
	FlagTokenLifetime = "token-lifetime"
)

// Options configure the demo.
type Options struct {
	// DexPort, PalettePort and AppPort are the ports, on 127.0.0.1, of Dex,
	// the emulated Palette console and the demo app. 0 picks a free port.
	DexPort, PalettePort, AppPort int
	// TokenLifetime is the lifetime of the ID tokens the emulated Palette
	// issues (DefaultTokenLifetime when zero). Dex refreshes a session until
	// the Palette ID token behind it expires.
	TokenLifetime time.Duration
	// Logger receives the logs of Dex, the connector and the demo; nil
	// discards them.
	Logger *slog.Logger
	// Now, when set, is the clock of Dex, of its connector and of the demo
	// app, for tests. The emulated Palette always uses the real time.
	Now func() time.Time
}

// DefaultOptions returns the options the demo command starts with.
func DefaultOptions() Options {
	return Options{
		DexPort:       DefaultDexPort,
		PalettePort:   DefaultPalettePort,
		AppPort:       DefaultAppPort,
		TokenLifetime: DefaultTokenLifetime,
	}
}

// port is one of the demo's ports with the flag that sets it.
type port struct {
	name   string // what listens on it
	flag   string
	number int
}

// ports lists the demo's ports in the order they are bound.
func (o Options) ports() []port {
	return []port{
		{name: "Dex", flag: FlagDexPort, number: o.DexPort},
		{name: "the Palette emulator", flag: FlagPalettePort, number: o.PalettePort},
		{name: "the demo app", flag: FlagAppPort, number: o.AppPort},
	}
}

// withDefaults returns the options with zero values replaced by defaults.
func (o Options) withDefaults() Options {
	if o.TokenLifetime == 0 {
		o.TokenLifetime = DefaultTokenLifetime
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// validate checks the options; each error names the flag to change.
func (o Options) validate() error {
	var errs []error
	ports := o.ports()
	for i, p := range ports {
		if p.number < 0 || p.number > 65535 {
			errs = append(errs, fmt.Errorf("--%s %d is not a port: use 1 to 65535 (0 picks a free port)", p.flag, p.number))
			continue
		}
		for _, q := range ports[:i] {
			if p.number != 0 && p.number == q.number {
				errs = append(errs, fmt.Errorf("--%s and --%s are both %d: give each a different port", q.flag, p.flag, p.number))
			}
		}
	}
	if o.TokenLifetime < MinTokenLifetime {
		errs = append(errs, fmt.Errorf("--%s %s is too short: use at least %s, such as 2m", FlagTokenLifetime, o.TokenLifetime, MinTokenLifetime))
	}
	return errors.Join(errs...)
}

// dexIDTokenLifetime is the lifetime of the ID tokens Dex issues: a minute
// at most, so that refreshing is worth watching, and at least 10 seconds, as
// Dex truncates expiry times to the second.
func (o Options) dexIDTokenLifetime() time.Duration {
	return max(min(o.TokenLifetime, time.Minute), 10*time.Second)
}
