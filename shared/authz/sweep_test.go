package authz

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/domain"
	"rampart/shared/httpapi"
	"rampart/shared/routes"
)

func TestAllows(t *testing.T) {
	scans := httpapi.Viewer.NotForClients()
	cases := []struct {
		a    httpapi.Access
		role domain.Role
		want bool
	}{
		{httpapi.Public, domain.RoleClient, true},
		{httpapi.Authenticated, domain.RoleClient, true},
		{httpapi.Viewer, domain.RoleClient, true},
		{httpapi.Viewer, domain.RoleViewer, true},
		{httpapi.Auditor, domain.RoleViewer, false},
		{httpapi.Auditor, domain.RoleClient, false},
		{httpapi.Auditor, domain.RoleAuditor, true},
		{httpapi.Auditor, domain.RoleAdmin, true},
		{httpapi.Admin, domain.RoleAuditor, false},
		{httpapi.Admin, domain.RoleAdmin, true},
		{scans, domain.RoleClient, false},
		{scans, domain.RoleViewer, true},
		{httpapi.Admin.InOrgParam("org_id"), domain.RoleViewer, false},
	}
	for _, c := range cases {
		if got := Allows(c.a, c.role); got != c.want {
			t.Errorf("Allows(%s, %s) = %v, want %v", c.a, c.role, got, c.want)
		}
	}
}

// TestFromOpenAPIMatchesFromAPI: the served document carries every rule, so
// a sweep of a deployment reads the same table as one in-process.
func TestFromOpenAPIMatchesFromAPI(t *testing.T) {
	srv := httpapi.New(httpapi.Options{})
	(&routes.Auth{}).Register(srv.API)
	m := &routes.Members{}
	m.RegisterUsers(srv.API)
	m.RegisterOrganizations(srv.API)
	httpapi.Register(srv.API, httpapi.Viewer.NotForClients(), huma.Operation{
		OperationID: "sweep-deny-client", Method: http.MethodGet, Path: "/api/v1/sweep/{id}",
	}, func(context.Context, *struct {
		ID string `path:"id"`
	}) (*struct{}, error) {
		return nil, nil
	})

	fromAPI := FromAPI(srv.API)
	doc, err := httpapi.LiveSpec(srv.API)()
	if err != nil {
		t.Fatal(err)
	}
	fromDoc, err := FromOpenAPI(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromAPI) < 20 || !reflect.DeepEqual(fromAPI, fromDoc) {
		for i := range max(len(fromAPI), len(fromDoc)) {
			var a, b Operation
			if i < len(fromAPI) {
				a = fromAPI[i]
			}
			if i < len(fromDoc) {
				b = fromDoc[i]
			}
			if a != b {
				t.Errorf("operation %d: from the API %+v, from the document %+v", i, a, b)
			}
		}
	}
	for _, op := range fromAPI {
		if !op.HasRule {
			t.Errorf("%s has no rule", op)
		}
	}
}

func TestFill(t *testing.T) {
	got := fill("/api/v1/organizations/{org_id}/members/{member_id}", map[string]string{"org_id": "O", "member_id": "M"})
	if got != "/api/v1/organizations/O/members/M" {
		t.Fatal(got)
	}
}
