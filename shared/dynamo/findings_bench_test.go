package dynamo

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"rampart/shared/domain"
	"rampart/shared/findings"
)

// meter counts DynamoDB requests and the read capacity they consumed. It asks
// every read for its consumed capacity, which DynamoDB (and DynamoDB Local)
// then reports.
type meter struct {
	requests atomic.Int64
	milliRCU atomic.Int64
}

func (m *meter) reset() { m.requests.Store(0); m.milliRCU.Store(0) }

func (m *meter) add(cc ...types.ConsumedCapacity) {
	for _, c := range cc {
		if c.CapacityUnits != nil {
			m.milliRCU.Add(int64(*c.CapacityUnits * 1000))
		}
	}
}

func (m *meter) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("meter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			m.requests.Add(1)
			switch p := in.Parameters.(type) {
			case *dynamodb.QueryInput:
				p.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
			case *dynamodb.GetItemInput:
				p.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
			case *dynamodb.BatchGetItemInput:
				p.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
			}
			out, md, err := next.HandleInitialize(ctx, in)
			switch r := out.Result.(type) {
			case *dynamodb.QueryOutput:
				if r.ConsumedCapacity != nil {
					m.add(*r.ConsumedCapacity)
				}
			case *dynamodb.GetItemOutput:
				if r.ConsumedCapacity != nil {
					m.add(*r.ConsumedCapacity)
				}
			case *dynamodb.BatchGetItemOutput:
				m.add(r.ConsumedCapacity...)
			}
			return out, md, err
		}), middleware.Before)
}

// seedFindings writes n findings of one organization the fast way (batch
// writes of each finding with its list entries of the "all" scope and one
// stats item), which is what the transactions would leave behind for lists
// and statistics over the whole organization.
func seedFindings(b *testing.B, s *Store, org string, n int) {
	ctx := context.Background()
	sevs := []string{"critical", "high", "medium", "low", "info"}
	statuses := []string{"open", "in_progress", "resolved"}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var agg = map[string]int{}
	work := make(chan []map[string]types.AttributeValue, 8)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range 4 {
		wg.Go(func() {
			for batch := range work {
				if err := s.batchWrite(ctx, batch); err != nil {
					failed.Store(&err)
				}
			}
		})
	}
	var batch []map[string]types.AttributeValue
	for i := range n {
		at := base.Add(time.Duration(i) * time.Second)
		f := domain.Finding{ID: domain.NewIDAt(at), Title: fmt.Sprintf("Finding %d", i), Description: "A benchmark finding.",
			Severity: sevs[i%5], Status: statuses[i%3], Category: "tls", AssetID: "bench-asset", Source: domain.SourceManual,
			CreatedAt: at, UpdatedAt: at, Version: 1}
		agg["t#"+triple(f)]++
		item, err := marshal(newFindingRec(org, f, 0))
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, item)
		for _, code := range []string{"c", "u", "v"} {
			sk := indexPrefix("all", code) + sortValue(code, f) + "#" + f.ID
			e, err := marshal(indexRec{keys: orgItem(org, sk), FindingID: f.ID, Severity: f.Severity, Status: f.Status,
				Category: f.Category, AssetID: f.AssetID})
			if err != nil {
				b.Fatal(err)
			}
			batch = append(batch, e)
		}
		if len(batch) >= 100 {
			work <- batch
			batch = nil
		}
	}
	work <- batch
	close(work)
	wg.Wait()
	if p := failed.Load(); p != nil {
		b.Fatal(*p)
	}
	stats := map[string]types.AttributeValue{"PK": str(orgPK(org)), "SK": str("STATS#all"), "n": num(int64(n))}
	for k, v := range agg {
		stats[k] = num(int64(v))
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: stats}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFindingReads lists page 1 (25 findings, newest first and most
// severe first) and reads the statistics at growing organization sizes, and
// reports DynamoDB requests and read capacity per call: neither may grow with
// the number of findings.
//
//	make bench   # or: scripts/emulators.sh --mode test run-with -- go test ./shared/dynamo -run '^$' -bench FindingReads -benchtime 20x
func BenchmarkFindingReads(b *testing.B) {
	if os.Getenv("RAMPART_TEST_EMULATORS") != "1" {
		b.Fatal("run through `make bench` (scripts/emulators.sh --mode test run-with -- go test ...)")
	}
	ctx := context.Background()
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"))
	if err != nil {
		b.Fatal(err)
	}
	m := &meter{}
	db := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, m.middleware) })
	table := "bench-" + strings.ToLower(domain.NewID())
	if err := EnsureTable(ctx, db, table); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
	s := New(db, table, nil)
	for _, n := range []int{100, 10_000, 100_000} {
		org := domain.NewID()
		seedFindings(b, s, org, n)
		for _, c := range []struct {
			name string
			run  func() error
		}{
			{"list-newest", func() error {
				_, err := s.ListFindings(ctx, org, findings.Query{Sort: findings.SortCreated, Desc: true, Page: domain.PageRequest{Page: 1, PerPage: 25}})
				return err
			}},
			{"list-most-severe-open", func() error {
				_, err := s.ListFindings(ctx, org, findings.Query{Sort: findings.SortSeverity, Desc: true, Statuses: []string{"open"}, Page: domain.PageRequest{Page: 1, PerPage: 25}})
				return err
			}},
			{"stats", func() error {
				_, err := s.FindingStats(ctx, org, findings.Query{})
				return err
			}},
		} {
			b.Run(fmt.Sprintf("%s/findings=%d", c.name, n), func(b *testing.B) {
				m.reset()
				for b.Loop() {
					if err := c.run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(m.requests.Load())/float64(b.N), "requests/op")
				b.ReportMetric(float64(m.milliRCU.Load())/1000/float64(b.N), "RCU/op")
			})
		}
	}
}
