package config

// Helpers of this package's tests, for its external tests (those that run
// Validate with the verifier's checks, which import this package).
var (
	ValidConfig = validConfig
	ProblemsOf  = problemsOf
)
