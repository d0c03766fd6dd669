package routes_test

import (
	"encoding/json"
	"testing"

	"rampart/shared/httpapi"
	"rampart/shared/routes"
	"rampart/shared/testenv"
)

// The taxonomy and template operations produce a valid OpenAPI 3.1 document
// that declares each route's access rule and documents the bodies.
func TestCatalogOpenAPI(t *testing.T) {
	srv := httpapi.New(httpapi.Options{})
	(&routes.Taxonomy{}).Register(srv.API)
	(&routes.Templates{}).Register(srv.API)
	doc, err := httpapi.LiveSpec(srv.API)()
	if err != nil {
		t.Fatal(err)
	}
	testenv.ValidateOpenAPI(t, doc)
	var spec struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Description string `json:"description"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &spec); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"get /api/v1/taxonomy/current":            "Access: viewer.",
		"get /api/v1/taxonomy/versions":           "Access: admin.",
		"post /api/v1/taxonomy/versions":          "Access: admin.",
		"get /api/v1/taxonomy/versions/{version}": "Access: admin.",
		"post /api/v1/taxonomy/activate":          "Access: admin.",
		"get /api/v1/templates":                   "Access: viewer.",
		"post /api/v1/templates":                  "Access: auditor.",
		"get /api/v1/templates/{id}":              "Access: viewer.",
		"patch /api/v1/templates/{id}":            "Access: auditor.",
		"delete /api/v1/templates/{id}":           "Access: auditor.",
	}
	n := 0
	for path, ops := range spec.Paths {
		for method, op := range ops {
			access, ok := want[method+" "+path]
			if !ok {
				t.Errorf("unexpected operation %s %s", method, path)
				continue
			}
			n++
			if len(op.Description) < len(access) || op.Description[len(op.Description)-len(access):] != access {
				t.Errorf("%s %s: description %q does not end in %q", method, path, op.Description, access)
			}
		}
	}
	if n != len(want) {
		t.Errorf("%d operations, want %d", n, len(want))
	}
}
