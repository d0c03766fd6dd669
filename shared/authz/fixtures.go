package authz

import (
	"context"
	"fmt"
	"net/http"
)

// The entities fixtures make, through the API as the organization's admin.
// Assets point at 127.0.0.1, which the scanner's guard refuses by default, so
// a scan a sweep starts never sends a packet anywhere.

func makeClient(ctx context.Context, o *Org) (string, error) {
	return o.Create(ctx, "/api/v1/clients", jsonBody(map[string]string{"name": "Sweep client " + o.Name}))
}

func makeAsset(ctx context.Context, o *Org) (string, error) {
	client, err := o.Entity(ctx, "client", makeClient)
	if err != nil {
		return "", err
	}
	return o.Create(ctx, "/api/v1/assets", jsonBody(map[string]string{"type": "ip", "target": "127.0.0.1",
		"name": "Sweep asset", "client_id": client}))
}

func makeSession(ctx context.Context, o *Org) (string, error) {
	client, err := o.Entity(ctx, "client", makeClient)
	if err != nil {
		return "", err
	}
	asset, err := o.Entity(ctx, "asset", makeAsset)
	if err != nil {
		return "", err
	}
	return o.Create(ctx, "/api/v1/sessions", jsonBody(map[string]any{"name": "Sweep session", "client_id": client,
		"asset_ids": []string{asset}}))
}

func makeFinding(ctx context.Context, o *Org) (string, error) {
	session, err := o.Entity(ctx, "session", makeSession)
	if err != nil {
		return "", err
	}
	asset, err := o.Entity(ctx, "asset", makeAsset)
	if err != nil {
		return "", err
	}
	return o.Create(ctx, "/api/v1/findings", jsonBody(map[string]string{"session_id": session, "asset_id": asset,
		"title": "Sweep finding", "severity": "low"}))
}

func makeTemplate(ctx context.Context, o *Org) (string, error) {
	return o.Create(ctx, "/api/v1/templates", jsonBody(map[string]string{"title": "Sweep template", "severity": "low"}))
}

func makeScan(ctx context.Context, o *Org) (string, error) {
	asset, err := o.Entity(ctx, "asset", makeAsset)
	if err != nil {
		return "", err
	}
	return o.Create(ctx, "/api/v1/scans", jsonBody(map[string][]string{"asset_ids": {asset}}))
}

// makeVictim is a viewer that member routes may change or remove.
func makeVictim(ctx context.Context, o *Org) (string, error) {
	_, id, err := o.addMember(ctx, "viewer", "")
	return id, err
}

// entity is a fixture of paths whose parameters are all the same kind of id.
func entity(kind string, make func(context.Context, *Org) (string, error), params ...string) Fixture {
	return func(ctx context.Context, o *Org) (map[string]string, bool, error) {
		id, err := o.Entity(ctx, kind, make)
		if err != nil {
			return nil, false, err
		}
		out := map[string]string{}
		for _, p := range params {
			out[p] = id
		}
		return out, true, nil
	}
}

func orgOnly(_ context.Context, o *Org) (map[string]string, bool, error) {
	return map[string]string{"org_id": o.ID}, true, nil
}

func orgMember(ctx context.Context, o *Org) (map[string]string, bool, error) {
	id, err := o.Entity(ctx, "victim", makeVictim)
	return map[string]string{"org_id": o.ID, "member_id": id}, true, err
}

func twoScans(ctx context.Context, o *Org) (map[string]string, bool, error) {
	a, err := o.Entity(ctx, "scan", makeScan)
	if err != nil {
		return nil, false, err
	}
	b, err := o.Entity(ctx, "scan2", makeScan)
	return map[string]string{"scan_id": a, "other_id": b}, true, err
}

// taxonomyVersion: every organization has version 1, so the number is not
// an id of one organization: (d) does not apply.
func taxonomyVersion(ctx context.Context, o *Org) (map[string]string, bool, error) {
	r, err := o.Call(ctx, http.MethodGet, "/api/v1/taxonomy/versions/1", "")
	if err != nil {
		return nil, false, err
	}
	if r.Status != http.StatusOK {
		return nil, false, fmt.Errorf("taxonomy version 1 of %s: %d %s", o.Name, r.Status, r.Body)
	}
	return map[string]string{"version": "1"}, false, nil
}

// Fixtures holds an entry for every path template with parameters. A new
// route with ids needs one here: the sweep fails until it has it.
var Fixtures = map[string]Fixture{
	"/api/v1/organizations/{org_id}":                     orgOnly,
	"/api/v1/organizations/{org_id}/members":             orgOnly,
	"/api/v1/organizations/{org_id}/members/{member_id}": orgMember,
	"/api/v1/users/{user_id}":                            entity("victim", makeVictim, "user_id"),
	"/api/v1/clients/{id}":                               entity("client", makeClient, "id"),
	"/api/v1/assets/{asset_id}":                          entity("asset", makeAsset, "asset_id"),
	"/api/v1/sessions/{id}":                              entity("session", makeSession, "id"),
	"/api/v1/findings/{id}":                              entity("finding", makeFinding, "id"),
	"/api/v1/findings/{id}/history":                      entity("finding", makeFinding, "id"),
	"/api/v1/templates/{id}":                             entity("template", makeTemplate, "id"),
	"/api/v1/scans/{scan_id}":                            entity("scan", makeScan, "scan_id"),
	"/api/v1/scans/{scan_id}/cancel":                     entity("scan", makeScan, "scan_id"),
	"/api/v1/scans/{scan_id}/findings":                   entity("scan", makeScan, "scan_id"),
	"/api/v1/scans/{scan_id}/results":                    entity("scan", makeScan, "scan_id"),
	"/api/v1/scans/{scan_id}/compare/{other_id}":         twoScans,
	"/api/v1/taxonomy/versions/{version}":                taxonomyVersion,
}

// Bodies are valid bodies for the routes with ids (so that a call with
// another organization's ids reaches the handler's lookup), and harmless
// ones where the sweep's own calls would otherwise do something broad.
var Bodies = map[string]string{
	"PATCH /api/v1/organizations/{org_id}":                     `{"name":"Swept organization"}`,
	"POST /api/v1/organizations/{org_id}/members":              `{"email":"sweep-invite-{{unique}}@example.com","role":"viewer"}`,
	"PATCH /api/v1/organizations/{org_id}/members/{member_id}": `{"role":"viewer"}`,
	"PATCH /api/v1/users/{user_id}":                            `{"name":"Swept"}`,
	"PATCH /api/v1/clients/{id}":                               `{"name":"Swept client"}`,
	"PATCH /api/v1/assets/{asset_id}":                          `{"name":"Swept asset"}`,
	"PATCH /api/v1/sessions/{id}":                              `{"name":"Swept session"}`,
	"PATCH /api/v1/findings/{id}":                              `{"title":"Swept finding"}`,
	"PATCH /api/v1/templates/{id}":                             `{"title":"Swept template"}`,
}
