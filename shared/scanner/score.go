package scanner

import "fmt"

// Points a live host loses per finding of each severity; info costs nothing.
var severityPenalty = map[Severity]int{
	SeverityCritical: 50,
	SeverityHigh:     20,
	SeverityMedium:   10,
	SeverityLow:      5,
}

// ScoreResult is a scan's score. Score is nil when no host answered, and
// Reason then says why.
type ScoreResult struct {
	Score     *float64         `json:"score"`
	Reason    string           `json:"reason,omitempty"`
	Hosts     int              `json:"hosts"`
	LiveHosts int              `json:"live_hosts"`
	Counts    map[Severity]int `json:"counts"` // findings by severity, all hosts
}

// HostScore is one live host's score: 100 minus 50, 20, 10 and 5 points per
// critical, high, medium and low finding, never below 0.
func HostScore(findings []Finding) int {
	score := 100
	for _, f := range findings {
		score -= severityPenalty[f.Severity]
	}
	return max(score, 0)
}

// Score scores reports: the mean of HostScore over live hosts.
func Score(reports []TargetReport) ScoreResult {
	var t Tally
	for _, r := range reports {
		t.Add(r)
	}
	return t.Result()
}

// Tally accumulates a score one report at a time, so a scan of thousands of
// targets scores without keeping their reports. The zero value is ready.
type Tally struct {
	hosts, live, errored int
	sum                  int
	counts               map[Severity]int
}

// Add counts one target's report.
func (t *Tally) Add(r TargetReport) {
	if t.counts == nil {
		t.counts = map[Severity]int{}
	}
	t.hosts++
	for _, f := range r.Findings {
		t.counts[f.Severity]++
	}
	if r.Live {
		t.live++
		t.sum += HostScore(r.Findings)
		return
	}
	if len(r.Errors) > 0 {
		t.errored++
	}
}

// Result returns the score so far.
func (t *Tally) Result() ScoreResult {
	counts := map[Severity]int{}
	for _, s := range Severities() {
		counts[s] = t.counts[s]
	}
	res := ScoreResult{Hosts: t.hosts, LiveHosts: t.live, Counts: counts}
	switch {
	case t.hosts == 0:
		res.Reason = "no targets were scanned"
	case t.live == 0 && t.errored > 0:
		res.Reason = fmt.Sprintf("none of the %d scanned targets answered any probe (%d could not be scanned: refused, unresolvable or invalid)", t.hosts, t.errored)
	case t.live == 0:
		res.Reason = fmt.Sprintf("none of the %d scanned targets answered any probe", t.hosts)
	default:
		v := float64(t.sum) / float64(t.live)
		res.Score = &v
	}
	return res
}
