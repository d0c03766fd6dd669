package dynamo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/findings"
)

// A finding is stored as:
//   FINDING#<id>                       the finding
//   FINDING#<id>#H#<ulid>              its history, beside it
//   FX#<scope>#<sort>#<value>#<id>     list entries: one per scope it belongs to
//                                      (all, s:<session>, a:<asset>, c:<client>)
//                                      and per sort order (c created, u updated,
//                                      v severity), holding the filterable fields
//   STATS#<scope>                      counters per (severity, status, category)
//   FP#<fingerprint>                   dedupe marker of scan findings
// all in the organization's partition and all written in one transaction, so
// lists, totals and statistics are exact and consistent right after a write.

func findingKey(org, id string) keys { return orgItem(org, "FINDING#"+id) }
func historyKey(org, fid, hid string) keys {
	return orgItem(org, "FINDING#"+fid+"#H#"+hid)
}
func statsKey(org, scope string) keys          { return orgItem(org, "STATS#"+scope) }
func fingerprintKey(org, fp string) keys       { return orgItem(org, "FP#"+fp) }
func indexPrefix(scope, sortKey string) string { return "FX#" + scope + "#" + sortKey + "#" }

type findingRec struct {
	keys
	ID             string     `dynamodbav:"id"`
	Title          string     `dynamodbav:"title"`
	Description    string     `dynamodbav:"description"`
	Severity       string     `dynamodbav:"severity"`
	Status         string     `dynamodbav:"status"`
	Category       string     `dynamodbav:"category"`
	AssetID        string     `dynamodbav:"asset_id"`
	AssetType      string     `dynamodbav:"asset_type"`
	AssetTarget    string     `dynamodbav:"asset_target"`
	AssetName      string     `dynamodbav:"asset_name"`
	SessionID      string     `dynamodbav:"session_id"`
	ClientID       string     `dynamodbav:"client_id"`
	CVSSVector     string     `dynamodbav:"cvss_vector"`
	CVSSScore      *float64   `dynamodbav:"cvss_score"`
	CVSSVersion    string     `dynamodbav:"cvss_version"`
	Evidence       string     `dynamodbav:"evidence"`
	Remediation    string     `dynamodbav:"remediation"`
	References     []string   `dynamodbav:"references"`
	ResolutionNote string     `dynamodbav:"resolution_note"`
	TemplateID     string     `dynamodbav:"template_id"`
	Source         string     `dynamodbav:"source"`
	CheckID        string     `dynamodbav:"check_id"`
	NIS2           string     `dynamodbav:"nis2"`
	Fingerprint    string     `dynamodbav:"fingerprint"`
	FirstSeenAt    *time.Time `dynamodbav:"first_seen_at"`
	LastSeenAt     *time.Time `dynamodbav:"last_seen_at"`
	Observations   int        `dynamodbav:"observations"`
	LastScanID     string     `dynamodbav:"last_scan_id"`
	CreatedBy      string     `dynamodbav:"created_by"`
	CreatedAt      time.Time  `dynamodbav:"created_at"`
	UpdatedAt      time.Time  `dynamodbav:"updated_at"`
	Ver            int        `dynamodbav:"ver"`
	HistoryCount   int        `dynamodbav:"history_count"`
}

func newFindingRec(org string, f domain.Finding, historyCount int) findingRec {
	return findingRec{keys: findingKey(org, f.ID), ID: f.ID, Title: f.Title, Description: f.Description,
		Severity: f.Severity, Status: f.Status, Category: f.Category, AssetID: f.AssetID, AssetType: f.AssetType,
		AssetTarget: f.AssetTarget, AssetName: f.AssetName, SessionID: f.SessionID, ClientID: f.ClientID,
		CVSSVector: f.CVSSVector, CVSSScore: f.CVSSScore, CVSSVersion: f.CVSSVersion, Evidence: f.Evidence,
		Remediation: f.Remediation, References: f.References, ResolutionNote: f.ResolutionNote, TemplateID: f.TemplateID,
		Source: f.Source, CheckID: f.CheckID, NIS2: f.NIS2, Fingerprint: f.Fingerprint, FirstSeenAt: f.FirstSeenAt,
		LastSeenAt: f.LastSeenAt, Observations: f.Observations, LastScanID: f.LastScanID, CreatedBy: f.CreatedBy,
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, Ver: f.Version, HistoryCount: historyCount}
}

func (r findingRec) domain() domain.Finding {
	return domain.Finding{ID: r.ID, Title: r.Title, Description: r.Description, Severity: r.Severity, Status: r.Status,
		Category: r.Category, AssetID: r.AssetID, AssetType: r.AssetType, AssetTarget: r.AssetTarget, AssetName: r.AssetName,
		SessionID: r.SessionID, ClientID: r.ClientID, CVSSVector: r.CVSSVector, CVSSScore: r.CVSSScore,
		CVSSVersion: r.CVSSVersion, Evidence: r.Evidence, Remediation: r.Remediation, References: r.References,
		ResolutionNote: r.ResolutionNote, TemplateID: r.TemplateID, Source: r.Source, CheckID: r.CheckID, NIS2: r.NIS2,
		Fingerprint: r.Fingerprint, FirstSeenAt: r.FirstSeenAt, LastSeenAt: r.LastSeenAt, Observations: r.Observations,
		LastScanID: r.LastScanID, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Ver}
}

type historyRec struct {
	keys
	ID        string    `dynamodbav:"id"`
	FindingID string    `dynamodbav:"finding_id"`
	Field     string    `dynamodbav:"field"`
	From      string    `dynamodbav:"from"`
	To        string    `dynamodbav:"to"`
	ChangedBy string    `dynamodbav:"changed_by"`
	Reason    string    `dynamodbav:"reason"`
	At        time.Time `dynamodbav:"at"`
}

// indexRec is a list entry: enough to filter and to find the finding.
type indexRec struct {
	keys
	FindingID string `dynamodbav:"fid"`
	Severity  string `dynamodbav:"severity"`
	Status    string `dynamodbav:"status"`
	Category  string `dynamodbav:"category"`
	AssetID   string `dynamodbav:"asset_id"`
	SessionID string `dynamodbav:"session_id"`
	ClientID  string `dynamodbav:"client_id"`
}

// Scopes a finding belongs to; "all" is every finding of the organization.
func findingScopes(f domain.Finding) []string {
	s := []string{"all", "a:" + f.AssetID}
	if f.SessionID != "" {
		s = append(s, "s:"+f.SessionID)
	}
	if f.ClientID != "" {
		s = append(s, "c:"+f.ClientID)
	}
	return s
}

// Sort orders of the list entries and their key values. Descending key order
// is newest first, last updated first and most severe first.
var sortCodes = map[string]string{findings.SortCreated: "c", findings.SortUpdated: "u", findings.SortSeverity: "v"}

func sortValue(code string, f domain.Finding) string {
	switch code {
	case "u":
		return f.UpdatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z")
	case "v":
		return fmt.Sprint(9 - domain.SeverityRank(f.Severity))
	}
	return f.ID
}

func indexEntries(org string, f domain.Finding) map[string]indexRec {
	out := map[string]indexRec{}
	for _, scope := range findingScopes(f) {
		for _, code := range []string{"c", "u", "v"} {
			sk := indexPrefix(scope, code) + sortValue(code, f) + "#" + f.ID
			out[sk] = indexRec{keys: orgItem(org, sk), FindingID: f.ID, Severity: f.Severity, Status: f.Status,
				Category: f.Category, AssetID: f.AssetID, SessionID: f.SessionID, ClientID: f.ClientID}
		}
	}
	return out
}

func triple(f domain.Finding) string { return f.Severity + "#" + f.Status + "#" + f.Category }

// statsWrites moves the counters from old to cur (either may be nil).
func (s *Store) statsWrites(org string, old, cur *domain.Finding) []types.TransactWriteItem {
	delta := map[string]map[string]int{} // scope → triple → delta
	add := func(f *domain.Finding, d int) {
		if f == nil {
			return
		}
		for _, scope := range findingScopes(*f) {
			if delta[scope] == nil {
				delta[scope] = map[string]int{}
			}
			delta[scope][triple(*f)] += d
		}
	}
	add(old, -1)
	add(cur, 1)
	scopes := make([]string, 0, len(delta))
	for scope := range delta {
		scopes = append(scopes, scope)
	}
	sort.Strings(scopes)
	var out []types.TransactWriteItem
	for _, scope := range scopes {
		var sets []string
		nm := map[string]string{"#n": "n"}
		vals := map[string]types.AttributeValue{}
		total := 0
		i := 0
		for t, d := range delta[scope] {
			total += d
			if d == 0 {
				continue
			}
			nm[fmt.Sprintf("#t%d", i)] = "t#" + t
			vals[fmt.Sprintf(":t%d", i)] = num(int64(d))
			sets = append(sets, fmt.Sprintf("#t%d :t%d", i, i))
			i++
		}
		if len(sets) == 0 {
			continue
		}
		vals[":n"] = num(int64(total))
		out = append(out, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.table, Key: statsKey(org, scope).av(),
			UpdateExpression:          aws.String("ADD #n :n, " + strings.Join(sets, ", ")),
			ExpressionAttributeNames:  nm,
			ExpressionAttributeValues: vals,
		}})
	}
	return out
}

func (s *Store) historyWrites(org string, hs []domain.HistoryEntry) ([]types.TransactWriteItem, error) {
	out := make([]types.TransactWriteItem, 0, len(hs))
	for _, h := range hs {
		item, err := marshal(historyRec{keys: historyKey(org, h.FindingID, h.ID), ID: h.ID, FindingID: h.FindingID,
			Field: h.Field, From: h.From, To: h.To, ChangedBy: h.ChangedBy, Reason: h.Reason, At: h.At})
		if err != nil {
			return nil, err
		}
		out = append(out, s.put(item))
	}
	return out, nil
}

// findingWrites are every write that moves a finding from old to cur, except
// the finding item itself.
func (s *Store) findingWrites(org string, old, cur *domain.Finding, hs []domain.HistoryEntry) ([]types.TransactWriteItem, error) {
	var out []types.TransactWriteItem
	oldIdx := map[string]indexRec{}
	if old != nil {
		oldIdx = indexEntries(org, *old)
	}
	newIdx := map[string]indexRec{}
	if cur != nil {
		newIdx = indexEntries(org, *cur)
	}
	for sk, r := range newIdx {
		if o, ok := oldIdx[sk]; ok && o == r {
			continue
		}
		item, err := marshal(r)
		if err != nil {
			return nil, err
		}
		out = append(out, s.put(item))
	}
	for sk := range oldIdx {
		if _, ok := newIdx[sk]; !ok {
			out = append(out, s.del(orgItem(org, sk)))
		}
	}
	out = append(out, s.statsWrites(org, old, cur)...)
	h, err := s.historyWrites(org, hs)
	if err != nil {
		return nil, err
	}
	return append(out, h...), nil
}

// CreateFinding implements findings.Store.
func (s *Store) CreateFinding(ctx context.Context, org string, f domain.Finding, hs []domain.HistoryEntry) error {
	item, err := marshal(newFindingRec(org, f, len(hs)))
	if err != nil {
		return err
	}
	items := []types.TransactWriteItem{s.putNew(item)}
	if f.Fingerprint != "" {
		fp, err := marshal(struct {
			keys
			FindingID string `dynamodbav:"fid"`
		}{fingerprintKey(org, f.Fingerprint), f.ID})
		if err != nil {
			return err
		}
		items = append(items, s.putNew(fp))
	}
	rest, err := s.findingWrites(org, nil, &f, hs)
	if err != nil {
		return err
	}
	items = append(items, rest...)
	for attempt := range retries {
		err = s.transact(ctx, items)
		if _, ok := err.(*txCanceled); ok {
			return domain.E(domain.KindConflict, "a finding with this id or fingerprint exists")
		}
		// Cancelled by a concurrent transaction on the same counters: nothing
		// was written, so the same items can be tried again.
		if !isTxConflict(err) || attempt == retries-1 {
			return err
		}
		txBackoff(attempt)
	}
	return err
}

// GetFinding implements findings.Store.
func (s *Store) GetFinding(ctx context.Context, org, id string) (domain.Finding, error) {
	r, err := s.getFindingRec(ctx, org, id)
	if err != nil {
		return domain.Finding{}, err
	}
	return r.domain(), nil
}

func (s *Store) getFindingRec(ctx context.Context, org, id string) (findingRec, error) {
	if !domain.ValidID(id) {
		return findingRec{}, domain.NotFound("finding")
	}
	return getItem[findingRec](ctx, s, findingKey(org, id), "finding")
}

// UpdateFinding implements findings.Store.
func (s *Store) UpdateFinding(ctx context.Context, org, id string, ifVersion int, fn func(*domain.Finding) ([]domain.HistoryEntry, error)) (domain.Finding, error) {
	return s.updateFinding(ctx, org, id, ifVersion, fn, nil)
}

// errExtraFailed reports that one of the extra items of an update failed its
// condition (a scan observation already written, for instance).
var errExtraFailed = domain.E(domain.KindConflict, "already recorded")

// updateFinding is UpdateFinding with extra items written in the same
// transaction, each conditioned by its caller; when one of them fails its
// condition the update is abandoned with errExtraFailed.
func (s *Store) updateFinding(ctx context.Context, org, id string, ifVersion int,
	fn func(*domain.Finding) ([]domain.HistoryEntry, error), extra []types.TransactWriteItem) (domain.Finding, error) {
	for attempt := range retries * 2 {
		r, err := s.getFindingRec(ctx, org, id)
		if err != nil {
			return domain.Finding{}, err
		}
		if ifVersion > 0 && r.Ver != ifVersion {
			return domain.Finding{}, staleVersion(r.Ver)
		}
		old := r.domain()
		cur := old
		hs, err := fn(&cur)
		if err != nil {
			return domain.Finding{}, err
		}
		if len(hs) == 0 && cur.Version == old.Version && len(extra) == 0 {
			return old, nil // nothing changed: nothing written
		}
		cur.ID = old.ID
		if cur.Version <= old.Version {
			cur.Version = old.Version + 1
		}
		item, err := marshal(newFindingRec(org, cur, r.HistoryCount+len(hs)))
		if err != nil {
			return domain.Finding{}, err
		}
		items := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: item,
			ConditionExpression:       aws.String("ver = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(old.Version))}}}}
		items = append(items, extra...)
		rest, err := s.findingWrites(org, &old, &cur, hs)
		if err != nil {
			return domain.Finding{}, err
		}
		err = s.transact(ctx, append(items, rest...))
		if tc, ok := err.(*txCanceled); ok {
			for i := range extra {
				if tc.failed(1 + i) {
					return old, errExtraFailed
				}
			}
			if ifVersion > 0 {
				return domain.Finding{}, staleVersion(0)
			}
			continue
		}
		if isTxConflict(err) {
			// Cancelled by a concurrent transaction on the same items (the
			// finding or a counter): read again; with If-Match the re-read
			// answers 412 if the finding changed meanwhile.
			txBackoff(min(attempt, 4))
			continue
		}
		if err != nil {
			return domain.Finding{}, err
		}
		return cur, nil
	}
	return domain.Finding{}, domain.E(domain.KindConflict, "the finding changed concurrently too often; retry")
}

func staleVersion(current int) error {
	if current > 0 {
		return domain.E(domain.KindPrecondition, "the finding changed since you read it (now version %d): read it again", current)
	}
	return domain.E(domain.KindPrecondition, "the finding changed since you read it: read it again")
}

// ListHistory implements findings.Store.
func (s *Store) ListHistory(ctx context.Context, org, fid string, req domain.PageRequest) (domain.Page[domain.HistoryEntry], error) {
	r, err := s.getFindingRec(ctx, org, fid)
	if err != nil {
		return domain.Page[domain.HistoryEntry]{}, err
	}
	var recs []historyRec
	next, err := s.page(ctx, basePartition(orgPK(org), "FINDING#"+fid+"#H#", false), req, &recs)
	if err != nil {
		return domain.Page[domain.HistoryEntry]{}, err
	}
	out := make([]domain.HistoryEntry, len(recs))
	for i, h := range recs {
		out[i] = domain.HistoryEntry{ID: h.ID, FindingID: h.FindingID, Field: h.Field, From: h.From, To: h.To,
			ChangedBy: h.ChangedBy, Reason: h.Reason, At: h.At}
	}
	return domain.Page[domain.HistoryEntry]{Items: out, Total: r.HistoryCount, Request: req, NextCursor: next}, nil
}

// queryPlan says how a query is answered.
type queryPlan struct {
	scope string // the list partition read
	// indexed: one scope filter at most and no text, so the page comes from
	// the list entries and the total from the counters.
	indexed bool
}

func planFor(q findings.Query) queryPlan {
	scopes := []string{}
	if q.SessionID != "" {
		scopes = append(scopes, "s:"+q.SessionID)
	}
	if q.AssetID != "" {
		scopes = append(scopes, "a:"+q.AssetID)
	}
	if q.ClientID != "" {
		scopes = append(scopes, "c:"+q.ClientID)
	}
	if len(scopes) == 0 {
		scopes = append(scopes, "all")
	}
	return queryPlan{scope: scopes[0], indexed: len(scopes) == 1 && q.Text == "" && q.ScanID == ""}
}

// filterExpr restricts list entries to the wanted severities, statuses and
// categories (and the other scopes, for unindexed plans).
func filterExpr(q findings.Query) (string, map[string]string, map[string]types.AttributeValue) {
	var parts []string
	nm := map[string]string{}
	vals := map[string]types.AttributeValue{}
	n := 0 // placeholders are numbered across attributes: names share prefixes (severity, session_id)
	in := func(attr string, values []string) {
		if len(values) == 0 {
			return
		}
		ph := make([]string, len(values))
		for i, v := range values {
			k := fmt.Sprintf(":f%d", n)
			n++
			ph[i] = k
			vals[k] = str(v)
		}
		nm["#"+attr] = attr
		parts = append(parts, fmt.Sprintf("#%s IN (%s)", attr, strings.Join(ph, ", ")))
	}
	in("severity", q.Severities)
	in("status", q.Statuses)
	in("category", q.Categories)
	for attr, v := range map[string]string{"asset_id": q.AssetID, "session_id": q.SessionID, "client_id": q.ClientID} {
		if v != "" {
			in(attr, []string{v})
		}
	}
	return strings.Join(parts, " AND "), nm, vals
}

// ListFindings implements findings.Store. An indexed query reads one page of
// list entries (plus the pages before it, keys only) and the page's findings
// in one batch, and takes the total from the counters: its cost does not grow
// with the number of findings. Text search, a scan filter, or two scope
// filters at once read the narrowest scope whole.
func (s *Store) ListFindings(ctx context.Context, org string, q findings.Query) (domain.Page[domain.Finding], error) {
	plan := planFor(q)
	if !plan.indexed {
		return s.listFindingsSlow(ctx, org, q, plan)
	}
	code := sortCodes[q.Sort]
	if code == "" {
		code = "c"
	}
	in := basePartition(orgPK(org), indexPrefix(plan.scope, code), q.Desc).query(s.table)
	if expr, nm, vals := filterExpr(q); expr != "" {
		in.FilterExpression = aws.String(expr)
		for k, v := range nm {
			in.ExpressionAttributeNames[k] = v
		}
		for k, v := range vals {
			in.ExpressionAttributeValues[k] = v
		}
	}
	req := q.Page
	var entries []indexRec
	next, err := s.filteredPage(ctx, in, req, basePartition(orgPK(org), indexPrefix(plan.scope, code), q.Desc), &entries)
	if err != nil {
		return domain.Page[domain.Finding]{}, err
	}
	items, err := s.findingsByID(ctx, org, entries)
	if err != nil {
		return domain.Page[domain.Finding]{}, err
	}
	stats, err := s.readStats(ctx, org, plan.scope, q)
	if err != nil {
		return domain.Page[domain.Finding]{}, err
	}
	return domain.Page[domain.Finding]{Items: items, Total: stats.Total, Request: req, NextCursor: next}, nil
}

// filteredPage reads one page of list entries that match the query's filter.
// DynamoDB applies Limit before the filter, so it reads on until the page is
// full; the entries before the page are read and dropped (they are small, and
// a cursor avoids them).
func (s *Store) filteredPage(ctx context.Context, in *dynamodb.QueryInput, req domain.PageRequest, p partition, out *[]indexRec) (string, error) {
	skip := (req.Page - 1) * req.PerPage
	if req.Cursor != "" {
		k, err := decodeCursor(req.Cursor, p)
		if err != nil {
			return "", err
		}
		in.ExclusiveStartKey, skip = k, 0
	}
	return s.readEntries(ctx, in, req.PerPage, skip, out)
}

func (s *Store) readEntries(ctx context.Context, in *dynamodb.QueryInput, want, skip int, out *[]indexRec) (string, error) {
	c := *in
	c.Limit = aws.Int32(int32(max(want+skip, 25)))
	for {
		res, err := s.db.Query(ctx, &c)
		if err != nil {
			return "", classify(err)
		}
		var batch []indexRec
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &batch); err != nil {
			return "", domain.Wrap(domain.KindInternal, err, "decode items")
		}
		for i, e := range batch {
			if skip > 0 {
				skip--
				continue
			}
			*out = append(*out, e)
			if len(*out) == want {
				if i == len(batch)-1 && res.LastEvaluatedKey == nil {
					return "", nil
				}
				return encodeCursor(e.keys.av()), nil
			}
		}
		if res.LastEvaluatedKey == nil {
			return "", nil
		}
		c.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// findingsByID reads the findings of list entries, in their order.
func (s *Store) findingsByID(ctx context.Context, org string, entries []indexRec) ([]domain.Finding, error) {
	ks := make([]keys, len(entries))
	for i, e := range entries {
		ks[i] = findingKey(org, e.FindingID)
	}
	var recs []findingRec
	if err := s.batchGet(ctx, ks, &recs); err != nil {
		return nil, err
	}
	byID := make(map[string]findingRec, len(recs))
	for _, r := range recs {
		byID[r.ID] = r
	}
	out := make([]domain.Finding, 0, len(entries))
	for _, e := range entries {
		if r, ok := byID[e.FindingID]; ok {
			out = append(out, r.domain())
		}
	}
	return out, nil
}

type statsRec struct {
	keys
	Total   int            `dynamodbav:"n"`
	Triples map[string]int `dynamodbav:"-"`
}

// readStats sums a scope's counters over the triples the query selects.
func (s *Store) readStats(ctx context.Context, org, scope string, q findings.Query) (domain.FindingStats, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: statsKey(org, scope).av(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return domain.FindingStats{}, classify(err)
	}
	st := newStats()
	for name, v := range res.Item {
		t, ok := strings.CutPrefix(name, "t#")
		if !ok {
			continue
		}
		var n int
		if err := attributevalue.Unmarshal(v, &n); err != nil || n == 0 {
			continue
		}
		parts := strings.SplitN(t, "#", 3)
		if len(parts) != 3 {
			continue
		}
		st.add(q, parts[0], parts[1], parts[2], n)
	}
	return st.FindingStats, nil
}

type stats struct{ domain.FindingStats }

func newStats() stats {
	return stats{domain.FindingStats{BySeverity: map[string]int{}, ByStatus: map[string]int{}, ByCategory: map[string]int{}}}
}

func (st *stats) add(q findings.Query, sev, status, cat string, n int) {
	if !selects(q.Severities, sev) || !selects(q.Statuses, status) || !selects(q.Categories, cat) {
		return
	}
	st.Total += n
	st.BySeverity[sev] += n
	st.ByStatus[status] += n
	st.ByCategory[cat] += n
}

func selects(want []string, v string) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if w == v {
			return true
		}
	}
	return false
}

// FindingStats implements findings.Store.
func (s *Store) FindingStats(ctx context.Context, org string, q findings.Query) (domain.FindingStats, error) {
	plan := planFor(q)
	if plan.indexed {
		return s.readStats(ctx, org, plan.scope, q)
	}
	all, err := s.matchingFindings(ctx, org, q, plan)
	if err != nil {
		return domain.FindingStats{}, err
	}
	st := newStats()
	for _, f := range all {
		st.add(q, f.Severity, f.Status, f.Category, 1)
	}
	return st.FindingStats, nil
}

// matchingFindings reads every finding of the plan's scope (or of the scan)
// and keeps those the query selects.
func (s *Store) matchingFindings(ctx context.Context, org string, q findings.Query, plan queryPlan) ([]domain.Finding, error) {
	var entries []indexRec
	if q.ScanID != "" {
		ids, err := s.observedFindingIDs(ctx, org, q.ScanID)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			entries = append(entries, indexRec{FindingID: id})
		}
	} else if err := s.all(ctx, basePartition(orgPK(org), indexPrefix(plan.scope, "c"), true), &entries); err != nil {
		return nil, err
	}
	fs, err := s.findingsByID(ctx, org, entries)
	if err != nil {
		return nil, err
	}
	text := strings.ToLower(strings.TrimSpace(q.Text))
	out := fs[:0]
	for _, f := range fs {
		if !selects(q.Severities, f.Severity) || !selects(q.Statuses, f.Status) || !selects(q.Categories, f.Category) ||
			(q.AssetID != "" && f.AssetID != q.AssetID) || (q.SessionID != "" && f.SessionID != q.SessionID) ||
			(q.ClientID != "" && f.ClientID != q.ClientID) {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(f.Title+"\n"+f.Description+"\n"+f.Evidence), text) {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

func (s *Store) listFindingsSlow(ctx context.Context, org string, q findings.Query, plan queryPlan) (domain.Page[domain.Finding], error) {
	all, err := s.matchingFindings(ctx, org, q, plan)
	if err != nil {
		return domain.Page[domain.Finding]{}, err
	}
	code := sortCodes[q.Sort]
	if code == "" {
		code = "c"
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := sortValue(code, all[i])+all[i].ID, sortValue(code, all[j])+all[j].ID
		if q.Desc {
			return a > b
		}
		return a < b
	})
	return pageOf(all, q.Page), nil
}

// observedFindingIDs lists the findings a scan observed.
func (s *Store) observedFindingIDs(ctx context.Context, org, scanID string) ([]string, error) {
	var obs []struct {
		FindingID string `dynamodbav:"fid"`
	}
	if err := s.all(ctx, basePartition(orgPK(org), observationPrefix(scanID), false), &obs); err != nil {
		return nil, err
	}
	ids := make([]string, len(obs))
	for i, o := range obs {
		ids[i] = o.FindingID
	}
	return ids, nil
}
