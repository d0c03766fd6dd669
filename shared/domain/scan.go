package domain

import "time"

// Scan statuses.
const (
	ScanPending   = "pending"
	ScanRunning   = "running"
	ScanCompleted = "completed"
	ScanFailed    = "failed"
	ScanCancelled = "cancelled"
)

// ScanStatuses lists every scan status.
var ScanStatuses = []string{ScanPending, ScanRunning, ScanCompleted, ScanFailed, ScanCancelled}

// Scan is one run of the checks over a set of assets.
type Scan struct {
	ID         string
	Status     string
	ScheduleID string // set when a schedule started it
	CreatedBy  string
	// Targets is the number of assets the scan covers; Done how many are
	// finished.
	Targets int
	Done    int
	// Score is nil when no host answered; ScoreReason then says why.
	Score       *float64
	ScoreReason string
	Hosts       int
	LiveHosts   int
	Counts      map[string]int // findings by severity
	Findings    int            // findings observed
	Results     int            // raw check results stored
	Reason      string         // why the scan failed
	// CancelRequested asks a running scan to stop between checks.
	CancelRequested bool
	// Attempts counts the worker invocations that claimed the scan.
	Attempts    int
	CreatedAt   time.Time
	StartedAt   *time.Time
	CompletedAt *time.Time
	UpdatedAt   time.Time
}

// Finished reports whether the scan reached a final status.
func (s Scan) Finished() bool {
	return s.Status == ScanCompleted || s.Status == ScanFailed || s.Status == ScanCancelled
}

// ScanTarget is one asset of a scan as it was when the scan was created,
// and what became of it.
type ScanTarget struct {
	AssetID  string
	Type     string
	Target   string
	ClientID string
	Done     bool
	// Clean is true when every check ran to an outcome: only then may the
	// scan resolve this asset's findings that it no longer sees.
	Clean     bool
	Live      bool
	HostScore int
	Counts    map[string]int
	// Passed lists the checks that passed on this asset: a scan resolves
	// only findings whose check it saw pass, never ones it could not decide.
	Passed []string
}

// ScanResult is the raw outcome of one check on one asset.
type ScanResult struct {
	ScanID   string
	AssetID  string
	CheckID  string
	Subject  string
	Host     string
	Outcome  string
	Severity string
	Summary  string
	Facts    map[string]string
}

// Observation is a finding that a scan saw.
type Observation struct {
	ScanID      string
	FindingID   string
	Fingerprint string
	AssetID     string
	CheckID     string
	Title       string
	Severity    string
}
