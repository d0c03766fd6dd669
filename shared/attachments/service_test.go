package attachments_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"rampart/shared/attachments"
	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/findings"
	"rampart/shared/objects"
	"rampart/shared/platform"
	"rampart/shared/testenv"
)

// flakyObjects fails the named operations of a real bucket.
type flakyObjects struct {
	*objects.Bucket
	fail map[string]bool
}

var errDown = domain.E(domain.KindUnavailable, "storage unavailable")

func (f *flakyObjects) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, m objects.Meta) error {
	if f.fail["put"] {
		return errDown
	}
	return f.Bucket.Put(ctx, key, body, size, m)
}

func (f *flakyObjects) SetTags(ctx context.Context, key string, tags map[string]string) error {
	if f.fail["tags"] {
		return errDown
	}
	return f.Bucket.SetTags(ctx, key, tags)
}

// flakyStore fails the named writes of a real store.
type flakyStore struct {
	*dynamo.Store
	fail map[string]bool
}

func (f *flakyStore) CreateAttachment(ctx context.Context, org string, a attachments.Attachment) error {
	if f.fail["create"] {
		return domain.E(domain.KindUnavailable, "database unavailable")
	}
	return f.Store.CreateAttachment(ctx, org, a)
}

func (f *flakyStore) ConfirmAttachment(ctx context.Context, org string, a attachments.Attachment) error {
	if f.fail["confirm"] {
		return domain.E(domain.KindUnavailable, "database unavailable")
	}
	return f.Store.ConfirmAttachment(ctx, org, a)
}

type svcEnv struct {
	p       *platform.Platform
	store   *flakyStore
	objects *flakyObjects
	svc     *attachments.Service
	user    domain.Principal
	finding string
}

func newSvcEnv(t *testing.T) *svcEnv {
	p := testenv.Platform(t)
	e := &svcEnv{p: p, store: &flakyStore{Store: p.Store(), fail: map[string]bool{}},
		objects: &flakyObjects{Bucket: p.Bucket(), fail: map[string]bool{}}}
	e.user = domain.Principal{UserID: "u1", OrgID: domain.NewID(), Role: domain.RoleAuditor}
	e.svc = &attachments.Service{Store: e.store, Objects: e.objects, Findings: &findings.Service{Store: p.Store()}, Log: p.Log}
	now := time.Now().UTC()
	f := domain.Finding{ID: domain.NewIDAt(now), Title: "t", Severity: "low", Status: "open", Category: "tls",
		AssetID: domain.NewID(), Source: domain.SourceManual, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := p.Store().CreateFinding(t.Context(), e.user.OrgID, f, nil); err != nil {
		t.Fatal(err)
	}
	e.finding = f.ID
	return e
}

// state is what is listed and what is stored for the organization.
func (e *svcEnv) state(t *testing.T) (listed int, keys []string) {
	t.Helper()
	all, err := e.store.FindingAttachments(t.Context(), e.user.OrgID, e.finding)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.store.ListAttachments(t.Context(), e.user.OrgID, e.finding, domain.PageRequest{Page: 1, PerPage: 10})
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != len(all) {
		t.Errorf("total %d, %d entries", p.Total, len(all))
	}
	out, err := e.p.AWS.S3.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: &e.p.Config.Bucket,
		Prefix: new("orgs/" + e.user.OrgID + "/")})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return len(all), keys
}

func TestAttachServiceFailuresLeaveNothing(t *testing.T) {
	tests := []struct {
		name     string
		objFail  string
		dbFail   string
		wantKind domain.Kind
	}{
		{"storage write fails", "put", "", domain.KindUnavailable},
		{"record write fails", "", "create", domain.KindUnavailable},
		{"tagging fails after the record", "tags", "", domain.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSvcEnv(t)
			e.objects.fail[tt.objFail], e.store.fail[tt.dbFail] = true, true
			_, err := e.svc.Upload(t.Context(), e.user, e.finding, file("a.pdf", Samples.PDF))
			if !domain.Is(err, tt.wantKind) {
				t.Fatalf("upload: %v", err)
			}
			if listed, keys := e.state(t); listed != 0 || len(keys) != 0 {
				t.Errorf("after a failed upload: %d listed, objects %v", listed, keys)
			}
			// The same service works again once the dependency is back.
			e.objects.fail, e.store.fail = map[string]bool{}, map[string]bool{}
			a, err := e.svc.Upload(t.Context(), e.user, e.finding, file("a.pdf", Samples.PDF))
			if err != nil {
				t.Fatal(err)
			}
			if listed, keys := e.state(t); listed != 1 || len(keys) != 1 || keys[0] != attachments.ObjectKey(e.user.OrgID, a.ID) {
				t.Errorf("after a good upload: %d listed, objects %v", listed, keys)
			}
		})
	}
}

func TestAttachServiceConfirmFailuresLeaveNothingListed(t *testing.T) {
	tests := []struct {
		name    string
		objFail string
		dbFail  string
	}{
		{"record write fails", "", "confirm"},
		{"tagging fails after the record", "tags", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSvcEnv(t)
			data := Samples.PDF
			sum := sha256.Sum256(data)
			a, ps, err := e.svc.StartUpload(t.Context(), e.user, e.finding, attachments.NewUpload{FileName: "a.pdf",
				ContentType: "application/pdf", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(ps.URL, attachments.UploadKey(e.user.OrgID, a.ID)) {
				t.Fatalf("upload URL %s", ps.URL)
			}
			if err := e.objects.Put(t.Context(), attachments.UploadKey(e.user.OrgID, a.ID), bytes.NewReader(data), int64(len(data)),
				objects.Meta{ContentType: "application/pdf", Tags: map[string]string{objects.TagKind: objects.KindUpload}}); err != nil {
				t.Fatal(err)
			}
			e.objects.fail[tt.objFail], e.store.fail[tt.dbFail] = true, true
			if _, err := e.svc.Confirm(t.Context(), e.user, a.ID); err == nil {
				t.Fatal("confirm succeeded")
			}
			listed, keys := e.state(t)
			if listed != 0 {
				t.Errorf("%d listed after a failed confirm", listed)
			}
			for _, k := range keys {
				if k == attachments.ObjectKey(e.user.OrgID, a.ID) {
					t.Errorf("copied object left: %v", keys)
				}
				if tags, _ := e.objects.Tags(t.Context(), k); tags[objects.TagKind] != objects.KindUpload {
					t.Errorf("%s left with tags %v", k, tags)
				}
			}
		})
	}
}

func TestAttachServiceDeleteFindingAttachments(t *testing.T) {
	e := newSvcEnv(t)
	ctx := t.Context()
	for _, name := range []string{"a.txt", "b.pdf", "c.csv"} {
		data := map[string][]byte{"a.txt": Samples.Text, "b.pdf": Samples.PDF, "c.csv": Samples.CSV}[name]
		if _, err := e.svc.Upload(ctx, e.user, e.finding, file(name, data)); err != nil {
			t.Fatal(err)
		}
	}
	// Another finding's attachment stays.
	now := time.Now().UTC()
	other := domain.Finding{ID: domain.NewIDAt(now), Title: "t", Severity: "low", Status: "open", Category: "tls",
		AssetID: domain.NewID(), Source: domain.SourceManual, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := e.p.Store().CreateFinding(ctx, e.user.OrgID, other, nil); err != nil {
		t.Fatal(err)
	}
	kept, err := e.svc.Upload(ctx, e.user, other.ID, file("kept.txt", Samples.Text))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteFindingAttachments(ctx, e.user.OrgID, e.finding); err != nil {
		t.Fatal(err)
	}
	listed, keys := e.state(t)
	if listed != 0 || len(keys) != 1 || keys[0] != attachments.ObjectKey(e.user.OrgID, kept.ID) {
		t.Errorf("after deleting the finding's attachments: %d listed, objects %v", listed, keys)
	}
	if err := e.svc.DeleteFindingAttachments(ctx, e.user.OrgID, e.finding); err != nil {
		t.Errorf("again: %v", err)
	}
}

func TestAttachServiceRejectsLapsedPending(t *testing.T) {
	e := newSvcEnv(t)
	now := time.Now().UTC()
	e.svc.Clock = func() time.Time { return now }
	sum := sha256.Sum256(Samples.PDF)
	a, _, err := e.svc.StartUpload(t.Context(), e.user, e.finding, attachments.NewUpload{FileName: "a.pdf",
		ContentType: "application/pdf", Size: int64(len(Samples.PDF)), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	if a.ExpiresAt == nil || !a.ExpiresAt.Equal(now.Add(attachments.DefaultPendingTTL)) {
		t.Errorf("expires at %v", a.ExpiresAt)
	}
	now = now.Add(attachments.DefaultPendingTTL + time.Second)
	if _, err := e.svc.Confirm(t.Context(), e.user, a.ID); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("confirm of a lapsed upload: %v", err)
	}
	if _, err := e.svc.Confirm(t.Context(), e.user, "junk"); !domain.Is(err, domain.KindNotFound) {
		t.Errorf("confirm junk: %v", err)
	}
}

// scans.Service takes the attachment service as its port.
var _ interface {
	DeleteFindingAttachments(ctx context.Context, orgID, findingID string) error
} = (*attachments.Service)(nil)

func TestAttachServiceConcurrentConfirms(t *testing.T) {
	e := newSvcEnv(t)
	ctx := t.Context()
	data := Samples.PDF
	sum := sha256.Sum256(data)
	a, _, err := e.svc.StartUpload(ctx, e.user, e.finding, attachments.NewUpload{FileName: "a.pdf",
		ContentType: "application/pdf", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.objects.Put(ctx, attachments.UploadKey(e.user.OrgID, a.ID), bytes.NewReader(data), int64(len(data)),
		objects.Meta{ContentType: "application/pdf", Tags: map[string]string{objects.TagKind: objects.KindUpload}}); err != nil {
		t.Fatal(err)
	}
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := e.svc.Confirm(ctx, e.user, a.ID)
			errs <- err
		}()
	}
	// Every confirm answers the attachment: the losers find it available.
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("confirm: %v", err)
		}
	}
	listed, keys := e.state(t)
	if listed != 1 {
		t.Errorf("listed %d times", listed)
	}
	key := attachments.ObjectKey(e.user.OrgID, a.ID)
	if tags, err := e.objects.Tags(ctx, key); err != nil || tags[objects.TagKind] != objects.KindAttach {
		t.Errorf("object %s tags %v, %v (keys %v)", key, tags, err, keys)
	}
}

// file is an upload's name and content.
func file(name string, data []byte) func() (string, io.Reader, error) {
	return func() (string, io.Reader, error) { return name, bytes.NewReader(data), nil }
}
