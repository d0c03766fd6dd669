package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/assets"
	"rampart/shared/domain"
)

// Keys of assets, all in the organization partition ORG#<org>:
//
//	ASSET#<id>                     the asset; GSI2 ORG#<org>#ASSET#CLIENT#<client> / ASSET#<id> (when it
//	                               has a client), GSI3 ORG#<org>#ASSET#TYPE#<type> / ASSET#<id>
//	ASSETKEY#<type>#<target>       uniqueness marker of (type, normalised target); a target whose key
//	                               would pass 1,000 bytes is replaced by sha256:<hex> of itself
//	ASSETTAG#<tag>#<id>            tag index item (list by tag, newest first)
//	COUNT#assets, COUNT#assets#client#<id>, COUNT#assets#type#<type>, COUNT#assets#tag#<tag>
//
// Every one of them is written in the asset's transaction.
func assetKey(org, id string) keys { return orgItem(org, assetPrefix+id) }

func assetMarkerKey(org, typ, target string) keys {
	sk := assetMarkerPrefix + typ + "#" + target
	if len(sk) > 1000 {
		h := sha256.Sum256([]byte(target))
		sk = assetMarkerPrefix + typ + "#sha256:" + hex.EncodeToString(h[:])
	}
	return orgItem(org, sk)
}

func assetTagKey(org, tag, id string) keys       { return orgItem(org, assetTagPrefix(tag)+id) }
func assetTagPrefix(tag string) string           { return "ASSETTAG#" + tag + "#" }
func assetsByClientPK(org, client string) string { return orgPK(org) + "#ASSET#CLIENT#" + client }
func assetsByTypePK(org, typ string) string      { return orgPK(org) + "#ASSET#TYPE#" + typ }

const (
	assetPrefix       = "ASSET#"
	assetMarkerPrefix = "ASSETKEY#"
	assetsCounter     = "assets"
)

func assetClientCounter(id string) string { return "assets#client#" + id }
func assetTypeCounter(t string) string    { return "assets#type#" + t }
func assetTagCounter(t string) string     { return "assets#tag#" + t }

type assetRec struct {
	keys
	GSI2PK      string    `dynamodbav:"GSI2PK,omitempty"`
	GSI2SK      string    `dynamodbav:"GSI2SK,omitempty"`
	GSI3PK      string    `dynamodbav:"GSI3PK"`
	GSI3SK      string    `dynamodbav:"GSI3SK"`
	ID          string    `dynamodbav:"id"`
	Type        string    `dynamodbav:"type"`
	Target      string    `dynamodbav:"target,omitempty"`
	Name        string    `dynamodbav:"name"`
	ClientID    string    `dynamodbav:"client_id,omitempty"`
	Tags        []string  `dynamodbav:"tags,omitempty"`
	Description string    `dynamodbav:"description,omitempty"`
	CreatedAt   time.Time `dynamodbav:"created_at"`
	UpdatedAt   time.Time `dynamodbav:"updated_at"`
	Ver         int       `dynamodbav:"ver"`
}

func newAssetRec(org string, a domain.Asset, ver int) assetRec {
	r := assetRec{keys: assetKey(org, a.ID), GSI3PK: assetsByTypePK(org, a.Type), GSI3SK: assetPrefix + a.ID,
		ID: a.ID, Type: a.Type, Target: a.Target, Name: a.Name, ClientID: a.ClientID, Tags: a.Tags,
		Description: a.Description, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Ver: ver}
	if a.ClientID != "" {
		r.GSI2PK, r.GSI2SK = assetsByClientPK(org, a.ClientID), assetPrefix+a.ID
	}
	return r
}

func (r assetRec) domain() domain.Asset {
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	return domain.Asset{ID: r.ID, Type: r.Type, Target: r.Target, Name: r.Name, ClientID: r.ClientID, Tags: tags,
		Description: r.Description, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// assetMarkerRec reserves a (type, target) for one asset.
type assetMarkerRec struct {
	keys
	AssetID string `dynamodbav:"asset_id"`
	Type    string `dynamodbav:"type"`
	Target  string `dynamodbav:"target"`
}

// assetTagRec lists an asset under one tag.
type assetTagRec struct {
	keys
	AssetID string `dynamodbav:"asset_id"`
	Tag     string `dynamodbav:"tag"`
}

// assetCounters are the list counters an asset counts in.
func assetCounters(a domain.Asset) []string {
	out := []string{assetsCounter, assetTypeCounter(a.Type)}
	if a.ClientID != "" {
		out = append(out, assetClientCounter(a.ClientID))
	}
	for _, t := range a.Tags {
		out = append(out, assetTagCounter(t))
	}
	return out
}

// assetItems are the items of a new asset, the asset first and its marker
// second (when it has a target): transaction positions 0 and 1.
func (s *Store) assetItems(org string, a domain.Asset) ([]types.TransactWriteItem, error) {
	item, err := marshal(newAssetRec(org, a, 1))
	if err != nil {
		return nil, err
	}
	out := []types.TransactWriteItem{s.putNew(item)}
	if a.Target != "" {
		m, err := marshal(assetMarkerRec{keys: assetMarkerKey(org, a.Type, a.Target), AssetID: a.ID, Type: a.Type, Target: a.Target})
		if err != nil {
			return nil, err
		}
		out = append(out, s.putNew(m))
	}
	for _, t := range a.Tags {
		ti, err := marshal(assetTagRec{keys: assetTagKey(org, t, a.ID), AssetID: a.ID, Tag: t})
		if err != nil {
			return nil, err
		}
		out = append(out, s.put(ti))
	}
	return out, nil
}

// counterMoves are the counter deltas of an entity that was counted in was
// and is counted in is (nil for a creation or a deletion).
func counterMoves(was, is []string) map[string]int {
	deltas := map[string]int{}
	for _, c := range was {
		deltas[c]--
	}
	for _, c := range is {
		deltas[c]++
	}
	return deltas
}

func (s *Store) counterItems(org string, deltas map[string]int) []types.TransactWriteItem {
	kinds := make([]string, 0, len(deltas))
	for k, d := range deltas {
		if d != 0 {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	out := make([]types.TransactWriteItem, len(kinds))
	for i, k := range kinds {
		out[i] = s.counterAdd(org, k, deltas[k])
	}
	return out
}

// isTxConflict reports a transaction canceled because another one was
// writing the same items (a counter, usually) at the same moment: worth
// another attempt, unlike a failed condition.
func isTxConflict(err error) bool {
	var tce *types.TransactionCanceledException
	return domain.Is(err, domain.KindConflict) && errors.As(err, &tce)
}

// txBackoff waits a little, more with every attempt, with jitter so that
// two writers that collided do not collide again.
func txBackoff(attempt int) {
	time.Sleep(time.Duration(5<<attempt)*time.Millisecond + time.Duration(rand.IntN(10))*time.Millisecond)
}

var errAssetDuplicate = &domain.Error{Kind: domain.KindConflict,
	Message: "an asset with this type and target already exists in the organization",
	Fields:  []domain.FieldError{{Location: "body.target", Message: "already an asset of this type"}}}

var _ assets.Store = (*Store)(nil)

// CreateAsset implements assets.Store.
func (s *Store) CreateAsset(ctx context.Context, org string, a domain.Asset) error {
	items, err := s.assetItems(org, a)
	if err != nil {
		return err
	}
	deltas := counterMoves(nil, assetCounters(a))
	err = s.transact(ctx, append(items, s.counterItems(org, deltas)...))
	if tc, ok := err.(*txCanceled); ok {
		if a.Target != "" && tc.failed(1) {
			return errAssetDuplicate
		}
		return domain.E(domain.KindConflict, "an asset with this id already exists")
	}
	return err
}

// GetAsset implements assets.Store.
func (s *Store) GetAsset(ctx context.Context, org, id string) (domain.Asset, error) {
	r, err := s.getAssetRec(ctx, org, id)
	if err != nil {
		return domain.Asset{}, err
	}
	return r.domain(), nil
}

func (s *Store) getAssetRec(ctx context.Context, org, id string) (assetRec, error) {
	if !domain.ValidID(id) {
		return assetRec{}, domain.NotFound("asset")
	}
	r, err := getItem[assetRec](ctx, s, assetKey(org, id), "asset")
	if err != nil {
		return assetRec{}, err
	}
	return r, nil
}

// GetAssets implements assets.Store.
func (s *Store) GetAssets(ctx context.Context, org string, ids []string) ([]domain.Asset, error) {
	ks := make([]keys, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if domain.ValidID(id) && !seen[id] {
			seen[id] = true
			ks = append(ks, assetKey(org, id))
		}
	}
	var recs []assetRec
	if err := s.batchGet(ctx, ks, &recs); err != nil {
		return nil, err
	}
	out := make([]domain.Asset, len(recs))
	for i, r := range recs {
		out[i] = r.domain()
	}
	return out, nil
}

// UpdateAsset implements assets.Store: the asset (conditioned on its
// version), the marker move, tag items and counter changes in one
// transaction (at most 2 + 40 + 44 items with 20 tags swapped).
func (s *Store) UpdateAsset(ctx context.Context, org, id string, fn func(*domain.Asset) error) (domain.Asset, error) {
	for attempt := range retries {
		r, err := s.getAssetRec(ctx, org, id)
		if err != nil {
			return domain.Asset{}, err
		}
		old := r.domain()
		a := old
		a.Tags = slices.Clone(old.Tags)
		if err := fn(&a); err != nil {
			return domain.Asset{}, err
		}
		a.ID, a.CreatedAt = old.ID, old.CreatedAt
		item, err := marshal(newAssetRec(org, a, r.Ver+1))
		if err != nil {
			return domain.Asset{}, err
		}
		items := []types.TransactWriteItem{{Put: &types.Put{TableName: &s.table, Item: item,
			ConditionExpression:       aws.String("ver = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(r.Ver))}}}}
		markerAt := -1
		if old.Type != a.Type || old.Target != a.Target {
			if old.Target != "" {
				items = append(items, s.del(assetMarkerKey(org, old.Type, old.Target)))
			}
			if a.Target != "" {
				m, err := marshal(assetMarkerRec{keys: assetMarkerKey(org, a.Type, a.Target), AssetID: a.ID, Type: a.Type, Target: a.Target})
				if err != nil {
					return domain.Asset{}, err
				}
				markerAt = len(items)
				items = append(items, s.putNew(m))
			}
		}
		for _, t := range old.Tags {
			if !slices.Contains(a.Tags, t) {
				items = append(items, s.del(assetTagKey(org, t, id)))
			}
		}
		for _, t := range a.Tags {
			if !slices.Contains(old.Tags, t) {
				ti, err := marshal(assetTagRec{keys: assetTagKey(org, t, id), AssetID: id, Tag: t})
				if err != nil {
					return domain.Asset{}, err
				}
				items = append(items, s.put(ti))
			}
		}
		deltas := counterMoves(assetCounters(old), assetCounters(a))
		err = s.transact(ctx, append(items, s.counterItems(org, deltas)...))
		if tc, ok := err.(*txCanceled); ok {
			if markerAt >= 0 && tc.failed(markerAt) {
				return domain.Asset{}, errAssetDuplicate
			}
			continue
		}
		if isTxConflict(err) {
			txBackoff(attempt)
			continue
		}
		if err != nil {
			return domain.Asset{}, err
		}
		return a, nil
	}
	return domain.Asset{}, domain.E(domain.KindConflict, "the asset changed concurrently; retry")
}

// DeleteAsset implements assets.Store: the asset (conditioned on the
// version read), its marker, its tag items and its counters in one
// transaction.
func (s *Store) DeleteAsset(ctx context.Context, org, id string) error {
	for attempt := range retries {
		r, err := s.getAssetRec(ctx, org, id)
		if err != nil {
			return err
		}
		a := r.domain()
		items := []types.TransactWriteItem{{Delete: &types.Delete{TableName: &s.table, Key: assetKey(org, id).av(),
			ConditionExpression:       aws.String("ver = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": num(int64(r.Ver))}}}}
		if a.Target != "" {
			items = append(items, s.del(assetMarkerKey(org, a.Type, a.Target)))
		}
		for _, t := range a.Tags {
			items = append(items, s.del(assetTagKey(org, t, id)))
		}
		deltas := counterMoves(assetCounters(a), nil)
		err = s.transact(ctx, append(items, s.counterItems(org, deltas)...))
		if _, ok := err.(*txCanceled); ok {
			continue
		}
		if isTxConflict(err) {
			txBackoff(attempt)
			continue
		}
		return err
	}
	return domain.E(domain.KindConflict, "the asset changed concurrently; retry")
}

// ListAssets implements assets.Store, newest first. One filter (or none)
// pages the partition that serves it and answers total from its counter:
// no filter, the ASSET# items of the organization partition; client_id,
// GSI2; type, GSI3; tag, the ASSETTAG#<tag># index items, whose assets are
// then read with BatchGetItem. Combined filters and q read the narrowest of
// those partitions whole (client, then type, then tag, then all assets) and
// filter in memory: the cost is the size of that partition (an
// organization's assets are thousands, a few 1 MB query pages), and total
// is the count of matches.
func (s *Store) ListAssets(ctx context.Context, org string, f assets.Filter, req domain.PageRequest) (domain.Page[domain.Asset], error) {
	n := 0
	for _, v := range []string{f.ClientID, f.Type, f.Tag} {
		if v != "" {
			n++
		}
	}
	if f.Query == "" && n <= 1 {
		return s.assetPage(ctx, org, f, req)
	}
	all, err := s.assetsWhole(ctx, org, f)
	if err != nil {
		return domain.Page[domain.Asset]{}, err
	}
	q := strings.ToLower(f.Query)
	matches := []domain.Asset{}
	for _, a := range all {
		if (f.ClientID != "" && a.ClientID != f.ClientID) || (f.Type != "" && a.Type != f.Type) ||
			(f.Tag != "" && !slices.Contains(a.Tags, f.Tag)) {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(a.Name), q) && !strings.Contains(strings.ToLower(a.Target), q) {
			continue
		}
		matches = append(matches, a)
	}
	sort.Slice(matches, func(i, j int) bool { return matches[i].ID > matches[j].ID })
	return pageOf(matches, req), nil
}

func (s *Store) assetPage(ctx context.Context, org string, f assets.Filter, req domain.PageRequest) (domain.Page[domain.Asset], error) {
	var (
		part    partition
		counter string
	)
	switch {
	case f.ClientID != "":
		part, counter = indexPartition(GSI2, assetsByClientPK(org, f.ClientID), assetPrefix, true), assetClientCounter(f.ClientID)
	case f.Type != "":
		part, counter = indexPartition(GSI3, assetsByTypePK(org, f.Type), assetPrefix, true), assetTypeCounter(f.Type)
	case f.Tag != "":
		part, counter = basePartition(orgPK(org), assetTagPrefix(f.Tag), true), assetTagCounter(f.Tag)
	default:
		part, counter = basePartition(orgPK(org), assetPrefix, true), assetsCounter
	}
	var items []domain.Asset
	var next string
	if f.Tag != "" && f.ClientID == "" && f.Type == "" {
		var tags []assetTagRec
		var err error
		if next, err = s.page(ctx, part, req, &tags); err != nil {
			return domain.Page[domain.Asset]{}, err
		}
		if items, err = s.assetsInOrder(ctx, org, tags); err != nil {
			return domain.Page[domain.Asset]{}, err
		}
	} else {
		var recs []assetRec
		var err error
		if next, err = s.page(ctx, part, req, &recs); err != nil {
			return domain.Page[domain.Asset]{}, err
		}
		items = make([]domain.Asset, len(recs))
		for i, r := range recs {
			items[i] = r.domain()
		}
	}
	total, err := s.count(ctx, org, counter)
	if err != nil {
		return domain.Page[domain.Asset]{}, err
	}
	return domain.Page[domain.Asset]{Items: items, Total: total, Request: req, NextCursor: next}, nil
}

// assetsInOrder reads the assets of tag index items, keeping their order.
func (s *Store) assetsInOrder(ctx context.Context, org string, tags []assetTagRec) ([]domain.Asset, error) {
	ids := make([]string, len(tags))
	for i, t := range tags {
		ids[i] = t.AssetID
	}
	found, err := s.GetAssets(ctx, org, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]domain.Asset, len(found))
	for _, a := range found {
		byID[a.ID] = a
	}
	out := make([]domain.Asset, 0, len(ids))
	for _, id := range ids {
		if a, ok := byID[id]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// assetsWhole reads the narrowest partition that holds every match of f.
func (s *Store) assetsWhole(ctx context.Context, org string, f assets.Filter) ([]domain.Asset, error) {
	if f.Tag != "" && f.ClientID == "" && f.Type == "" {
		var tags []assetTagRec
		if err := s.all(ctx, basePartition(orgPK(org), assetTagPrefix(f.Tag), true), &tags); err != nil {
			return nil, err
		}
		return s.assetsInOrder(ctx, org, tags)
	}
	part := basePartition(orgPK(org), assetPrefix, true)
	switch {
	case f.ClientID != "":
		part = indexPartition(GSI2, assetsByClientPK(org, f.ClientID), assetPrefix, true)
	case f.Type != "":
		part = indexPartition(GSI3, assetsByTypePK(org, f.Type), assetPrefix, true)
	}
	var recs []assetRec
	if err := s.all(ctx, part, &recs); err != nil {
		return nil, err
	}
	out := make([]domain.Asset, len(recs))
	for i, r := range recs {
		out[i] = r.domain()
	}
	return out, nil
}

// ExistingKeys implements assets.Store with batched reads of the markers.
func (s *Store) ExistingKeys(ctx context.Context, org string, ks []assets.Key) (map[assets.Key]bool, error) {
	out := map[assets.Key]bool{}
	seen := map[keys]bool{}
	var mk []keys
	for _, k := range ks {
		key := assetMarkerKey(org, k.Type, k.Target)
		if !seen[key] {
			seen[key] = true
			mk = append(mk, key)
		}
	}
	// Chunks of 1,000 keys (ten BatchGetItem calls) are read concurrently:
	// 10,000 keys of an import cost about one tenth of reading them in turn.
	const chunk = 1000
	results := make([][]assetMarkerRec, (len(mk)+chunk-1)/chunk)
	errs := make([]error, len(results))
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.batchGet(ctx, mk[i*chunk:min((i+1)*chunk, len(mk))], &results[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for _, recs := range results {
		for _, r := range recs {
			out[assets.Key{Type: r.Type, Target: r.Target}] = true
		}
	}
	return out, nil
}

// Import batches stay under DynamoDB's limits of 100 items and 4 MB per
// transaction, with room to spare.
const (
	importBatchItems = 100
	importBatchBytes = 3 << 20
	// importAnswerReserve is the time kept to answer before a deadline.
	importAnswerReserve = 3 * time.Second
)

// assetSize over-estimates an asset item's size (attribute names, keys and
// index keys included).
func assetSize(a domain.Asset) int {
	n := 600 + 2*len(a.Target) + len(a.Name) + len(a.Description)
	for _, t := range a.Tags {
		n += 2*len(t) + 150
	}
	return n
}

// WriteAssets implements assets.Store. Assets are written in transactions
// of as many assets as fit in 100 items with the batch's counter updates
// (each counter once, with the batch's total). A batch whose transaction
// fails because a marker was taken meanwhile is retried without the
// duplicates, which are reported; any other failure stops the import.
func (s *Store) WriteAssets(ctx context.Context, org string, as []domain.Asset) assets.WriteResult {
	res := assets.WriteResult{FailedAt: -1}
	for start := 0; start < len(as); {
		// Stop while there is time left to answer: in Lambda the request's
		// context carries the function's deadline, and an answer that counts
		// what was written beats a timeout that says nothing.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < importAnswerReserve {
			res.FailedAt, res.Err = start, domain.E(domain.KindUnavailable, "the import ran out of time")
			return res
		}
		batch, items, end, err := s.importBatch(org, as, start)
		if err != nil {
			res.FailedAt, res.Err = start, err
			return res
		}
		for attempt := 0; ; attempt++ {
			deltas := map[string]int{}
			var writes []types.TransactWriteItem
			markerAt := map[int]int{} // transaction position of a marker -> asset index
			for _, i := range batch {
				if as[i].Target != "" { // the marker follows the asset item
					markerAt[len(writes)+1] = i
				}
				writes = append(writes, items[i]...)
				for _, c := range assetCounters(as[i]) {
					deltas[c]++
				}
			}
			if len(writes) == 0 {
				break
			}
			err := s.transact(ctx, append(writes, s.counterItems(org, deltas)...))
			if err == nil {
				res.Created += len(batch)
				break
			}
			if tc, ok := err.(*txCanceled); ok {
				dups := map[int]bool{}
				for pos, i := range markerAt {
					if tc.failed(pos) {
						dups[i] = true
					}
				}
				if len(dups) > 0 {
					kept := batch[:0:0]
					for _, i := range batch {
						if dups[i] {
							res.Duplicates = append(res.Duplicates, i)
						} else {
							kept = append(kept, i)
						}
					}
					batch = kept
					continue
				}
				err = domain.E(domain.KindConflict, "an asset id of the import was taken")
			}
			if domain.Is(err, domain.KindConflict) && attempt < 3 {
				time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
				continue
			}
			res.FailedAt, res.Err = batch[0], err
			return res
		}
		start = end
	}
	return res
}

// importBatch picks the assets from start on that fit in one transaction.
func (s *Store) importBatch(org string, as []domain.Asset, start int) (batch []int, items map[int][]types.TransactWriteItem, end int, err error) {
	items = map[int][]types.TransactWriteItem{}
	counters := map[string]bool{}
	n, size := 0, 0
	end = start
	for end < len(as) {
		a := as[end]
		w, err := s.assetItems(org, a)
		if err != nil {
			return nil, nil, 0, err
		}
		newCounters := 0
		for _, c := range assetCounters(a) {
			if !counters[c] {
				newCounters++
			}
		}
		if len(batch) > 0 && (n+len(w)+len(counters)+newCounters > importBatchItems || size+assetSize(a) > importBatchBytes) {
			break
		}
		for _, c := range assetCounters(a) {
			counters[c] = true
		}
		items[end] = w
		batch = append(batch, end)
		n += len(w)
		size += assetSize(a)
		end++
	}
	return batch, items, end, nil
}
