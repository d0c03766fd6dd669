package main

import (
	"bytes"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/testenv"
)

func TestAttachFunctionRoutes(t *testing.T) {
	srv, err := newServer(testenv.Offline(t, testenv.Config(t)))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := httpapi.LiveSpec(srv.API)()
	if err != nil {
		t.Fatal(err)
	}
	testenv.ValidateOpenAPI(t, spec)
	paths := srv.API.OpenAPI().Paths
	for path, methods := range map[string][]string{
		"/api/v1/findings/{id}/attachments":         {"GET", "POST"},
		"/api/v1/findings/{id}/attachments/uploads": {"POST"},
		"/api/v1/attachments/{id}/confirm":          {"POST"},
		"/api/v1/attachments/{id}/download":         {"GET"},
		"/api/v1/attachments/{id}":                  {"DELETE"},
	} {
		item := paths[path]
		if item == nil {
			t.Errorf("%s is not served", path)
			continue
		}
		for _, m := range methods {
			op := map[string]any{"GET": item.Get, "POST": item.Post, "DELETE": item.Delete}[m]
			if op == nil {
				t.Errorf("%s %s is not served", m, path)
			}
		}
	}
	if len(paths) != 5 {
		t.Errorf("the function serves %d paths, want the 5 attachment paths", len(paths))
	}
}

// The function's body cap lets a multipart upload over the default 1 MiB
// reach the route (here: 401 without a token) when it arrives as API Gateway
// sends it (base64); bodies past the Lambda payload ceiling are 413.
func TestAttachFunctionLambdaBodies(t *testing.T) {
	srv, err := newServer(testenv.Offline(t, testenv.Config(t)))
	if err != nil {
		t.Fatal(err)
	}
	handle := httpapi.LambdaHandler(srv)
	tests := []struct {
		name string
		size int
		want int
	}{
		{"3 MiB upload reaches the route", 3 << 20, http.StatusUnauthorized},
		{"past the payload ceiling", 6<<20 + 1, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			part, _ := w.CreateFormFile("file", "big.txt")
			_, _ = part.Write(bytes.Repeat([]byte("a"), tt.size))
			_ = w.Close()
			path := "/api/v1/findings/" + domain.NewID() + "/attachments"
			res, err := handle(t.Context(), awsevents.APIGatewayV2HTTPRequest{
				Version: "2.0", RouteKey: "$default", RawPath: path,
				Headers:         map[string]string{"content-type": w.FormDataContentType()},
				Body:            base64.StdEncoding.EncodeToString(buf.Bytes()),
				IsBase64Encoded: true,
				RequestContext: awsevents.APIGatewayV2HTTPRequestContext{Stage: "$default",
					HTTP: awsevents.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path, SourceIP: "127.0.0.1"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.want {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tt.want, res.Body)
			}
		})
	}
}
