package config

import (
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Key is the full key path ("jwt.leeway", "routes[1].auth"). It is
	// empty when the problem is not about a known key, such as an unknown
	// key, which Message names instead.
	Key string
	// Message says what was expected. It never contains a secret.
	Message string
}

// String returns "key: message", or the message alone when Key is empty.
func (p Problem) String() string {
	if p.Key == "" {
		return p.Message
	}
	return p.Key + ": " + p.Message
}

// ValidationError lists every problem found in a configuration, in the
// order of the keys in Config. Load and Validate return it.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// problems collects Problems and sorts them into config order.
type problems struct {
	list []orderedProblem
}

type orderedProblem struct {
	at string // the key that places the problem in config order
	Problem
}

// add records a problem about key.
func (ps *problems) add(key, format string, args ...any) {
	ps.list = append(ps.list, orderedProblem{at: key, Problem: Problem{Key: key, Message: fmt.Sprintf(format, args...)}})
}

// addAt records a problem that is placed at key but names no key itself.
func (ps *problems) addAt(at, format string, args ...any) {
	ps.list = append(ps.list, orderedProblem{at: at, Problem: Problem{Message: fmt.Sprintf(format, args...)}})
}

// err returns nil or a *ValidationError with the problems in config order;
// problems about the same key keep the order they were found in.
func (ps *problems) err() error {
	if len(ps.list) == 0 {
		return nil
	}
	sorted := slices.Clone(ps.list)
	slices.SortStableFunc(sorted, func(a, b orderedProblem) int { return compareKeys(a.at, b.at) })
	out := make([]Problem, len(sorted))
	for i, p := range sorted {
		out[i] = p.Problem
	}
	return &ValidationError{Problems: out}
}
