package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestKeyEncodingRoundTrip(t *testing.T) {
	k := mustKey(t)
	privPEM, err := EncodePrivate(k.Key)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodePrivate(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != k.ID || !bytes.Equal(back.Key, k.Key) {
		t.Fatal("private key changed in a PEM round trip")
	}
	pubPEM, err := EncodePublic(back.Key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePublic(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if KeyID(p) != k.ID {
		t.Fatalf("key id %s after round trip, want %s", KeyID(p), k.ID)
	}
}

func TestDecodeRejectsOtherKeys(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPriv := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	der, _ = x509.MarshalPKIXPublicKey(&ec.PublicKey)
	ecPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	for name, b := range map[string][]byte{"empty": nil, "not PEM": []byte("hello"), "ECDSA": ecPriv,
		"garbage DER": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})} {
		if _, err := DecodePrivate(b); err == nil {
			t.Errorf("DecodePrivate accepted %s", name)
		}
	}
	for name, b := range map[string][]byte{"empty": nil, "not PEM": []byte("hello"), "ECDSA": ecPub,
		"garbage DER": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}})} {
		if _, err := DecodePublic(b); err == nil {
			t.Errorf("DecodePublic accepted %s", name)
		}
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "key.pem")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if k1.ID != k2.ID {
		t.Error("a second load made a new key: tokens would not survive a restart")
	}
	if err := os.WriteFile(path, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyFile(path); err == nil {
		t.Error("a corrupt key file was accepted")
	}
}

func TestStaticKeys(t *testing.T) {
	ctx := context.Background()
	k := mustKey(t)
	s := NewStaticKeys(&k)
	got, err := s.Signing(ctx)
	if err != nil || got.ID != k.ID {
		t.Fatalf("Signing = %v, %v", got.ID, err)
	}
	if _, err := s.Public(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Public(ctx, "other"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown kid: %v", err)
	}
	if _, err := NewStaticKeys(nil).Signing(ctx); err == nil {
		t.Fatal("verify-only key set signed")
	}
}
