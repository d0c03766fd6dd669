package assets

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"rampart/shared/clients"
	"rampart/shared/domain"
)

// Import limits.
const (
	// MaxImportBytes bounds the CSV file (5 MiB).
	MaxImportBytes = 5 << 20
	// MaxImportRows bounds the data rows of one file (the header excluded).
	MaxImportRows = 10000
	// MaxReportedErrors bounds the row errors listed in one answer; the
	// detail says how many there were in all.
	MaxReportedErrors = 1000
)

// Columns of an import file, in the order the documentation lists them.
var Columns = []string{"type", "target", "name", "client_id", "tags", "description"}

// Row is one valid data row, normalised. Row is its record number in the
// file, the header being row 1 (what a spreadsheet shows).
type Row struct {
	Row         int
	Type        string
	Target      string
	Name        string
	ClientID    string
	Tags        []string
	Description string
}

// RowError is one invalid cell (Field "" for the whole row).
type RowError struct {
	Row     int    `json:"row"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Location names the cell as the error envelope does: "row 3.target".
func (e RowError) Location() string {
	if e.Field == "" {
		return fmt.Sprintf("row %d", e.Row)
	}
	return fmt.Sprintf("row %d.%s", e.Row, e.Field)
}

// ParseAssetsCSV reads and validates an import file without any I/O: UTF-8
// (a BOM is dropped), CRLF or LF line ends, a header row naming known
// columns (type and target required), at most MaxImportRows data rows, and
// every cell of every row: type against the taxonomy, target parsed for its
// type, name, tags (separated by ';' or '|'), description, client id
// syntax, and duplicates of (type, target) within the file. Rows whose
// cells are all blank are ignored.
//
// Cells are data, never formulas: a cell starting with '=', '+', '-', '@',
// a tab or a carriage return is read as the plain string it is (leading
// and trailing white space is trimmed like in any cell).
//
// A problem with the file itself (size, encoding, header, CSV syntax, too
// many rows) is the returned error; problems with rows are the RowErrors.
// Client existence and the SSRF check are left to the caller (they need I/O).
func ParseAssetsCSV(data []byte, tax domain.Taxonomy) ([]Row, []RowError, error) {
	if len(data) > MaxImportBytes {
		return nil, nil, tooLargeBytes()
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, nil, domain.Invalid("the file is not valid UTF-8: save it as CSV UTF-8",
			domain.FieldError{Location: "body", Message: "must be UTF-8 text"})
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, domain.Invalid("the file is empty: it needs a header row naming the columns",
			domain.FieldError{Location: "row 1", Message: "header row missing; columns: " + strings.Join(Columns, ", ")})
	}
	if err != nil {
		return nil, nil, csvSyntax(err, 1)
	}
	col, err := parseHeader(header)
	if err != nil {
		return nil, nil, err
	}
	var (
		rows     []Row
		errs     []RowError
		seen     = map[Key]int{}
		recNo    = 1
		dataRows = 0
	)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		recNo++
		if err != nil {
			return nil, nil, csvSyntax(err, recNo)
		}
		if blank(rec) {
			continue
		}
		dataRows++
		if dataRows > MaxImportRows {
			return nil, nil, domain.E(domain.KindTooLarge,
				"the file has more than %d data rows (limit: %d rows per import); split it", MaxImportRows, MaxImportRows)
		}
		if len(rec) > len(header) {
			errs = append(errs, RowError{Row: recNo, Message: fmt.Sprintf("has %d cells; the header names %d columns", len(rec), len(header))})
			continue
		}
		cell := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(rec) {
				return ""
			}
			return rec[i]
		}
		row, rerrs := validateRow(recNo, cell, tax)
		if len(rerrs) > 0 {
			errs = append(errs, rerrs...)
			continue
		}
		if k, ok := KeyOf(domain.Asset{Type: row.Type, Target: row.Target}); ok {
			if first, dup := seen[k]; dup {
				errs = append(errs, RowError{Row: recNo, Field: "target",
					Message: fmt.Sprintf("duplicate of row %d: %s %s appears twice in the file", first, row.Type, row.Target)})
				continue
			}
			seen[k] = recNo
		}
		rows = append(rows, row)
	}
	return rows, errs, nil
}

func tooLargeBytes() error {
	return domain.E(domain.KindTooLarge, "the file is larger than %d bytes (limit: 5 MiB per import); split it", MaxImportBytes)
}

func csvSyntax(err error, row int) error {
	msg := err.Error()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg = fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return domain.Invalid("the file is not valid CSV: "+msg,
		domain.FieldError{Location: fmt.Sprintf("row %d", row), Message: "not valid CSV: " + msg})
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// parseHeader maps column names to positions. Names are matched without
// case, with spaces and hyphens read as underscores ("Client ID").
func parseHeader(header []string) (map[string]int, error) {
	col := map[string]int{}
	var errs []domain.FieldError
	known := map[string]bool{}
	for _, c := range Columns {
		known[c] = true
	}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		name = strings.NewReplacer(" ", "_", "-", "_").Replace(name)
		switch {
		case name == "" && blank(header[i:]):
			// Trailing empty header cells (spreadsheet padding) are ignored.
			continue
		case !known[name]:
			errs = append(errs, domain.FieldError{Location: "row 1", Message: fmt.Sprintf("unknown column %q; columns: %s", h, strings.Join(Columns, ", "))})
		case colHas(col, name):
			errs = append(errs, domain.FieldError{Location: "row 1", Message: fmt.Sprintf("column %q appears twice", name)})
		default:
			col[name] = i
		}
	}
	for _, req := range []string{"type", "target"} {
		if !colHas(col, req) {
			errs = append(errs, domain.FieldError{Location: "row 1", Message: fmt.Sprintf("column %q is required", req)})
		}
	}
	if len(errs) > 0 {
		return nil, domain.Invalid("invalid header row: "+errs[0].Message, errs...)
	}
	return col, nil
}

func colHas(col map[string]int, name string) bool { _, ok := col[name]; return ok }

// validateRow checks the cells of one data row.
func validateRow(recNo int, cell func(string) string, tax domain.Taxonomy) (Row, []RowError) {
	var errs []RowError
	add := func(field, msg string) { errs = append(errs, RowError{Row: recNo, Field: field, Message: msg}) }
	row := Row{Row: recNo}
	typ := strings.TrimSpace(cell("type"))
	typeOK := false
	switch {
	case typ == "":
		add("type", "required")
	case tax.Check(domain.DomainAssetType, typ, "type") != nil:
		add("type", fieldMessage(tax.Check(domain.DomainAssetType, typ, "type")))
	default:
		row.Type, typeOK = typ, true
	}
	targetOK := false
	if typeOK {
		t, err := NormalizeTarget(typ, cell("target"))
		if err != nil {
			add("target", err.Error())
		} else {
			row.Target, targetOK = t, true
		}
	}
	name, err := domain.CleanName(cell("name"), "name", false, MaxName)
	if err != nil {
		add("name", fieldMessage(err))
	} else if name == "" {
		if row.Target != "" {
			name = row.Target
			if utf8.RuneCountInString(name) > MaxName {
				name = string([]rune(name)[:MaxName])
			}
		} else if targetOK {
			add("name", "required when the asset has no target")
		}
	}
	row.Name = name
	if c := strings.TrimSpace(cell("client_id")); c != "" {
		if !domain.ValidID(c) {
			add("client_id", noSuchClient)
		}
		row.ClientID = c
	}
	if t := cell("tags"); strings.TrimSpace(t) != "" {
		tags, err := NormalizeTags(strings.FieldsFunc(t, func(r rune) bool { return r == ';' || r == '|' }))
		if err != nil {
			add("tags", err.Error())
		}
		row.Tags = tags
	}
	if row.Tags == nil {
		row.Tags = []string{}
	}
	d, err := clients.CleanText(cell("description"), "description", MaxDescription)
	if err != nil {
		add("description", fieldMessage(err))
	}
	row.Description = d
	return row, errs
}

func fieldMessage(err error) string {
	var de *domain.Error
	if errors.As(err, &de) && len(de.Fields) > 0 {
		return de.Fields[0].Message
	}
	return err.Error()
}

// ImportResult is the answer of an import.
type ImportResult struct {
	Created int
	Skipped int
	// Errors are empty unless writing stopped midway (see Import).
	Errors []RowError
}

// Import validates a whole CSV file and then writes its new assets.
//
// Validation comes first and covers every row (ParseAssetsCSV, then client
// existence and the SSRF check); an invalid file is refused whole with one
// error per invalid cell (the first MaxReportedErrors) and nothing is
// written. Rows whose (type, target) already exists are skipped and
// counted. New assets are then written in batched transactions, each asset
// with its marker, index items and counters. If a write fails midway (the
// database is unavailable, say), the assets of the batches before it stay
// written: the answer counts them and names, in Errors, the first row that
// was not written. Uploading the same file again finishes the job, since
// rows already written are skipped as duplicates. A row that another
// request created while the import ran is skipped too.
func (s *Service) Import(ctx context.Context, p domain.Principal, data []byte) (ImportResult, error) {
	if len(data) > MaxImportBytes {
		return ImportResult{}, tooLargeBytes()
	}
	tax, err := s.Taxonomy.CurrentTaxonomy(ctx, p.OrgID)
	if err != nil {
		return ImportResult{}, err
	}
	rows, errs, err := ParseAssetsCSV(data, tax)
	if err != nil {
		return ImportResult{}, err
	}
	clientErrs, err := s.checkClients(ctx, p.OrgID, rows)
	if err != nil {
		return ImportResult{}, err
	}
	errs = append(errs, clientErrs...)
	guardErrs, err := s.checkTargets(ctx, p.OrgID, rows)
	if err != nil {
		return ImportResult{}, err
	}
	errs = append(errs, guardErrs...)
	if len(errs) > 0 {
		return ImportResult{}, rowsInvalid(errs)
	}
	keys := make([]Key, 0, len(rows))
	for _, r := range rows {
		if k, ok := KeyOf(domain.Asset{Type: r.Type, Target: r.Target}); ok {
			keys = append(keys, k)
		}
	}
	existing, err := s.Store.ExistingKeys(ctx, p.OrgID, keys)
	if err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Errors: []RowError{}}
	now := s.Clock()
	var as []domain.Asset
	var rowOf []int
	for _, r := range rows {
		if existing[Key{r.Type, r.Target}] && r.Target != "" {
			res.Skipped++
			continue
		}
		as = append(as, domain.Asset{ID: domain.NewIDAt(now), Type: r.Type, Target: r.Target, Name: r.Name,
			ClientID: r.ClientID, Tags: r.Tags, Description: r.Description, CreatedAt: now, UpdatedAt: now})
		rowOf = append(rowOf, r.Row)
	}
	if len(as) == 0 {
		return res, nil
	}
	w := s.Store.WriteAssets(ctx, p.OrgID, as)
	res.Created = w.Created
	res.Skipped += len(w.Duplicates)
	if w.Err != nil {
		reason := "the database refused the write"
		var de *domain.Error
		if errors.As(w.Err, &de) {
			reason = de.Message
		}
		res.Errors = append(res.Errors, RowError{Row: rowOf[w.FailedAt], Message: fmt.Sprintf(
			"not imported: %s; this row and the rows after it were not written (%d assets were created before it). "+
				"Upload the same file again to import the rest: rows already imported are skipped", reason, w.Created)})
	}
	return res, nil
}

// rowsInvalid is the 422 of an invalid file.
func rowsInvalid(errs []RowError) error {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Row < errs[j].Row })
	bad := map[int]bool{}
	for _, e := range errs {
		bad[e.Row] = true
	}
	listed := errs
	if len(listed) > MaxReportedErrors {
		listed = listed[:MaxReportedErrors]
	}
	fs := make([]domain.FieldError, len(listed))
	for i, e := range listed {
		fs[i] = domain.FieldError{Location: e.Location(), Message: e.Message}
	}
	msg := fmt.Sprintf("%d of the file's rows are invalid (%d errors", len(bad), len(errs))
	if len(errs) > len(listed) {
		msg += fmt.Sprintf(", the first %d listed", len(listed))
	}
	msg += "); nothing was imported. First: " + fs[0].Location + ": " + fs[0].Message
	return domain.Invalid(msg, fs...)
}

// checkClients checks each distinct client id of the file once.
func (s *Service) checkClients(ctx context.Context, orgID string, rows []Row) ([]RowError, error) {
	var ids []string
	seen := map[string]bool{}
	for _, r := range rows {
		if r.ClientID != "" && !seen[r.ClientID] {
			seen[r.ClientID] = true
			ids = append(ids, r.ClientID)
		}
	}
	exists := make(map[string]bool, len(ids))
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok, err := s.clientOK(ctx, orgID, id)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			exists[id] = ok
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	var errs []RowError
	for _, r := range rows {
		if r.ClientID != "" && !exists[r.ClientID] {
			errs = append(errs, RowError{Row: r.Row, Field: "client_id", Message: noSuchClient})
		}
	}
	return errs, nil
}

// Resolution budget of an import: names are resolved 32 at a time, and
// whatever has not resolved after 8 s counts as not resolving (accepted,
// like one asset's lookup that times out): the scanner's guard judges every
// name again at scan time.
const (
	importLookupWorkers = 32
	importLookupBudget  = 8 * time.Second
)

func (s *Service) checkTargets(ctx context.Context, orgID string, rows []Row) ([]RowError, error) {
	if s.Guard == nil {
		return nil, nil
	}
	var idx []int
	var types, targets []string
	for i, r := range rows {
		if r.Target != "" && IsNetworkType(r.Type) {
			idx = append(idx, i)
			types = append(types, r.Type)
			targets = append(targets, r.Target)
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	allow, err := s.allowPrivate(ctx, orgID)
	if err != nil {
		return nil, err
	}
	var errs []RowError
	for j, err := range checkMany(ctx, s.Guard, types, targets, allow, importLookupWorkers, importLookupBudget) {
		if err != nil {
			errs = append(errs, RowError{Row: rows[idx[j]].Row, Field: "target", Message: err.Error()})
		}
	}
	return errs, nil
}
