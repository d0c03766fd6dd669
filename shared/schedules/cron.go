package schedules

import (
	"errors"
	"fmt"
	"strings"
	"time"
	// Lambda's provided.al2023 runtime has no zoneinfo files: the IANA
	// database is compiled in (about 450 kB), so every zone resolves the same
	// way in Lambda, locally and in tests.
	_ "time/tzdata"

	cron "github.com/netresearch/go-cron"
)

// Cron is a parsed schedule expression: five fields (minute, hour, day of
// month, month, day of week) or one of the descriptors. It matches wall-clock
// times; Next places them in a time zone.
//
// Field semantics are those of Vixie cron: when both day of month and day of
// week are restricted, a day matching either fires ("0 9 1 * mon" is the 1st
// and every Monday); Sunday is 0 or 7; month and day names are accepted in
// any case. Extensions (seconds, years, L, W, #, H, ?) and @every are
// refused: a schedule is a calendar, not an interval.
type Cron struct {
	text string
	spec *cron.SpecSchedule // matched against wall-clock times held as UTC
}

// MaxCronLength bounds an expression.
const MaxCronLength = 200

// Descriptors are the accepted @-forms and what they stand for.
var Descriptors = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

var fieldNames = [5]string{"minute", "hour", "day of month", "month", "day of week"}

// Vixie semantics: OR of day of month and day of week when both are
// restricted (the library's default is AND).
var parser = cron.MustNewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.DowOrDom)

// ErrCron is the class of every ParseCron error; its text is for the caller.
var ErrCron = errors.New("invalid cron expression")

type cronError struct{ msg string }

func (e *cronError) Error() string { return e.msg }
func (e *cronError) Is(target error) bool {
	return target == ErrCron
}

func cronErr(format string, args ...any) error { return &cronError{msg: fmt.Sprintf(format, args...)} }

// ParseCron validates and parses an expression. Whitespace between fields is
// normalised; String returns the canonical text that is stored.
func ParseCron(expr string) (Cron, error) {
	expr = strings.TrimSpace(expr)
	switch {
	case expr == "":
		return Cron{}, cronErr("a cron expression is required, e.g. \"0 3 * * *\" (every day at 03:00)")
	case len(expr) > MaxCronLength:
		return Cron{}, cronErr("a cron expression has at most %d characters", MaxCronLength)
	}
	for _, r := range expr {
		if r > 0x7e || (r < 0x20 && r != '\t') {
			return Cron{}, cronErr("a cron expression is plain ASCII")
		}
	}
	if strings.HasPrefix(expr, "@") {
		d := strings.ToLower(expr)
		fields, ok := Descriptors[d]
		if !ok {
			if strings.HasPrefix(d, "@every") {
				return Cron{}, cronErr("@every is not supported: a schedule fires at calendar times; use e.g. \"0 */6 * * *\"")
			}
			return Cron{}, cronErr("unknown descriptor %q: use @hourly, @daily, @weekly, @monthly or @yearly", expr)
		}
		spec, err := parseFields(strings.Fields(fields))
		if err != nil {
			return Cron{}, err
		}
		return Cron{text: d, spec: spec}, nil
	}
	upper := strings.ToUpper(expr)
	if strings.HasPrefix(upper, "TZ=") || strings.HasPrefix(upper, "CRON_TZ=") {
		return Cron{}, cronErr("put the time zone in the timezone field, not in the expression")
	}
	fields := strings.Fields(strings.ToLower(expr))
	if len(fields) != 5 {
		return Cron{}, cronErr("a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has %d", len(fields))
	}
	for i, f := range fields {
		for _, r := range f {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r == '*' || r == ',' || r == '-' || r == '/') {
				return Cron{}, cronErr("%s field %q: only digits, names, '*', ',', '-' and '/' are allowed", fieldNames[i], f)
			}
		}
	}
	spec, err := parseFields(fields)
	if err != nil {
		return Cron{}, err
	}
	return Cron{text: strings.Join(fields, " "), spec: spec}, nil
}

// parseFields parses five lower-case fields; an error names the field at
// fault.
func parseFields(fields []string) (*cron.SpecSchedule, error) {
	s, err := parser.Parse(strings.Join(fields, " "))
	if err != nil {
		// Find the field at fault: each one alone, the others '*'.
		for i := range fields {
			one := []string{"*", "*", "*", "*", "*"}
			one[i] = fields[i]
			if _, ferr := parser.Parse(strings.Join(one, " ")); ferr != nil {
				return nil, cronErr("%s field %q: %v", fieldNames[i], fields[i], ferr)
			}
		}
		return nil, cronErr("%v", err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, cronErr("unsupported expression")
	}
	spec.Location = time.UTC
	// Day of month and month alone can name a date that never comes (30
	// February): such an expression would never fire. Eight years from a
	// fixed start cover every leap-year cycle, whatever the start.
	spec.MaxSearchYears = 8
	if spec.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, cronErr("no date matches the day-of-month and month fields: the schedule would never fire")
	}
	return spec, nil
}

// String is the canonical expression.
func (c Cron) String() string { return c.text }

// maxSteps bounds the search of Next through wall-clock times that map to
// instants already past (at most the repeated hour of a fall-back, minute by
// minute, in practice).
const maxSteps = 2000

// Next returns the first instant strictly after `after` at which c fires in
// loc; ok is false when there is none (never for a parsed expression).
//
// The expression is matched against local wall-clock times, and each matching
// wall-clock time is placed in the zone by the rule of this package:
//
//   - a time that occurs twice (the hour repeated when clocks fall back) fires
//     once, at its first occurrence;
//   - a time that does not exist (the hour skipped when clocks spring
//     forward) fires once, at the instant the clocks skip it: 02:30 on a
//     night when 02:00 becomes 03:00 fires at 03:00. Several skipped times
//     (and 03:00 itself) fire once together.
//
// So each local time of the expression fires exactly once, and fires are
// instants in increasing order.
func (c Cron) Next(after time.Time, loc *time.Location) (time.Time, bool) {
	if c.spec == nil {
		return time.Time{}, false
	}
	a := after.In(loc)
	wall := time.Date(a.Year(), a.Month(), a.Day(), a.Hour(), a.Minute(), a.Second(), 0, time.UTC)
	for range maxSteps {
		w := c.spec.Next(wall)
		if w.IsZero() {
			return time.Time{}, false
		}
		if at := placeWall(w, loc); at.After(after) {
			return at.UTC(), true
		}
		wall = w
	}
	return time.Time{}, false
}

// placeWall returns the instant of a wall-clock time (given as UTC fields)
// in loc: the earlier one when it occurs twice, the end of the gap when it
// does not exist.
func placeWall(w time.Time, loc *time.Location) time.Time {
	u := w.Unix()
	// The offsets in effect around the wall time: a transition near it has
	// one of them on each side.
	var offsets []int
	for _, d := range []int64{-86400, -43200, 0, 43200, 86400} {
		_, off := time.Unix(u+d, 0).In(loc).Zone()
		if !containsInt(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	var best time.Time
	for _, off := range offsets {
		t := time.Unix(u-int64(off), 0).In(loc)
		if _, o := t.Zone(); o == off && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	if !best.IsZero() {
		return best
	}
	// In a gap: read with the smallest offset (the one before clocks moved
	// forward) the wall time lands after the transition; the zone period
	// holding that instant starts at the transition.
	smallest := offsets[0]
	for _, off := range offsets {
		smallest = min(smallest, off)
	}
	t := time.Unix(u-int64(smallest), 0).In(loc)
	if start, _ := t.ZoneBounds(); !start.IsZero() && !start.After(t) {
		return start
	}
	return t
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// MaxZoneLength bounds a time zone name.
const MaxZoneLength = 64

// LoadZone resolves an IANA time zone name ("Europe/Berlin", "UTC"). The
// empty name is UTC. "Local" and anything that is not a zone of the IANA
// database are refused.
func LoadZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return time.UTC, nil
	}
	if len(name) > MaxZoneLength || name == "Local" || strings.ContainsAny(name, "\\ \t") || strings.Contains(name, "..") ||
		strings.HasPrefix(name, "/") {
		return nil, fmt.Errorf("%q is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC)", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC)", name)
	}
	return loc, nil
}
