package reports

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Renderer writes one format from the intermediate data, in one pass.
type Renderer interface {
	Render(w io.Writer, d *Data) error
}

// RendererFor returns the renderer of a format.
func RendererFor(format string) (Renderer, error) {
	switch format {
	case FormatCSV:
		return CSV{}, nil
	case FormatJSON:
		return JSON{}, nil
	case FormatPDF:
		return PDF{}, nil
	}
	return nil, fmt.Errorf("unknown report format %q", format)
}

// CSV is one row per finding under a header row: RFC 4180 (encoding/csv,
// CRLF line ends), UTF-8 with a byte order mark so that spreadsheet programs
// (Excel) read it as UTF-8, and every cell that a spreadsheet would take as
// a formula neutralised with a leading apostrophe.
type CSV struct{}

// CSVHeader names the columns.
var CSVHeader = []string{
	"id", "title", "severity", "severity_label", "status", "status_label", "category", "category_label",
	"nis2_point", "nis2_label", "asset_id", "asset_type", "asset_target", "asset_name",
	"cvss_version", "cvss_vector", "cvss_score", "description", "evidence", "remediation", "resolution_note",
	"references", "attachments", "source", "check_id", "observations", "first_seen_at", "last_seen_at",
	"created_at", "updated_at", "subject_type", "subject_id",
}

// utf8BOM makes Excel read the file as UTF-8.
const utf8BOM = "\ufeff"

// Render implements Renderer.
func (CSV) Render(w io.Writer, d *Data) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(bw)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	m := d.Meta()
	if err := d.Assets(func(Asset) error { return nil }); err != nil {
		return err
	}
	row := make([]string, len(CSVHeader))
	err := d.Findings(func(f Finding) error {
		nisPoint, nisLabel := "", ""
		if f.NIS2 != nil {
			nisPoint, nisLabel = f.NIS2.Point, f.NIS2.Label
		}
		cvssVersion, cvssVector, cvssScore := "", "", ""
		if f.CVSS != nil {
			cvssVersion, cvssVector = f.CVSS.Version, f.CVSS.Vector
			if f.CVSS.Score != nil {
				cvssScore = strconv.FormatFloat(*f.CVSS.Score, 'f', 1, 64)
			}
		}
		names := make([]string, len(f.Attachments))
		for i, a := range f.Attachments {
			names[i] = a.FileName
		}
		vals := []string{
			f.ID, f.Title, f.Severity, f.SeverityLabel, f.Status, f.StatusLabel, f.Category, f.CategoryLabel,
			nisPoint, nisLabel, f.Asset.ID, f.Asset.Type, f.Asset.Target, f.Asset.Name,
			cvssVersion, cvssVector, cvssScore, f.Description, f.Evidence, f.Remediation, f.ResolutionNote,
			strings.Join(f.References, "\n"), strings.Join(names, "\n"), f.Source, f.CheckID, strconv.Itoa(f.Observations),
			timeCell(f.FirstSeenAt), timeCell(f.LastSeenAt), f.CreatedAt.UTC().Format(time.RFC3339),
			f.UpdatedAt.UTC().Format(time.RFC3339), m.Subject.Type, m.Subject.ID,
		}
		for i, v := range vals {
			row[i] = SafeCell(v)
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func timeCell(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// SafeCell neutralises a cell that a spreadsheet would evaluate (formula
// injection, CWE-1236): one that starts with =, +, -, @, a tab or a carriage
// return (or their full-width forms, which some spreadsheets fold), also
// after leading spaces, gets a leading apostrophe, which spreadsheets show
// as text and do not evaluate. Other cells are unchanged.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '\t', '\r', '\n':
		return "'" + s
	}
	trimmed := strings.TrimLeftFunc(s, unicode.IsSpace)
	if trimmed == "" {
		return s
	}
	switch r, _ := utf8.DecodeRuneInString(trimmed); r {
	case '=', '+', '-', '@', '\uff1d', '\uff0b', '\uff0d', '\uff20':
		return "'" + s
	}
	return s
}
