package secrets

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"rampart/shared/auth"
)

// Version stages of Secrets Manager.
const (
	StageCurrent = "AWSCURRENT"
	StagePending = "AWSPENDING"
)

// MaxVerifyKeys bounds the verify set: the pending key, the current one and
// the one before it, whose tokens (15 minutes) are long dead by the next
// rotation.
const MaxVerifyKeys = 3

// RotationClient is the part of the Secrets Manager API the rotation needs.
type RotationClient interface {
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

// RotationEvent is what Secrets Manager sends the rotation function.
type RotationEvent struct {
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	Step               string `json:"Step"`
}

// Rotator rotates the JWT signing key: the signing secret holds the PKCS #8
// PEM private key, the verify secret the public keys every function trusts.
// A new key's public half joins the verify set in createSecret, before the
// key can sign anything (finishSecret), so no verifier ever meets a token of
// a key it does not know. Every step is idempotent: Secrets Manager retries.
type Rotator struct {
	Client     RotationClient
	SigningARN string
	VerifyARN  string
	Log        *slog.Logger
}

// Handle runs one step of a rotation.
func (r *Rotator) Handle(ctx context.Context, e RotationEvent) error {
	if r.SigningARN == "" || r.VerifyARN == "" {
		return errors.New("key rotation: the signing and verify secret ARNs are required")
	}
	if e.SecretID != r.SigningARN {
		return fmt.Errorf("key rotation: asked to rotate %q, but this function rotates %q only", e.SecretID, r.SigningARN)
	}
	if e.ClientRequestToken == "" {
		return errors.New("key rotation: the event has no ClientRequestToken")
	}
	d, err := r.Client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(e.SecretID)})
	if err != nil {
		return fmt.Errorf("describe %s: %w", e.SecretID, err)
	}
	if !aws.ToBool(d.RotationEnabled) {
		return fmt.Errorf("secret %s does not have rotation enabled", e.SecretID)
	}
	stages, ok := d.VersionIdsToStages[e.ClientRequestToken]
	if !ok {
		return fmt.Errorf("secret version %s has no stage for rotation of %s", e.ClientRequestToken, e.SecretID)
	}
	if has(stages, StageCurrent) {
		r.log().Info("key rotation: version already current", "step", e.Step, "version", e.ClientRequestToken)
		return nil
	}
	if !has(stages, StagePending) {
		return fmt.Errorf("secret version %s is not pending rotation of %s", e.ClientRequestToken, e.SecretID)
	}
	r.log().Info("key rotation", "step", e.Step, "version", e.ClientRequestToken)
	switch e.Step {
	case "createSecret":
		return r.create(ctx, e.ClientRequestToken)
	case "setSecret":
		// Nothing to set: the key is Rampart's own, no other system holds it.
		return nil
	case "testSecret":
		return r.test(ctx, e.ClientRequestToken)
	case "finishSecret":
		return r.finish(ctx, e.ClientRequestToken, d.VersionIdsToStages)
	default:
		return fmt.Errorf("key rotation: unknown step %q", e.Step)
	}
}

func (r *Rotator) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}

func has(stages []string, s string) bool {
	for _, x := range stages {
		if x == s {
			return true
		}
	}
	return false
}

func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// create makes the pending key, unless a retry finds it made, and puts its
// public key in the verify set.
func (r *Rotator) create(ctx context.Context, token string) error {
	// The current key, if it is one (before the first rotation the secret
	// may hold a placeholder), stays in the verify set.
	var current *auth.SigningKey
	cur, err := r.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(r.SigningARN), VersionStage: aws.String(StageCurrent)})
	switch {
	case err == nil:
		if k, err := auth.DecodePrivate([]byte(aws.ToString(cur.SecretString))); err == nil {
			current = &k
		}
	case !isNotFound(err):
		return fmt.Errorf("read current signing key: %w", err)
	}

	var pending auth.SigningKey
	got, err := r.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(r.SigningARN), VersionId: aws.String(token), VersionStage: aws.String(StagePending)})
	switch {
	case err == nil:
		if pending, err = auth.DecodePrivate([]byte(aws.ToString(got.SecretString))); err != nil {
			return fmt.Errorf("pending signing key %s: %w", token, err)
		}
	case isNotFound(err):
		if pending, err = auth.GenerateKey(); err != nil {
			return err
		}
		pemBytes, err := auth.EncodePrivate(pending.Key)
		if err != nil {
			return err
		}
		if _, err := r.Client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
			SecretId: aws.String(r.SigningARN), ClientRequestToken: aws.String(token),
			SecretString: aws.String(string(pemBytes)), VersionStages: []string{StagePending},
		}); err != nil {
			return fmt.Errorf("put pending signing key: %w", err)
		}
		r.log().Info("key rotation: new signing key", "kid", pending.ID)
	default:
		return fmt.Errorf("read pending signing key: %w", err)
	}

	set, err := r.readVerify(ctx)
	if err != nil {
		return err
	}
	next, changed, err := withKeys(set, pending, current)
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	b, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if _, err := r.Client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(r.VerifyARN), ClientRequestToken: aws.String(token), SecretString: aws.String(string(b)),
	}); err != nil {
		return fmt.Errorf("put verify keys: %w", err)
	}
	return nil
}

// withKeys returns the verify set with the pending key first and the current
// one after it, then the others newest first, at most MaxVerifyKeys.
func withKeys(set VerifySet, pending auth.SigningKey, current *auth.SigningKey) (VerifySet, bool, error) {
	entry := func(k auth.SigningKey) (PublicKey, error) {
		p, err := auth.EncodePublic(k.Key.Public().(ed25519.PublicKey))
		return PublicKey{ID: k.ID, PEM: string(p)}, err
	}
	var head []PublicKey
	e, err := entry(pending)
	if err != nil {
		return VerifySet{}, false, err
	}
	head = append(head, e)
	if current != nil && current.ID != pending.ID {
		c, err := entry(*current)
		if err != nil {
			return VerifySet{}, false, err
		}
		head = append(head, c)
	}
	next := VerifySet{Keys: head}
	for _, k := range set.Keys {
		dup := false
		for _, h := range head {
			dup = dup || h.ID == k.ID
		}
		if !dup {
			next.Keys = append(next.Keys, k)
		}
	}
	if len(next.Keys) > MaxVerifyKeys {
		next.Keys = next.Keys[:MaxVerifyKeys]
	}
	changed := len(next.Keys) != len(set.Keys)
	for i := 0; !changed && i < len(next.Keys); i++ {
		changed = next.Keys[i] != set.Keys[i]
	}
	return next, changed, nil
}

// readVerify reads the verify set; a secret with no value yet, or an empty
// one, is an empty set.
func (r *Rotator) readVerify(ctx context.Context) (VerifySet, error) {
	out, err := r.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(r.VerifyARN), VersionStage: aws.String(StageCurrent)})
	if isNotFound(err) {
		return VerifySet{}, nil
	}
	if err != nil {
		return VerifySet{}, fmt.Errorf("read verify keys: %w", err)
	}
	var set VerifySet
	if s := aws.ToString(out.SecretString); s != "" {
		if err := json.Unmarshal([]byte(s), &set); err != nil {
			return VerifySet{}, fmt.Errorf("verify secret is not a key set: %w", err)
		}
	}
	return set, nil
}

// test checks that the pending key parses, signs, and that verifiers know it.
func (r *Rotator) test(ctx context.Context, token string) error {
	got, err := r.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(r.SigningARN), VersionId: aws.String(token), VersionStage: aws.String(StagePending)})
	if err != nil {
		return fmt.Errorf("read pending signing key: %w", err)
	}
	k, err := auth.DecodePrivate([]byte(aws.ToString(got.SecretString)))
	if err != nil {
		return fmt.Errorf("pending signing key: %w", err)
	}
	set, err := r.readVerify(ctx)
	if err != nil {
		return err
	}
	msg := []byte("rampart key rotation test")
	sig := ed25519.Sign(k.Key, msg)
	for _, pk := range set.Keys {
		if pk.ID != k.ID {
			continue
		}
		pub, err := auth.DecodePublic([]byte(pk.PEM))
		if err != nil {
			return fmt.Errorf("verify key %s: %w", pk.ID, err)
		}
		if !ed25519.Verify(pub, msg, sig) {
			return fmt.Errorf("verify key %s does not match the pending signing key", pk.ID)
		}
		return nil
	}
	return fmt.Errorf("the verify set lacks the pending key %s", k.ID)
}

// finish makes the pending version current.
func (r *Rotator) finish(ctx context.Context, token string, versions map[string][]string) error {
	current := ""
	for id, stages := range versions {
		if has(stages, StageCurrent) {
			current = id
		}
	}
	in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(r.SigningARN),
		VersionStage: aws.String(StageCurrent), MoveToVersionId: aws.String(token)}
	if current != "" {
		in.RemoveFromVersionId = aws.String(current)
	}
	if _, err := r.Client.UpdateSecretVersionStage(ctx, in); err != nil {
		return fmt.Errorf("make version %s current: %w", token, err)
	}
	return nil
}
