//go:build race

package verifier_test

// raceEnabled lets the largest tests do less under the race detector, which
// makes them about ten times slower without finding more.
const raceEnabled = true
