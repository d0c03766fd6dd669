package auth

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"rampart/shared/domain"
)

func TestHashAndVerifyPassword(t *testing.T) {
	const pw = "correct horse battery staple"
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, argonMemoryKiB, argonTime, argonThreads)
	if !strings.HasPrefix(h, want) {
		t.Fatalf("hash %q does not start with %q", h, want)
	}
	if strings.Contains(h, pw) {
		t.Fatal("hash contains the password")
	}
	if !VerifyPassword(pw, h) {
		t.Fatal("round trip failed")
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", pw + " ", pw + "\x00"} {
		if VerifyPassword(wrong, h) {
			t.Errorf("wrong password %q accepted", wrong)
		}
	}
	h2, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if !VerifyPassword(pw, h2) {
		t.Error("second hash does not verify")
	}
}

func TestVerifyPasswordKeepsOldParameters(t *testing.T) {
	// A hash made with other (older, cheaper) parameters still verifies: the
	// parameters come from the hash.
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("an older password"), salt, 1, 8*1024, 2, 32)
	h := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, 8*1024, 1, 2,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	if !VerifyPassword("an older password", h) {
		t.Fatal("hash with other parameters refused")
	}
	if VerifyPassword("another password", h) {
		t.Fatal("wrong password accepted")
	}
}

func TestVerifyPasswordMalformedHashes(t *testing.T) {
	const pw = "correct horse battery staple"
	good, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	join := func(parts ...string) string { return strings.Join(parts, "$") }
	cases := map[string]string{
		"empty (unknown account)": "",
		"plain text":              pw,
		"bcrypt":                  "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":                 join(p[0], "argon2i", p[2], p[3], p[4], p[5]),
		"too few fields":          join(p[0], p[1], p[2], p[3], p[4]),
		"too many fields":         good + "$x",
		"other version":           join(p[0], p[1], "v=16", p[3], p[4], p[5]),
		"version not a number":    join(p[0], p[1], "v=x", p[3], p[4], p[5]),
		"parameters garbled":      join(p[0], p[1], p[2], "m=a,t=b,p=c", p[4], p[5]),
		"zero memory":             join(p[0], p[1], p[2], "m=0,t=2,p=1", p[4], p[5]),
		"negative time":           join(p[0], p[1], p[2], "m=19456,t=-1,p=1", p[4], p[5]),
		"zero threads":            join(p[0], p[1], p[2], "m=19456,t=2,p=0", p[4], p[5]),
		"huge memory (DoS)":       join(p[0], p[1], p[2], "m=4194304,t=2,p=1", p[4], p[5]),
		"huge time (DoS)":         join(p[0], p[1], p[2], "m=19456,t=1000,p=1", p[4], p[5]),
		"salt not base64":         join(p[0], p[1], p[2], p[3], "!!!", p[5]),
		"key not base64":          join(p[0], p[1], p[2], p[3], p[4], "***"),
		"empty key":               join(p[0], p[1], p[2], p[3], p[4], ""),
		"key truncated":           join(p[0], p[1], p[2], p[3], p[4], p[5][:20]),
		"other salt":              join(p[0], p[1], p[2], p[3], base64.RawStdEncoding.EncodeToString([]byte("fedcba9876543210")), p[5]),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			if VerifyPassword(pw, h) {
				t.Fatalf("accepted against %q", h)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	cases := []struct {
		name, password, email string
		ok                    bool
	}{
		{"long enough", "correct horse battery staple", "a@example.com", true},
		{"exactly the minimum", strings.Repeat("q", MinPasswordLength-1) + "z", "", true},
		{"minimum counted in characters, not bytes", strings.Repeat("é", MinPasswordLength), "", true},
		{"too short", "Sh0rt!pw", "", false},
		{"one below the minimum", strings.Repeat("x", MinPasswordLength-1), "", false},
		{"empty", "", "", false},
		{"short in characters though long in bytes", strings.Repeat("é", MinPasswordLength-1), "", false},
		{"exactly the maximum", strings.Repeat("k", MaxPasswordLength), "", true},
		{"too long", strings.Repeat("k", MaxPasswordLength+1), "", false},
		{"too long in bytes", strings.Repeat("é", MaxPasswordLength/2+1), "", false},
		{"common", "1234567890", "", false},
		{"common, other case", "1Q2W3E4R5T", "", false},
		{"equal to the email", "someone@example.com", "someone@example.com", false},
		{"equal to the email, other case", "SomeOne@Example.com", "someone@example.com", false},
		{"contains the email but longer", "someone@example.com!", "someone@example.com", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPassword(tc.password, tc.email, "body.password")
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !domain.Is(err, domain.KindInvalid) {
				t.Fatalf("err = %v, want invalid", err)
			}
			de := err.(*domain.Error)
			if len(de.Fields) != 1 || de.Fields[0].Location != "body.password" {
				t.Errorf("fields = %+v, want one at body.password", de.Fields)
			}
		})
	}
}

// BenchmarkHashPassword measures one argon2id hash with the production
// parameters: the cost of a login, a registration and a password change.
//
//	go test ./shared/auth -run '^$' -bench HashPassword -benchtime 20x
func BenchmarkHashPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPassword is the cost of checking a password at login.
func BenchmarkVerifyPassword(b *testing.B) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !VerifyPassword("correct horse battery staple", h) {
			b.Fatal("mismatch")
		}
	}
}
