package platform

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"rampart/shared/auth"
	"rampart/shared/domain"
)

// SeedAdmin makes sure the local server has an admin to sign in with and
// returns the credentials to print. A generated password is kept in the data
// directory, so it is the same on every `make run` until `make reset`.
func (p *Platform) SeedAdmin(ctx context.Context) (email, password string, err error) {
	email, password = p.Config.SeedAdminEmail, p.Config.SeedAdminPassword
	pwFile := filepath.Join(p.Config.DataDir, "admin-password")
	if password == "" {
		if b, err := os.ReadFile(pwFile); err == nil {
			password = strings.TrimSpace(string(b))
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", "", err
		}
	}
	store := p.Store()
	if _, err := store.GetUserByEmail(ctx, email); err == nil {
		return email, password, nil
	} else if !domain.Is(err, domain.KindNotFound) {
		return "", "", err
	}
	if password == "" {
		b := make([]byte, 15)
		_, _ = rand.Read(b)
		password = base64.RawURLEncoding.EncodeToString(b)
		if err := os.MkdirAll(p.Config.DataDir, 0o700); err != nil {
			return "", "", err
		}
		if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
			return "", "", err
		}
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return "", "", err
	}
	now := domain.SystemClock()
	org := domain.Organization{ID: domain.NewIDAt(now), Name: "Rampart", CreatedAt: now, UpdatedAt: now}
	u := domain.User{ID: domain.NewIDAt(now), Email: email, Name: "Administrator", PasswordHash: hash,
		DefaultOrgID: org.ID, CreatedAt: now, UpdatedAt: now}
	m := domain.Membership{OrgID: org.ID, UserID: u.ID, Role: domain.RoleAdmin, Active: true, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateUser(ctx, u, &org, m); err != nil {
		return "", "", err
	}
	return email, password, p.OrgCreated(ctx, org.ID)
}
