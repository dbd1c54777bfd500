// Package config owns revgate's configuration: the Config types, their
// defaults (Default), loading a YAML file plus REVGATE_* environment
// overrides (Load), validation that reports every problem at once
// (Validate), and printing the effective configuration with secrets
// redacted (Redacted, WriteYAML).
//
// Load only decodes: a typo in a key or a value of the wrong type is an
// error, but whether the values make sense together is Validate's job, so
// a caller can adjust a loaded Config (flags, the demo) before validating.
// Every program path that runs with a Config must call Validate.
package config
