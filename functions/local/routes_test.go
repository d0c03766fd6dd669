package main

import (
	"regexp"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/testenv"
)

// TestEveryPathParameterIsDeclared catches an input struct whose path
// parameters huma never sees (an unexported embedded struct is skipped by
// reflection), which would hand handlers empty ids.
func TestEveryPathParameterIsDeclared(t *testing.T) {
	p := testenv.Offline(t, testenv.Config(t))
	srv, err := p.LocalServer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	for path, item := range srv.API.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			for _, m := range param.FindAllStringSubmatch(path, -1) {
				found := false
				for _, prm := range op.Parameters {
					found = found || (prm.In == "path" && prm.Name == m[1])
				}
				if !found {
					t.Errorf("%s %s: path parameter %q is not declared by its input", op.Method, path, m[1])
				}
			}
		}
	}
}
