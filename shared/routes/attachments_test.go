package routes_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"rampart/shared/attachments"
	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/httpapi"
	"rampart/shared/objects"
	"rampart/shared/platform"
	"rampart/shared/routes"
	"rampart/shared/testenv"
)

// attLimit is the multipart limit of these tests (small, to keep them fast).
const attLimit = 64 << 10

// attAuth maps bearer tokens to principals: these tests are about
// attachments, not about tokens.
type attAuth map[string]domain.Principal

func (a attAuth) Authenticate(_ context.Context, bearer string, _ bool, _ string) (domain.Principal, error) {
	p, ok := a[bearer]
	if !ok {
		return domain.Principal{}, domain.E(domain.KindUnauthenticated, "invalid token")
	}
	return p, nil
}

// attEnv is one server over the emulators with two organizations: in A an
// admin, an auditor, a viewer and client members of clients c1 and c2, one
// finding of each client; in B an admin and a finding.
type attEnv struct {
	t       *testing.T
	p       *platform.Platform
	store   *dynamo.Store
	bucket  *objects.Bucket
	svc     *attachments.Service
	url     string
	auth    attAuth
	orgA    string
	orgB    string
	finding string // org A, client c1
	findC2  string // org A, client c2
	findB   string // org B
}

func newAttEnv(t *testing.T) *attEnv {
	t.Helper()
	p := testenv.Platform(t)
	e := &attEnv{t: t, p: p, store: p.Store(), bucket: p.Bucket(), orgA: domain.NewID(), orgB: domain.NewID()}
	e.svc = p.Attachments()
	e.svc.MaxUploadBytes = attLimit
	e.auth = attAuth{
		"admin":   {UserID: "u-admin", OrgID: e.orgA, Role: domain.RoleAdmin},
		"auditor": {UserID: "u-auditor", OrgID: e.orgA, Role: domain.RoleAuditor},
		"viewer":  {UserID: "u-viewer", OrgID: e.orgA, Role: domain.RoleViewer},
		"client1": {UserID: "u-client1", OrgID: e.orgA, Role: domain.RoleClient, ClientID: "c1"},
		"client2": {UserID: "u-client2", OrgID: e.orgA, Role: domain.RoleClient, ClientID: "c2"},
		"adminB":  {UserID: "u-adminB", OrgID: e.orgB, Role: domain.RoleAdmin},
	}
	e.finding = e.newFinding(e.orgA, "c1")
	e.findC2 = e.newFinding(e.orgA, "c2")
	e.findB = e.newFinding(e.orgB, "")
	p.AttachmentBodyCap()
	srv := httpapi.New(httpapi.Options{Auth: e.auth, MaxBodyBytes: p.Config.MaxBodyBytes, Logger: p.Log})
	(&routes.Attachments{Attachments: e.svc}).Register(srv.API)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

func (e *attEnv) newFinding(org, client string) string {
	now := time.Now().UTC()
	f := domain.Finding{ID: domain.NewIDAt(now), Title: "weak TLS", Severity: "high", Status: "open", Category: "tls",
		AssetID: domain.NewID(), ClientID: client, Source: domain.SourceManual, CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := e.store.CreateFinding(e.t.Context(), org, f, nil); err != nil {
		e.t.Fatal(err)
	}
	return f.ID
}

type attResp struct {
	status int
	header http.Header
	body   []byte
}

func (r attResp) detail() string {
	var b struct {
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(r.body, &b)
	return b.Detail
}

func (r attResp) attachment(t *testing.T) routes.AttachmentView {
	t.Helper()
	var v routes.AttachmentView
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

var attNoRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do calls the API as the named user ("" for none).
func (e *attEnv) do(method, path, user, contentType string, body []byte) attResp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+user)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := attNoRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return attResp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *attEnv) json(method, path, user string, body any) attResp {
	e.t.Helper()
	b, _ := json.Marshal(body)
	return e.do(method, path, user, "application/json", b)
}

// attForm builds a multipart body with the file under field; the name is
// sent as RFC 2231 filename* so that any bytes survive the header.
func attForm(field, name string, data []byte, extra ...string) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(extra); i += 2 {
		_ = w.WriteField(extra[i], extra[i+1])
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename*=UTF-8''%s`, field, url.PathEscape(name)))
	h.Set("Content-Type", "application/octet-stream")
	part, _ := w.CreatePart(h)
	_, _ = part.Write(data)
	_ = w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

func (e *attEnv) upload(user, findingID, name string, data []byte) attResp {
	e.t.Helper()
	ct, body := attForm("file", name, data)
	return e.do(http.MethodPost, "/api/v1/findings/"+findingID+"/attachments", user, ct, body)
}

func (e *attEnv) mustUpload(findingID, name string, data []byte) routes.AttachmentView {
	e.t.Helper()
	r := e.upload("auditor", findingID, name, data)
	if r.status != http.StatusCreated {
		e.t.Fatalf("upload %q: %d %s", name, r.status, r.body)
	}
	return r.attachment(e.t)
}

type attPage struct {
	Items []routes.AttachmentView `json:"items"`
	Total int                     `json:"total"`
}

func (e *attEnv) list(user, findingID string) attPage {
	e.t.Helper()
	r := e.do(http.MethodGet, "/api/v1/findings/"+findingID+"/attachments", user, "", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("list: %d %s", r.status, r.body)
	}
	var p attPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// download follows the API's redirect with a plain client.
func (e *attEnv) download(user, id string) *http.Response {
	e.t.Helper()
	r := e.do(http.MethodGet, "/api/v1/attachments/"+id+"/download", user, "", nil)
	if r.status != http.StatusFound || r.header.Get("Location") == "" {
		e.t.Fatalf("download: %d %s", r.status, r.body)
	}
	res, err := http.Get(r.header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

// keys lists the objects stored under an organization.
func (e *attEnv) keys(org string) []string {
	e.t.Helper()
	out, err := e.p.AWS.S3.ListObjectsV2(e.t.Context(), &s3.ListObjectsV2Input{Bucket: &e.p.Config.Bucket, Prefix: new("orgs/" + org + "/")})
	if err != nil {
		e.t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys
}

func attSHA(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestAttachRoutesMultipartUploadListDownload(t *testing.T) {
	e := newAttEnv(t)
	s := attSamples
	tests := []struct {
		name       string
		file       string
		data       []byte
		wantType   string // stored (sniffed) type, without parameters
		wantServed string // Content-Type of the download
	}{
		{"pdf", "Bericht «Q1» – final.pdf", s.pdf, "application/pdf", "application/pdf"},
		{"png", "screenshot.png", s.png, "image/png", "image/png"},
		{"text named .log", "server.log", []byte("GET / 200\nGET /admin 403\n"), "text/plain", "text/plain; charset=utf-8"},
		{"csv", "hosts.csv", s.csv, "text/csv", "text/csv"},
		{"har", "session.har", s.har, "application/json", "application/json"},
		{"pcapng", "capture.pcapng", s.pcapng, "application/x-pcapng", "application/x-pcapng"},
		{"docx", "report.docx", s.docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
			"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"html as attachment", "poc.html", s.html, "text/html", attachments.OctetStream},
		{"svg as attachment", "logo.svg", s.svg, "image/svg+xml", attachments.OctetStream},
	}
	var ids []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.mustUpload(e.finding, tt.file, tt.data)
			ids = append(ids, a.ID)
			base, _, _ := mime.ParseMediaType(a.ContentType)
			if base != tt.wantType || a.FindingID != e.finding || a.FileName != tt.file || a.Size != int64(len(tt.data)) ||
				a.SHA256 != attSHA(tt.data) || a.Status != "available" || a.CreatedBy != "u-auditor" || !domain.ValidID(a.ID) ||
				time.Since(a.CreatedAt) > time.Minute {
				t.Fatalf("attachment = %+v", a)
			}
			// The object is under a generated key, kept (tagged attachment).
			key := attachments.ObjectKey(e.orgA, a.ID)
			if tags, err := e.bucket.Tags(t.Context(), key); err != nil || tags[objects.TagKind] != objects.KindAttach {
				t.Errorf("object %s tags = %v, %v", key, tags, err)
			}
			// Any member who may see the finding downloads it, as a download.
			res := e.download("client1", a.ID)
			got, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK || !bytes.Equal(got, tt.data) {
				t.Fatalf("download = %d, %d bytes", res.StatusCode, len(got))
			}
			if cd := res.Header.Get("Content-Disposition"); cd != attachments.ContentDisposition(tt.file) {
				t.Errorf("Content-Disposition = %q", cd)
			}
			if ct := res.Header.Get("Content-Type"); ct != tt.wantServed {
				t.Errorf("Content-Type = %q, want %q", ct, tt.wantServed)
			}
		})
	}
	res := e.download("viewer", ids[0])
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="Bericht _Q1_ _ final.pdf"`) ||
		!strings.Contains(cd, "filename*=UTF-8''Bericht%20%C2%ABQ1%C2%BB%20%E2%80%93%20final.pdf") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	p := e.list("viewer", e.finding)
	if p.Total != len(tests) || len(p.Items) != len(tests) {
		t.Fatalf("list: total %d, %d items", p.Total, len(p.Items))
	}
	for i, a := range p.Items {
		if a.ID != ids[i] {
			t.Errorf("item %d = %s, want %s (oldest first)", i, a.ID, ids[i])
		}
	}
	r := e.do(http.MethodGet, "/api/v1/findings/"+e.finding+"/attachments?per_page=2&page=2", "viewer", "", nil)
	var pg attPage
	_ = json.Unmarshal(r.body, &pg)
	if r.status != 200 || pg.Total != len(tests) || len(pg.Items) != 2 || pg.Items[0].ID != ids[2] {
		t.Errorf("page 2: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/api/v1/findings/"+e.finding+"/attachments?per_page=101", "viewer", "", nil); r.status != 422 {
		t.Errorf("per_page=101: %d", r.status)
	}
}

func TestAttachRoutesMultipartRefusals(t *testing.T) {
	e := newAttEnv(t)
	s := attSamples
	form := func(field, name string, data []byte, extra ...string) func() (string, []byte) {
		return func() (string, []byte) { return attForm(field, name, data, extra...) }
	}
	tests := []struct {
		name       string
		body       func() (string, []byte)
		want       int
		wantDetail string
	}{
		{"ELF renamed report.pdf", form("file", "report.pdf", s.elf), 415, "application/x-elf"},
		{"PE renamed image.png", form("file", "image.png", s.pe), 415, "portable-executable"},
		{"Mach-O renamed notes.txt", form("file", "notes.txt", s.macho), 415, "mach"},
		{"shell script as text", form("file", "notes.txt", []byte("#!/bin/sh\nid\n")), 415, "not allowed"},
		{"python script as text", form("file", "readme.txt", []byte("#!/usr/bin/env python3\nimport os\n")), 415, "script"},
		{"pdf polyglot", form("file", "x.pdf", append(append([]byte{}, s.elf...), s.pdf...)), 415, "not allowed"},
		{"one byte over the limit", form("file", "big.txt", bytes.Repeat([]byte("a"), attLimit+1)), 413, fmt.Sprint(attLimit)},
		{"far over the limit", form("file", "big.txt", bytes.Repeat([]byte("a"), 3*attLimit)), 413, fmt.Sprint(attLimit)},
		{"empty file", form("file", "empty.txt", nil), 422, "empty"},
		{"no file field", form("other", "a.txt", []byte("hello")), 422, "file"},
		{"not multipart", func() (string, []byte) { return "application/json", []byte(`{"file":"x"}`) }, 415, "multipart"},
		{"no boundary", func() (string, []byte) { return "multipart/form-data", []byte("x") }, 415, "multipart"},
		{"broken multipart", func() (string, []byte) { return "multipart/form-data; boundary=zzz", []byte("--zzz\r\nbroken") }, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := tt.body()
			r := e.do(http.MethodPost, "/api/v1/findings/"+e.finding+"/attachments", "auditor", ct, body)
			if r.status != tt.want || !strings.Contains(strings.ToLower(r.detail()), strings.ToLower(tt.wantDetail)) {
				t.Errorf("= %d %s, want %d with %q", r.status, r.body, tt.want, tt.wantDetail)
			}
		})
	}
	if p := e.list("admin", e.finding); p.Total != 0 || len(p.Items) != 0 {
		t.Errorf("refused uploads listed: %+v", p)
	}
	if keys := e.keys(e.orgA); len(keys) != 0 {
		t.Errorf("refused uploads left objects: %v", keys)
	}
}

func TestAttachRoutesFileNamesSanitised(t *testing.T) {
	e := newAttEnv(t)
	tests := []struct{ in, want string }{
		{"../../etc/passwd", "passwd"},
		{`..\..\Windows\win.ini`, "win.ini"},
		{"/absolute/path/evidence.txt", "evidence.txt"},
		{"rep\x00ort\x1b[0m\r\n.txt", "report[0m.txt"},
		{"invoice\u202Etxt.exe", "invoicetxt.exe"},
		{"\u2067secret\u2069.txt", "secret.txt"},
		{".bashrc", "bashrc"},
		{"", "attachment"},
		{"Cafe\u0301.txt", "Caf\u00e9.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			a := e.mustUpload(e.finding, tt.in, []byte("evidence text\n"))
			if a.FileName != tt.want {
				t.Errorf("file_name = %q, want %q", a.FileName, tt.want)
			}
			res := e.download("auditor", a.ID)
			if cd := res.Header.Get("Content-Disposition"); cd != attachments.ContentDisposition(tt.want) {
				t.Errorf("Content-Disposition = %q", cd)
			}
		})
	}
	// Whatever the name, keys are generated: orgs/<org>/attachments/<id>.
	for _, k := range e.keys(e.orgA) {
		id, ok := strings.CutPrefix(k, "orgs/"+e.orgA+"/attachments/")
		if !ok || !domain.ValidID(id) {
			t.Errorf("object key %q", k)
		}
	}
}

// attStart starts a presigned upload of data as the auditor.
func (e *attEnv) attStart(findingID, name, declared string, size int, data []byte) (attResp, routes.UploadView) {
	e.t.Helper()
	r := e.json(http.MethodPost, "/api/v1/findings/"+findingID+"/attachments/uploads", "auditor",
		map[string]any{"file_name": name, "content_type": declared, "size": size, "sha256": attSHA(data)})
	var v routes.UploadView
	if r.status == http.StatusCreated {
		if err := json.Unmarshal(r.body, &v); err != nil {
			e.t.Fatal(err)
		}
	}
	return r, v
}

// put sends body to a presigned upload with its headers (optionally changed).
func attPut(t *testing.T, up routes.PresignedRequestView, body []byte, change func(http.Header)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(up.Method, up.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range up.Headers {
		if !strings.EqualFold(k, "Content-Length") {
			req.Header.Set(k, v)
		}
	}
	if change != nil {
		change(req.Header)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAttachRoutesPresignedHappyPath(t *testing.T) {
	e := newAttEnv(t)
	// Larger than the multipart limit: the reason this flow exists.
	data := append(append([]byte{}, attSamples.pdf...), bytes.Repeat([]byte("stream data "), 3*attLimit/12)...)
	if r := e.upload("auditor", e.finding, "big.pdf", data); r.status != 413 {
		t.Fatalf("multipart of %d bytes: %d", len(data), r.status)
	}
	r, v := e.attStart(e.finding, "../scan «full».pdf", "application/pdf", len(data), data)
	if r.status != http.StatusCreated {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	a := v.Attachment
	if a.Status != "pending" || a.FileName != "scan «full».pdf" || a.Size != int64(len(data)) || a.SHA256 != attSHA(data) {
		t.Fatalf("pending attachment = %+v", a)
	}
	if v.Upload.Method != http.MethodPut || time.Until(v.Upload.ExpiresAt) <= 0 || time.Until(v.Upload.ExpiresAt) > 11*time.Minute {
		t.Errorf("upload = %+v", v.Upload)
	}
	for _, h := range []string{"Content-Type", "Content-Length", "X-Amz-Checksum-Sha256", "X-Amz-Tagging"} {
		if v.Upload.Headers[h] == "" {
			t.Errorf("upload headers %v lack %s", v.Upload.Headers, h)
		}
	}
	if !strings.Contains(v.Upload.URL, "/orgs/"+e.orgA+"/uploads/"+a.ID) {
		t.Errorf("upload URL %s", v.Upload.URL)
	}
	// Pending: not listed, not downloadable, confirm before the PUT is 409.
	if p := e.list("viewer", e.finding); p.Total != 0 || len(p.Items) != 0 {
		t.Errorf("pending attachment listed: %+v", p)
	}
	if r := e.do(http.MethodGet, "/api/v1/attachments/"+a.ID+"/download", "viewer", "", nil); r.status != 409 {
		t.Errorf("download of a pending attachment: %d", r.status)
	}
	if r := e.do(http.MethodPost, "/api/v1/attachments/"+a.ID+"/confirm", "auditor", "", nil); r.status != 409 {
		t.Errorf("confirm before upload: %d %s", r.status, r.body)
	}
	if status, msg := attPut(t, v.Upload, data, nil); status != 200 {
		t.Fatalf("PUT: %d %s", status, msg)
	}
	r = e.do(http.MethodPost, "/api/v1/attachments/"+a.ID+"/confirm", "auditor", "", nil)
	if r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	c := r.attachment(t)
	if c.Status != "available" || c.ID != a.ID || c.ContentType != "application/pdf" || c.SHA256 != attSHA(data) {
		t.Fatalf("confirmed = %+v", c)
	}
	p := e.list("client1", e.finding)
	if p.Total != 1 || len(p.Items) != 1 || p.Items[0] != c {
		t.Fatalf("list after confirm = %+v", p)
	}
	res := e.download("viewer", a.ID)
	got, _ := io.ReadAll(res.Body)
	if !bytes.Equal(got, data) || res.Header.Get("Content-Disposition") != attachments.ContentDisposition(c.FileName) {
		t.Errorf("download: %d bytes, %q", len(got), res.Header.Get("Content-Disposition"))
	}
	// Moved from uploads/ to attachments/, tagged attachment.
	if keys := e.keys(e.orgA); len(keys) != 1 || keys[0] != attachments.ObjectKey(e.orgA, a.ID) {
		t.Errorf("objects = %v", keys)
	}
	if tags, _ := e.bucket.Tags(t.Context(), attachments.ObjectKey(e.orgA, a.ID)); tags[objects.TagKind] != objects.KindAttach {
		t.Errorf("tags = %v", tags)
	}
	// Confirming again is harmless.
	if r := e.do(http.MethodPost, "/api/v1/attachments/"+a.ID+"/confirm", "auditor", "", nil); r.status != 200 || r.attachment(t) != c {
		t.Errorf("second confirm: %d %s", r.status, r.body)
	}
}

func TestAttachRoutesPresignedRefusals(t *testing.T) {
	e := newAttEnv(t)
	data := []byte("%PDF-1.7\ntrue evidence of a finding\n%%EOF\n")
	other := []byte("%PDF-1.7\nfake evidence of a finding\n%%EOF\n") // same length
	if len(other) != len(data) {
		t.Fatal("samples must have the same length")
	}
	tests := []struct {
		name string
		// putStatus is what storage answers the presigned PUT of body with
		// the signed headers changed by change.
		body      []byte
		change    func(http.Header)
		putStatus int
		// direct, when set, is stored at the upload key behind Rampart's
		// back (as if storage had not enforced the signature).
		direct      []byte
		wantConfirm int
	}{
		{name: "longer body", body: append(append([]byte{}, data...), '!'), putStatus: 403, wantConfirm: 409},
		{name: "other bytes of the same size", body: other, putStatus: 400, wantConfirm: 409},
		{name: "other content type", body: data, change: func(h http.Header) { h.Set("Content-Type", "text/html") }, putStatus: 403, wantConfirm: 409},
		{name: "stored size differs", direct: append(append([]byte{}, data...), "more"...), wantConfirm: 422},
		{name: "stored checksum differs", direct: other, wantConfirm: 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, v := e.attStart(e.finding, "evidence.pdf", "application/pdf", len(data), data)
			if r.status != 201 {
				t.Fatalf("start: %d %s", r.status, r.body)
			}
			id := v.Attachment.ID
			if tt.body != nil {
				status, msg := attPut(t, v.Upload, tt.body, tt.change)
				if status != tt.putStatus {
					t.Errorf("PUT = %d %s, want %d", status, msg, tt.putStatus)
				}
			}
			if tt.direct != nil {
				if err := e.bucket.Put(t.Context(), attachments.UploadKey(e.orgA, id), bytes.NewReader(tt.direct),
					int64(len(tt.direct)), objects.Meta{ContentType: "application/pdf"}); err != nil {
					t.Fatal(err)
				}
			}
			r = e.do(http.MethodPost, "/api/v1/attachments/"+id+"/confirm", "auditor", "", nil)
			if r.status != tt.wantConfirm {
				t.Errorf("confirm = %d %s, want %d", r.status, r.body, tt.wantConfirm)
			}
			if tt.wantConfirm == 422 {
				// Rejected: the upload and the pending attachment are gone.
				if r := e.do(http.MethodPost, "/api/v1/attachments/"+id+"/confirm", "auditor", "", nil); r.status != 404 {
					t.Errorf("confirm after rejection = %d", r.status)
				}
				if _, err := e.bucket.Head(t.Context(), attachments.UploadKey(e.orgA, id)); err == nil {
					t.Error("rejected upload left in storage")
				}
			}
		})
	}
	t.Run("disallowed type", func(t *testing.T) {
		exe := attSamples.elf
		r, v := e.attStart(e.finding, "report.pdf", "application/pdf", len(exe), exe)
		if r.status != 201 {
			t.Fatalf("start: %d %s", r.status, r.body)
		}
		if status, msg := attPut(t, v.Upload, exe, nil); status != 200 {
			t.Fatalf("PUT: %d %s", status, msg)
		}
		r = e.do(http.MethodPost, "/api/v1/attachments/"+v.Attachment.ID+"/confirm", "auditor", "", nil)
		if r.status != 415 || !strings.Contains(r.detail(), "x-elf") {
			t.Errorf("confirm = %d %s, want 415", r.status, r.body)
		}
		if _, err := e.bucket.Head(t.Context(), attachments.UploadKey(e.orgA, v.Attachment.ID)); err == nil {
			t.Error("refused upload left in storage")
		}
	})
	bad := []struct {
		name string
		body map[string]any
		want int
		in   string
	}{
		{"over 25 MiB", map[string]any{"file_name": "a.pdf", "content_type": "application/pdf", "size": 25<<20 + 1, "sha256": attSHA(data)}, 413, "26214400"},
		{"size 0", map[string]any{"file_name": "a.pdf", "content_type": "application/pdf", "size": 0, "sha256": attSHA(data)}, 422, ""},
		{"sha256 not hex", map[string]any{"file_name": "a.pdf", "content_type": "application/pdf", "size": 10, "sha256": strings.Repeat("z", 64)}, 422, ""},
		{"sha256 short", map[string]any{"file_name": "a.pdf", "content_type": "application/pdf", "size": 10, "sha256": "abcd"}, 422, ""},
		{"content type junk", map[string]any{"file_name": "a.pdf", "content_type": "pdf please", "size": 10, "sha256": attSHA(data)}, 422, ""},
		{"no file name", map[string]any{"content_type": "application/pdf", "size": 10, "sha256": attSHA(data)}, 422, ""},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := e.json(http.MethodPost, "/api/v1/findings/"+e.finding+"/attachments/uploads", "auditor", tt.body)
			if r.status != tt.want || !strings.Contains(r.detail(), tt.in) {
				t.Errorf("= %d %s, want %d with %q", r.status, r.body, tt.want, tt.in)
			}
		})
	}
	// Nothing of all this is listed, and nothing but the unconfirmed
	// uploads (tagged upload, expired by the lifecycle rule) is stored.
	if p := e.list("admin", e.finding); p.Total != 0 || len(p.Items) != 0 {
		t.Errorf("listed: %+v", p)
	}
	for _, k := range e.keys(e.orgA) {
		if !strings.HasPrefix(k, "orgs/"+e.orgA+"/uploads/") {
			t.Errorf("object %s outside uploads/", k)
			continue
		}
		if tags, _ := e.bucket.Tags(t.Context(), k); tags[objects.TagKind] != objects.KindUpload {
			t.Errorf("%s tags %v", k, tags)
		}
	}
}

func TestAttachRoutesAccess(t *testing.T) {
	e := newAttEnv(t)
	att := e.mustUpload(e.finding, "a.txt", []byte("evidence\n"))
	attC2 := e.mustUpload(e.findC2, "b.txt", []byte("evidence\n"))
	_, pend := e.attStart(e.finding, "p.pdf", "application/pdf", len(attSamples.pdf), attSamples.pdf)
	ct, form := attForm("file", "x.txt", []byte("text\n"))
	startBody, _ := json.Marshal(map[string]any{"file_name": "a.pdf", "content_type": "application/pdf", "size": 10, "sha256": attSHA(nil)})
	type op struct {
		name, method, path, ctype string
		body                      []byte
		ok                        int
	}
	ops := func(fid, aid, pid string) []op {
		return []op{
			{"list", "GET", "/api/v1/findings/" + fid + "/attachments", "", nil, 200},
			{"download", "GET", "/api/v1/attachments/" + aid + "/download", "", nil, 302},
			{"upload", "POST", "/api/v1/findings/" + fid + "/attachments", ct, form, 201},
			{"start upload", "POST", "/api/v1/findings/" + fid + "/attachments/uploads", "application/json", startBody, 201},
			{"confirm", "POST", "/api/v1/attachments/" + pid + "/confirm", "", nil, 409},
		}
	}
	tests := []struct {
		user string
		fid  string // the finding (and its attachments) the user tries
		aid  string
		want map[string]int // by op name; missing: the op's success code
	}{
		{"viewer", e.finding, att.ID, map[string]int{"upload": 403, "start upload": 403, "confirm": 403}},
		{"client1", e.finding, att.ID, map[string]int{"upload": 403, "start upload": 403, "confirm": 403}},
		{"client2", e.finding, att.ID, map[string]int{"list": 404, "download": 404, "upload": 403, "start upload": 403, "confirm": 403}},
		{"client1", e.findC2, attC2.ID, map[string]int{"list": 404, "download": 404, "upload": 403, "start upload": 403, "confirm": 403}},
		{"adminB", e.finding, att.ID, map[string]int{"list": 404, "download": 404, "upload": 404, "start upload": 404, "confirm": 404}},
		{"", e.finding, att.ID, map[string]int{"list": 401, "download": 401, "upload": 401, "start upload": 401, "confirm": 401}},
		{"auditor", e.finding, att.ID, nil},
	}
	for _, tt := range tests {
		for _, o := range ops(tt.fid, tt.aid, pend.Attachment.ID) {
			t.Run(tt.user+" "+o.name, func(t *testing.T) {
				want, ok := tt.want[o.name]
				if !ok {
					want = o.ok
				}
				r := e.do(o.method, o.path, tt.user, o.ctype, o.body)
				if r.status != want {
					t.Errorf("%s %s = %d %s, want %d", o.method, o.path, r.status, r.body, want)
				}
				if want == 404 && strings.Contains(string(r.body), att.FileName) {
					t.Errorf("404 leaks data: %s", r.body)
				}
			})
		}
	}
	// Deleting: roles first, then other tenants, then the real thing.
	for _, tt := range []struct {
		user string
		want int
	}{{"viewer", 403}, {"client1", 403}, {"adminB", 404}, {"", 401}} {
		if r := e.do(http.MethodDelete, "/api/v1/attachments/"+att.ID, tt.user, "", nil); r.status != tt.want {
			t.Errorf("delete as %q = %d, want %d", tt.user, r.status, tt.want)
		}
	}
	if p := e.list("admin", e.finding); p.Total != 2 { // a.txt and the auditor's upload above
		t.Errorf("after refused deletes: total %d", p.Total)
	}
	// The finding is looked up before the body is parsed: another tenant's
	// finding is 404 whatever the body, the role is checked before both.
	for _, tt := range []struct {
		user string
		want int
	}{{"adminB", 404}, {"client2", 403}, {"viewer", 403}, {"auditor", 415}} {
		r := e.do(http.MethodPost, "/api/v1/findings/"+e.finding+"/attachments", tt.user, "application/json", []byte(`{}`))
		if r.status != tt.want {
			t.Errorf("JSON body to the upload as %s = %d, want %d", tt.user, r.status, tt.want)
		}
	}
	// Another organization's ids are simply not found, for confirm too.
	for _, path := range []string{"/api/v1/attachments/" + att.ID + "/confirm", "/api/v1/attachments/" + pend.Attachment.ID + "/confirm"} {
		if r := e.do(http.MethodPost, path, "adminB", "", nil); r.status != 404 {
			t.Errorf("POST %s as adminB = %d", path, r.status)
		}
	}
	for _, id := range []string{"not-an-id", domain.NewID()} {
		if r := e.do(http.MethodGet, "/api/v1/attachments/"+id+"/download", "admin", "", nil); r.status != 404 {
			t.Errorf("download %s = %d", id, r.status)
		}
	}
	if r := e.do(http.MethodGet, "/api/v1/findings/"+domain.NewID()+"/attachments", "admin", "", nil); r.status != 404 {
		t.Errorf("list of a missing finding = %d", r.status)
	}
}

func TestAttachRoutesDownloadURLs(t *testing.T) {
	e := newAttEnv(t)
	a := e.mustUpload(e.finding, "a.txt", []byte("secret evidence\n"))
	b := e.mustUpload(e.finding, "b.txt", []byte("other evidence\n"))
	r := e.do(http.MethodGet, "/api/v1/attachments/"+a.ID+"/download", "viewer", "", nil)
	loc := r.header.Get("Location")
	if r.status != 302 || loc == "" {
		t.Fatalf("download: %d", r.status)
	}
	u, _ := url.Parse(loc)
	if exp := u.Query().Get("X-Amz-Expires"); exp != "300" {
		t.Errorf("X-Amz-Expires = %s, want 300 (5 minutes)", exp)
	}
	tampered := func(f func(q url.Values, u *url.URL)) string {
		c := *u
		q := c.Query()
		f(q, &c)
		c.RawQuery = q.Encode()
		return c.String()
	}
	tests := []struct {
		name string
		url  string
	}{
		{"signature byte changed", tampered(func(q url.Values, _ *url.URL) {
			sig := []byte(q.Get("X-Amz-Signature"))
			sig[len(sig)-1] ^= 1
			q.Set("X-Amz-Signature", string(sig))
		})},
		{"key changed to another attachment", tampered(func(_ url.Values, c *url.URL) {
			c.Path = strings.Replace(c.Path, a.ID, b.ID, 1)
		})},
		{"disposition changed to inline", tampered(func(q url.Values, _ *url.URL) { q.Set("response-content-disposition", "inline") })},
		{"content type changed", tampered(func(q url.Values, _ *url.URL) { q.Set("response-content-type", "text/html") })},
		{"expiry extended", tampered(func(q url.Values, _ *url.URL) { q.Set("X-Amz-Expires", "604800") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := http.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusForbidden || bytes.Contains(body, []byte("evidence")) {
				t.Errorf("= %d %s, want 403", res.StatusCode, body)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.svc.DownloadURLTTL = time.Second
		defer func() { e.svc.DownloadURLTTL = 0 }()
		r := e.do(http.MethodGet, "/api/v1/attachments/"+a.ID+"/download", "viewer", "", nil)
		time.Sleep(2 * time.Second)
		res, err := http.Get(r.header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("expired URL = %d, want 403", res.StatusCode)
		}
	})
}

func TestAttachRoutesDelete(t *testing.T) {
	e := newAttEnv(t)
	a := e.mustUpload(e.finding, "a.txt", []byte("evidence\n"))
	keep := e.mustUpload(e.finding, "b.txt", []byte("evidence\n"))
	if r := e.do(http.MethodDelete, "/api/v1/attachments/"+a.ID, "auditor", "", nil); r.status != 204 || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if p := e.list("viewer", e.finding); p.Total != 1 || len(p.Items) != 1 || p.Items[0].ID != keep.ID {
		t.Errorf("list after delete = %+v", p)
	}
	for _, path := range []string{"/api/v1/attachments/" + a.ID + "/download"} {
		if r := e.do(http.MethodGet, path, "viewer", "", nil); r.status != 404 {
			t.Errorf("GET %s = %d", path, r.status)
		}
	}
	if r := e.do(http.MethodDelete, "/api/v1/attachments/"+a.ID, "admin", "", nil); r.status != 404 {
		t.Errorf("second delete = %d", r.status)
	}
	// A pending upload is deleted with its uploaded object.
	_, v := e.attStart(e.finding, "p.pdf", "application/pdf", len(attSamples.pdf), attSamples.pdf)
	if status, msg := attPut(t, v.Upload, attSamples.pdf, nil); status != 200 {
		t.Fatalf("PUT: %d %s", status, msg)
	}
	if r := e.do(http.MethodDelete, "/api/v1/attachments/"+v.Attachment.ID, "admin", "", nil); r.status != 204 {
		t.Errorf("delete pending = %d %s", r.status, r.body)
	}
	if keys := e.keys(e.orgA); len(keys) != 1 || keys[0] != attachments.ObjectKey(e.orgA, keep.ID) {
		t.Errorf("objects after deletes = %v", keys)
	}
}

func TestAttachRoutesOpenAPI(t *testing.T) {
	srv := httpapi.New(httpapi.Options{})
	(&routes.Attachments{Attachments: &attachments.Service{}}).Register(srv.API)
	spec, err := httpapi.LiveSpec(srv.API)()
	if err != nil {
		t.Fatal(err)
	}
	testenv.ValidateOpenAPI(t, spec)
	oapi := srv.API.OpenAPI()
	want := map[string]httpapi.Access{
		"GET /api/v1/findings/{id}/attachments":          httpapi.Viewer,
		"POST /api/v1/findings/{id}/attachments":         httpapi.Auditor,
		"POST /api/v1/findings/{id}/attachments/uploads": httpapi.Auditor,
		"POST /api/v1/attachments/{id}/confirm":          httpapi.Auditor,
		"GET /api/v1/attachments/{id}/download":          httpapi.Viewer,
		"DELETE /api/v1/attachments/{id}":                httpapi.Auditor,
	}
	for route, access := range want {
		method, path, _ := strings.Cut(route, " ")
		item := oapi.Paths[path]
		if item == nil {
			t.Errorf("%s missing", route)
			continue
		}
		var got httpapi.Access
		switch method {
		case "GET":
			got, _ = httpapi.AccessOf(item.Get)
		case "POST":
			got, _ = httpapi.AccessOf(item.Post)
		case "DELETE":
			got, _ = httpapi.AccessOf(item.Delete)
		}
		if got != access {
			t.Errorf("%s access = %v, want %v", route, got, access)
		}
	}
	up := oapi.Paths["/api/v1/findings/{id}/attachments"].Post
	if mt := up.RequestBody.Content["multipart/form-data"]; mt == nil || mt.Schema == nil || mt.Schema.Properties["file"] == nil ||
		!strings.Contains(up.Description, "presigned") {
		t.Error("the multipart upload does not document its body and both flows")
	}
}

func attZip(kv ...string) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i+1 < len(kv); i += 2 {
		f, _ := w.CreateHeader(&zip.FileHeader{Name: kv[i], Method: zip.Store})
		_, _ = f.Write([]byte(kv[i+1]))
	}
	_ = w.Close()
	return buf.Bytes()
}

// attSamples are small files of the kinds the tests upload.
var attSamples = struct {
	pdf, png, csv, har, pcapng, docx, html, svg, elf, pe, macho []byte
}{
	pdf:    []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"),
	png:    append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 32)...),
	csv:    []byte("host,port,service\n10.0.0.1,22,ssh\n10.0.0.2,443,https\n10.0.0.3,80,http\n"),
	har:    []byte(`{"log": {"version": "1.2", "creator": {"name": "Firefox", "version": "120"}, "entries": []}}`),
	pcapng: append([]byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0}, make([]byte, 12)...),
	docx:   attZip("[Content_Types].xml", "<Types/>", "word/document.xml", "<w:document/>"),
	html:   []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"),
	svg:    []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>`),
	elf:    append([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0}, make([]byte, 44)...),
	pe:     append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 64)...),
	macho:  append([]byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1, 3, 0, 0, 0, 2, 0, 0, 0}, make([]byte, 16)...),
}
