package auth

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"rampart/shared/domain"
)

// Argon2id parameters. OWASP's minimum for argon2id is 19 MiB with two passes;
// BenchmarkHashPassword measures the cost (README "Figures"): a few tens of
// milliseconds on one core, which keeps login fast and makes offline guessing
// expensive, within the memory of the smallest Lambda size used.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	saltLen        = 16
)

// Password rules: NIST SP 800-63B asks for length, a check against common
// passwords, and no composition rules.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 256
)

//go:embed common-passwords.txt
var commonPasswordList string

var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(commonPasswordList, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			m[strings.ToLower(l)] = true
		}
	}
	return m
}()

// CheckPassword applies the password rules; location names the field.
func CheckPassword(password, email, location string) error {
	fail := func(msg string) error {
		return domain.Invalid(msg, domain.FieldError{Location: location, Message: msg})
	}
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return fail(fmt.Sprintf("password must be at least %d characters", MinPasswordLength))
	case len(password) > MaxPasswordLength:
		return fail(fmt.Sprintf("password must be at most %d bytes", MaxPasswordLength))
	case commonPasswords[strings.ToLower(password)]:
		return fail("password is too common")
	case email != "" && strings.EqualFold(password, email):
		return fail("password must not be the email address")
	}
	return nil
}

// HashPassword returns a PHC-format argon2id hash with a random salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// dummyHash is verified against when an account does not exist, so that a
// login for an unknown email costs the same time as a wrong password.
// It is made on first use, not at start-up: every function links this
// package, and an argon2id hash at init would cost each cold start ~50 ms.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("rampart-dummy-password")
	return h
})

// VerifyPassword reports whether password matches hash. The parameters come
// from the hash, so raising them later keeps old hashes verifiable.
func VerifyPassword(password, hash string) bool {
	if hash == "" {
		verify(password, dummyHash())
		return false
	}
	return verify(password, hash)
}

func verify(password, hash string) bool {
	var version, mem, iters int
	var threads uint8
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	// Bounds keep a corrupt or hostile hash from costing unbounded memory or
	// time, and from panicking argon2 (a zero-length key does).
	if err1 != nil || err2 != nil || mem <= 0 || iters <= 0 || threads == 0 || mem > 1<<20 || iters > 16 ||
		len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, uint32(iters), uint32(mem), threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
