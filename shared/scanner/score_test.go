package scanner

import (
	"strings"
	"testing"
)

func findings(sevs ...Severity) []Finding {
	out := make([]Finding, len(sevs))
	for i, s := range sevs {
		out[i] = Finding{Severity: s}
	}
	return out
}

func TestHostScore(t *testing.T) {
	cases := []struct {
		name string
		sevs []Severity
		want int
	}{
		{"clean", nil, 100},
		{"one critical", []Severity{SeverityCritical}, 50},
		{"one high", []Severity{SeverityHigh}, 80},
		{"one medium", []Severity{SeverityMedium}, 90},
		{"one low", []Severity{SeverityLow}, 95},
		{"info is free", []Severity{SeverityInfo, SeverityInfo}, 100},
		{"mixed", []Severity{SeverityHigh, SeverityMedium, SeverityLow, SeverityLow}, 60},
		{"exactly zero", []Severity{SeverityCritical, SeverityCritical}, 0},
		{"floored at zero", []Severity{SeverityCritical, SeverityCritical, SeverityHigh}, 0},
	}
	for _, c := range cases {
		if got := HostScore(findings(c.sevs...)); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
}

func TestScore(t *testing.T) {
	live := func(sevs ...Severity) TargetReport { return TargetReport{Live: true, Findings: findings(sevs...)} }
	dead := TargetReport{Live: false}
	refused := TargetReport{Errors: []string{"target 10.0.0.1 refused: private network"}}
	cases := []struct {
		name    string
		reports []TargetReport
		want    *float64
		reason  string // substring of the reason when want is nil
		live    int
	}{
		{"no targets", nil, nil, "no targets", 0},
		{"nothing answered", []TargetReport{dead, dead}, nil, "none of the 2", 0},
		{"refused only", []TargetReport{refused}, nil, "could not be scanned", 0},
		{"one clean host", []TargetReport{live()}, ptr(100), "", 1},
		{"mean of live hosts", []TargetReport{live(), live(SeverityCritical)}, ptr(75), "", 2},
		{"dead hosts do not count", []TargetReport{live(SeverityHigh), dead, refused}, ptr(80), "", 1},
		{"non-integer mean", []TargetReport{live(), live(SeverityLow), live(SeverityLow)}, ptr(290.0 / 3), "", 3},
		{"floor per host before the mean", []TargetReport{live(SeverityCritical, SeverityCritical, SeverityCritical), live()}, ptr(50), "", 2},
	}
	for _, c := range cases {
		got := Score(c.reports)
		switch {
		case c.want == nil:
			if got.Score != nil || !strings.Contains(got.Reason, c.reason) {
				t.Errorf("%s: got %v %q, want nil with reason containing %q", c.name, got.Score, got.Reason, c.reason)
			}
		case got.Score == nil || *got.Score != *c.want:
			t.Errorf("%s: got %v (%s), want %v", c.name, got.Score, got.Reason, *c.want)
		}
		if got.LiveHosts != c.live || got.Hosts != len(c.reports) {
			t.Errorf("%s: live %d/%d hosts, want %d/%d", c.name, got.LiveHosts, got.Hosts, c.live, len(c.reports))
		}
	}
	got := Score([]TargetReport{live(SeverityHigh, SeverityInfo), dead})
	if got.Counts[SeverityHigh] != 1 || got.Counts[SeverityInfo] != 1 || got.Counts[SeverityCritical] != 0 {
		t.Errorf("counts: %v", got.Counts)
	}
}

func ptr(f float64) *float64 { return &f }
