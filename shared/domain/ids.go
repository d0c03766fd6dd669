package domain

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

// NewID returns a ULID: unique, opaque to callers, sortable by creation time.
func NewID() string { return NewIDAt(time.Now()) }

// NewIDAt returns a ULID for the given instant (used with injected clocks).
func NewIDAt(t time.Time) string {
	entropyMu.Lock()
	defer entropyMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), entropy).String()
}

// ValidID reports whether s has the shape of an id Rampart issued. Stores use it
// to answer "not found" for junk without a round trip.
func ValidID(s string) bool {
	_, err := ulid.ParseStrict(s)
	return err == nil
}

// Clock tells the time; tests inject a fixed or stepping clock.
type Clock func() time.Time

// SystemClock is the wall clock in UTC.
func SystemClock() time.Time { return time.Now().UTC() }
