package blackbox

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestScenario walks every route of the contract in dependency order, as the
// seeded administrator (and a second, self-registered organization for
// tenancy checks): one success and at least one failure per route, each
// failure checked for the error envelope. It speaks HTTP only, so it runs
// against a deployed stack as well. Network rule: the only scan target is a
// private address of an organization whose allow_private_targets setting is
// off when the scan runs, so the scanner refuses it without any traffic.
func TestScenario(t *testing.T) {
	const unknown = "01J0000000000000000000NONE"
	sfx := randHex(4)
	password := "Bb-Passphrase-" + sfx + "-long!"
	anon := client()
	adm := Login(t)

	// step runs one part of the scenario; later parts need the earlier ones.
	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, f) {
			t.FailNow()
		}
	}

	var (
		adminID, orgID                string
		other                         *Client // admin of its own organization
		otherOrgID                    string
		inviteToken, memberID         string
		userID                        string
		clientID, assetID, artefactID string
		sessionID, templateID         string
		findingID, findingID2         string
		scanID, scheduleID, taskID    string
		exportID                      string
	)

	step("auth", func(t *testing.T) {
		t.Run("register", func(t *testing.T) {
			email := "bb-owner-" + sfx + "@example.com"
			r := anon.Do(t, "POST", "/api/v1/auth/register", map[string]any{
				"email": email, "password": password, "name": "BB Owner", "organization_name": "BB Other " + sfx}, nil)
			if r.Status == http.StatusForbidden { // switched off on this stack
				Envelope(t, r, http.StatusForbidden)
				other = client().Login(t, admin.Email, admin.Password) // no second org
				t.Skip("registration is switched off: tenancy checks use unknown ids only")
			}
			tok := str(t, want(t, r, 201), "access_token")
			other = client().WithToken(tok)
			Envelope(t, anon.Do(t, "POST", "/api/v1/auth/register", map[string]any{"email": email, "password": password}, nil), 409)
			Envelope(t, anon.Do(t, "POST", "/api/v1/auth/register", map[string]any{"email": "not-an-email", "password": password}, nil), 422)
			otherOrgID = str(t, want(t, other.Get(t, "/api/v1/auth/me"), 200), "default_organization_id")
		})
		t.Run("login JSON and form", func(t *testing.T) {
			m := want(t, anon.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.Password}, nil), 200)
			if m["token_type"] != "bearer" || str(t, m, "refresh_token") == "" {
				t.Errorf("login answer %v", m)
			}
			form := url.Values{"username": {admin.Email}, "password": {admin.Password}, "grant_type": {"password"}}.Encode()
			r := anon.Do(t, "POST", "/api/v1/auth/login", form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			str(t, want(t, r, 200), "access_token")
			if c := r.Header.Get("Set-Cookie"); !strings.Contains(c, "refresh_token=") || !strings.Contains(c, "HttpOnly") {
				t.Errorf("Set-Cookie = %q", c)
			}
			Envelope(t, anon.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "bb-nobody-" + sfx + "@example.com", "password": "wrong-password-1"}, nil), 401)
		})
		t.Run("refresh body and cookie, logout", func(t *testing.T) {
			m := want(t, anon.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.Password}, nil), 200)
			rt1 := str(t, m, "refresh_token")
			rt2 := str(t, want(t, anon.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": rt1}, nil), 200), "refresh_token")
			r := anon.Do(t, "POST", "/api/v1/auth/refresh", nil, map[string]string{"Cookie": "refresh_token=" + rt2})
			rt3 := str(t, want(t, r, 200), "refresh_token")
			// The rotated token again: 401, and its whole family dies.
			Envelope(t, anon.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": rt1}, nil), 401)
			Envelope(t, anon.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": rt3}, nil), 401)
			Envelope(t, anon.Do(t, "POST", "/api/v1/auth/refresh", nil, nil), 401)

			m = want(t, anon.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.Password}, nil), 200)
			rt := str(t, m, "refresh_token")
			want(t, anon.Do(t, "POST", "/api/v1/auth/logout", map[string]string{"refresh_token": rt}, nil), 204)
			Envelope(t, anon.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": rt}, nil), 401)
			Envelope(t, anon.Do(t, "POST", "/api/v1/auth/logout", `{"refresh_token":`, nil), 400)
		})
		t.Run("me", func(t *testing.T) {
			for _, p := range []string{"/api/v1/auth/me", "/api/v1/users/me"} {
				m := want(t, adm.Get(t, p), 200)
				adminID, orgID = str(t, m, "id"), str(t, m, "default_organization_id")
				m = want(t, adm.Do(t, "PATCH", p, map[string]string{"name": "BB Admin " + sfx}, nil), 200)
				if m["name"] != "BB Admin "+sfx {
					t.Errorf("PATCH %s: name = %v", p, m["name"])
				}
				Envelope(t, anon.Get(t, p), 401)
				Envelope(t, anon.Do(t, "PATCH", p, map[string]string{"name": "x"}, nil), 401)
				Envelope(t, adm.Do(t, "PATCH", p, map[string]any{"name": 5}, nil), 422)
			}
		})
	})

	step("organizations and members", func(t *testing.T) {
		base := "/api/v1/organizations/" + orgID
		it := items(t, want(t, adm.Get(t, "/api/v1/organizations"), 200))
		if len(it) == 0 {
			t.Errorf("no organizations")
		}
		Envelope(t, anon.Get(t, "/api/v1/organizations"), 401)
		want(t, adm.Get(t, base), 200)
		Envelope(t, adm.Get(t, "/api/v1/organizations/"+unknown), 404)
		if otherOrgID != "" {
			Envelope(t, adm.Get(t, "/api/v1/organizations/"+otherOrgID), 404)
		}
		m := want(t, adm.Do(t, "PATCH", base, map[string]any{"settings": map[string]any{"allow_private_targets": false}}, nil), 200)
		if s, _ := m["settings"].(map[string]any); s["allow_private_targets"] != false {
			t.Errorf("settings %v", m["settings"])
		}
		Envelope(t, adm.Do(t, "PATCH", base, map[string]any{"settings": map[string]any{"allow_private_targets": "yes"}}, nil), 422)

		want(t, adm.Get(t, base+"/members"), 200)
		Envelope(t, adm.Get(t, "/api/v1/organizations/"+unknown+"/members"), 404)

		// An unknown email: a pending invitation with a one-time token.
		m = want(t, adm.Do(t, "POST", base+"/members", map[string]any{"email": "bb-invitee-" + sfx + "@example.com", "role": "viewer"}, nil), 201)
		inv, _ := m["invitation"].(map[string]any)
		inviteToken = str(t, inv, "token")
		Envelope(t, adm.Do(t, "POST", base+"/members", map[string]any{"email": "bb-x-" + sfx + "@example.com", "role": "owner"}, nil), 422)

		m = want(t, anon.Do(t, "POST", "/api/v1/auth/accept-invite", map[string]any{"token": inviteToken, "password": password, "name": "BB Invitee"}, nil), 200)
		invitee := client().WithToken(str(t, m, "access_token"))
		me := want(t, invitee.Get(t, "/api/v1/auth/me"), 200)
		memberID = str(t, me, "id")
		Envelope(t, anon.Do(t, "POST", "/api/v1/auth/accept-invite", map[string]any{"token": "bb-unknown-token-" + sfx, "password": password}, nil), 404)

		m = want(t, adm.Do(t, "PATCH", base+"/members/"+memberID, map[string]any{"role": "reviewer"}, nil), 200)
		if m["role"] != "auditor" {
			t.Errorf("role = %v, want auditor", m["role"])
		}
		want(t, adm.Do(t, "PATCH", base+"/members/"+memberID+"?role=viewer", nil, nil), 200)
		Envelope(t, adm.Do(t, "PATCH", base+"/members/"+unknown, map[string]any{"role": "viewer"}, nil), 404)
		// The invitee is a viewer now: the change holds on its next request.
		Envelope(t, invitee.Do(t, "POST", "/api/v1/clients", map[string]any{"name": "nope"}, nil), 403)

		want(t, adm.Do(t, "DELETE", base+"/members/"+memberID, nil, nil), 204)
		Envelope(t, adm.Do(t, "DELETE", base+"/members/"+memberID, nil, nil), 404)
	})

	step("users", func(t *testing.T) {
		want(t, adm.Get(t, "/api/v1/users?role=admin"), 200)
		Envelope(t, adm.Get(t, "/api/v1/users?per_page=1000"), 422)
		want(t, adm.Get(t, "/api/v1/users/reviewers"), 200)
		Envelope(t, anon.Get(t, "/api/v1/users/reviewers"), 401)
		m := want(t, adm.Do(t, "POST", "/api/v1/users", map[string]any{
			"email": "bb-auditor-" + sfx + "@example.com", "name": "BB Auditor", "password": password, "role": "reviewer"}, nil), 201)
		userID = str(t, m, "id")
		if m["role"] != "auditor" {
			t.Errorf("role = %v", m["role"])
		}
		Envelope(t, adm.Do(t, "POST", "/api/v1/users", map[string]any{"email": "bb-y-" + sfx + "@example.com", "role": "root"}, nil), 422)
		want(t, adm.Do(t, "PATCH", "/api/v1/users/"+userID, map[string]any{"name": "BB Auditor Two"}, nil), 200)
		Envelope(t, adm.Do(t, "PATCH", "/api/v1/users/"+unknown, map[string]any{"name": "x"}, nil), 404)
		_ = adminID
	})

	step("clients", func(t *testing.T) {
		m := want(t, adm.Do(t, "POST", "/api/v1/clients", map[string]any{"name": "BB Client " + sfx, "contact_email": "c@example.com"}, nil), 201)
		clientID = str(t, m, "id")
		Envelope(t, adm.Do(t, "POST", "/api/v1/clients", map[string]any{"description": "no name"}, nil), 422)
		want(t, adm.Get(t, "/api/v1/clients?q=BB"), 200)
		Envelope(t, anon.Get(t, "/api/v1/clients"), 401)
		want(t, adm.Get(t, "/api/v1/clients/"+clientID), 200)
		Envelope(t, adm.Get(t, "/api/v1/clients/"+unknown), 404)
		if otherOrgID != "" {
			Envelope(t, other.Get(t, "/api/v1/clients/"+clientID), 404)
		}
		want(t, adm.Do(t, "PATCH", "/api/v1/clients/"+clientID, map[string]any{"description": "patched"}, nil), 200)
		Envelope(t, adm.Do(t, "PATCH", "/api/v1/clients/"+unknown, map[string]any{"description": "x"}, nil), 404)
	})

	step("assets", func(t *testing.T) {
		base := "/api/v1/organizations/" + orgID
		// A private address needs the setting at creation; it is switched
		// off again before any scan, so the scanner refuses the target.
		want(t, adm.Do(t, "PATCH", base, map[string]any{"settings": map[string]any{"allow_private_targets": true}}, nil), 200)
		target := fmt.Sprintf("10.%d.%d.%d", randByte(), randByte(), 1+randByte()%250)
		r := adm.Do(t, "POST", "/api/v1/assets", map[string]any{"type": "ip", "target": target, "name": "BB private " + sfx, "client_id": clientID, "tags": []string{"bb"}}, nil)
		off := adm.Do(t, "PATCH", base, map[string]any{"settings": map[string]any{"allow_private_targets": false}}, nil)
		want(t, off, 200)
		assetID = str(t, want(t, r, 201), "id")
		// With the setting off again, the private target is refused.
		Envelope(t, adm.Do(t, "POST", "/api/v1/assets", map[string]any{"type": "ip", "target": target}, nil), 422)
		Envelope(t, adm.Do(t, "POST", "/api/v1/assets", map[string]any{"type": "ip", "target": "127.0.0.1"}, nil), 422)
		app := map[string]any{"type": "web_application", "target": "https://app-" + sfx + ".example.invalid/", "name": "BB app"}
		m := want(t, adm.Do(t, "POST", "/api/v1/assets", app, nil), 201)
		artefactID = str(t, m, "id")
		Envelope(t, adm.Do(t, "POST", "/api/v1/assets", app, nil), 409)

		want(t, adm.Get(t, "/api/v1/assets?client_id="+clientID), 200)
		Envelope(t, adm.Get(t, "/api/v1/assets?type=no-such-type"), 422)
		r = adm.Get(t, "/api/v1/assets/"+assetID)
		want(t, r, 200)
		Envelope(t, adm.Get(t, "/api/v1/assets/"+unknown), 404)
		if otherOrgID != "" {
			Envelope(t, other.Get(t, "/api/v1/assets/"+assetID), 404)
		}
		want(t, adm.Do(t, "PATCH", "/api/v1/assets/"+assetID, map[string]any{"description": "patched"}, map[string]string{"If-Match": r.Header.Get("ETag")}), 200)
		Envelope(t, adm.Do(t, "PATCH", "/api/v1/assets/"+assetID, map[string]any{"description": "stale"}, map[string]string{"If-Match": r.Header.Get("ETag")}), 412)

		csv := "type,target,name\nrepository,https://git.example.invalid/bb-" + sfx + ",BB repo\n"
		m = want(t, adm.Do(t, "POST", "/api/v1/assets/import", csv, map[string]string{"Content-Type": "text/csv"}), 200)
		if m["created"] != float64(1) {
			t.Errorf("import answer %v", m)
		}
		Envelope(t, adm.Do(t, "POST", "/api/v1/assets/import", "<xml/>", map[string]string{"Content-Type": "application/xml"}), 415)

		m = want(t, adm.Do(t, "POST", "/api/v1/assets", map[string]any{"type": "other", "name": "BB doomed " + sfx}, nil), 201)
		doomed := str(t, m, "id")
		want(t, adm.Do(t, "DELETE", "/api/v1/assets/"+doomed, nil, nil), 204)
		Envelope(t, adm.Do(t, "DELETE", "/api/v1/assets/"+doomed, nil, nil), 404)
	})

	step("sessions", func(t *testing.T) {
		m := want(t, adm.Do(t, "POST", "/api/v1/sessions", map[string]any{"client_id": clientID, "name": "BB session " + sfx, "asset_ids": []string{assetID, artefactID}, "status": "planned"}, nil), 201)
		sessionID = str(t, m, "id")
		Envelope(t, adm.Do(t, "POST", "/api/v1/sessions", map[string]any{"name": "no client"}, nil), 422)
		want(t, adm.Get(t, "/api/v1/sessions?client_id="+clientID), 200)
		Envelope(t, anon.Get(t, "/api/v1/sessions"), 401)
		want(t, adm.Get(t, "/api/v1/sessions/"+sessionID), 200)
		Envelope(t, adm.Get(t, "/api/v1/sessions/"+unknown), 404)
		want(t, adm.Do(t, "PATCH", "/api/v1/sessions/"+sessionID, map[string]any{"status": "in_progress"}, nil), 200)
		Envelope(t, adm.Do(t, "PATCH", "/api/v1/sessions/"+sessionID, map[string]any{"status": "no-such-status"}, nil), 422)
	})

	step("templates", func(t *testing.T) {
		m := want(t, adm.Do(t, "POST", "/api/v1/templates", map[string]any{"title": "BB template " + sfx, "severity": "high", "description": "d", "remediation": "r"}, nil), 201)
		templateID = str(t, m, "id")
		Envelope(t, adm.Do(t, "POST", "/api/v1/templates", map[string]any{"title": "bad", "severity": "apocalyptic"}, nil), 422)
		want(t, adm.Get(t, "/api/v1/templates?severity=high"), 200)
		Envelope(t, anon.Get(t, "/api/v1/templates"), 401)
		want(t, adm.Get(t, "/api/v1/templates/"+templateID), 200)
		Envelope(t, adm.Get(t, "/api/v1/templates/"+unknown), 404)
		want(t, adm.Do(t, "PATCH", "/api/v1/templates/"+templateID, map[string]any{"remediation": "patched"}, nil), 200)
		Envelope(t, adm.Do(t, "PATCH", "/api/v1/templates/"+unknown, map[string]any{"remediation": "x"}, nil), 404)
		m = want(t, adm.Do(t, "POST", "/api/v1/templates", map[string]any{"title": "BB doomed " + sfx, "severity": "low"}, nil), 201)
		doomed := str(t, m, "id")
		want(t, adm.Do(t, "DELETE", "/api/v1/templates/"+doomed, nil, nil), 204)
		Envelope(t, adm.Do(t, "DELETE", "/api/v1/templates/"+doomed, nil, nil), 404)
	})

	step("taxonomy", func(t *testing.T) {
		cur := want(t, adm.Get(t, "/api/v1/taxonomy/current"), 200)
		v0, _ := cur["version"].(float64)
		Envelope(t, anon.Get(t, "/api/v1/taxonomy/current"), 401)
		want(t, adm.Get(t, "/api/v1/taxonomy/versions"), 200)
		Envelope(t, adm.Get(t, "/api/v1/taxonomy/versions?per_page=0"), 422)
		want(t, adm.Get(t, fmt.Sprintf("/api/v1/taxonomy/versions/%d", int(v0))), 200)
		Envelope(t, adm.Get(t, "/api/v1/taxonomy/versions/999999"), 404)
		m := want(t, adm.Do(t, "POST", "/api/v1/taxonomy/versions", cur, nil), 201)
		if v, _ := m["version"].(float64); v <= v0 {
			t.Errorf("new version %v after %v", m["version"], v0)
		}
		Envelope(t, adm.Do(t, "POST", "/api/v1/taxonomy/versions", map[string]any{"domains": map[string]any{"risk_level": []any{}}}, nil), 422)
		want(t, adm.Do(t, "POST", "/api/v1/taxonomy/activate", map[string]any{"version": int(v0)}, nil), 200)
		Envelope(t, adm.Do(t, "POST", "/api/v1/taxonomy/activate", map[string]any{"version": 999999}, nil), 422)
	})

	step("findings", func(t *testing.T) {
		m := want(t, adm.Do(t, "POST", "/api/v1/findings", map[string]any{"session_id": sessionID, "asset_id": assetID, "title": "BB finding " + sfx, "severity": "high", "description": "d"}, nil), 201)
		findingID = str(t, m, "id")
		m = want(t, adm.Do(t, "POST", "/api/v1/findings", map[string]any{"session_id": sessionID, "asset_id": artefactID, "template_id": templateID}, nil), 201)
		findingID2 = str(t, m, "id")
		Envelope(t, adm.Do(t, "POST", "/api/v1/findings", map[string]any{"session_id": sessionID, "title": "no asset"}, nil), 422)
		want(t, adm.Get(t, "/api/v1/findings?severity=high&severity=critical&session_id="+sessionID), 200)
		Envelope(t, adm.Get(t, "/api/v1/findings?sort=bogus"), 422)
		want(t, adm.Get(t, "/api/v1/findings/stats?session_id="+sessionID), 200)
		Envelope(t, adm.Get(t, "/api/v1/findings/stats?severity=apocalyptic"), 422)
		r := adm.Get(t, "/api/v1/findings/"+findingID)
		want(t, r, 200)
		etag := r.Header.Get("ETag")
		Envelope(t, adm.Get(t, "/api/v1/findings/"+unknown), 404)
		if otherOrgID != "" {
			Envelope(t, other.Get(t, "/api/v1/findings/"+findingID), 404)
		}
		want(t, adm.Do(t, "PATCH", "/api/v1/findings/"+findingID, map[string]any{"status": "in_progress"}, map[string]string{"If-Match": etag}), 200)
		Envelope(t, adm.Do(t, "PATCH", "/api/v1/findings/"+findingID, map[string]any{"status": "resolved"}, map[string]string{"If-Match": etag}), 412)
		m = want(t, adm.Do(t, "POST", "/api/v1/findings/bulk-update", map[string]any{"ids": []string{findingID, findingID2}, "status": "accepted_risk", "resolution_note": "bb"}, nil), 200)
		if m["updated"] != float64(2) {
			t.Errorf("bulk answer %v", m)
		}
		Envelope(t, adm.Do(t, "POST", "/api/v1/findings/bulk-update", map[string]any{"ids": []string{findingID}, "status": "bogus"}, nil), 422)
		if len(items(t, want(t, adm.Get(t, "/api/v1/findings/"+findingID+"/history"), 200))) == 0 {
			t.Errorf("empty history")
		}
		Envelope(t, adm.Get(t, "/api/v1/findings/"+unknown+"/history"), 404)
	})

	step("attachments", func(t *testing.T) {
		pngBytes := smallPNG(t)
		body, ctype := multipartFile(t, "bb.png", pngBytes)
		m := want(t, adm.Do(t, "POST", "/api/v1/findings/"+findingID+"/attachments", body, map[string]string{"Content-Type": ctype}), 201)
		attID := str(t, m, "id")
		exe, ctype2 := multipartFile(t, "bb.png", append([]byte("MZ\x90\x00"), bytes.Repeat([]byte{0}, 64)...))
		Envelope(t, adm.Do(t, "POST", "/api/v1/findings/"+findingID+"/attachments", exe, map[string]string{"Content-Type": ctype2}), 415)
		if len(items(t, want(t, adm.Get(t, "/api/v1/findings/"+findingID+"/attachments"), 200))) != 1 {
			t.Errorf("attachment list")
		}
		Envelope(t, adm.Get(t, "/api/v1/findings/"+unknown+"/attachments"), 404)
		r := adm.Get(t, "/api/v1/attachments/"+attID+"/download")
		want(t, r, 302)
		if got := fetch(t, r.Header.Get("Location")); !bytes.Equal(got, pngBytes) {
			t.Errorf("downloaded %d bytes, want the %d uploaded", len(got), len(pngBytes))
		}
		Envelope(t, adm.Get(t, "/api/v1/attachments/"+unknown+"/download"), 404)

		// Presigned flow: issue, PUT with the signed headers, confirm.
		sum := sha256.Sum256(pngBytes)
		req := map[string]any{"file_name": "bb-presigned.png", "content_type": "image/png", "size": len(pngBytes), "sha256": hex.EncodeToString(sum[:])}
		m = want(t, adm.Do(t, "POST", "/api/v1/findings/"+findingID+"/attachments/uploads", req, nil), 201)
		att, _ := m["attachment"].(map[string]any)
		up, _ := m["upload"].(map[string]any)
		pendingID := str(t, att, "id")
		Envelope(t, adm.Do(t, "POST", "/api/v1/attachments/"+pendingID+"/confirm", nil, nil), 409)
		put(t, up, pngBytes)
		m = want(t, adm.Do(t, "POST", "/api/v1/attachments/"+pendingID+"/confirm", nil, nil), 200)
		if m["content_type"] != "image/png" {
			t.Errorf("confirmed %v", m)
		}
		req["size"] = 0
		Envelope(t, adm.Do(t, "POST", "/api/v1/findings/"+findingID+"/attachments/uploads", req, nil), 422)

		want(t, adm.Do(t, "DELETE", "/api/v1/attachments/"+attID, nil, nil), 204)
		Envelope(t, adm.Do(t, "DELETE", "/api/v1/attachments/"+attID, nil, nil), 404)
	})

	step("scans", func(t *testing.T) {
		want(t, adm.Get(t, "/api/v1/scans/checks"), 200)
		Envelope(t, anon.Get(t, "/api/v1/scans/checks"), 401)
		org := want(t, adm.Get(t, "/api/v1/organizations/"+orgID), 200)
		if s, _ := org["settings"].(map[string]any); s["allow_private_targets"] != false {
			t.Fatalf("private targets allowed: %v", org["settings"])
		}
		m := want(t, adm.Do(t, "POST", "/api/v1/scans", map[string]any{"asset_ids": []string{assetID}}, nil), 202)
		scanID = str(t, m, "id")
		Envelope(t, adm.Do(t, "POST", "/api/v1/scans", map[string]any{"asset_ids": []string{artefactID}}, nil), 422)
		m = waitScan(t, adm, scanID)
		if m["status"] != "completed" || m["score"] != nil {
			t.Errorf("scan of a refused target: %v", m)
		}
		Envelope(t, adm.Get(t, "/api/v1/scans/"+unknown), 404)
		want(t, adm.Get(t, "/api/v1/scans?status=completed"), 200)
		Envelope(t, adm.Get(t, "/api/v1/scans?status=bogus"), 422)
		want(t, adm.Get(t, "/api/v1/scans/"+scanID+"/results"), 200)
		Envelope(t, adm.Get(t, "/api/v1/scans/"+unknown+"/results"), 404)
		want(t, adm.Get(t, "/api/v1/scans/"+scanID+"/findings"), 200)
		Envelope(t, adm.Get(t, "/api/v1/scans/"+unknown+"/findings"), 404)
		m = want(t, adm.Get(t, "/api/v1/scans/"+scanID+"/compare/"+scanID), 200)
		if m["from"] != scanID || m["to"] != scanID {
			t.Errorf("compare %v", m)
		}
		Envelope(t, adm.Get(t, "/api/v1/scans/"+scanID+"/compare/"+unknown), 404)
		Envelope(t, adm.Do(t, "POST", "/api/v1/scans/"+scanID+"/cancel", nil, nil), 409)
		// Cancel while pending or running: a scan of one refused target
		// finishes fast, so a cancel may come too late (409): try again.
		cancelled := false
		for i := 0; i < 10 && !cancelled; i++ {
			id := str(t, want(t, adm.Do(t, "POST", "/api/v1/scans", map[string]any{"asset_ids": []string{assetID}}, nil), 202), "id")
			r := adm.Do(t, "POST", "/api/v1/scans/"+id+"/cancel", nil, nil)
			if r.Status == http.StatusConflict {
				Envelope(t, r, http.StatusConflict)
				continue
			}
			want(t, r, 200)
			cancelled = true
			t.Logf("cancelled a scan at attempt %d", i+1)
			if m := waitScan(t, adm, id); m["status"] != "cancelled" {
				t.Errorf("cancelled scan ended %v", m["status"])
			}
		}
		if !cancelled {
			t.Errorf("no scan could be cancelled before it finished")
		}
		if otherOrgID != "" {
			Envelope(t, other.Get(t, "/api/v1/scans/"+scanID), 404)
		}
	})

	step("schedules", func(t *testing.T) {
		m := want(t, adm.Do(t, "POST", "/api/v1/schedules", map[string]any{"name": "BB nightly " + sfx, "cron": "0 3 * * *", "timezone": "Europe/Berlin", "asset_ids": []string{assetID}, "enabled": false}, nil), 201)
		scheduleID = str(t, m, "id")
		if _, ok := m["next_run_at"]; !ok { // null while disabled
			t.Errorf("no next_run_at in %v", m)
		}
		Envelope(t, adm.Do(t, "POST", "/api/v1/schedules", map[string]any{"name": "bad", "cron": "61 * * * *", "asset_ids": []string{assetID}}, nil), 422)
		want(t, adm.Get(t, "/api/v1/schedules"), 200)
		Envelope(t, anon.Get(t, "/api/v1/schedules"), 401)
		want(t, adm.Get(t, "/api/v1/schedules/"+scheduleID), 200)
		Envelope(t, adm.Get(t, "/api/v1/schedules/"+unknown), 404)
		want(t, adm.Do(t, "PATCH", "/api/v1/schedules/"+scheduleID, map[string]any{"timezone": "UTC"}, nil), 200)
		Envelope(t, adm.Do(t, "PATCH", "/api/v1/schedules/"+scheduleID, map[string]any{"timezone": "Mars/Olympus"}, nil), 422)
		m = want(t, adm.Do(t, "POST", "/api/v1/schedules/"+scheduleID+"/run", nil, nil), 202)
		waitScan(t, adm, str(t, m, "id"))
		Envelope(t, adm.Do(t, "POST", "/api/v1/schedules/"+unknown+"/run", nil, nil), 404)
		want(t, adm.Do(t, "DELETE", "/api/v1/schedules/"+scheduleID, nil, nil), 204)
		Envelope(t, adm.Do(t, "DELETE", "/api/v1/schedules/"+scheduleID, nil, nil), 404)
	})

	step("reports", func(t *testing.T) {
		m := want(t, adm.Do(t, "POST", "/api/v1/reports/generate", map[string]any{"scan_id": scanID, "format": "json"}, nil), 202)
		taskID = str(t, m, "task_id")
		Envelope(t, adm.Do(t, "POST", "/api/v1/reports/generate", map[string]any{"scan_id": unknown, "format": "json"}, nil), 404)
		// Not ready yet is 409; ready is 302 (both may be seen here).
		deadline := time.Now().Add(60 * time.Second)
		for {
			m = want(t, adm.Get(t, "/api/v1/reports/status/"+taskID), 200)
			if m["status"] == "succeeded" || m["status"] == "failed" || time.Now().After(deadline) {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if m["status"] != "succeeded" {
			t.Fatalf("report task: %v", m)
		}
		Envelope(t, adm.Get(t, "/api/v1/reports/status/"+unknown), 404)
		r := adm.Get(t, "/api/v1/reports/download/"+taskID)
		want(t, r, 302)
		if got := fetch(t, r.Header.Get("Location")); !bytes.Contains(got, []byte(scanID)) {
			t.Errorf("report does not name its scan: %.200s", got)
		}
		Envelope(t, adm.Get(t, "/api/v1/reports/download/"+unknown), 404)

		for _, f := range []string{"pdf", "csv", "json"} {
			p := "/api/v1/reports/sessions/" + sessionID + "/" + f
			deadline := time.Now().Add(60 * time.Second)
			for {
				r := adm.Get(t, p)
				if r.Status == 202 && time.Now().Before(deadline) {
					if !strings.HasPrefix(r.Header.Get("Location"), "/api/v1/reports/status/") {
						t.Errorf("202 Location = %q", r.Header.Get("Location"))
					}
					time.Sleep(time.Second)
					continue
				}
				want(t, r, 302)
				if len(fetch(t, r.Header.Get("Location"))) == 0 {
					t.Errorf("%s: empty report", f)
				}
				break
			}
			Envelope(t, adm.Get(t, "/api/v1/reports/sessions/"+unknown+"/"+f), 404)
		}
		it := items(t, want(t, adm.Get(t, "/api/v1/reports/sessions/"+sessionID+"/exports"), 200))
		if len(it) < 3 {
			t.Fatalf("%d exports, want 3", len(it))
		}
		exportID = str(t, it[0].(map[string]any), "id")
		Envelope(t, adm.Get(t, "/api/v1/reports/sessions/"+unknown+"/exports"), 404)
		r = adm.Get(t, "/api/v1/reports/exports/"+exportID+"/download")
		want(t, r, 302)
		if len(fetch(t, r.Header.Get("Location"))) == 0 {
			t.Errorf("empty export")
		}
		Envelope(t, adm.Get(t, "/api/v1/reports/exports/"+unknown+"/download"), 404)
	})

	step("delete scan", func(t *testing.T) {
		want(t, adm.Do(t, "DELETE", "/api/v1/scans/"+scanID, nil, nil), 204)
		Envelope(t, adm.Do(t, "DELETE", "/api/v1/scans/"+scanID, nil, nil), 404)
		Envelope(t, adm.Do(t, "POST", "/api/v1/scans/"+scanID+"/cancel", nil, nil), 404)
	})

	step("oidc", func(t *testing.T) {
		// Not configured locally (404 with detail); a configured stack
		// redirects, and the callback without state is refused.
		r := anon.Get(t, "/api/v1/auth/oidc/login")
		if localServer || r.Status != http.StatusFound {
			Envelope(t, r, 404)
		} else { // configured: a return path to another host is refused
			bad := anon.Get(t, "/api/v1/auth/oidc/login?return_to=https://evil.example/")
			if bad.Status < 400 || bad.Status >= 500 {
				t.Fatalf("absolute return_to: %d", bad.Status)
			}
			Envelope(t, bad, bad.Status)
		}
		cb := anon.Get(t, "/api/v1/auth/oidc/callback?state=bogus&code=bogus")
		if cb.Status < 400 || cb.Status >= 500 {
			t.Fatalf("callback: %d %s", cb.Status, cb.Body)
		}
		Envelope(t, cb, cb.Status)
	})

	step("health and document", func(t *testing.T) {
		for _, p := range []string{"/api/v1/health", "/api/v1/health/live", "/api/v1/health/ready", "/api/v1/openapi.json"} {
			want(t, anon.Get(t, p), 200)
			Envelope(t, anon.Do(t, "POST", p, `{}`, nil), 405)
		}
	})
}

// want fails the test unless r has one of the statuses, and returns its JSON
// object (nil when the body is not one).
func want(t testing.TB, r *Response, status ...int) map[string]any {
	t.Helper()
	for _, s := range status {
		if r.Status == s {
			m, _ := r.JSON.(map[string]any)
			return m
		}
	}
	t.Fatalf("status = %d, want %v: %.400s", r.Status, status, r.Body)
	return nil
}

func str(t testing.TB, m map[string]any, key string) string {
	t.Helper()
	s, _ := m[key].(string)
	if s == "" {
		t.Fatalf("no %q in %v", key, m)
	}
	return s
}

func items(t testing.TB, m map[string]any) []any {
	t.Helper()
	it, ok := m["items"].([]any)
	if !ok && m["items"] != nil {
		t.Fatalf("items is %T", m["items"])
	}
	for _, k := range []string{"total", "page", "per_page", "pages"} {
		if _, ok := m[k].(float64); !ok {
			t.Errorf("page lacks %s: %v", k, m)
		}
	}
	return it
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randByte() int {
	b := make([]byte, 1)
	_, _ = rand.Read(b)
	return int(b[0])
}

func smallPNG(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func multipartFile(t testing.TB, name string, data []byte) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// plain is a client for presigned URLs: no Rampart headers, no redirects.
var plain = &http.Client{Timeout: 30 * time.Second}

// fetch GETs a presigned URL (absolute, or relative to the API) and returns
// its bytes.
func fetch(t testing.TB, loc string) []byte {
	t.Helper()
	if loc == "" {
		t.Fatal("no Location")
	}
	if strings.HasPrefix(loc, "/") {
		loc = baseURL + loc
	}
	resp, err := plain.Get(loc)
	if err != nil {
		t.Fatalf("GET %s: %v", loc, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET presigned: %d %.300s", resp.StatusCode, b)
	}
	return b
}

// put sends data to a presigned upload with the headers it was signed with.
func put(t testing.TB, up map[string]any, data []byte) {
	t.Helper()
	method, _ := up["method"].(string)
	if method == "" {
		method = http.MethodPut
	}
	req, err := http.NewRequestWithContext(t.Context(), method, str(t, up, "url"), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	hs, _ := up["headers"].(map[string]any)
	for k, v := range hs {
		switch v := v.(type) {
		case string:
			req.Header.Set(k, v)
		case []any:
			for _, x := range v {
				req.Header.Add(k, fmt.Sprint(x))
			}
		}
	}
	resp, err := plain.Do(req)
	if err != nil {
		t.Fatalf("presigned PUT: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("presigned PUT: %d %.300s", resp.StatusCode, b)
	}
}

// waitScan polls a scan until it is finished (at most a minute).
func waitScan(t testing.TB, c *Client, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m := want(t, c.Get(t, "/api/v1/scans/"+id), 200)
		switch m["status"] {
		case "completed", "failed", "cancelled":
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("scan %s not finished after 60 s: %v", id, m)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
