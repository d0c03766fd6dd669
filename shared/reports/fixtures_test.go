package reports_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/reports"
	"rampart/shared/taxonomy"
)

// unicodeText is the non-Latin sample every format must keep.
const unicodeText = "Überprüfung – 日本語 – Ελληνικά – العربية – Проверка"

// syntheticData writes an intermediate file of n findings (severities
// cycling, most severe first as load orders them) for a session or a scan.
func syntheticData(t testing.TB, subject string, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	writeSynthetic(t, &buf, subject, n)
	return buf.Bytes()
}

func writeSynthetic(t testing.TB, w io.Writer, subject string, n int) {
	t.Helper()
	tax := taxonomy.Builtin()
	lk := reports.NewLookups(tax)
	now := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	sum := reports.Summary{Findings: n, Assets: 3, BySeverity: map[string]int{}, ByStatus: map[string]int{},
		ByCategory: map[string]int{}, ByNIS2: map[string]int{}}
	cats := []string{"tls", "http_headers", "nis2_b_incident_handling", "dns", "other"}
	sev := func(i int) string { return domain.Severities[i*len(domain.Severities)/max(n, 1)] }
	for i := 0; i < n; i++ {
		sum.BySeverity[sev(i)]++
		sum.ByStatus["open"]++
		sum.ByCategory[cats[i%len(cats)]]++
		v, _ := tax.Lookup(domain.DomainCategory, cats[i%len(cats)])
		sum.ByNIS2[v.NIS2]++
	}
	m := reports.Meta{SchemaVersion: reports.SchemaVersion,
		Export:       reports.ExportInfo{ID: domain.NewIDAt(now), Format: "pdf", GeneratedAt: now, TaxonomyVersion: 1},
		Organization: reports.OrgInfo{ID: domain.NewIDAt(now), Name: "Acme " + unicodeText},
		Subject: reports.SubjectInfo{Type: subject, ID: domain.NewIDAt(now), Name: "Pentest " + unicodeText, Status: "completed",
			StatusLabel: "Completed", CreatedAt: now, UpdatedAt: now, ClientName: "Client GmbH", StartDate: "2026-06-01", EndDate: "2026-06-30"},
		Taxonomy: lk.Info(), Summary: sum}
	if subject == reports.SubjectScan {
		score := 72.5
		m.Subject.Name = ""
		m.Scan = &reports.ScanInfo{Score: &score, Targets: 3, Hosts: 3, LiveHosts: 2, CompletedAt: &now}
	}
	dw := reports.NewDataWriter(w)
	if err := dw.Meta(m); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := dw.Asset(reports.Asset{ID: domain.NewIDAt(now), Type: "domain", Target: fmt.Sprintf("host%d.example.com", i), Name: "Host " + unicodeText}); err != nil {
			t.Fatal(err)
		}
	}
	score := 9.8
	for i := 0; i < n; i++ {
		f := domain.Finding{ID: domain.NewIDAt(now), Title: fmt.Sprintf("Finding %d: weak TLS – %s", i, unicodeText),
			Description: "The server accepts TLS 1.0. " + unicodeText + "\nSecond paragraph with a long URL https://example.com/" + string(bytes.Repeat([]byte("a"), 150)),
			Severity:    sev(i), Status: "open", Category: cats[i%len(cats)], AssetID: domain.NewIDAt(now), AssetType: "domain",
			AssetTarget: "host.example.com", AssetName: "Host", Evidence: "=HYPERLINK(\"http://x\",\"y\")\n\tProtocol: TLSv1.0",
			Remediation: "Disable TLS 1.0 and 1.1.", References: []string{"https://www.rfc-editor.org/rfc/rfc8996"},
			CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CVSSScore: &score, CVSSVersion: "3.1",
			Source: domain.SourceManual, CreatedAt: now, UpdatedAt: now}
		atts := []reports.Attachment{{ID: domain.NewIDAt(now), FileName: "screenshot-" + fmt.Sprint(i) + ".png", ContentType: "image/png", Size: 2048}}
		if err := dw.Finding(lk.Finding(f, atts)); err != nil {
			t.Fatal(err)
		}
	}
}

func render(t testing.TB, format string, data []byte) []byte {
	t.Helper()
	d, err := reports.ReadData(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r, err := reports.RendererFor(format)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := r.Render(&out, d); err != nil {
		t.Fatalf("render %s: %v", format, err)
	}
	return out.Bytes()
}

// pdfText extracts a PDF's text with poppler's pdftotext (installed by
// scripts/tools.sh; the test fails without it).
func pdfText(t testing.TB, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Fatalf("pdftotext not found (poppler-utils, installed by scripts/tools.sh): %v", err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "r.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-enc", "UTF-8", "-layout", in, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}
