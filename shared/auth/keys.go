// Package auth mints and verifies access tokens, hashes passwords, and
// establishes the principal of a request. Only the auth function holds a
// signing key; every other function verifies with public keys alone.
package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Algorithm is the only signing algorithm Rampart issues or accepts. Ed25519
// keys are small, signatures fast, and the algorithm has no parameter choices
// to get wrong.
const Algorithm = "EdDSA"

// SigningKey is a private key with its key id (the JWT `kid` header).
type SigningKey struct {
	ID  string
	Key ed25519.PrivateKey
}

// Keys supplies the current signing key and the public keys by id. Rotation
// adds a new signing key while earlier public keys stay valid for verification
// until the tokens they signed have expired.
type Keys interface {
	Signing(ctx context.Context) (SigningKey, error)
	Public(ctx context.Context, kid string) (ed25519.PublicKey, error)
}

// ErrUnknownKey is returned for a kid no key set holds.
var ErrUnknownKey = errors.New("unknown key id")

// KeyID derives a stable id from a public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// GenerateKey makes a new signing key.
func GenerateKey() (SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, err
	}
	return SigningKey{ID: KeyID(pub), Key: priv}, nil
}

// StaticKeys is a fixed key set: the local server and tests. Verify-only
// functions have no signing key.
type StaticKeys struct {
	signing *SigningKey
	public  map[string]ed25519.PublicKey
}

// NewStaticKeys holds the signing key (may be nil) and extra public keys.
func NewStaticKeys(signing *SigningKey, public ...ed25519.PublicKey) *StaticKeys {
	k := &StaticKeys{signing: signing, public: map[string]ed25519.PublicKey{}}
	if signing != nil {
		pub := signing.Key.Public().(ed25519.PublicKey)
		k.public[signing.ID] = pub
	}
	for _, p := range public {
		k.public[KeyID(p)] = p
	}
	return k
}

// Signing returns the signing key, or an error in a verify-only process.
func (k *StaticKeys) Signing(context.Context) (SigningKey, error) {
	if k.signing == nil {
		return SigningKey{}, errors.New("this process holds no signing key")
	}
	return *k.signing, nil
}

// Public returns the public key with the given id.
func (k *StaticKeys) Public(_ context.Context, kid string) (ed25519.PublicKey, error) {
	if p, ok := k.public[kid]; ok {
		return p, nil
	}
	return nil, ErrUnknownKey
}

// EncodePrivate and DecodePrivate convert keys to and from PKCS #8 PEM.
func EncodePrivate(k ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// DecodePrivate parses a PKCS #8 PEM Ed25519 private key.
func DecodePrivate(b []byte) (SigningKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return SigningKey{}, errors.New("no PEM block in private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return SigningKey{}, fmt.Errorf("parse private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return SigningKey{}, errors.New("private key is not Ed25519")
	}
	return SigningKey{ID: KeyID(priv.Public().(ed25519.PublicKey)), Key: priv}, nil
}

// EncodePublic and DecodePublic convert public keys to and from PKIX PEM.
func EncodePublic(k ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// DecodePublic parses a PKIX PEM Ed25519 public key.
func DecodePublic(b []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block in public key")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("public key is not Ed25519")
	}
	return pub, nil
}

// LoadOrCreateKeyFile reads a PEM signing key, creating it (mode 0600) when
// missing: `make run` keeps its key in the data directory so tokens survive a
// restart.
func LoadOrCreateKeyFile(path string) (SigningKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return DecodePrivate(b)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return SigningKey{}, err
	}
	k, err := GenerateKey()
	if err != nil {
		return SigningKey{}, err
	}
	pemBytes, err := EncodePrivate(k.Key)
	if err != nil {
		return SigningKey{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return SigningKey{}, err
	}
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		return SigningKey{}, err
	}
	return k, nil
}
