package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"rampart/shared/domain"
)

// Claims of a Rampart access token. SessionID names the refresh-token family
// the token was issued under, so "revoke my other sessions" can spare the
// caller's own.
type Claims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid,omitempty"`
}

// Tokens mints and verifies access tokens.
type Tokens struct {
	Keys     Keys
	Issuer   string
	Audience string
	TTL      time.Duration
	Clock    domain.Clock
}

// Leeway tolerates clock skew between functions when checking exp, nbf, iat.
const Leeway = 30 * time.Second

// Mint issues an access token for user and session.
func (t *Tokens) Mint(ctx context.Context, userID, sessionID string) (string, time.Time, error) {
	key, err := t.Keys.Signing(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	now := t.Clock().Truncate(time.Second)
	exp := now.Add(t.TTL)
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.Issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{t.Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        domain.NewIDAt(now),
		},
		SessionID: sessionID,
	})
	tok.Header["kid"] = key.ID
	s, err := tok.SignedString(key.Key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// Verify checks signature, algorithm, key id, issuer, audience and times, and
// returns the claims. Every failure is the same 401 to the caller; the reason
// is kept for the logs.
func (t *Tokens) Verify(ctx context.Context, token string) (Claims, error) {
	var c Claims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{Algorithm}),
		jwt.WithIssuer(t.Issuer),
		jwt.WithAudience(t.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(t.Clock),
		jwt.WithStrictDecoding(),
	)
	_, err := parser.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no key id")
		}
		pub, err := t.Keys.Public(ctx, kid)
		if err != nil {
			return nil, err
		}
		return ed25519.PublicKey(pub), nil
	})
	if err == nil && c.Subject == "" {
		err = errors.New("token has no subject")
	}
	if err != nil {
		return Claims{}, domain.Wrap(domain.KindUnauthenticated, err, "invalid or expired token")
	}
	return c, nil
}
