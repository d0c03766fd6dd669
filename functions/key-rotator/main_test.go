package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"rampart/shared/auth"
	"rampart/shared/secrets"
	"rampart/shared/secrets/smtest"
)

const verifyARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rampart/jwt-verify-GhIjKl"

// sample reads events/secretsmanager/rotation-<step>.json.
func sample(t *testing.T, step string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "secretsmanager", "rotation-"+step+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRotationEvents feeds the sample rotation events, in order, through the
// adapter Lambda uses, against a Secrets Manager on 127.0.0.1.
func TestRotationEvents(t *testing.T) {
	var first events.SecretsManagerSecretRotationEvent
	dec := json.NewDecoder(bytes.NewReader(sample(t, "createSecret")))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&first); err != nil {
		t.Fatalf("sample event: %v", err)
	}
	signingARN, token := first.SecretID, first.ClientRequestToken

	sm := smtest.New(t)
	old, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	oldPEM, _ := auth.EncodePrivate(old.Key)
	sm.Put(signingARN, "v1", aws.String(string(oldPEM)), true, "AWSCURRENT")
	sm.Put(signingARN, token, nil, true, "AWSPENDING")
	sm.Put(verifyARN, "verify-v1", aws.String(`{"keys":[]}`), false, "AWSCURRENT")

	h := lambda.NewHandler(handler(&secrets.Rotator{Client: sm.Client(), SigningARN: signingARN, VerifyARN: verifyARN,
		Log: slog.New(slog.DiscardHandler)}))
	var actions []string
	for _, step := range []string{"createSecret", "setSecret", "testSecret", "finishSecret"} {
		if _, err := h.Invoke(context.Background(), sample(t, step)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		for _, c := range sm.Calls() {
			actions = append(actions, step+":"+c.Action)
		}
	}
	want := []string{
		"createSecret:DescribeSecret", "createSecret:GetSecretValue", "createSecret:GetSecretValue",
		"createSecret:PutSecretValue", "createSecret:GetSecretValue", "createSecret:PutSecretValue",
		"setSecret:DescribeSecret",
		"testSecret:DescribeSecret", "testSecret:GetSecretValue", "testSecret:GetSecretValue",
		"finishSecret:DescribeSecret", "finishSecret:UpdateSecretVersionStage",
	}
	if len(actions) != len(want) {
		t.Fatalf("calls = %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("calls = %v, want %v", actions, want)
		}
	}
	vid, pem, _ := sm.Value(signingARN, "AWSCURRENT")
	k, err := auth.DecodePrivate([]byte(pem))
	if vid != token || err != nil || k.ID == old.ID {
		t.Fatalf("after the rotation: current version %s (%v), key %s; want the new version and a new key", vid, err, k.ID)
	}
	_, set, _ := sm.Value(verifyARN, "AWSCURRENT")
	var vs secrets.VerifySet
	if err := json.Unmarshal([]byte(set), &vs); err != nil || len(vs.Keys) != 2 || vs.Keys[0].ID != k.ID || vs.Keys[1].ID != old.ID {
		t.Fatalf("verify set %s, want the new key then the old one", set)
	}

	// An event for another secret fails the invocation.
	bad := []byte(`{"SecretId":"` + verifyARN + `","ClientRequestToken":"` + token + `","Step":"createSecret"}`)
	if _, err := h.Invoke(context.Background(), bad); err == nil {
		t.Fatal("rotation of another secret accepted")
	}
}
