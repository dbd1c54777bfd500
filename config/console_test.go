package config

import (
	"strings"
	"testing"
	"time"
)

func TestConsoleSettingsAreChecked(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(c *Config)
		problem string
	}{
		{"a session shorter than a minute", func(c *Config) { c.Console.SessionTTL = time.Second }, "console.session_ttl"},
		{"a session longer than a week", func(c *Config) { c.Console.SessionTTL = 8 * 24 * time.Hour }, "console.session_ttl"},
		{"an empty trail", func(c *Config) { c.Console.TrailLength = 0 }, "console.trail_length"},
		{"a huge trail", func(c *Config) { c.Console.TrailLength = 2000000 }, "console.trail_length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Fatalf("Validate = %v; want a problem with %s", err, tt.problem)
			}
		})
	}
	t.Run("the defaults pass", func(t *testing.T) {
		c := validConfig()
		if !c.Console.Enabled || c.Console.SessionTTL != 8*time.Hour || c.Console.TrailLength != 10000 {
			t.Fatalf("console defaults = %+v", c.Console)
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}
