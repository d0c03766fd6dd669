package clients

// Field helpers shared by the assessment capabilities (clients, assets and
// sessions all reference a client, so they import this package).

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"rampart/shared/domain"
)

// CleanText trims free text (a description), keeps line breaks and tabs,
// turns CRLF into LF, and refuses other control characters and text longer
// than max characters. Text is stored as given otherwise: a value that looks
// like a spreadsheet formula is just a string (exports neutralise it).
func CleanText(s, location string, max int) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if !utf8.ValidString(s) {
		return "", domain.Invalid(location+" is not valid UTF-8", domain.FieldError{Location: location, Message: "must be valid UTF-8"})
	}
	if utf8.RuneCountInString(s) > max {
		return "", domain.Invalid(location+" is too long",
			domain.FieldError{Location: location, Message: "at most " + strconv.Itoa(max) + " characters"})
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return "", domain.Invalid(location+" contains control characters",
				domain.FieldError{Location: location, Message: "must not contain control characters other than line breaks and tabs"})
		}
	}
	return s, nil
}

// ETagOf is the entity tag of an entity whose every change moves its
// UpdatedAt forward (see Touch): a quoted base-36 nanosecond instant.
func ETagOf(updated time.Time) string {
	return `"` + strconv.FormatInt(updated.UnixNano(), 36) + `"`
}

// ETagMatches reports whether an If-Match header value admits the current
// ETag: empty (no condition), "*", or a list containing it (weak or strong).
func ETagMatches(ifMatch, current string) bool {
	ifMatch = strings.TrimSpace(ifMatch)
	if ifMatch == "" || ifMatch == "*" {
		return true
	}
	for _, t := range strings.Split(ifMatch, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == current {
			return true
		}
	}
	return false
}

// ErrStale is the answer to an If-Match that names an older version.
func ErrStale(what string) error {
	return domain.E(domain.KindPrecondition, "the %s changed since you read it (If-Match does not match its ETag); read it again", what)
}

// Touch returns the UpdatedAt of a change made now: strictly after the
// previous one, so that every change yields a new ETag even with a coarse
// or fixed clock.
func Touch(now, previous time.Time) time.Time {
	if !now.After(previous) {
		return previous.Add(time.Microsecond)
	}
	return now
}
