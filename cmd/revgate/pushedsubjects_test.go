package main

import (
	"testing"

	"github.com/revgate/revgate/config"
)

func TestServeWarnsWhenPushedSubjectsCannotMatchTheSubjectClaim(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(c *config.Config)
		warn   bool
	}{
		{"no receiver on", func(c *config.Config) { c.JWT.SubjectClaim = "user_id" }, false},
		{"back-channel logout with subject_claim sub", func(c *config.Config) { c.BackchannelLogout.Path = "/bcl" }, false},
		{"back-channel logout with another subject_claim", func(c *config.Config) {
			c.BackchannelLogout.Path = "/bcl"
			c.JWT.SubjectClaim = "user_id"
		}, true},
		{"Shared Signals with another subject_claim", func(c *config.Config) {
			c.SSF.PushPath = "/ssf"
			c.JWT.SubjectClaim = "uid"
		}, true},
		{"Global Token Revocation with another subject_claim", func(c *config.Config) {
			c.GlobalRevocation.Path = "/gtr"
			c.JWT.SubjectClaim = "uid"
		}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.mutate(&c)
			if got := pushedSubjectsWarning(&c) != ""; got != tt.warn {
				t.Errorf("warns = %v, want %v", got, tt.warn)
			}
		})
	}
}
