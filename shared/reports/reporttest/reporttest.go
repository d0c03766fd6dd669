// Package reporttest seeds what report tests need into a store on the
// emulators: a session with findings of every severity (with non-Latin text,
// a formula-looking evidence, a CVSS vector, references and an attachment),
// and a completed scan with observed findings.
package reporttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"rampart/shared/attachments"
	"rampart/shared/cvss"
	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/taxonomy"
)

// UnicodeText is the non-Latin sample every format must keep (the PDF's
// font covers all but the Japanese).
const UnicodeText = "Überprüfung – 日本語 – Ελληνικά – العربية – Проверка"

// Formula is an evidence cell that a spreadsheet would evaluate.
const Formula = `=HYPERLINK("http://x","y")`

// Categories the seeded findings cycle through, with their NIS2 point.
var Categories = []struct{ Value, NIS2 string }{
	{"tls", "h"}, {"http_headers", "e"}, {"nis2_b_incident_handling", "b"}, {"dns", "g"}, {"email_security", "j"},
}

func ctx() context.Context { return context.Background() }

// Taxonomy seeds the built-in taxonomy into an organization.
func Taxonomy(t testing.TB, st *dynamo.Store, org string) {
	t.Helper()
	if _, err := st.SeedTaxonomy(ctx(), org, taxonomy.Builtin()); err != nil {
		t.Fatal(err)
	}
}

// Org creates an organization (with one admin user) under a given id.
func Org(t testing.TB, st *dynamo.Store, orgID, name string) {
	t.Helper()
	now := time.Now().UTC()
	uid := domain.NewID()
	u := domain.User{ID: uid, Email: "u-" + uid + "@example.com", Name: "Owner", DefaultOrgID: orgID, CreatedAt: now, UpdatedAt: now}
	o := domain.Organization{ID: orgID, Name: name, CreatedAt: now, UpdatedAt: now}
	m := domain.Membership{OrgID: orgID, UserID: uid, Role: domain.RoleAdmin, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx(), u, &o, m); err != nil {
		t.Fatal(err)
	}
	Taxonomy(t, st, orgID)
}

// Client creates a client.
func Client(t testing.TB, st *dynamo.Store, org, name string) string {
	t.Helper()
	now := time.Now().UTC()
	c := domain.Client{ID: domain.NewID(), Name: name, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateClient(ctx(), org, c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// Asset creates an asset.
func Asset(t testing.TB, st *dynamo.Store, org, client, typ, target, name string) domain.Asset {
	t.Helper()
	now := time.Now().UTC()
	a := domain.Asset{ID: domain.NewID(), Type: typ, Target: target, Name: name, ClientID: client, CreatedAt: now, UpdatedAt: now}
	if err := st.CreateAsset(ctx(), org, a); err != nil {
		t.Fatal(err)
	}
	return a
}

// Session creates a session of a client with two assets in scope and n
// findings whose severities cycle from info to critical (so that the
// store's order differs from the report's); the first finding gets an
// attachment. It returns the session and its findings' ids.
func Session(t testing.TB, st *dynamo.Store, org, client string, n int) (domain.Session, []string) {
	t.Helper()
	a1 := Asset(t, st, org, client, "domain", fmt.Sprintf("app-%s.example.com", domain.NewID()[18:]), "Web app "+UnicodeText)
	a2 := Asset(t, st, org, client, "api", "", "Partner API")
	now := time.Now().UTC()
	sess := domain.Session{ID: domain.NewID(), Name: "Pentest " + UnicodeText, ClientID: client, AssetIDs: []string{a1.ID, a2.ID},
		Status: "in_progress", StartDate: "2026-06-01", EndDate: "2026-06-30", Description: "Scope: " + UnicodeText,
		CreatedAt: now, UpdatedAt: now}
	if err := st.CreateAssessmentSession(ctx(), org, sess); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < n; i++ {
		sev := domain.Severities[len(domain.Severities)-1-i%len(domain.Severities)]
		asset := a1
		if i%2 == 1 {
			asset = a2
		}
		f := finding(i, sev, asset, time.Now().UTC())
		f.SessionID, f.ClientID, f.Source, f.CreatedBy = sess.ID, client, domain.SourceManual, "tester"
		if err := st.CreateFinding(ctx(), org, f, []domain.HistoryEntry{{ID: domain.NewID(), FindingID: f.ID, Field: "created",
			To: f.Status, ChangedBy: "tester", At: f.CreatedAt}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	if len(ids) > 0 {
		Attach(t, st, org, ids[0], "screenshot "+UnicodeText+".png")
	}
	return sess, ids
}

func finding(i int, sev string, a domain.Asset, now time.Time) domain.Finding {
	cat := Categories[i%len(Categories)]
	vec := "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
	version, score, _ := cvss.Parse(vec)
	return domain.Finding{ID: domain.NewIDAt(now), Title: fmt.Sprintf("Finding %d (%s): %s", i, sev, UnicodeText),
		Description: "Description " + UnicodeText, Severity: sev, Status: "open", Category: cat.Value, NIS2: cat.NIS2,
		AssetID: a.ID, AssetType: a.Type, AssetTarget: a.Target, AssetName: a.Name,
		CVSSVector: vec, CVSSScore: &score, CVSSVersion: version, Evidence: Formula + "\nTLSv1.0 accepted",
		Remediation: "Fix it: " + UnicodeText, References: []string{"https://example.com/advisory/" + fmt.Sprint(i)},
		CreatedAt: now, UpdatedAt: now, Version: 1}
}

// Attach records an available attachment of a finding (the record only:
// reports list attachment names).
func Attach(t testing.TB, st *dynamo.Store, org, findingID, name string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	a := attachments.Attachment{ID: domain.NewID(), FindingID: findingID, FileName: name, ContentType: "image/png",
		Size: 1234, SHA256: hex.EncodeToString(sum[:]), Status: attachments.StatusAvailable, CreatedBy: "tester",
		CreatedAt: time.Now().UTC()}
	if err := st.CreateAttachment(ctx(), org, a); err != nil {
		t.Fatal(err)
	}
}

// Scan creates a scan of one asset that observed n findings (severities
// cycling from info to critical) and ends with the given status (completed,
// or running to leave it unfinished).
func Scan(t testing.TB, st *dynamo.Store, org string, n int, status string) domain.Scan {
	t.Helper()
	a := Asset(t, st, org, "", "domain", fmt.Sprintf("scan-%s.example.com", domain.NewID()[18:]), "")
	now := time.Now().UTC()
	sc := domain.Scan{ID: domain.NewID(), Status: domain.ScanPending, CreatedBy: "tester", Targets: 1, Counts: map[string]int{},
		CreatedAt: now, UpdatedAt: now}
	if err := st.CreateScan(ctx(), org, sc, []domain.ScanTarget{{AssetID: a.ID, Type: a.Type, Target: a.Target}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.ClaimScan(ctx(), org, sc.ID, now, now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("claim scan: %v %v", ok, err)
	}
	for i := 0; i < n; i++ {
		sev := domain.Severities[len(domain.Severities)-1-i%len(domain.Severities)]
		f := finding(i, sev, a, now)
		f.Source, f.CheckID, f.Fingerprint = domain.SourceScan, fmt.Sprintf("check-%d", i), fmt.Sprintf("%s-fp-%d", sc.ID, i)
		if _, err := st.ObserveFinding(ctx(), org, sc.ID, f, now); err != nil {
			t.Fatal(err)
		}
		sc.Counts[sev]++
	}
	if status == domain.ScanRunning {
		sc.Status = domain.ScanRunning
		return sc
	}
	done := time.Now().UTC()
	score := 65.0
	sc.Status, sc.Done, sc.Score, sc.Hosts, sc.LiveHosts, sc.Findings, sc.CompletedAt = status, 1, &score, 1, 1, n, &done
	if err := st.FinishScan(ctx(), org, sc); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetScan(ctx(), org, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
