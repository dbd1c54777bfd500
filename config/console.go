package config

import "time"

// Console configures the admin console, a web page on the admin listener
// (/console/) for the people who revoke: look up, revoke and unrevoke,
// the recent trail of changes, and the gateway's status.
type Console struct {
	// Enabled serves the console. Default true: it sits on the admin
	// listener, which is already loopback-only or authenticated, and it
	// grants nothing an admin token does not (signing in takes one).
	Enabled bool `mapstructure:"enabled" yaml:"enabled"`
	// SessionTTL is how long a console sign-in lasts. Default 8h.
	SessionTTL time.Duration `mapstructure:"session_ttl" yaml:"session_ttl"`
	// TrailLength is about how many recent changes the trail keeps (a
	// Redis stream shared by every gateway of the store, or memory).
	// Default 10000.
	TrailLength int `mapstructure:"trail_length" yaml:"trail_length"`
}

// Bounds of the console's settings.
const (
	maxConsoleSessionTTL = 7 * 24 * time.Hour
	maxTrailLength       = 1000000
)

func (c *Config) validateConsole(ps *problems) {
	k := &c.Console
	if k.SessionTTL < time.Minute || k.SessionTTL > maxConsoleSessionTTL {
		ps.add("console.session_ttl", "must be between 1m and %s", maxConsoleSessionTTL)
	}
	if k.TrailLength < 1 || k.TrailLength > maxTrailLength {
		ps.add("console.trail_length", "must be between 1 and %d", maxTrailLength)
	}
}
