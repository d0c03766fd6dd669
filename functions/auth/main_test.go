package main

import (
	"strings"
	"testing"

	awsevents "github.com/aws/aws-lambda-go/events"

	"rampart/events/lambdatest"
	"rampart/shared/testenv"
)

// TestLambdaEvents serves every sample event of the auth function through
// the Lambda adapter, against DynamoDB Local: sign-in (JSON and the OAuth2
// password form, which API Gateway delivers base64-encoded) and the
// caller's profile.
func TestLambdaEvents(t *testing.T) {
	p := testenv.Platform(t)
	srv, err := newServer(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	token, _, org := lambdatest.Register(t, p, "owner@example.com", "Stadtwerke Nord")
	signedIn := func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
		t.Helper()
		if body["token_type"] != "bearer" || body["access_token"] == "" || body["refresh_token"] == "" || body["expires_in"].(float64) <= 0 {
			t.Fatalf("token answer %s", r.Body)
		}
		if len(r.Cookies) != 1 {
			t.Fatalf("cookies %q, want the refresh cookie", r.Cookies)
		}
		for _, part := range []string{"refresh_token=" + body["refresh_token"].(string), "Path=/api/v1/auth", "HttpOnly", "Secure", "SameSite=Strict"} {
			if !strings.Contains(r.Cookies[0], part) {
				t.Errorf("cookie %q lacks %q", r.Cookies[0], part)
			}
		}
	}
	cases := map[string]lambdatest.Case{
		"auth/login":      {Status: 200, Check: signedIn},
		"auth/login-form": {Status: 200, Check: signedIn},
		"auth/login-wrong-password": {Status: 401, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, _ map[string]any) {
			if len(r.Cookies) != 0 {
				t.Errorf("a failed sign-in set cookies %q", r.Cookies)
			}
		}},
		"auth/login-malformed": {Status: 400, Check: lambdatest.DetailHas("malformed")},
		"auth/me": {Status: 200, Check: func(t *testing.T, r awsevents.APIGatewayV2HTTPResponse, body map[string]any) {
			ms, _ := body["memberships"].([]any)
			if body["email"] != "owner@example.com" || body["default_organization_id"] != org || len(ms) != 1 {
				t.Fatalf("profile %s", r.Body)
			}
			if m := ms[0].(map[string]any); m["organization_id"] != org || m["role"] != "admin" || m["organization_name"] != "Stadtwerke Nord" {
				t.Errorf("membership %v", m)
			}
		}},
		"auth/me-no-token": {Status: 401, Check: lambdatest.Unauthenticated},
	}
	lambdatest.Serve(t, "auth", srv, map[string]string{"token": token}, cases)
}
