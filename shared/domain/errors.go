// Package domain holds Rampart's entities and rules. It knows nothing of AWS or
// HTTP: adapters translate to and from it, and every error a request can meet is
// classified here once, by Kind, so that the HTTP layer maps kinds to status codes
// in one place.
package domain

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	KindInternal        Kind = iota // a bug: never shown in detail to callers
	KindMalformed                   // the request cannot be parsed
	KindUnauthenticated             // no valid credentials
	KindForbidden                   // authenticated, role too low
	KindNotFound                    // absent, or another tenant's
	KindConflict                    // duplicate or state clash
	KindPrecondition                // stale If-Match
	KindTooLarge                    // body, file or import over its limit
	KindUnsupported                 // media type not accepted
	KindInvalid                     // well-formed input with invalid values
	KindThrottled                   // too many attempts
	KindUnavailable                 // a dependency is down
	KindGone                        // existed once, removed for good
)

var kindNames = map[Kind]string{
	KindInternal: "internal", KindMalformed: "malformed", KindUnauthenticated: "unauthenticated",
	KindForbidden: "forbidden", KindNotFound: "not found", KindConflict: "conflict",
	KindPrecondition: "precondition failed", KindTooLarge: "too large", KindUnsupported: "unsupported",
	KindInvalid: "invalid", KindThrottled: "throttled", KindUnavailable: "unavailable", KindGone: "gone",
}

func (k Kind) String() string { return kindNames[k] }

// FieldError names one invalid input value; Location is "body.email",
// "query.per_page", "row 3.target" and so on.
type FieldError struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

// Error is the one error type of the domain. Message is safe to show to the
// caller; Err, when set, is the underlying cause and is only logged.
type Error struct {
	Kind    Kind
	Message string
	Fields  []FieldError
	// RetryAfterSeconds accompanies KindThrottled.
	RetryAfterSeconds int
	Err               error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error of the given kind with a caller-safe message.
func E(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies a lower-level error; msg is what the caller sees.
func Wrap(kind Kind, err error, msg string) *Error {
	return &Error{Kind: kind, Message: msg, Err: err}
}

// Invalid is a KindInvalid error naming the fields at fault.
func Invalid(msg string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Message: msg, Fields: fields}
}

// NotFound is the answer for an absent id and for another tenant's id alike.
func NotFound(what string) *Error { return E(KindNotFound, "%s not found", what) }

// KindOf reports the kind of err; errors that were never classified are
// internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Is reports whether err is a domain error of the given kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }
