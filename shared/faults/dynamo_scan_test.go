package faults_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"rampart/shared/domain"
	"rampart/shared/events"
	"rampart/shared/scans"
)

// slowTarget is a web site on 127.0.0.1 (HTTPS, and HTTP redirecting to it)
// whose answers take delay each.
type slowTarget struct {
	delay    atomic.Int64 // time.Duration
	requests atomic.Int64
	https    *httptest.Server
	http     *httptest.Server
}

func newSlowTarget(t *testing.T) *slowTarget {
	tg := &slowTarget{}
	tg.https = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.requests.Add(1)
		select {
		case <-time.After(time.Duration(tg.delay.Load())):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Path == "/" {
			fmt.Fprint(w, "ok")
			return
		}
		http.NotFound(w, r)
	}))
	tg.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.requests.Add(1)
		http.Redirect(w, r, "https://127.0.0.1:"+portOf(tg.https)+r.URL.Path, http.StatusMovedPermanently)
	}))
	t.Cleanup(tg.https.Close)
	t.Cleanup(tg.http.Close)
	return tg
}

func portOf(s *httptest.Server) string {
	_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
	return p
}

type scanView struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	Findings int    `json:"findings"`
}

func (e *env) scanStatus(token, id string) scanView {
	e.t.Helper()
	r := e.call(http.MethodGet, "/api/v1/scans/"+id, token, nil)
	if r.code != http.StatusOK {
		e.t.Fatalf("get scan: %d %s", r.code, r.body)
	}
	var v scanView
	r.decode(e.t, &v)
	return v
}

func terminal(s string) bool {
	return s == domain.ScanCompleted || s == domain.ScanFailed || s == domain.ScanCancelled
}

// waitScan polls the scan until it ends or d passes; it returns the last view.
func (e *env) waitScan(token, id string, d time.Duration) scanView {
	e.t.Helper()
	var v scanView
	eventually(d, func() bool {
		v = e.scanStatus(token, id)
		return terminal(v.Status)
	})
	return v
}

// scanFindings maps fingerprint to check of the scan's findings and fails
// on a duplicated fingerprint.
func (e *env) scanFindings(token, id string) map[string]string {
	e.t.Helper()
	r := e.call(http.MethodGet, "/api/v1/scans/"+id+"/findings?per_page=100", token, nil)
	if r.code != http.StatusOK {
		e.t.Fatalf("scan findings: %d %s", r.code, r.body)
	}
	var page findingPage
	r.decode(e.t, &page)
	if page.Total != len(page.Items) {
		e.t.Errorf("scan findings: total %d, %d items", page.Total, len(page.Items))
	}
	out := map[string]string{}
	for _, f := range page.Items {
		if _, dup := out[f.Fingerprint]; dup {
			e.t.Errorf("scan %s: fingerprint %s (%s) twice", id, f.Fingerprint, f.CheckID)
		}
		out[f.Fingerprint] = f.CheckID
	}
	return out
}

func checks(m map[string]string) []string {
	var out []string
	for _, c := range m {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func TestFaultsDynamoDuringScan(t *testing.T) {
	start := time.Now()
	tg := newSlowTarget(t)
	e := newEnv(t, map[string]string{
		"RAMPART_SCAN_HTTPS_PORT":     portOf(tg.https),
		"RAMPART_SCAN_HTTP_PORT":      portOf(tg.http),
		"RAMPART_SCAN_PORTS":          "none",
		"RAMPART_SCAN_ALLOW_LOOPBACK": "true",
		"RAMPART_SCAN_TARGET_TIMEOUT": "45s",
		"RAMPART_SCAN_LEASE":          "6s",
	})
	bus := e.p.LocalBus
	if bus == nil {
		t.Fatal("no local bus")
	}
	// Every delivery's outcome, to know when the worker met the outage.
	outcomes := make(chan error, 64)
	handle := bus.Handle
	bus.Handle = func(ctx context.Context, ev events.ScanRequested) error {
		err := handle(ctx, ev)
		select {
		case outcomes <- err:
		default:
		}
		return err
	}
	scanOf := func(token, org string) string {
		now := time.Now().UTC()
		a := domain.Asset{ID: domain.NewID(), Type: "ip", Target: "127.0.0.1", Name: "loopback", CreatedAt: now, UpdatedAt: now}
		if err := e.p.Store().CreateAsset(context.Background(), org, a); err != nil {
			t.Fatal(err)
		}
		r := e.call(http.MethodPost, "/api/v1/scans", token, map[string]any{"asset_ids": []string{a.ID}})
		if r.code != http.StatusAccepted {
			t.Fatalf("create scan: %d %s", r.code, r.body)
		}
		return r.id(t)
	}

	// The same target scanned without faults.
	baseToken, _, baseOrg := e.admin("baseline")
	base := scanOf(baseToken, baseOrg)
	if v := e.waitScan(baseToken, base, 90*time.Second); v.Status != domain.ScanCompleted {
		t.Fatalf("baseline scan: %+v", v)
	}
	want := e.scanFindings(baseToken, base)
	if len(want) == 0 {
		t.Fatal("the baseline scan found nothing to compare with")
	}
	baseRequests := tg.requests.Load()
	drain(outcomes)
	t.Logf("baseline: %d findings, %d requests to the target, %s", len(want), baseRequests, time.Since(start).Round(time.Millisecond))

	// The scan under faults: slow answers keep it running while DynamoDB dies.
	tg.delay.Store(int64(300 * time.Millisecond))
	token, _, org := e.admin("faults")
	tg.requests.Store(0)
	id := scanOf(token, org)
	if !eventually(30*time.Second, func() bool {
		return tg.requests.Load() > 0 && e.scanStatus(token, id).Status == domain.ScanRunning
	}) {
		t.Fatalf("the scan did not start: %+v", e.scanStatus(token, id))
	}
	e.ddb.kill()
	killedAt := time.Now()
	select {
	case err := <-outcomes:
		t.Logf("delivery ended %s after the kill: %v", time.Since(killedAt).Round(time.Millisecond), err)
	case <-time.After(90 * time.Second):
		t.Fatal("the scan worker did not return within 90s of the kill")
	}
	e.ddb.start()
	t.Logf("DynamoDB back %s after the kill (target requests so far %d)", time.Since(killedAt).Round(time.Millisecond), tg.requests.Load())
	// The bus retries (Retries 3, Backoff 2s: 2, 4, 6 s); then the event is
	// published again if the scan has not ended.
	waitFor(t, "the bus's retries", 120*time.Second, bus.Wait)
	v := e.scanStatus(token, id)
	if !terminal(v.Status) {
		// The worker could not hand the scan back while the database was
		// down: its lease runs out, and the recovery sweep (which the
		// schedule dispatcher runs every minute) requests the scan again.
		t.Logf("scan %s after the bus's retries: %s (%s); waiting for the lease to expire", id, v.Status, e.leaseOf(org, id))
		time.Sleep(7 * time.Second)
		n, err := scans.Recover(context.Background(), e.p.Store(), bus, time.Now())
		if err != nil || n != 1 {
			t.Fatalf("recovery sweep requested %d scans (err %v), want 1", n, err)
		}
		waitFor(t, "the recovered scan", 120*time.Second, bus.Wait)
		v = e.waitScan(token, id, 30*time.Second)
	}
	switch v.Status {
	case domain.ScanCompleted:
		got := e.scanFindings(token, id)
		if fmt.Sprint(checks(got)) != fmt.Sprint(checks(want)) {
			t.Errorf("findings after the outage %v, without faults %v", checks(got), checks(want))
		}
		if v.Findings != len(got) {
			t.Errorf("scan counts %d findings, lists %d", v.Findings, len(got))
		}
	case domain.ScanFailed:
		if v.Reason == "" {
			t.Errorf("scan failed without a reason: %+v", v)
		}
		e.scanFindings(token, id) // no duplicates
	default:
		t.Errorf("scan %s is %q after DynamoDB came back and the event was delivered again (want completed, or failed "+
			"with a reason); its record: %s", id, v.Status, e.leaseOf(org, id))
	}
	t.Logf("scan phase: %s", time.Since(start).Round(time.Millisecond))
}

// leaseOf describes the scan record's lease (read from the table: the API
// does not show it).
func (e *env) leaseOf(org, id string) string {
	out, err := e.p.AWS.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &e.table,
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "ORG#" + org},
			"SK": &types.AttributeValueMemberS{Value: "SCAN#" + id}}})
	if err != nil {
		return err.Error()
	}
	var rec struct {
		LeaseUntil int64 `dynamodbav:"lease_until"`
		Attempts   int   `dynamodbav:"attempts"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &rec); err != nil {
		return err.Error()
	}
	if rec.LeaseUntil > time.Now().Unix() {
		return fmt.Sprintf("attempts %d, leased for %s more (taken before the outage, never released)",
			rec.Attempts, time.Until(time.Unix(rec.LeaseUntil, 0)).Round(time.Second))
	}
	return fmt.Sprintf("attempts %d, lease_until %d (expired)", rec.Attempts, rec.LeaseUntil)
}

func drain(c chan error) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}
