package authz

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
)

// The entities fixtures make, through the API as the organization's admin.
// The asset has a private address that NewOrg lets in and then forbids
// again: the scanner's guard refuses it, so no scan a sweep starts connects
// anywhere (see NewOrg).

func makeClient(ctx context.Context, o *Org) (string, error) {
	return o.Create(ctx, "/api/v1/clients", jsonBody(map[string]string{"name": "Sweep client " + o.Name}))
}

func makeAsset(ctx context.Context, o *Org) (string, error) {
	client, err := o.Entity(ctx, "client", makeClient)
	if err != nil {
		return "", err
	}
	return o.Create(ctx, "/api/v1/assets", jsonBody(map[string]string{"type": "ip", "target": "10.255.255.1",
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

func makeSchedule(ctx context.Context, o *Org) (string, error) {
	asset, err := o.Entity(ctx, "asset", makeAsset)
	if err != nil {
		return "", err
	}
	return o.Create(ctx, "/api/v1/schedules", jsonBody(map[string]any{"name": "Sweep schedule", "cron": "0 3 * * *",
		"asset_ids": []string{asset}}))
}

// attachmentFile is a small text file as a multipart body (field file).
var attachmentFile = Body{ContentType: "multipart/form-data; boundary=sweep-boundary",
	Text: "--sweep-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"sweep.txt\"\r\n" +
		"Content-Type: text/plain\r\n\r\nsweep evidence\r\n--sweep-boundary--\r\n"}

func makeAttachment(ctx context.Context, o *Org) (string, error) {
	finding, err := o.Entity(ctx, "finding", makeFinding)
	if err != nil {
		return "", err
	}
	return o.CreateBody(ctx, "/api/v1/findings/"+finding+"/attachments", attachmentFile)
}

// makeReport queues a CSV report of the session (the status and download
// routes answer it whether it is still queued or already done).
func makeReport(ctx context.Context, o *Org) (string, error) {
	session, err := o.Entity(ctx, "session", makeSession)
	if err != nil {
		return "", err
	}
	return o.Create(ctx, "/api/v1/reports/generate", jsonBody(map[string]string{"session_id": session, "format": "csv"}))
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
	"/api/v1/schedules/{schedule_id}":                    entity("schedule", makeSchedule, "schedule_id"),
	"/api/v1/schedules/{schedule_id}/run":                entity("schedule", makeSchedule, "schedule_id"),
	"/api/v1/taxonomy/versions/{version}":                taxonomyVersion,
	"/api/v1/findings/{id}/attachments":                  entity("finding", makeFinding, "id"),
	"/api/v1/findings/{id}/attachments/uploads":          entity("finding", makeFinding, "id"),
	"/api/v1/attachments/{id}":                           entity("attachment", makeAttachment, "id"),
	"/api/v1/attachments/{id}/confirm":                   entity("attachment", makeAttachment, "id"),
	"/api/v1/attachments/{id}/download":                  entity("attachment", makeAttachment, "id"),
	"/api/v1/reports/status/{task_id}":                   entity("report", makeReport, "task_id"),
	"/api/v1/reports/download/{task_id}":                 entity("report", makeReport, "task_id"),
	"/api/v1/reports/exports/{id}/download":              entity("report", makeReport, "id"),
	"/api/v1/reports/sessions/{id}/pdf":                  entity("session", makeSession, "id"),
	"/api/v1/reports/sessions/{id}/csv":                  entity("session", makeSession, "id"),
	"/api/v1/reports/sessions/{id}/json":                 entity("session", makeSession, "id"),
	"/api/v1/reports/sessions/{id}/exports":              entity("session", makeSession, "id"),
}

// Bodies are valid bodies for the routes with ids (so that a call with
// another organization's ids reaches the handler's lookup), and harmless
// ones where the sweep's own calls would otherwise do something broad.
var Bodies = map[string]Body{
	"POST /api/v1/findings/{id}/attachments": attachmentFile,
	// sha256 of "sweep evidence"
	"POST /api/v1/findings/{id}/attachments/uploads": JSON(`{"file_name":"sweep.txt","content_type":"text/plain","size":14,` +
		`"sha256":"` + sweepSHA + `"}`),

	"PATCH /api/v1/organizations/{org_id}":                     JSON(`{"name":"Swept organization"}`),
	"POST /api/v1/organizations/{org_id}/members":              JSON(`{"email":"sweep-invite-{{unique}}@example.com","role":"viewer"}`),
	"PATCH /api/v1/organizations/{org_id}/members/{member_id}": JSON(`{"role":"viewer"}`),
	"PATCH /api/v1/users/{user_id}":                            JSON(`{"name":"Swept"}`),
	"PATCH /api/v1/clients/{id}":                               JSON(`{"name":"Swept client"}`),
	"PATCH /api/v1/assets/{asset_id}":                          JSON(`{"name":"Swept asset"}`),
	"PATCH /api/v1/sessions/{id}":                              JSON(`{"name":"Swept session"}`),
	"PATCH /api/v1/findings/{id}":                              JSON(`{"title":"Swept finding"}`),
	"PATCH /api/v1/templates/{id}":                             JSON(`{"title":"Swept template"}`),
	"PATCH /api/v1/schedules/{schedule_id}":                    JSON(`{"name":"Swept schedule"}`),
}

var sweepSHA = func() string {
	sum := sha256.Sum256([]byte("sweep evidence"))
	return hex.EncodeToString(sum[:])
}()
