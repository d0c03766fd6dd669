// Package cvss validates CVSS vectors and computes their scores, for
// templates and findings alike. Versions 3.0, 3.1 and 4.0 are understood.
//
// The score of a 3.x vector is its base score (temporal and environmental
// metrics, when present, must be valid but do not change it). A 4.0 vector has
// one score, computed from every metric it carries (CVSS-B, -BT, -BE or -BTE,
// as the specification names them).
package cvss

import (
	"fmt"
	"math"
	"strings"

	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"

	"rampart/shared/domain"
)

// Versions Parse returns.
const (
	V30 = "3.0"
	V31 = "3.1"
	V40 = "4.0"
)

// MaxLength bounds a vector; the longest valid 4.0 vector (every metric set)
// is well under it.
const MaxLength = 512

// DefaultLocation is the field Parse names in its errors.
const DefaultLocation = "body.cvss_vector"

// Parse validates a vector ("CVSS:3.1/AV:N/..." or "CVSS:4.0/AV:N/...") and
// returns its version and score. An invalid vector is a domain.Invalid error
// naming body.cvss_vector; ParseAt names another field.
func Parse(vector string) (version string, score float64, err error) {
	return ParseAt(vector, DefaultLocation)
}

// ParseAt is Parse with the location of the field in the error.
func ParseAt(vector, location string) (version string, score float64, err error) {
	version, score, cause := parse(vector)
	if cause != nil {
		return "", 0, domain.Invalid("invalid CVSS vector",
			domain.FieldError{Location: location, Message: cause.Error()})
	}
	return version, score, nil
}

func parse(vector string) (version string, score float64, err error) {
	if len(vector) > MaxLength {
		return "", 0, fmt.Errorf("longer than %d characters", MaxLength)
	}
	defer func() {
		// The parsers are table driven and have not been seen to panic (the
		// fuzz test checks), but a vector is user input: never crash on it.
		if r := recover(); r != nil {
			version, score, err = "", 0, fmt.Errorf("not a valid CVSS vector")
		}
	}()
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		v, err := gocvss31.ParseVector(vector)
		if err != nil {
			return "", 0, explain(V31, err)
		}
		return checked(V31, v.BaseScore())
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		v, err := gocvss30.ParseVector(vector)
		if err != nil {
			return "", 0, explain(V30, err)
		}
		return checked(V30, v.BaseScore())
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		v, err := gocvss40.ParseVector(vector)
		if err != nil {
			return "", 0, explain(V40, err)
		}
		return checked(V40, v.Score())
	}
	return "", 0, fmt.Errorf(`must start with "CVSS:3.1/", "CVSS:4.0/" or "CVSS:3.0/"`)
}

// checked rounds to one decimal and refuses what no valid vector yields.
func checked(version string, s float64) (string, float64, error) {
	if math.IsNaN(s) || s < 0 || s > 10 {
		return "", 0, fmt.Errorf("not a valid CVSS vector")
	}
	return version, math.Round(s*10) / 10, nil
}

func explain(version string, err error) error {
	return fmt.Errorf("not a valid CVSS %s vector: %v", version, err)
}
