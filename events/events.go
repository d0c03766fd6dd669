// Package events holds sample Lambda events, as AWS delivers them, and the
// helpers tests use to load them. Every Lambda entry point is exercised with
// these events through the same adapter that runs it in AWS.
//
// Layout: http/<function>/<case>.json are API Gateway HTTP API (payload 2.0)
// events for one function's routes. A function's test loads every event of
// its directory with HTTPNames and HTTP, and fails on an event it has no
// expectation for, so a new file is a new test case. Other event sources
// (EventBridge, Step Functions) get their own directories and an embed line
// below.
package events

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"
)

//go:embed http stepfunctions
var files embed.FS

// Load returns one event file by its path under events/, such as
// "http/health/live.json".
func Load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := files.ReadFile(name)
	if err != nil {
		t.Fatalf("event %s: %v", name, err)
	}
	return b
}

// HTTP returns the API Gateway HTTP API event http/<name>.json, such as
// HTTP(t, "health/live"). Fields that the event type does not know fail the
// test: they are typos.
func HTTP(t testing.TB, name string) awsevents.APIGatewayV2HTTPRequest {
	t.Helper()
	return decodeHTTP(t, name, Load(t, "http/"+name+".json"))
}

// HTTPWith is HTTP for an event with placeholders: every {{key}} in the
// file (a header such as "Bearer {{token}}", the path, the query, the body)
// becomes vars[key] before the strict decoding. Values are plain tokens (ids,
// access tokens): one that would need escaping in JSON fails the test, and so
// does a placeholder without a value. A content-length header is set to the
// length of the filled body, as API Gateway would send it.
func HTTPWith(t testing.TB, name string, vars map[string]string) awsevents.APIGatewayV2HTTPRequest {
	t.Helper()
	text := string(Load(t, "http/"+name+".json"))
	for k, v := range vars {
		if strings.ContainsAny(v, "\"\\{}\n\r\t") {
			t.Fatalf("event http/%s.json: value of {{%s}} is not a plain token: %q", name, k, v)
		}
		text = strings.ReplaceAll(text, "{{"+k+"}}", v)
	}
	if i := strings.Index(text, "{{"); i >= 0 {
		rest, _, _ := strings.Cut(text[i:], "}}")
		t.Fatalf("event http/%s.json: placeholder %s}} has no value", name, rest)
	}
	e := decodeHTTP(t, name, []byte(text))
	if _, ok := e.Headers["content-length"]; ok {
		body := []byte(e.Body)
		if e.IsBase64Encoded {
			var err error
			if body, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
				t.Fatalf("event http/%s.json: body is not base64: %v", name, err)
			}
		}
		e.Headers["content-length"] = strconv.Itoa(len(body))
	}
	return e
}

func decodeHTTP(t testing.TB, name string, b []byte) awsevents.APIGatewayV2HTTPRequest {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e awsevents.APIGatewayV2HTTPRequest
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("event http/%s.json: %v", name, err)
	}
	if e.Version != "2.0" || e.RequestContext.HTTP.Method == "" || e.RawPath == "" {
		t.Fatalf("event http/%s.json is not a payload 2.0 request (version, http.method, rawPath)", name)
	}
	return e
}

// HTTPNames lists the HTTP events of one function, as names for HTTP
// ("health/live", ...), in file name order.
func HTTPNames(t testing.TB, function string) []string {
	t.Helper()
	entries, err := fs.ReadDir(files, path.Join("http", function))
	if err != nil {
		t.Fatalf("events of %s: %v", function, err)
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			out = append(out, function+"/"+name)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no events under events/http/%s", function)
	}
	return out
}
