package testenv

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"
)

// ValidateOpenAPI fails the test unless doc is an OpenAPI 3.1 document that
// libopenapi parses and builds into a model without errors, and that is valid
// against the OpenAPI 3.1 JSON Schema.
func ValidateOpenAPI(t testing.TB, doc []byte) {
	t.Helper()
	var head struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		t.Fatalf("openapi document is not JSON: %v", err)
	}
	if !strings.HasPrefix(head.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", head.OpenAPI)
	}
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatalf("libopenapi cannot read the document: %v", err)
	}
	if _, err := d.BuildV3Model(); err != nil {
		t.Fatalf("libopenapi cannot build the 3.1 model: %v", err)
	}
	if ok, errs := schema_validation.ValidateOpenAPIDocument(d); !ok {
		for _, e := range errs {
			t.Errorf("openapi document invalid: %s", e.Error())
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  at %s: %s", se.FieldPath, se.Reason)
			}
		}
		t.FailNow()
	}
}
