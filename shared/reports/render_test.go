package reports_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pb33f/jsonschema/v6"

	"rampart/shared/reports"
)

func TestReportsPDF(t *testing.T) {
	for _, subject := range []string{reports.SubjectSession, reports.SubjectScan} {
		t.Run(subject, func(t *testing.T) {
			pdf := render(t, reports.FormatPDF, syntheticData(t, subject, 12))
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 20)])
			}
			text := pdfText(t, pdf)
			checkPDFText(t, text, subject)
		})
	}
}

// checkPDFText checks titles, severities in order, NIS2 labels, page
// numbers and the non-Latin text that DejaVu covers.
func checkPDFText(t *testing.T, text, subject string) {
	t.Helper()
	flat := strings.Join(strings.Fields(text), " ")
	want := []string{"Executive summary", "Findings by severity", "NIS2 Article 21(2) measures", "Scope", "Findings",
		"Finding 0: weak TLS", "Policies and procedures regarding the use of cryptography", "Incident handling",
		"CRITICAL", "Critical", "High", "Medium", "Low", "Informational", "Remediation", "Evidence",
		"screenshot-0.png", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "Überprüfung", "Ελληνικά", "Проверка",
		"Acme Überprüfung"}
	if subject == reports.SubjectScan {
		want = append(want, "Security scan report", "72.5 / 100")
	} else {
		want = append(want, "Security assessment report", "Client GmbH")
	}
	for _, w := range want {
		if !strings.Contains(flat, w) {
			t.Errorf("PDF text lacks %q", w)
		}
	}
	pages := regexp.MustCompile(`Page (\d+) of (\d+)`).FindAllStringSubmatch(text, -1)
	if len(pages) < 4 {
		t.Fatalf("page numbers: %v\n%s", pages, text)
	}
	total := pages[0][2]
	for i, p := range pages {
		if p[1] != fmt.Sprint(i+1) || p[2] != total {
			t.Errorf("page %d says %q", i+1, p[0])
		}
	}
	if fmt.Sprint(len(pages)) != total {
		t.Errorf("%d pages numbered, total says %s", len(pages), total)
	}
	// Critical first: the first finding listed is critical, the last info.
	first := strings.Index(flat, "1. Finding 0:")
	crit, info := strings.Index(flat[first-40:], "CRITICAL"), strings.LastIndex(flat, "INFORMATIONAL")
	if first < 0 || crit < 0 || info < first {
		t.Errorf("findings not in severity order (first %d, critical %d, info %d)", first, crit, info)
	}
}

func TestReportsCSV(t *testing.T) {
	for _, subject := range []string{reports.SubjectSession, reports.SubjectScan} {
		t.Run(subject, func(t *testing.T) {
			out := render(t, reports.FormatCSV, syntheticData(t, subject, 7))
			if !bytes.HasPrefix(out, []byte("\xef\xbb\xbf")) {
				t.Fatal("no UTF-8 byte order mark")
			}
			if !bytes.Contains(out, []byte("\r\n")) {
				t.Error("lines do not end in CRLF")
			}
			rows := parseCSV(t, out)
			if len(rows) != 8 || strings.Join(rows[0], ",") != strings.Join(reports.CSVHeader, ",") {
				t.Fatalf("%d rows, header %v", len(rows), rows[0])
			}
			col := func(name string) int {
				for i, h := range reports.CSVHeader {
					if h == name {
						return i
					}
				}
				t.Fatalf("no column %s", name)
				return -1
			}
			r := rows[1]
			if r[col("severity")] != "critical" || r[col("nis2_point")] != "h" || !strings.HasPrefix(r[col("nis2_label")], "Policies and procedures regarding") {
				t.Errorf("row 1: %v", r)
			}
			if got := r[col("evidence")]; got != "'=HYPERLINK(\"http://x\",\"y\")\n\tProtocol: TLSv1.0" {
				t.Errorf("formula cell not neutralised: %q", got)
			}
			if !strings.Contains(r[col("title")], unicodeText) || !strings.Contains(r[col("description")], unicodeText) {
				t.Errorf("non-Latin text lost: %q", r[col("title")])
			}
			if r[col("attachments")] != "screenshot-0.png" || r[col("cvss_score")] != "9.8" || r[col("subject_type")] != subject {
				t.Errorf("row 1: %v", r)
			}
			if rows[7][col("severity")] != "info" {
				t.Errorf("last row severity %s", rows[7][col("severity")])
			}
		})
	}
}

func parseCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestReportsSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\",\"y\")": "'=HYPERLINK(\"http://x\",\"y\")",
		"+1":                             "'+1",
		"-2+3":                           "'-2+3",
		"@SUM(A1)":                       "'@SUM(A1)",
		"\tx":                            "'\tx",
		"\rx":                            "'\rx",
		"  =1":                           "'  =1",
		"＝1":                             "'＝1",
		"plain":                          "plain",
		"":                               "",
		"a=b":                            "a=b",
		"9.8":                            "9.8",
		"日本語":                            "日本語",
	} {
		if got := reports.SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// reportSchema compiles docs/report-schema.json.
func reportSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../../docs/report-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("report-schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("report-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validJSONReport validates a JSON report against the schema and decodes it.
func validJSONReport(t testing.TB, b []byte) map[string]any {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if err := reportSchema(t).Validate(doc); err != nil {
		t.Fatalf("report does not match docs/report-schema.json: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReportsJSON(t *testing.T) {
	for _, subject := range []string{reports.SubjectSession, reports.SubjectScan} {
		t.Run(subject, func(t *testing.T) {
			out := render(t, reports.FormatJSON, syntheticData(t, subject, 6))
			m := validJSONReport(t, out)
			if m["schema_version"] != reports.SchemaVersion {
				t.Errorf("schema_version %v", m["schema_version"])
			}
			fs := m["findings"].([]any)
			if len(fs) != 6 || len(m["scope"].([]any)) != 3 {
				t.Fatalf("%d findings", len(fs))
			}
			f0 := fs[0].(map[string]any)
			if f0["severity"] != "critical" || !strings.Contains(f0["title"].(string), unicodeText) ||
				f0["nis2"].(map[string]any)["point"] != "h" || f0["evidence"] != "=HYPERLINK(\"http://x\",\"y\")\n\tProtocol: TLSv1.0" {
				t.Errorf("finding 0: %v", f0)
			}
			if (m["scan"] == nil) != (subject == reports.SubjectSession) {
				t.Errorf("scan part %v", m["scan"])
			}
		})
	}
	// The schema is not vacuous: a renamed field, an unknown NIS2 point or
	// a missing findings list fails.
	out := render(t, reports.FormatJSON, syntheticData(t, reports.SubjectSession, 1))
	for _, broken := range []string{
		strings.Replace(string(out), `"title":`, `"titel":`, 1),
		strings.Replace(string(out), `"point":"h"`, `"point":"k"`, 1),
		strings.Replace(string(out), `"findings":[`, `"items":[`, 1),
	} {
		doc, _ := jsonschema.UnmarshalJSON(strings.NewReader(broken))
		if reportSchema(t).Validate(doc) == nil {
			t.Errorf("schema accepted a broken report")
		}
	}
}
