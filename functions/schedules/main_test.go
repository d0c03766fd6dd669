package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"rampart/events"
	"rampart/shared/httpapi"
	"rampart/shared/testenv"
)

// TestScheduleFunctionRoutes: the function serves the schedule routes and
// nothing else.
func TestScheduleFunctionRoutes(t *testing.T) {
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
	want := map[string][]string{
		"/api/v1/schedules":                   {"GET", "POST"},
		"/api/v1/schedules/{schedule_id}":     {"GET", "PATCH", "DELETE"},
		"/api/v1/schedules/{schedule_id}/run": {"POST"},
	}
	for path, methods := range want {
		item := paths[path]
		if item == nil {
			t.Errorf("%s is not served", path)
			continue
		}
		ops := map[string]bool{"GET": item.Get != nil, "POST": item.Post != nil, "PATCH": item.Patch != nil, "DELETE": item.Delete != nil}
		for _, m := range methods {
			if !ops[m] {
				t.Errorf("%s %s is not served", m, path)
			}
		}
	}
	if len(paths) != len(want) {
		t.Errorf("the function serves %d paths, want the %d schedule paths", len(paths), len(want))
	}
}

// TestScheduleFunctionEvents serves every sample event of the function
// through the Lambda adapter, against DynamoDB Local, as a signed-in admin.
func TestScheduleFunctionEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(p)
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.Identity(true)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := id.Register(t.Context(), "owner@example.com", "a long enough password", "Owner", "Events org")
	if err != nil {
		t.Fatal(err)
	}
	handle := httpapi.LambdaHandler(srv)
	checks := map[string]func(t *testing.T, status int, body map[string]any){
		"schedules/create": func(t *testing.T, status int, body map[string]any) {
			if status != 201 || body["cron"] != "30 2 * * *" || body["timezone"] != "Europe/Berlin" || body["target_mode"] != "all" {
				t.Fatalf("%d %v", status, body)
			}
			next, err := time.Parse(time.RFC3339, body["next_run_at"].(string))
			berlin, _ := time.LoadLocation("Europe/Berlin")
			if l := next.In(berlin); err != nil || !next.After(time.Now()) || (l.Hour() != 2 && l.Hour() != 3) {
				t.Fatalf("next_run_at %v (%v)", body["next_run_at"], err)
			}
		},
		"schedules/list": func(t *testing.T, status int, body map[string]any) {
			if status != 200 || body["total"] != 1.0 || body["per_page"] != 10.0 {
				t.Fatalf("%d %v", status, body)
			}
		},
	}
	for _, name := range events.HTTPNames(t, "schedules") { // create sorts before list
		t.Run(name, func(t *testing.T) {
			check, ok := checks[name]
			if !ok {
				t.Fatalf("no expectation for the event %s", name)
			}
			e := events.HTTP(t, name)
			e.Headers["authorization"] = "Bearer " + sess.AccessToken
			res, err := handle(t.Context(), e)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(res.Body), &body); err != nil || strings.TrimSpace(res.Body) == "" {
				t.Fatalf("body %q: %v", res.Body, err)
			}
			check(t, res.StatusCode, body)
		})
	}
}
