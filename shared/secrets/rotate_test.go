package secrets_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"rampart/shared/auth"
	"rampart/shared/secrets"
	"rampart/shared/secrets/smtest"
)

const (
	signingARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rampart/jwt-signing-AbCdEf"
	verifyARN  = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rampart/jwt-verify-GhIjKl"
	token1     = "6f2c1a7e-1d3b-4c5a-9e8f-0a1b2c3d4e5f"
	token2     = "0b9c8d7e-6f5a-4b3c-8d2e-1f0a9b8c7d6e"
)

func mustKey(t *testing.T) auth.SigningKey {
	t.Helper()
	k, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemOf(t *testing.T, k auth.SigningKey) string {
	t.Helper()
	b, err := auth.EncodePrivate(k.Key)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func entryOf(t *testing.T, k auth.SigningKey) secrets.PublicKey {
	t.Helper()
	b, err := auth.EncodePublic(k.Key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return secrets.PublicKey{ID: k.ID, PEM: string(b)}
}

func setJSON(t *testing.T, keys ...secrets.PublicKey) *string {
	t.Helper()
	b, err := json.Marshal(secrets.VerifySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return aws.String(string(b))
}

func verifySet(t *testing.T, sm *smtest.Server) secrets.VerifySet {
	t.Helper()
	_, v, ok := sm.Value(verifyARN, "AWSCURRENT")
	if !ok {
		t.Fatal("verify secret has no current value")
	}
	var set secrets.VerifySet
	if err := json.Unmarshal([]byte(v), &set); err != nil {
		t.Fatal(err)
	}
	return set
}

func kids(set secrets.VerifySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.ID)
	}
	return out
}

// want is an expected call: the action and the body fields that matter
// (every field of the request must be listed: extra ones fail).
type want struct {
	action string
	body   map[string]any
}

func checkCalls(t *testing.T, got []smtest.Call, wants ...want) {
	t.Helper()
	if len(got) != len(wants) {
		var names []string
		for _, c := range got {
			names = append(names, fmt.Sprintf("%s %v", c.Action, c.Body))
		}
		t.Fatalf("%d calls, want %d:\n  %s", len(got), len(wants), strings.Join(names, "\n  "))
	}
	for i, w := range wants {
		c := got[i]
		if c.Action != w.action {
			t.Errorf("call %d: %s, want %s", i, c.Action, w.action)
			continue
		}
		for k, v := range w.body {
			if v == anyValue {
				if _, ok := c.Body[k]; !ok {
					t.Errorf("call %d %s: no %s", i, c.Action, k)
				}
				continue
			}
			if !reflect.DeepEqual(c.Body[k], v) {
				t.Errorf("call %d %s: %s = %#v, want %#v", i, c.Action, k, c.Body[k], v)
			}
		}
		for k := range c.Body {
			if _, ok := w.body[k]; !ok {
				t.Errorf("call %d %s: unexpected field %s = %v", i, c.Action, k, c.Body[k])
			}
		}
	}
}

// anyValue in a want says the field must be present with any value.
const anyValue = "<any>"

func describe() want { return want{"DescribeSecret", map[string]any{"SecretId": signingARN}} }
func getCurrent(arn string) want {
	return want{"GetSecretValue", map[string]any{"SecretId": arn, "VersionStage": "AWSCURRENT"}}
}
func getPending(tok string) want {
	return want{"GetSecretValue", map[string]any{"SecretId": signingARN, "VersionId": tok, "VersionStage": "AWSPENDING"}}
}

func newRotator(sm *smtest.Server) *secrets.Rotator {
	return &secrets.Rotator{Client: sm.Client(), SigningARN: signingARN, VerifyARN: verifyARN,
		Log: slog.New(slog.DiscardHandler)}
}

func step(t *testing.T, r *secrets.Rotator, tok, s string) {
	t.Helper()
	if err := r.Handle(context.Background(), secrets.RotationEvent{SecretID: signingARN, ClientRequestToken: tok, Step: s}); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
}

func TestFirstRotation(t *testing.T) {
	sm := smtest.New(t)
	// Before the first rotation the signing secret holds what the stack
	// generated (not a key), and the verify set is empty.
	sm.Put(signingARN, "initial", aws.String("generated-placeholder"), true, "AWSCURRENT")
	sm.Put(signingARN, token1, nil, true, "AWSPENDING") // made by Secrets Manager when rotation starts
	sm.Put(verifyARN, "verify-initial", aws.String(`{"keys":[]}`), false, "AWSCURRENT")
	r := newRotator(sm)

	step(t, r, token1, "createSecret")
	_, pendingPEM, ok := sm.Value(signingARN, "AWSPENDING")
	if !ok {
		t.Fatal("no pending value after createSecret")
	}
	pending, err := auth.DecodePrivate([]byte(pendingPEM))
	if err != nil {
		t.Fatalf("pending value is not a key: %v", err)
	}
	set := verifySet(t, sm)
	if !reflect.DeepEqual(set.Keys, []secrets.PublicKey{entryOf(t, pending)}) {
		t.Fatalf("verify set = %v, want only the pending key", kids(set))
	}
	checkCalls(t, sm.Calls(),
		describe(),
		getCurrent(signingARN),
		getPending(token1),
		want{"PutSecretValue", map[string]any{"SecretId": signingARN, "ClientRequestToken": token1,
			"SecretString": pendingPEM, "VersionStages": []any{"AWSPENDING"}}},
		getCurrent(verifyARN),
		want{"PutSecretValue", map[string]any{"SecretId": verifyARN, "ClientRequestToken": token1,
			"SecretString": *setJSON(t, entryOf(t, pending))}},
	)

	step(t, r, token1, "setSecret")
	checkCalls(t, sm.Calls(), describe())

	step(t, r, token1, "testSecret")
	checkCalls(t, sm.Calls(), describe(), getPending(token1), getCurrent(verifyARN))

	step(t, r, token1, "finishSecret")
	checkCalls(t, sm.Calls(), describe(),
		want{"UpdateSecretVersionStage", map[string]any{"SecretId": signingARN, "VersionStage": "AWSCURRENT",
			"MoveToVersionId": token1, "RemoveFromVersionId": "initial"}})
	if got := sm.Stages(signingARN); !reflect.DeepEqual(got, map[string][]string{token1: {"AWSCURRENT"}, "initial": {"AWSPREVIOUS"}}) {
		t.Fatalf("stages after finish = %v", got)
	}

	// The functions' key source now signs with the new key and verifies it.
	keys := &secrets.Keys{Client: sm.Client(), SigningARN: signingARN, VerifyARN: verifyARN, MaxAge: time.Minute}
	tokens := &auth.Tokens{Keys: keys, Issuer: "rampart", Audience: "rampart-api", TTL: 15 * time.Minute, Clock: func() time.Time { return time.Now().UTC() }}
	tok, _, err := tokens.Mint(context.Background(), "user", "session")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Verify(context.Background(), tok); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if sk, _ := keys.Signing(context.Background()); sk.ID != pending.ID {
		t.Fatalf("signing with %s, want the rotated key %s", sk.ID, pending.ID)
	}

	// Finishing again is a no-op: the version is current.
	sm.Calls()
	step(t, r, token1, "finishSecret")
	checkCalls(t, sm.Calls(), describe())
}

func TestLaterRotation(t *testing.T) {
	sm := smtest.New(t)
	current, older, oldest := mustKey(t), mustKey(t), mustKey(t)
	sm.Put(signingARN, token1, aws.String(pemOf(t, current)), true, "AWSCURRENT")
	sm.Put(signingARN, token2, nil, true, "AWSPENDING")
	sm.Put(verifyARN, "verify-v3", setJSON(t, entryOf(t, current), entryOf(t, older), entryOf(t, oldest)), false, "AWSCURRENT")
	r := newRotator(sm)

	// A token signed with the current key before the rotation.
	ctx := context.Background()
	verifier := func() *auth.Tokens {
		return &auth.Tokens{Keys: &secrets.Keys{Client: sm.Client(), VerifyARN: verifyARN, MaxAge: 0},
			Issuer: "rampart", Audience: "rampart-api", TTL: 15 * time.Minute, Clock: func() time.Time { return time.Now().UTC() }}
	}
	minter := &auth.Tokens{Keys: auth.NewStaticKeys(&current), Issuer: "rampart", Audience: "rampart-api", TTL: 15 * time.Minute,
		Clock: func() time.Time { return time.Now().UTC() }}
	before, _, err := minter.Mint(ctx, "user", "s")
	if err != nil {
		t.Fatal(err)
	}

	step(t, r, token2, "createSecret")
	_, pendingPEM, _ := sm.Value(signingARN, "AWSPENDING")
	pending, err := auth.DecodePrivate([]byte(pendingPEM))
	if err != nil {
		t.Fatal(err)
	}
	wantSet := []secrets.PublicKey{entryOf(t, pending), entryOf(t, current), entryOf(t, older)}
	if got := verifySet(t, sm); !reflect.DeepEqual(got.Keys, wantSet) {
		t.Fatalf("verify set = %v, want the pending, current and previous keys %v", kids(got), kids(secrets.VerifySet{Keys: wantSet}))
	}
	checkCalls(t, sm.Calls(),
		describe(),
		getCurrent(signingARN),
		getPending(token2),
		want{"PutSecretValue", map[string]any{"SecretId": signingARN, "ClientRequestToken": token2,
			"SecretString": pendingPEM, "VersionStages": []any{"AWSPENDING"}}},
		getCurrent(verifyARN),
		want{"PutSecretValue", map[string]any{"SecretId": verifyARN, "ClientRequestToken": token2,
			"SecretString": *setJSON(t, wantSet...)}},
	)

	// Verifiers know the new key before it signs; the old key's tokens still
	// verify.
	if _, err := verifier().Verify(ctx, before); err != nil {
		t.Fatalf("token of the current key after createSecret: %v", err)
	}

	// A retried createSecret changes nothing.
	sm.Calls()
	step(t, r, token2, "createSecret")
	checkCalls(t, sm.Calls(), describe(), getCurrent(signingARN), getPending(token2), getCurrent(verifyARN))
	if _, again, _ := sm.Value(signingARN, "AWSPENDING"); again != pendingPEM {
		t.Fatal("a retried createSecret replaced the pending key")
	}

	step(t, r, token2, "setSecret")
	step(t, r, token2, "testSecret")
	step(t, r, token2, "finishSecret")
	calls := sm.Calls()
	checkCalls(t, calls[len(calls)-2:], describe(),
		want{"UpdateSecretVersionStage", map[string]any{"SecretId": signingARN, "VersionStage": "AWSCURRENT",
			"MoveToVersionId": token2, "RemoveFromVersionId": token1}})

	newMinter := &auth.Tokens{Keys: &secrets.Keys{Client: sm.Client(), SigningARN: signingARN, VerifyARN: verifyARN},
		Issuer: "rampart", Audience: "rampart-api", TTL: 15 * time.Minute, Clock: func() time.Time { return time.Now().UTC() }}
	after, _, err := newMinter.Mint(ctx, "user", "s")
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"before rotation": before, "after rotation": after} {
		if _, err := verifier().Verify(ctx, tok); err != nil {
			t.Errorf("token %s: %v", name, err)
		}
	}
}

func TestRotationRefusals(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*smtest.Server, *secrets.Rotator) {
		sm := smtest.New(t)
		k := mustKey(t)
		sm.Put(signingARN, "v1", aws.String(pemOf(t, k)), true, "AWSCURRENT")
		sm.Put(signingARN, token1, nil, true, "AWSPENDING")
		sm.Put(verifyARN, "verify-v1", setJSON(t, entryOf(t, k)), false, "AWSCURRENT")
		return sm, newRotator(sm)
	}
	for name, ev := range map[string]secrets.RotationEvent{
		"another secret":                  {SecretID: verifyARN, ClientRequestToken: token1, Step: "createSecret"},
		"unknown version":                 {SecretID: signingARN, ClientRequestToken: token2, Step: "createSecret"},
		"current, not pending but listed": {SecretID: signingARN, ClientRequestToken: "v0", Step: "createSecret"},
		"unknown step":                    {SecretID: signingARN, ClientRequestToken: token1, Step: "dropSecret"},
		"no token":                        {SecretID: signingARN, Step: "createSecret"},
	} {
		t.Run(name, func(t *testing.T) {
			sm, r := setup(t)
			sm.Put(signingARN, "v0", aws.String("old"), true) // a version with no stage
			if err := r.Handle(ctx, ev); err == nil {
				t.Fatal("accepted")
			}
			for _, c := range sm.Calls() {
				if c.Action == "PutSecretValue" || c.Action == "UpdateSecretVersionStage" {
					t.Errorf("a refused step wrote: %s %v", c.Action, c.Body)
				}
			}
		})
	}
	t.Run("rotation not enabled", func(t *testing.T) {
		sm := smtest.New(t)
		sm.Put(signingARN, token1, nil, false, "AWSPENDING")
		if err := newRotator(sm).Handle(ctx, secrets.RotationEvent{SecretID: signingARN, ClientRequestToken: token1, Step: "createSecret"}); err == nil {
			t.Fatal("accepted")
		}
	})
	t.Run("testSecret without the key in the verify set", func(t *testing.T) {
		sm, r := setup(t)
		step(t, r, token1, "createSecret")
		sm.Put(verifyARN, "tampered", setJSON(t, entryOf(t, mustKey(t))), false, "AWSCURRENT")
		if err := r.Handle(ctx, secrets.RotationEvent{SecretID: signingARN, ClientRequestToken: token1, Step: "testSecret"}); err == nil {
			t.Fatal("testSecret passed though verifiers do not know the key")
		}
	})
	t.Run("testSecret with a pending value that is no key", func(t *testing.T) {
		sm, r := setup(t)
		sm.Put(signingARN, token1, aws.String("not a key"), true, "AWSPENDING")
		if err := r.Handle(ctx, secrets.RotationEvent{SecretID: signingARN, ClientRequestToken: token1, Step: "testSecret"}); err == nil {
			t.Fatal("testSecret passed with junk")
		}
	})
	t.Run("missing configuration", func(t *testing.T) {
		r := &secrets.Rotator{Client: smtest.New(t).Client(), SigningARN: signingARN}
		if err := r.Handle(ctx, secrets.RotationEvent{SecretID: signingARN, ClientRequestToken: token1, Step: "createSecret"}); err == nil {
			t.Fatal("accepted without a verify ARN")
		}
	})
}
