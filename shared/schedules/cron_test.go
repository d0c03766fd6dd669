package schedules

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseCron(t *testing.T) {
	cases := []struct {
		expr, canonical string
		err             string // part of the error; "" for valid
	}{
		{expr: "0 3 * * *", canonical: "0 3 * * *"},
		{expr: "  */15   9-17 * * MON-FRI ", canonical: "*/15 9-17 * * mon-fri"},
		{expr: "0 0 * * THU", canonical: "0 0 * * thu"},
		{expr: "30 2 1,15 jan,jul 7", canonical: "30 2 1,15 jan,jul 7"},
		{expr: "0 0 29 2 *", canonical: "0 0 29 2 *"},
		{expr: "@daily", canonical: "@daily"},
		{expr: "@HOURLY", canonical: "@hourly"},
		{expr: "@weekly", canonical: "@weekly"},
		{expr: "@monthly", canonical: "@monthly"},
		{expr: "@yearly", canonical: "@yearly"},
		{expr: "@annually", canonical: "@annually"},
		{expr: "@midnight", canonical: "@midnight"},
		{expr: "", err: "required"},
		{expr: "   ", err: "required"},
		{expr: "@every 1h", err: "@every is not supported"},
		{expr: "@reboot", err: "unknown descriptor"},
		{expr: "* * * *", err: "has 5 fields"},
		{expr: "0 * * * * *", err: "has 5 fields"},
		{expr: "0 0 * * * 2026", err: "has 5 fields"},
		{expr: "60 * * * *", err: "minute field"},
		{expr: "0 24 * * *", err: "hour field"},
		{expr: "0 0 0 * *", err: "day of month field"},
		{expr: "0 0 * 13 *", err: "month field"},
		{expr: "0 0 * * 8", err: "day of week field"},
		{expr: "*/0 * * * *", err: "minute field"},
		{expr: "0 0 30 2 *", err: "never fire"},
		{expr: "0 0 31 4,6 *", err: "never fire"},
		{expr: "0 0 L * *", err: "day of month field"},
		{expr: "0 0 * * 5#3", err: "only digits"},
		{expr: "0 0 ? * *", err: "only digits"},
		{expr: "H * * * *", err: "minute field"},
		{expr: "CRON_TZ=UTC 0 0 * * *", err: "timezone field"},
		{expr: "TZ=Europe/Berlin 0 0 * * *", err: "timezone field"},
		{expr: "0 0 * * *\x00", err: "plain ASCII"},
		{expr: "0 0 * * mön", err: "plain ASCII"},
		{expr: strings.Repeat("1,", 150) + "1 * * * *", err: "at most"},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			got, err := ParseCron(c.expr)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrCron) {
					t.Fatalf("ParseCron(%q) = %v, want an error with %q", c.expr, err, c.err)
				}
				return
			}
			if err != nil || got.String() != c.canonical {
				t.Fatalf("ParseCron(%q) = %q, %v; want %q", c.expr, got, err, c.canonical)
			}
		})
	}
}

func TestLoadZone(t *testing.T) {
	for _, ok := range []string{"", "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Etc/GMT+5"} {
		if _, err := LoadZone(ok); err != nil {
			t.Errorf("LoadZone(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"Local", "Mars/Olympus", "europe/berlin", "../etc/passwd", "/etc/localtime", "Europe/ Berlin",
		"EST5EDT\\x", strings.Repeat("A", 65)} {
		if _, err := LoadZone(bad); err == nil {
			t.Errorf("LoadZone(%q) accepted", bad)
		}
	}
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := LoadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// fires lists every instant at which expr fires in zone from `from` to
// `to` (UTC), by following Next.
func fires(t testing.TB, expr, zone string, from, to time.Time) []time.Time {
	t.Helper()
	c, err := ParseCron(expr)
	if err != nil {
		t.Fatal(err)
	}
	loc := mustZone(t, zone)
	var out []time.Time
	for at := from; ; {
		next, ok := c.Next(at, loc)
		if !ok {
			t.Fatalf("%s in %s: no next after %s", expr, zone, at)
		}
		if !next.After(at) {
			t.Fatalf("%s in %s: next %s is not after %s", expr, zone, next, at)
		}
		if next.After(to) {
			return out
		}
		out = append(out, next)
		at = next
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func formatAll(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Format(time.RFC3339)
	}
	return out
}

// TestNextAcrossDST: every local time of an expression fires exactly once.
// A skipped local time fires when the clocks skip it; a repeated one at its
// first occurrence.
func TestNextAcrossDST(t *testing.T) {
	cases := []struct {
		name, expr, zone string
		from, to         string
		want             []string // UTC
	}{
		{name: "Berlin spring forward 02:30 fires at 03:00 CEST", expr: "30 2 * * *", zone: "Europe/Berlin",
			from: "2026-03-28T00:00:00Z", to: "2026-03-30T12:00:00Z",
			want: []string{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{name: "Berlin fall back 02:30 fires at the first (CEST) occurrence only", expr: "30 2 * * *", zone: "Europe/Berlin",
			from: "2026-10-24T00:00:00Z", to: "2026-10-26T12:00:00Z",
			want: []string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{name: "New York spring forward 02:30 fires at 03:00 EDT", expr: "30 2 * * *", zone: "America/New_York",
			from: "2026-03-07T00:00:00Z", to: "2026-03-09T12:00:00Z",
			want: []string{"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{name: "New York fall back 01:30 fires at the first (EDT) occurrence only", expr: "30 1 * * *", zone: "America/New_York",
			from: "2026-10-31T00:00:00Z", to: "2026-11-02T12:00:00Z",
			want: []string{"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{name: "skipped times and the first valid one fire once together", expr: "0,30 2,3 * * *", zone: "America/New_York",
			from: "2026-03-08T05:00:00Z", to: "2026-03-08T09:00:00Z",
			want: []string{"2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"}},
		{name: "every 15 minutes across spring forward", expr: "*/15 * * * *", zone: "America/New_York",
			from: "2026-03-08T06:30:00Z", to: "2026-03-08T07:20:00Z",
			want: []string{"2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"}},
		{name: "hourly across fall back: the repeated 01:00 fires once", expr: "@hourly", zone: "America/New_York",
			from: "2026-11-01T04:30:00Z", to: "2026-11-01T08:30:00Z",
			want: []string{"2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"}},
		{name: "daily in UTC", expr: "@daily", zone: "UTC",
			from: "2026-03-28T00:00:00Z", to: "2026-03-30T00:00:00Z",
			want: []string{"2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z"}},
		{name: "day of month OR day of week", expr: "0 9 1 * mon", zone: "UTC",
			from: "2026-05-28T00:00:00Z", to: "2026-06-09T00:00:00Z",
			want: []string{"2026-06-01T09:00:00Z", "2026-06-08T09:00:00Z"}},
		{name: "midnight that does not exist (Sao Paulo 2018) fires at 01:00", expr: "@daily", zone: "America/Sao_Paulo",
			from: "2018-11-03T12:00:00Z", to: "2018-11-05T12:00:00Z",
			want: []string{"2018-11-04T03:00:00Z", "2018-11-05T02:00:00Z"}},
		{name: "half-hour zone", expr: "0 9 * * *", zone: "Asia/Kolkata",
			from: "2026-01-01T00:00:00Z", to: "2026-01-02T12:00:00Z",
			want: []string{"2026-01-01T03:30:00Z", "2026-01-02T03:30:00Z"}},
		{name: "leap day", expr: "0 0 29 2 *", zone: "UTC",
			from: "2026-01-01T00:00:00Z", to: "2033-01-01T00:00:00Z",
			want: []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := formatAll(fires(t, c.expr, c.zone, utc(c.from), utc(c.to)))
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Fatalf("fires\n got %v\nwant %v", got, c.want)
			}
		})
	}
}

// TestNextFromInsideTransitions: Next from any instant around a transition
// is after it and never returns a local time already fired.
func TestNextFromInsideTransitions(t *testing.T) {
	c, err := ParseCron("30 1,2 * * *")
	if err != nil {
		t.Fatal(err)
	}
	for _, zone := range []string{"Europe/Berlin", "America/New_York"} {
		loc := mustZone(t, zone)
		for _, day := range []string{"2026-03-08T00:00:00Z", "2026-03-29T00:00:00Z", "2026-10-25T00:00:00Z", "2026-11-01T00:00:00Z"} {
			start := utc(day)
			seen := map[string]bool{}
			prev := time.Time{}
			for at := start; at.Before(start.Add(30 * time.Hour)); at = at.Add(time.Minute) {
				next, ok := c.Next(at, loc)
				if !ok || !next.After(at) {
					t.Fatalf("%s: Next(%s) = %s", zone, at, next)
				}
				if !prev.IsZero() && next.Before(prev) {
					t.Fatalf("%s: Next went back from %s to %s", zone, prev, next)
				}
				prev = next
				seen[next.Format(time.RFC3339)] = true
			}
			// Local 01:30 and 02:30 each once a day: never more fires than
			// local times (a repeated one is not a second fire).
			wall := map[string]int{}
			for s := range seen {
				w := utc(s).In(loc).Format("2006-01-02 15:04")
				wall[w]++
				if wall[w] > 1 {
					t.Fatalf("%s: local time %s fires twice (%v)", zone, w, seen)
				}
			}
		}
	}
}

// FuzzParseCron: any input is refused with ErrCron or parses to an
// expression whose canonical text parses to itself and that fires in the
// future in a DST zone, strictly later each time.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 3 * * *", "*/15 9-17 * * mon-fri", "@daily", "@every 5m", "0 0 30 2 *", "1-5/2 22-2 * jan-mar 0,7",
		"* * * * *", "0 0 * * THU", "59 23 31 12 *", "CRON_TZ=UTC * * * * *", "", "@", "0 0 L * *", "5,10-20/3 * 1 * sun"} {
		f.Add(s)
	}
	berlin := mustZone(f, "Europe/Berlin")
	ny := mustZone(f, "America/New_York")
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := ParseCron(expr)
		if err != nil {
			if !errors.Is(err, ErrCron) || err.Error() == "" {
				t.Fatalf("ParseCron(%q): unclassified error %v", expr, err)
			}
			return
		}
		if !utf8.ValidString(c.String()) || len(c.String()) > MaxCronLength {
			t.Fatalf("canonical %q", c.String())
		}
		again, err := ParseCron(c.String())
		if err != nil || again.String() != c.String() {
			t.Fatalf("canonical %q does not parse to itself: %q, %v", c.String(), again.String(), err)
		}
		for _, loc := range []*time.Location{time.UTC, berlin, ny} {
			at := time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC)
			for range 3 {
				next, ok := c.Next(at, loc)
				if !ok || !next.After(at) {
					t.Fatalf("%q in %s: Next(%s) = %s, %v", expr, loc, at, next, ok)
				}
				at = next
			}
		}
	})
}
