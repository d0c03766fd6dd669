package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"rampart"
	"rampart/shared/httpapi"
	"rampart/shared/testenv"
)

// TestOpenAPISnapshot keeps openapi.generated.json (which the health function
// serves in Lambda) equal to the live document of every route. The documents
// are compared as JSON values, so formatting does not matter.
func TestOpenAPISnapshot(t *testing.T) {
	p := testenv.Offline(t, testenv.Config(t))
	srv, err := p.LocalServer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	live, err := httpapi.LiveSpec(srv.API)()
	if err != nil {
		t.Fatal(err)
	}
	testenv.ValidateOpenAPI(t, live)
	var got, want any
	if err := json.Unmarshal(live, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rampart.OpenAPISnapshot, &want); err != nil {
		t.Fatalf("openapi.generated.json is not JSON (%v): run `make openapi`", err)
	}
	if !reflect.DeepEqual(got, want) {
		diffs := jsonDiff("", want, got)
		if len(diffs) > 20 {
			diffs = append(diffs[:20], fmt.Sprintf("... and %d more", len(diffs)-20))
		}
		t.Errorf("openapi.generated.json differs from the live document: run `make openapi` and commit it\n  %s",
			strings.Join(diffs, "\n  "))
	}
}

// jsonDiff names the places where two decoded JSON values differ.
func jsonDiff(at string, a, b any) []string {
	if reflect.DeepEqual(a, b) {
		return nil
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		return []string{fmt.Sprintf("%s: snapshot %s, live %s", orRoot(at), short(a), short(b))}
	}
	keys := map[string]bool{}
	for k := range am {
		keys[k] = true
	}
	for k := range bm {
		keys[k] = true
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []string
	for _, k := range sorted {
		av, ain := am[k]
		bv, bin := bm[k]
		switch {
		case !ain:
			out = append(out, fmt.Sprintf("%s/%s: only in the live document", at, k))
		case !bin:
			out = append(out, fmt.Sprintf("%s/%s: only in the snapshot", at, k))
		default:
			out = append(out, jsonDiff(at+"/"+k, av, bv)...)
		}
	}
	return out
}

func orRoot(at string) string {
	if at == "" {
		return "/"
	}
	return at
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}
