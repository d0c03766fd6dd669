package reports

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/signintech/gopdf"
)

// The report's typeface: DejaVu Sans (regular and bold), embedded so that
// any Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew or Arabic letters
// come out (subset into the document). DejaVu has no CJK glyphs: those
// characters are drawn as U+FFFD in the PDF (the CSV and JSON keep them).
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
)

// PDF is the readable report: cover, executive summary with a severity bar
// chart (and the score of a scan), NIS2 Article 21(2) overview, scope, and
// the findings ordered by severity, each with its description, evidence,
// remediation, CVSS, references and attachment names; "Page N of M" on every
// page. The data is read in one pass; the document itself is assembled by
// gopdf in memory (its size, not the number of findings, bounds the memory:
// see the benchmarks).
type PDF struct{}

// Page geometry, in points (A4).
const (
	pageW      = 595.0
	pageH      = 842.0
	marginX    = 50.0
	marginTop  = 56.0
	marginBot  = 64.0
	contentW   = pageW - 2*marginX
	footerY    = pageH - 40
	fontFamily = "dejavu"
)

type rgb struct{ r, g, b uint8 }

var (
	black = rgb{17, 24, 39}
	grey  = rgb{107, 114, 128}
	light = rgb{229, 231, 235}
	white = rgb{255, 255, 255}
	brand = rgb{30, 58, 138}
)

// pdfDoc is one document being drawn.
type pdfDoc struct {
	gp      *gopdf.GoPdf
	y       float64
	style   string
	size    float64
	color   rgb
	widths  map[string]map[rune]float64 // per style: width at 1 pt, -1 when the font lacks the rune
	footer  string
	replace rune
}

// Render implements Renderer.
func (PDF) Render(w io.Writer, d *Data) error {
	m := d.Meta()
	doc, err := newPDFDoc(m)
	if err != nil {
		return err
	}
	doc.cover(m)
	doc.summary(m)
	if err := doc.scope(d, m); err != nil {
		return err
	}
	if err := doc.findings(d, m); err != nil {
		return err
	}
	if err := doc.gp.FillInPlaceHoldText("pages", strconv.Itoa(doc.gp.GetNumberOfPages()), gopdf.Left); err != nil {
		return fmt.Errorf("pdf: page count: %w", err)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := doc.gp.WriteTo(bw); err != nil {
		return fmt.Errorf("pdf: write: %w", err)
	}
	return bw.Flush()
}

func newPDFDoc(m Meta) (*pdfDoc, error) {
	gp := &gopdf.GoPdf{}
	gp.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	gp.SetCompressLevel(6)
	doc := &pdfDoc{gp: gp, widths: map[string]map[rune]float64{}, replace: '?'}
	for _, f := range []struct {
		data  []byte
		style int
	}{{fontRegular, gopdf.Regular}, {fontBold, gopdf.Bold}} {
		if err := gp.AddTTFFontDataWithOption(fontFamily, f.data, gopdf.TtfOption{Style: f.style,
			OnGlyphNotFoundSubstitute: func(rune) rune { return doc.replace }}); err != nil {
			return nil, fmt.Errorf("pdf: font: %w", err)
		}
	}
	doc.font("", 10)
	if ok, _ := gp.IsCurrFontContainGlyph('\ufffd'); ok {
		doc.replace = '\ufffd'
	}
	title := reportTitle(m)
	gp.SetInfo(gopdf.PdfInfo{Title: title + ": " + m.Subject.Name, Author: m.Organization.Name, Subject: title,
		Creator: "Rampart", Producer: "Rampart", CreationDate: m.Export.GeneratedAt})
	doc.footer = m.Organization.Name + " · " + subjectLine(m)
	gp.AddFooter(doc.drawFooter)
	doc.newPage()
	return doc, nil
}

func reportTitle(m Meta) string {
	if m.Subject.Type == SubjectScan {
		return "Security scan report"
	}
	return "Security assessment report"
}

func subjectLine(m Meta) string {
	if m.Subject.Type == SubjectScan {
		return "Scan " + m.Subject.ID
	}
	return m.Subject.Name
}

// drawFooter runs inside AddPage: "Page N of " and a placeholder that
// receives the page count once the document is complete.
func (d *pdfDoc) drawFooter() {
	d.font("", 8)
	d.setColor(grey)
	d.gp.SetStrokeColor(light.r, light.g, light.b)
	d.gp.SetLineWidth(0.5)
	d.gp.Line(marginX, footerY-6, pageW-marginX, footerY-6)
	// Text, not cells: y is the baseline, as for the placeholder.
	base := footerY + 7
	d.gp.SetXY(marginX, base)
	_ = d.gp.Text(d.fit(d.footer, contentW-120))
	numW := d.width("0000")
	label := fmt.Sprintf("Page %d of ", d.gp.GetNumberOfPages())
	x := pageW - marginX - numW - d.width(label)
	d.gp.SetXY(x, base)
	_ = d.gp.Text(label)
	d.gp.SetXY(x+d.width(label), base)
	_ = d.gp.PlaceHolderText("pages", numW)
	d.style = "" // the caller's font must be set again
}

func (d *pdfDoc) newPage() {
	d.gp.AddPage()
	d.style, d.y = "", marginTop
}

// ensure starts a new page unless h more points fit on this one.
func (d *pdfDoc) ensure(h float64) {
	if d.y+h > pageH-marginBot {
		d.newPage()
	}
}

func (d *pdfDoc) font(style string, size float64) {
	if style == d.style && size == d.size {
		return
	}
	_ = d.gp.SetFont(fontFamily, style, size)
	d.style, d.size = style, size
}

func (d *pdfDoc) setColor(c rgb) {
	d.gp.SetTextColor(c.r, c.g, c.b)
	d.color = c
}

// runeWidth is the width of r at 1 pt in the current style (-1: missing).
func (d *pdfDoc) runeWidth(r rune) float64 {
	m := d.widths[d.style]
	if m == nil {
		m = map[rune]float64{}
		d.widths[d.style] = m
	}
	if w, ok := m[r]; ok {
		return w
	}
	w := -1.0
	if ok, _ := d.gp.IsCurrFontContainGlyph(r); ok {
		if mw, err := d.gp.MeasureTextWidth(string(r)); err == nil {
			w = mw / d.size
		}
	}
	m[r] = w
	return w
}

// clean drops control characters, expands tabs and replaces what the font
// cannot draw, so that widths are exact.
func (d *pdfDoc) clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteRune(r)
		case r == '\t':
			b.WriteString("    ")
		case r == '\r' || unicode.IsControl(r) || r == '\u00ad' || r == '\ufeff':
		case d.runeWidth(r) < 0:
			b.WriteRune(d.replace)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (d *pdfDoc) width(s string) float64 {
	w := 0.0
	for _, r := range s {
		if rw := d.runeWidth(r); rw > 0 {
			w += rw
		}
	}
	return w * d.size
}

// fit shortens s with an ellipsis to fit max points.
func (d *pdfDoc) fit(s string, max float64) string {
	s = strings.ReplaceAll(d.clean(s), "\n", " ")
	if d.width(s) <= max {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && d.width(string(rs)+"…") > max {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "…"
}

// wrap breaks s into lines of at most max points: at spaces, and inside
// words longer than a line.
func (d *pdfDoc) wrap(s string, max float64) []string {
	var out []string
	for _, para := range strings.Split(d.clean(s), "\n") {
		para = strings.TrimRight(para, " ")
		if para == "" {
			out = append(out, "")
			continue
		}
		var cur strings.Builder
		curW := 0.0
		space := d.runeWidth(' ') * d.size
		flush := func() {
			out = append(out, cur.String())
			cur.Reset()
			curW = 0
		}
		for i, word := range strings.Split(para, " ") {
			ww := d.width(word)
			if i > 0 {
				if curW+space+ww <= max {
					cur.WriteByte(' ')
					cur.WriteString(word)
					curW += space + ww
					continue
				}
				flush()
			}
			if ww <= max {
				cur.WriteString(word)
				curW = ww
				continue
			}
			for _, r := range word { // a word longer than a line
				rw := d.runeWidth(r) * d.size
				if curW+rw > max && cur.Len() > 0 {
					flush()
				}
				cur.WriteRune(r)
				curW += rw
			}
		}
		flush()
	}
	return out
}

func (d *pdfDoc) textAt(x, y float64, s string) {
	if s == "" {
		return
	}
	d.gp.SetXY(x, y)
	_ = d.gp.CellWithOption(&gopdf.Rect{W: pageW, H: d.size * 1.3}, s, gopdf.CellOption{Align: gopdf.Left | gopdf.Top})
}

// para draws wrapped text at x with the given width, breaking pages.
func (d *pdfDoc) para(x, w float64, style string, size float64, c rgb, s string) {
	d.font(style, size)
	lh := size * 1.35
	for _, l := range d.wrap(s, w) {
		d.ensure(lh)
		d.font(style, size)
		d.setColor(c)
		d.textAt(x, d.y, l)
		d.y += lh
	}
}

func (d *pdfDoc) heading(s string, size float64) {
	d.ensure(size*2 + 40)
	d.y += size * 0.4
	d.para(marginX, contentW, "B", size, brand, s)
	d.y += size * 0.3
}

// field draws "label  value" with the value wrapped in its column.
func (d *pdfDoc) field(label, value string, labelW float64) {
	if value == "" {
		value = "—"
	}
	d.font("", 9.5)
	lines := d.wrap(value, contentW-labelW)
	lh := 9.5 * 1.4
	for i, l := range lines {
		d.ensure(lh)
		if i == 0 || d.y == marginTop {
			d.font("B", 9.5)
			d.setColor(grey)
			d.textAt(marginX, d.y, label)
		}
		d.font("", 9.5)
		d.setColor(black)
		d.textAt(marginX+labelW, d.y, l)
		d.y += lh
	}
}

func (d *pdfDoc) fill(c rgb) { d.gp.SetFillColor(c.r, c.g, c.b) }

func (d *pdfDoc) rect(x, y, w, h float64, c rgb) {
	d.fill(c)
	d.gp.RectFromUpperLeftWithStyle(x, y, w, h, "F")
}

func hexColor(s string, def rgb) rgb {
	s = strings.TrimPrefix(s, "#")
	if len(s) != 6 {
		return def
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return def
	}
	return rgb{uint8(v >> 16), uint8(v >> 8), uint8(v)}
}

func (d *pdfDoc) cover(m Meta) {
	d.rect(0, 0, pageW, 12, brand)
	d.y = 180
	d.para(marginX, contentW, "B", 28, brand, reportTitle(m))
	d.y += 8
	d.para(marginX, contentW, "B", 16, black, subjectLine(m))
	d.y += 30
	rows := [][2]string{{"Organization", m.Organization.Name}}
	if m.Subject.ClientName != "" {
		rows = append(rows, [2]string{"Client", m.Subject.ClientName})
	}
	if m.Subject.Type == SubjectScan {
		rows = append(rows, [2]string{"Scan", m.Subject.ID})
		if m.Scan != nil && m.Scan.CompletedAt != nil {
			rows = append(rows, [2]string{"Completed", m.Scan.CompletedAt.UTC().Format("2006-01-02 15:04 UTC")})
		}
	} else {
		rows = append(rows, [2]string{"Session", m.Subject.Name}, [2]string{"Status", m.Subject.StatusLabel})
		if m.Subject.StartDate != "" || m.Subject.EndDate != "" {
			rows = append(rows, [2]string{"Period", strings.TrimSpace(m.Subject.StartDate + " – " + m.Subject.EndDate)})
		}
	}
	rows = append(rows,
		[2]string{"Date", m.Export.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC")},
		[2]string{"Taxonomy version", strconv.Itoa(m.Export.TaxonomyVersion)},
		[2]string{"Report id", m.Export.ID})
	for _, r := range rows {
		d.field(r[0], r[1], 130)
	}
	if m.Subject.Description != "" {
		d.y += 16
		d.para(marginX, contentW, "", 10, black, m.Subject.Description)
	}
	d.y = pageH - marginBot - 40
	d.para(marginX, contentW, "", 8, grey, "Confidential. Generated by Rampart from the findings recorded at the date above; "+
		"severities, statuses and categories use the organization's taxonomy version "+strconv.Itoa(m.Export.TaxonomyVersion)+".")
}

func (d *pdfDoc) summary(m Meta) {
	d.newPage()
	d.heading("Executive summary", 18)
	s := m.Summary
	high := s.BySeverity["critical"] + s.BySeverity["high"]
	open := s.ByStatus["open"] + s.ByStatus["in_progress"]
	what := "assessment session"
	if m.Subject.Type == SubjectScan {
		what = "scan"
	}
	d.para(marginX, contentW, "", 10.5, black, fmt.Sprintf(
		"This report covers %d finding%s on %d asset%s of the %s %q. %d %s critical or high severity; %d %s open or in progress.",
		s.Findings, plural(s.Findings), s.Assets, plural(s.Assets), what, subjectLine(m), high, isAre(high), open, isAre(open)))
	d.y += 10
	if m.Scan != nil {
		d.ensure(70)
		d.font("B", 11)
		d.setColor(grey)
		d.textAt(marginX, d.y, "Score")
		d.y += 16
		if m.Scan.Score != nil {
			d.para(marginX, contentW, "B", 30, scoreColor(*m.Scan.Score), strconv.FormatFloat(*m.Scan.Score, 'f', 1, 64)+" / 100")
			d.para(marginX, contentW, "", 9.5, grey, fmt.Sprintf("Mean over %d live host%s (of %d host%s, %d target%s); each live host starts at 100 "+
				"and loses 50, 20, 10 and 5 points per critical, high, medium and low finding.", m.Scan.LiveHosts, plural(m.Scan.LiveHosts),
				m.Scan.Hosts, plural(m.Scan.Hosts), m.Scan.Targets, plural(m.Scan.Targets)))
		} else {
			d.para(marginX, contentW, "B", 16, grey, "No score")
			d.para(marginX, contentW, "", 9.5, grey, m.Scan.ScoreReason)
		}
		d.y += 10
	}
	d.chart(m)
	d.y += 10
	d.heading("Findings by status", 12)
	for _, st := range m.Taxonomy.Statuses {
		d.field(st.Label, strconv.Itoa(s.ByStatus[st.Value]), 160)
	}
	d.y += 10
	d.heading("NIS2 Article 21(2) measures", 12)
	d.para(marginX, contentW, "", 9, grey, "Findings per measure of Article 21(2) of Directive (EU) 2022/2555 that their category evidences.")
	d.y += 4
	for _, p := range m.Taxonomy.NIS2 {
		d.field(fmt.Sprintf("(%s)  %d", p.Point, s.ByNIS2[p.Point]), p.Label, 60)
	}
}

// chart draws the findings by severity as horizontal bars.
func (d *pdfDoc) chart(m Meta) {
	sevs := m.Taxonomy.Severities
	const labelW, barH, gap = 110.0, 16.0, 7.0
	d.heading("Findings by severity", 12)
	d.ensure(float64(len(sevs))*(barH+gap) + 20)
	maxN := 1
	for _, sv := range sevs {
		maxN = max(maxN, m.Summary.BySeverity[sv.Value])
	}
	barMax := contentW - labelW - 50
	top := d.y
	for i, sv := range sevs {
		n := m.Summary.BySeverity[sv.Value]
		y := top + float64(i)*(barH+gap)
		d.font("", 10)
		d.setColor(black)
		d.textAt(marginX, y+2, d.fit(sv.Label, labelW-8))
		d.rect(marginX+labelW, y, barMax, barH, rgb{243, 244, 246})
		w := barMax * float64(n) / float64(maxN)
		if n > 0 {
			d.rect(marginX+labelW, y, max(w, 2), barH, hexColor(sv.Color, grey))
		}
		d.font("B", 10)
		d.textAt(marginX+labelW+max(w, 2)+6, y+2, strconv.Itoa(n))
	}
	d.y = top + float64(len(sevs))*(barH+gap)
	d.gp.SetStrokeColor(grey.r, grey.g, grey.b)
	d.gp.SetLineWidth(0.7)
	d.gp.Line(marginX+labelW, top-3, marginX+labelW, d.y-gap+3)
	d.y += 6
}

func scoreColor(s float64) rgb {
	switch {
	case s >= 80:
		return rgb{22, 163, 74}
	case s >= 50:
		return rgb{217, 119, 6}
	}
	return rgb{220, 38, 38}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func (d *pdfDoc) scope(data *Data, m Meta) error {
	d.newPage()
	d.heading("Scope", 18)
	n := 0
	err := data.Assets(func(a Asset) error {
		n++
		label := a.Target
		if a.Name != "" && a.Name != a.Target {
			label = strings.TrimSpace(a.Name + "  " + a.Target)
		}
		if label == "" {
			label = a.ID
		}
		d.field(a.Type, label, 120)
		return nil
	})
	if n == 0 {
		d.para(marginX, contentW, "", 10, grey, "No assets.")
	}
	return err
}

func (d *pdfDoc) findings(data *Data, m Meta) error {
	d.newPage()
	d.heading("Findings", 18)
	d.para(marginX, contentW, "", 9.5, grey, "Ordered by severity, most severe first.")
	d.y += 6
	colors := map[string]rgb{}
	for _, s := range m.Taxonomy.Severities {
		colors[s.Value] = hexColor(s.Color, grey)
	}
	n := 0
	err := data.Findings(func(f Finding) error {
		n++
		d.finding(n, f, colors)
		return nil
	})
	if n == 0 {
		d.para(marginX, contentW, "", 10, grey, "No findings.")
	}
	return err
}

func (d *pdfDoc) finding(n int, f Finding, colors map[string]rgb) {
	d.ensure(120)
	d.y += 6
	d.gp.SetStrokeColor(light.r, light.g, light.b)
	d.gp.SetLineWidth(0.8)
	d.gp.Line(marginX, d.y, pageW-marginX, d.y)
	d.y += 8
	// Severity badge, then the title.
	d.font("B", 8.5)
	badge := strings.ToUpper(f.SeverityLabel)
	bw := d.width(badge) + 10
	d.rect(marginX, d.y, bw, 13, colors[f.Severity])
	d.setColor(white)
	d.textAt(marginX+5, d.y+2, badge)
	d.y += 18
	d.para(marginX, contentW, "B", 12, black, fmt.Sprintf("%d. %s", n, f.Title))
	d.y += 3
	asset := strings.TrimSpace(f.Asset.Name)
	if f.Asset.Target != "" && f.Asset.Target != asset {
		asset = strings.TrimSpace(asset + "  " + f.Asset.Target)
	}
	if f.Asset.Type != "" {
		asset = strings.TrimSpace(asset + "  (" + f.Asset.Type + ")")
	}
	nis2 := ""
	if f.NIS2 != nil {
		nis2 = "(" + f.NIS2.Point + ") " + f.NIS2.Label
	}
	cvss := ""
	if f.CVSS != nil {
		cvss = f.CVSS.Vector
		if f.CVSS.Score != nil {
			cvss = strconv.FormatFloat(*f.CVSS.Score, 'f', 1, 64) + "  " + cvss
		}
	}
	const lw = 120
	d.field("Severity", f.SeverityLabel, lw)
	d.field("Status", f.StatusLabel, lw)
	d.field("Category", f.CategoryLabel, lw)
	d.field("NIS2 Art. 21(2)", nis2, lw)
	d.field("Asset", asset, lw)
	d.field("CVSS", cvss, lw)
	if f.CheckID != "" {
		d.field("Check", f.CheckID, lw)
	}
	for _, s := range []struct{ title, text string }{
		{"Description", f.Description}, {"Evidence", f.Evidence}, {"Remediation", f.Remediation},
		{"Resolution note", f.ResolutionNote},
	} {
		if strings.TrimSpace(s.text) == "" && s.title == "Resolution note" {
			continue
		}
		d.section(s.title)
		text := s.text
		if strings.TrimSpace(text) == "" {
			text = "—"
		}
		d.para(marginX, contentW, "", 9.5, black, text)
	}
	d.section("References")
	if len(f.References) == 0 {
		d.para(marginX, contentW, "", 9.5, grey, "None")
	}
	for _, r := range f.References {
		d.para(marginX+8, contentW-8, "", 9, brand, "• "+r)
	}
	d.section("Attachments")
	if len(f.Attachments) == 0 {
		d.para(marginX, contentW, "", 9.5, grey, "None")
	}
	for _, a := range f.Attachments {
		d.para(marginX+8, contentW-8, "", 9, black, fmt.Sprintf("• %s (%s, %s)", a.FileName, a.ContentType, humanSize(a.Size)))
	}
	d.y += 8
}

func (d *pdfDoc) section(title string) {
	d.ensure(34)
	d.y += 5
	d.para(marginX, contentW, "B", 10, brand, title)
	d.y += 1
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
