// Package benchdata holds what the benchmark helpers must agree on: how
// they serve (Serve), and the subject names that tokens carry and that
// subject marks are loaded for, so a bench token's subject is one Redis
// holds a mark for.
package benchdata

import "fmt"

// Subject is the i-th bench subject: UUID-shaped (36 bytes), the common
// form of an OIDC provider's sub, so memory figures are not flattered by
// short keys.
func Subject(i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
}

// MarkedSubjects is how many leading subjects (Subject(0) ...) a dataset
// with subject marks may hold; tokens pick their subjects among them.
const MarkedSubjects = 100_000
