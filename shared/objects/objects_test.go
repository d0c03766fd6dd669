package objects_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"rampart/shared/objects"
	"rampart/shared/testenv"
)

func newBucket(t *testing.T) *objects.Bucket {
	t.Helper()
	p := testenv.Platform(t)
	return objects.NewBucket(p.AWS.S3, p.Config.Bucket)
}

func send(t *testing.T, method, u string, headers map[string]string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if strings.EqualFold(k, "Content-Length") {
			continue // the transport sets it from the body
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAttachObjectsPresignedPutIsBound(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	body := []byte("%PDF-1.4\nhello attachment\n")
	sum := sha256.Sum256(body)
	other := sha256.Sum256([]byte("something else entirely!!!"))
	tests := []struct {
		name    string
		body    []byte
		headers func(map[string]string)
		wantOK  bool
	}{
		{"exact", body, nil, true},
		{"longer body", append(append([]byte{}, body...), 'x'), nil, false},
		{"shorter body", body[:len(body)-1], nil, false},
		{"same length, other bytes", []byte(strings.Repeat("A", len(body))), nil, false},
		{"other content type", body, func(h map[string]string) { h["Content-Type"] = "text/html" }, false},
		{"other checksum header", body, func(h map[string]string) {
			h["X-Amz-Checksum-Sha256"] = b64(other[:])
		}, false},
		{"no tagging header", body, func(h map[string]string) { delete(h, "X-Amz-Tagging") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "orgs/o/uploads/" + strings.ReplaceAll(tt.name, " ", "-")
			ps, err := b.PresignPut(ctx, key, objects.PutRequest{ContentType: "application/pdf", Size: int64(len(body)),
				SHA256: sum[:], Tags: map[string]string{objects.TagKind: objects.KindUpload}}, time.Minute, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"Content-Type", "Content-Length", "X-Amz-Checksum-Sha256", "X-Amz-Tagging"} {
				if ps.Headers[h] == "" {
					t.Errorf("presigned headers %v lack %s", ps.Headers, h)
				}
			}
			h := map[string]string{}
			for k, v := range ps.Headers {
				h[k] = v
			}
			if tt.headers != nil {
				tt.headers(h)
			}
			status, msg := send(t, ps.Method, ps.URL, h, tt.body)
			_, headErr := b.Head(ctx, key)
			if tt.wantOK {
				if status != http.StatusOK || headErr != nil {
					t.Fatalf("PUT = %d %s, head: %v", status, msg, headErr)
				}
				tags, err := b.Tags(ctx, key)
				if err != nil || tags[objects.TagKind] != objects.KindUpload {
					t.Errorf("tags = %v, %v", tags, err)
				}
				return
			}
			if status < 400 || status >= 500 {
				t.Errorf("PUT = %d, want a 4xx refusal: %s", status, msg)
			}
			if !errors.Is(headErr, objects.ErrNotFound) {
				t.Errorf("object stored after a refused PUT: head err %v", headErr)
			}
		})
	}
}

func b64(b []byte) string {
	return base64Std(b)
}

func TestAttachObjectsPresignedGet(t *testing.T) {
	b := newBucket(t)
	ctx := t.Context()
	key := "orgs/o/attachments/x"
	data := []byte("<html><script>alert(1)</script></html>")
	if err := b.Put(ctx, key, bytes.NewReader(data), int64(len(data)), objects.Meta{ContentType: "text/html",
		Tags: map[string]string{objects.TagKind: objects.KindAttach}}); err != nil {
		t.Fatal(err)
	}
	disp := `attachment; filename="a.html"; filename*=UTF-8''%C3%A4.html`
	u, err := b.PresignGet(ctx, key, "application/octet-stream", disp, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("GET = %d %q", res.StatusCode, got)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != disp {
		t.Errorf("Content-Disposition = %q, want %q", cd, disp)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type = %q", ct)
	}

	t.Run("tampered", func(t *testing.T) {
		pu, _ := url.Parse(u)
		q := pu.Query()
		sig := []byte(q.Get("X-Amz-Signature"))
		sig[0] = map[bool]byte{true: 'b', false: 'a'}[sig[0] == 'a']
		q.Set("X-Amz-Signature", string(sig))
		pu.RawQuery = q.Encode()
		if status, _ := send(t, http.MethodGet, pu.String(), nil, nil); status != http.StatusForbidden {
			t.Errorf("tampered signature: %d, want 403", status)
		}
		other := strings.Replace(u, "/attachments/x", "/attachments/y", 1)
		if status, _ := send(t, http.MethodGet, other, nil, nil); status != http.StatusForbidden {
			t.Errorf("tampered key: %d, want 403", status)
		}
	})
	t.Run("expired", func(t *testing.T) {
		u, err := b.PresignGet(ctx, key, "", "attachment", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2100 * time.Millisecond)
		if status, _ := send(t, http.MethodGet, u, nil, nil); status != http.StatusForbidden {
			t.Errorf("expired URL: %d, want 403", status)
		}
	})
}

func TestAttachObjectsCopyTagsDelete(t *testing.T) {
	b := newBucket(t)
	ctx := context.Background()
	data := []byte("payload")
	sum := sha256.Sum256(data)
	if err := b.Put(ctx, "src", bytes.NewReader(data), int64(len(data)), objects.Meta{ContentType: "text/plain",
		SHA256: sum[:], Tags: map[string]string{objects.TagKind: objects.KindUpload}}); err != nil {
		t.Fatal(err)
	}
	bad := sha256.Sum256([]byte("other"))
	if err := b.Put(ctx, "bad", bytes.NewReader(data), int64(len(data)), objects.Meta{SHA256: bad[:]}); err == nil {
		t.Error("put with a wrong checksum succeeded")
	}
	if err := b.Copy(ctx, "src", "dst", objects.Meta{ContentType: "application/octet-stream", ContentDisposition: "attachment",
		Tags: map[string]string{objects.TagKind: objects.KindAttach}}); err != nil {
		t.Fatal(err)
	}
	info, err := b.Head(ctx, "dst")
	if err != nil || info.Size != int64(len(data)) || info.ContentType != "application/octet-stream" {
		t.Errorf("head dst = %+v, %v", info, err)
	}
	if tags, err := b.Tags(ctx, "dst"); err != nil || tags[objects.TagKind] != objects.KindAttach || len(tags) != 1 {
		t.Errorf("dst tags = %v, %v", tags, err)
	}
	if err := b.SetTags(ctx, "src", map[string]string{objects.TagKind: objects.KindAttach}); err != nil {
		t.Fatal(err)
	}
	if tags, _ := b.Tags(ctx, "src"); tags[objects.TagKind] != objects.KindAttach {
		t.Errorf("src tags after SetTags = %v", tags)
	}
	rc, _, err := b.Open(ctx, "dst")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "payload" {
		t.Errorf("dst body = %q", got)
	}
	if err := b.DeleteMany(ctx, []string{"src", "dst", "never-existed"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "never-existed"); err != nil {
		t.Errorf("delete of a missing object: %v", err)
	}
	for _, k := range []string{"src", "dst"} {
		if _, err := b.Head(ctx, k); !errors.Is(err, objects.ErrNotFound) {
			t.Errorf("%s after delete: %v", k, err)
		}
		if _, _, err := b.Open(ctx, k); !errors.Is(err, objects.ErrNotFound) {
			t.Errorf("open %s after delete: %v", k, err)
		}
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
