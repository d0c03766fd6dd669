package reports

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"rampart/shared/domain"
)

// SchemaVersion is the version of the JSON report (docs/report-schema.json)
// and of the intermediate file, whose parts are the JSON report's parts.
const SchemaVersion = "1.0"

// Meta is everything a report says before its scope and findings: the first
// line of the intermediate file.
type Meta struct {
	SchemaVersion string       `json:"schema_version"`
	Export        ExportInfo   `json:"export"`
	Organization  OrgInfo      `json:"organization"`
	Subject       SubjectInfo  `json:"subject"`
	Scan          *ScanInfo    `json:"scan,omitempty"`
	Taxonomy      TaxonomyInfo `json:"taxonomy"`
	Summary       Summary      `json:"summary"`
}

// ExportInfo identifies the export a report belongs to.
type ExportInfo struct {
	ID              string    `json:"id"`
	Format          string    `json:"format"`
	GeneratedAt     time.Time `json:"generated_at"`
	TaxonomyVersion int       `json:"taxonomy_version"`
}

// OrgInfo is the organization that owns the report.
type OrgInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SubjectInfo is the session or scan reported on.
type SubjectInfo struct {
	Type        string     `json:"type"`
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	ClientID    string     `json:"client_id,omitempty"`
	ClientName  string     `json:"client_name,omitempty"`
	Status      string     `json:"status"`
	StatusLabel string     `json:"status_label"`
	StartDate   string     `json:"start_date,omitempty"`
	EndDate     string     `json:"end_date,omitempty"`
	Description string     `json:"description,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// ScanInfo is what a scan report adds: the score and its basis.
type ScanInfo struct {
	Score       *float64   `json:"score"`
	ScoreReason string     `json:"score_reason,omitempty"`
	Targets     int        `json:"targets"`
	Hosts       int        `json:"hosts"`
	LiveHosts   int        `json:"live_hosts"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Label is a taxonomy value as a report shows it.
type Label struct {
	Value string `json:"value"`
	Label string `json:"label"`
	Color string `json:"color,omitempty"`
	NIS2  string `json:"nis2,omitempty"`
}

// NIS2Point is one measure of NIS2 Article 21(2), (a) to (j).
type NIS2Point struct {
	Point string `json:"point"`
	Label string `json:"label"`
}

// TaxonomyInfo is the part of the taxonomy version a report uses.
type TaxonomyInfo struct {
	Version    int         `json:"version"`
	Severities []Label     `json:"severities"`
	Statuses   []Label     `json:"statuses"`
	Categories []Label     `json:"categories"`
	NIS2       []NIS2Point `json:"nis2_points"`
}

// Summary counts the reported findings.
type Summary struct {
	Findings   int            `json:"findings"`
	Assets     int            `json:"assets"`
	BySeverity map[string]int `json:"by_severity"`
	ByStatus   map[string]int `json:"by_status"`
	ByCategory map[string]int `json:"by_category"`
	ByNIS2     map[string]int `json:"by_nis2"`
}

func newSummary() Summary {
	return Summary{BySeverity: map[string]int{}, ByStatus: map[string]int{}, ByCategory: map[string]int{}, ByNIS2: map[string]int{}}
}

// Asset is one asset of the report's scope.
type Asset struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Target string `json:"target,omitempty"`
	Name   string `json:"name,omitempty"`
}

// Finding is one finding as reported, with its taxonomy labels resolved
// against the export's taxonomy version.
type Finding struct {
	ID             string       `json:"id"`
	Title          string       `json:"title"`
	Severity       string       `json:"severity"`
	SeverityLabel  string       `json:"severity_label"`
	Status         string       `json:"status"`
	StatusLabel    string       `json:"status_label"`
	Category       string       `json:"category"`
	CategoryLabel  string       `json:"category_label"`
	NIS2           *NIS2Point   `json:"nis2"`
	Asset          Asset        `json:"asset"`
	Description    string       `json:"description"`
	Evidence       string       `json:"evidence"`
	Remediation    string       `json:"remediation"`
	ResolutionNote string       `json:"resolution_note"`
	CVSS           *CVSS        `json:"cvss"`
	References     []string     `json:"references"`
	Attachments    []Attachment `json:"attachments"`
	Source         string       `json:"source"`
	CheckID        string       `json:"check_id,omitempty"`
	Observations   int          `json:"observations"`
	FirstSeenAt    *time.Time   `json:"first_seen_at,omitempty"`
	LastSeenAt     *time.Time   `json:"last_seen_at,omitempty"`
	CreatedAt      time.Time    `json:"created_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
}

// CVSS is a finding's vector and base score.
type CVSS struct {
	Version string   `json:"version"`
	Vector  string   `json:"vector"`
	Score   *float64 `json:"score"`
}

// Attachment is a file attached to a finding (listed, not embedded).
type Attachment struct {
	ID          string `json:"id"`
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// Lookups resolves taxonomy labels for one version.
type Lookups struct {
	tax  domain.Taxonomy
	nis2 map[string]string
}

// NewLookups indexes a taxonomy version.
func NewLookups(t domain.Taxonomy) Lookups {
	l := Lookups{tax: t, nis2: map[string]string{}}
	for _, p := range nis2Points(t) {
		l.nis2[p.Point] = p.Label
	}
	return l
}

func (l Lookups) label(dom, v string) string {
	if tv, ok := l.tax.Lookup(dom, v); ok && tv.Label != "" {
		return tv.Label
	}
	return v
}

// Finding converts a stored finding for a report.
func (l Lookups) Finding(f domain.Finding, atts []Attachment) Finding {
	out := Finding{ID: f.ID, Title: f.Title, Severity: f.Severity, SeverityLabel: l.label(domain.DomainRiskLevel, f.Severity),
		Status: f.Status, StatusLabel: l.label(domain.DomainRemediationStatus, f.Status),
		Category: f.Category, CategoryLabel: l.label(domain.DomainCategory, f.Category),
		Asset:       Asset{ID: f.AssetID, Type: f.AssetType, Target: f.AssetTarget, Name: f.AssetName},
		Description: f.Description, Evidence: f.Evidence, Remediation: f.Remediation, ResolutionNote: f.ResolutionNote,
		References: f.References, Attachments: atts, Source: f.Source, CheckID: f.CheckID, Observations: f.Observations,
		FirstSeenAt: f.FirstSeenAt, LastSeenAt: f.LastSeenAt, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
	point := f.NIS2
	if v, ok := l.tax.Lookup(domain.DomainCategory, f.Category); ok && v.NIS2 != "" {
		point = v.NIS2 // as the export's taxonomy version maps the category
	}
	if point != "" {
		out.NIS2 = &NIS2Point{Point: point, Label: l.nis2[point]}
		if out.NIS2.Label == "" {
			out.NIS2.Label = article21[point]
		}
	}
	if f.CVSSVector != "" {
		out.CVSS = &CVSS{Version: f.CVSSVersion, Vector: f.CVSSVector, Score: f.CVSSScore}
	}
	if out.References == nil {
		out.References = []string{}
	}
	if out.Attachments == nil {
		out.Attachments = []Attachment{}
	}
	return out
}

// Info is the taxonomy part of a report's meta.
func (l Lookups) Info() TaxonomyInfo {
	labels := func(dom string) []Label {
		out := []Label{}
		for _, v := range sortedValues(l.tax.Domains[dom]) {
			out = append(out, Label{Value: v.Value, Label: v.Label, Color: v.Color, NIS2: v.NIS2})
		}
		return out
	}
	return TaxonomyInfo{Version: l.tax.Version, Severities: labels(domain.DomainRiskLevel),
		Statuses: labels(domain.DomainRemediationStatus), Categories: labels(domain.DomainCategory), NIS2: nis2Points(l.tax)}
}

// article21 are the measures of NIS2 (Directive (EU) 2022/2555) Article
// 21(2), used when a taxonomy does not name a point itself.
var article21 = map[string]string{
	"a": "Policies on risk analysis and information system security",
	"b": "Incident handling",
	"c": "Business continuity, such as backup management and disaster recovery, and crisis management",
	"d": "Supply chain security",
	"e": "Security in network and information systems acquisition, development and maintenance, including vulnerability handling and disclosure",
	"f": "Policies and procedures to assess the effectiveness of cybersecurity risk-management measures",
	"g": "Basic cyber hygiene practices and cybersecurity training",
	"h": "Policies and procedures regarding the use of cryptography and, where appropriate, encryption",
	"i": "Human resources security, access control policies and asset management",
	"j": "Multi-factor or continuous authentication, secured voice, video and text communications and secured emergency communication systems",
}

// nis2Points labels the points (a) to (j): a taxonomy's own measure
// category ("nis2_<point>_...") names a point, else the directive's wording.
func nis2Points(t domain.Taxonomy) []NIS2Point {
	out := make([]NIS2Point, 0, 10)
	for _, p := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		label := article21[p]
		for _, v := range t.Domains[domain.DomainCategory] {
			if v.NIS2 == p && len(v.Value) > 7 && v.Value[:7] == "nis2_"+p+"_" && v.Label != "" {
				label = v.Label
				break
			}
		}
		out = append(out, NIS2Point{Point: p, Label: label})
	}
	return out
}

func sortedValues(vs []domain.TaxonomyValue) []domain.TaxonomyValue {
	out := append([]domain.TaxonomyValue(nil), vs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].SortOrder < out[j-1].SortOrder; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// line is one line of the intermediate file: exactly one field is set.
type line struct {
	Meta    *Meta    `json:"meta,omitempty"`
	Asset   *Asset   `json:"asset,omitempty"`
	Finding *Finding `json:"finding,omitempty"`
}

// DataWriter writes the intermediate file: the meta line first, then
// assets, then findings in report order.
type DataWriter struct {
	enc *json.Encoder
}

// NewDataWriter writes to w.
func NewDataWriter(w io.Writer) *DataWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &DataWriter{enc: enc}
}

// Meta writes the meta line.
func (d *DataWriter) Meta(m Meta) error { return d.enc.Encode(line{Meta: &m}) }

// Asset writes a scope line.
func (d *DataWriter) Asset(a Asset) error { return d.enc.Encode(line{Asset: &a}) }

// Finding writes a finding line.
func (d *DataWriter) Finding(f Finding) error { return d.enc.Encode(line{Finding: &f}) }

// Data reads the intermediate file in one pass: Meta, then Assets, then
// Findings. Only the current line is held in memory.
type Data struct {
	dec  *json.Decoder
	meta Meta
	next *line
	err  error
}

// ErrBadData reports an intermediate file that is not what load writes.
var ErrBadData = errors.New("malformed report data")

// ReadData reads the meta line of an intermediate file.
func ReadData(r io.Reader) (*Data, error) {
	d := &Data{dec: json.NewDecoder(bufio.NewReaderSize(r, 64<<10))}
	l, err := d.read()
	if err != nil {
		return nil, err
	}
	if l == nil || l.Meta == nil {
		return nil, fmt.Errorf("%w: no meta line", ErrBadData)
	}
	d.meta = *l.Meta
	if d.meta.Summary.BySeverity == nil {
		d.meta.Summary = newSummary()
	}
	return d, nil
}

func (d *Data) read() (*line, error) {
	if d.next != nil {
		l := d.next
		d.next = nil
		return l, nil
	}
	var l line
	if err := d.dec.Decode(&l); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %v", ErrBadData, err)
	}
	return &l, nil
}

// Meta is the report's meta line.
func (d *Data) Meta() Meta { return d.meta }

// Assets calls fn for each scope line.
func (d *Data) Assets(fn func(Asset) error) error {
	for {
		l, err := d.read()
		if err != nil || l == nil {
			return err
		}
		if l.Asset == nil {
			d.next = l
			return nil
		}
		if err := fn(*l.Asset); err != nil {
			return err
		}
	}
}

// Findings calls fn for each finding line (skipping any scope lines left).
func (d *Data) Findings(fn func(Finding) error) error {
	for {
		l, err := d.read()
		if err != nil || l == nil {
			return err
		}
		switch {
		case l.Finding != nil:
			if err := fn(*l.Finding); err != nil {
				return err
			}
		case l.Asset != nil:
		default:
			return fmt.Errorf("%w: unexpected line", ErrBadData)
		}
	}
}
