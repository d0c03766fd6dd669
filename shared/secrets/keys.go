// Package secrets reads the JWT keys from AWS Secrets Manager. The signing
// secret holds the current private key (only the auth function and the key
// rotator may read it); the verify secret holds the public keys of the
// current and recent signing keys, which every function reads.
package secrets

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"rampart/shared/auth"
)

// PublicKey is one entry of the verify secret.
type PublicKey struct {
	ID  string `json:"kid"`
	PEM string `json:"pem"`
}

// VerifySet is the JSON document of the verify secret.
type VerifySet struct {
	Keys []PublicKey `json:"keys"`
}

// Client is the part of the Secrets Manager API the keys need.
type Client interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Keys implements auth.Keys from Secrets Manager, caching what it read for
// MaxAge so a rotation reaches every warm function within that time. A token
// signed with a key id not yet seen triggers one early refresh.
type Keys struct {
	Client     Client
	SigningARN string // empty in verify-only functions
	VerifyARN  string
	MaxAge     time.Duration

	mu          sync.Mutex
	fetched     time.Time
	lastRefresh time.Time
	signing     *auth.SigningKey
	public      map[string]ed25519.PublicKey
}

// Signing implements auth.Keys.
func (k *Keys) Signing(ctx context.Context) (auth.SigningKey, error) {
	if k.SigningARN == "" {
		return auth.SigningKey{}, fmt.Errorf("this function holds no signing key")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refresh(ctx, false); err != nil {
		return auth.SigningKey{}, err
	}
	return *k.signing, nil
}

// Public implements auth.Keys.
func (k *Keys) Public(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refresh(ctx, false); err != nil {
		return nil, err
	}
	if p, ok := k.public[kid]; ok {
		return p, nil
	}
	// A new key may have been rotated in since the last read; look once, but
	// not more often than every 30 s, so junk kids cannot hammer the API.
	if time.Since(k.lastRefresh) > 30*time.Second {
		if err := k.refresh(ctx, true); err != nil {
			return nil, err
		}
		if p, ok := k.public[kid]; ok {
			return p, nil
		}
	}
	return nil, auth.ErrUnknownKey
}

func (k *Keys) refresh(ctx context.Context, force bool) error {
	if !force && k.public != nil && time.Since(k.fetched) < k.MaxAge {
		return nil
	}
	k.lastRefresh = time.Now()
	set, err := k.readVerify(ctx)
	if err != nil {
		return err
	}
	public := map[string]ed25519.PublicKey{}
	for _, pk := range set.Keys {
		p, err := auth.DecodePublic([]byte(pk.PEM))
		if err != nil {
			return fmt.Errorf("verify secret key %s: %w", pk.ID, err)
		}
		public[auth.KeyID(p)] = p
	}
	if k.SigningARN != "" {
		s, err := k.read(ctx, k.SigningARN)
		if err != nil {
			return err
		}
		sk, err := auth.DecodePrivate([]byte(s))
		if err != nil {
			return fmt.Errorf("signing secret: %w", err)
		}
		k.signing = &sk
	}
	k.public, k.fetched = public, time.Now()
	return nil
}

func (k *Keys) readVerify(ctx context.Context) (VerifySet, error) {
	s, err := k.read(ctx, k.VerifyARN)
	if err != nil {
		return VerifySet{}, err
	}
	var set VerifySet
	if err := json.Unmarshal([]byte(s), &set); err != nil {
		return VerifySet{}, fmt.Errorf("verify secret is not a key set: %w", err)
	}
	return set, nil
}

func (k *Keys) read(ctx context.Context, arn string) (string, error) {
	out, err := k.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("secret %s has no string value", arn)
	}
	return *out.SecretString, nil
}
