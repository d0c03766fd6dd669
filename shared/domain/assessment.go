package domain

import "time"

// Client is a customer of an assessing organization (family A).
type Client struct {
	ID           string
	Name         string
	Description  string
	ContactName  string
	ContactEmail string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Asset is something that is assessed or scanned. Network assets (domain,
// host, ip, url) have a normalised target the scanner can reach; reviewed
// artefacts may carry a URL.
type Asset struct {
	ID          string
	Type        string
	Target      string // normalised; "" for artefacts without a URL
	Name        string
	ClientID    string
	Tags        []string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Session is an assessment session (family A).
type Session struct {
	ID          string
	Name        string
	ClientID    string
	AssetIDs    []string
	Status      string
	StartDate   string // YYYY-MM-DD
	EndDate     string
	ReviewerIDs []string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Finding is one security problem on one asset, written by a person in a
// session or produced by a scan check. Scan findings are deduplicated by
// Fingerprint: repeated observations update one finding.
type Finding struct {
	ID          string
	Title       string
	Description string
	Severity    string
	Status      string
	Category    string
	AssetID     string
	// The asset as it was when the finding was recorded, so that a finding
	// keeps a record of its asset after the asset is deleted.
	AssetType      string
	AssetTarget    string
	AssetName      string
	SessionID      string
	ClientID       string // from the session or the asset; scopes client members
	CVSSVector     string
	CVSSScore      *float64
	CVSSVersion    string
	Evidence       string
	Remediation    string
	References     []string
	ResolutionNote string
	TemplateID     string
	Source         string // "manual" or "scan"
	CheckID        string
	NIS2           string
	Fingerprint    string
	FirstSeenAt    *time.Time
	LastSeenAt     *time.Time
	Observations   int
	LastScanID     string
	CreatedBy      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Version increases with every change; it is the ETag.
	Version int
}

// Finding sources.
const (
	SourceManual = "manual"
	SourceScan   = "scan"
)

// HistoryEntry records one changed field of a finding.
type HistoryEntry struct {
	ID        string
	FindingID string
	Field     string
	From      string
	To        string
	ChangedBy string // user id, or "system" for scan-driven changes
	Reason    string // e.g. "scan:<id> no longer observed"
	At        time.Time
}

// Template is reusable finding text.
type Template struct {
	ID          string
	Title       string
	Description string
	Remediation string
	Severity    string
	Category    string
	References  []string
	CVSSVector  string
	BuiltIn     bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// FindingStats counts findings by severity, status and category.
type FindingStats struct {
	Total      int
	BySeverity map[string]int
	ByStatus   map[string]int
	ByCategory map[string]int
}
