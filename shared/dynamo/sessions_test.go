package dynamo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rampart/shared/domain"
	"rampart/shared/dynamo"
	"rampart/shared/identity"
)

// stepClock is a clock the test moves.
type stepClock struct{ ns atomic.Int64 }

func newStepClock(t time.Time) *stepClock {
	c := &stepClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *stepClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *stepClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// newSession stores a refresh token of a new family and returns it.
func newSession(t *testing.T, s *dynamo.Store, userID string, exp time.Time) identity.RefreshToken {
	t.Helper()
	tok := identity.RefreshToken{Hash: identity.HashSecret(domain.NewID()), UserID: userID, FamilyID: domain.NewID(), ExpiresAt: exp}
	if err := s.CreateSession(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return tok
}

func nextToken(exp time.Time) identity.RefreshToken {
	return identity.RefreshToken{Hash: identity.HashSecret(domain.NewID()), ExpiresAt: exp}
}

func rotate(t *testing.T, s *dynamo.Store, hash string, next identity.RefreshToken) (identity.RotateOutcome, identity.RefreshToken) {
	t.Helper()
	out, got, err := s.RotateRefreshToken(context.Background(), hash, next)
	if err != nil {
		t.Fatalf("rotate: %v", err)
	}
	return out, got
}

var outcomeNames = map[identity.RotateOutcome]string{identity.Rotated: "rotated", identity.Reused: "reused", identity.Rejected: "rejected"}

func wantOutcome(t *testing.T, got, want identity.RotateOutcome, what string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: %s, want %s", what, outcomeNames[got], outcomeNames[want])
	}
}

func TestStoreRefreshRotation(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	u, _ := newAccount(t, s)
	exp := time.Now().Add(time.Hour)
	t0 := newSession(t, s, u.ID, exp)

	got, err := s.GetRefreshToken(ctx, t0.Hash)
	if err != nil || got.UserID != u.ID || got.FamilyID != t0.FamilyID {
		t.Fatalf("GetRefreshToken = %+v, %v", got, err)
	}
	_, err = s.GetRefreshToken(ctx, identity.HashSecret("nope"))
	wantKind(t, err, domain.KindNotFound, "unknown refresh token")

	// Rotate: the new token inherits user and family.
	t1 := nextToken(exp)
	out, rotated := rotate(t, s, t0.Hash, t1)
	wantOutcome(t, out, identity.Rotated, "first rotation")
	if rotated.Hash != t1.Hash || rotated.UserID != u.ID || rotated.FamilyID != t0.FamilyID {
		t.Fatalf("rotated token = %+v", rotated)
	}
	t2 := nextToken(exp)
	out, _ = rotate(t, s, t1.Hash, t2)
	wantOutcome(t, out, identity.Rotated, "second rotation")

	// Reuse of a rotated token: Reused, and the family is revoked, so the
	// newest token of the family is dead too.
	out, _ = rotate(t, s, t0.Hash, nextToken(exp))
	wantOutcome(t, out, identity.Reused, "reuse of the first token")
	out, _ = rotate(t, s, t2.Hash, nextToken(exp))
	wantOutcome(t, out, identity.Rejected, "newest token of a revoked family")
	out, _ = rotate(t, s, t1.Hash, nextToken(exp))
	wantOutcome(t, out, identity.Reused, "reuse of the middle token")

	// Another session of the same user is untouched.
	other := newSession(t, s, u.ID, exp)
	out, _ = rotate(t, s, other.Hash, nextToken(exp))
	wantOutcome(t, out, identity.Rotated, "another family")

	// Unknown tokens are rejected.
	out, _ = rotate(t, s, identity.HashSecret("never issued"), nextToken(exp))
	wantOutcome(t, out, identity.Rejected, "unknown token")
}

func TestStoreRefreshExpiry(t *testing.T) {
	clock := newStepClock(time.Now().UTC())
	s := identityStore(t, clock.Now)
	u, _ := newAccount(t, s)
	tok := newSession(t, s, u.ID, clock.Now().Add(time.Hour))
	clock.Advance(time.Hour + time.Second)
	out, _ := rotate(t, s, tok.Hash, nextToken(clock.Now().Add(time.Hour)))
	wantOutcome(t, out, identity.Rejected, "expired token")
}

func TestStoreLogoutRevokesFamily(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	u, _ := newAccount(t, s)
	exp := time.Now().Add(time.Hour)
	tok := newSession(t, s, u.ID, exp)
	if err := s.RevokeFamily(ctx, u.ID, tok.FamilyID); err != nil {
		t.Fatal(err)
	}
	out, _ := rotate(t, s, tok.Hash, nextToken(exp))
	wantOutcome(t, out, identity.Rejected, "token of a revoked family")
	// Revoking twice, or a family that does not exist, is harmless.
	if err := s.RevokeFamily(ctx, u.ID, tok.FamilyID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeFamily(ctx, u.ID, domain.NewID()); err != nil {
		t.Fatal(err)
	}
}

func TestStoreConcurrentRotationOfOneToken(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	u, _ := newAccount(t, s)
	exp := time.Now().Add(time.Hour)
	for round := range 4 {
		tok := newSession(t, s, u.ID, exp)
		const n = 8
		outs := make([]identity.RotateOutcome, n)
		errs := make([]error, n)
		nexts := make([]identity.RefreshToken, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			nexts[i] = nextToken(exp)
			wg.Go(func() {
				<-start
				outs[i], _, errs[i] = s.RotateRefreshToken(ctx, tok.Hash, nexts[i])
			})
		}
		close(start)
		wg.Wait()
		rotated := 0
		for i := range n {
			switch {
			case errs[i] != nil && !domain.Is(errs[i], domain.KindConflict):
				t.Fatalf("round %d: rotation %d: %v", round, i, errs[i])
			case errs[i] == nil && outs[i] == identity.Rotated:
				rotated++
			}
		}
		if rotated != 1 {
			t.Fatalf("round %d: %d concurrent rotations of one token succeeded, want exactly 1 (%v %v)", round, rotated, outs, errs)
		}
		// The token is used up whatever happened.
		out, _ := rotate(t, s, tok.Hash, nextToken(exp))
		if out == identity.Rotated {
			t.Fatalf("round %d: token rotated again after the race", round)
		}
	}
}

func TestStoreRevokeSessions(t *testing.T) {
	ctx := context.Background()
	s := identityStore(t, nil)
	u, _ := newAccount(t, s)
	other, _ := newAccount(t, s)
	exp := time.Now().Add(time.Hour)
	a, b, c := newSession(t, s, u.ID, exp), newSession(t, s, u.ID, exp), newSession(t, s, u.ID, exp)
	theirs := newSession(t, s, other.ID, exp)

	// Revoke every session but b.
	if err := s.RevokeSessions(ctx, u.ID, b.FamilyID); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]identity.RefreshToken{"a": a, "c": c} {
		out, _ := rotate(t, s, tok.Hash, nextToken(exp))
		wantOutcome(t, out, identity.Rejected, "revoked session "+name)
	}
	out, bNext := rotate(t, s, b.Hash, nextToken(exp))
	wantOutcome(t, out, identity.Rotated, "the spared session")
	out, theirsNext := rotate(t, s, theirs.Hash, nextToken(exp))
	wantOutcome(t, out, identity.Rotated, "another user's session")

	// Revoke all ("" spares none).
	if err := s.RevokeSessions(ctx, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	out, _ = rotate(t, s, bNext.Hash, nextToken(exp))
	wantOutcome(t, out, identity.Rejected, "after revoking all")
	out, _ = rotate(t, s, theirsNext.Hash, nextToken(exp))
	wantOutcome(t, out, identity.Rotated, "another user's session after revoking all")
	// A user without sessions: nothing to do.
	if err := s.RevokeSessions(ctx, domain.NewID(), ""); err != nil {
		t.Fatal(err)
	}
}

func TestStoreThrottleCounters(t *testing.T) {
	ctx := context.Background()
	clock := newStepClock(time.Now().UTC())
	s := identityStore(t, clock.Now)
	keys := []string{"acct#x#1", "addr#y#1"}
	windowEnd := clock.Now().Add(15 * time.Minute)

	counts, err := s.FailureCounts(ctx, keys)
	if err != nil || len(counts) != 2 || counts[0] != 0 || counts[1] != 0 {
		t.Fatalf("fresh counts = %v, %v", counts, err)
	}
	for range 3 {
		if err := s.RecordFailure(ctx, keys, windowEnd); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordFailure(ctx, keys[1:], windowEnd); err != nil {
		t.Fatal(err)
	}
	counts, err = s.FailureCounts(ctx, keys)
	if err != nil || counts[0] != 3 || counts[1] != 4 {
		t.Fatalf("counts = %v, %v; want [3 4]", counts, err)
	}

	// Concurrent failures are all counted (atomic ADD).
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := s.RecordFailure(ctx, keys[:1], windowEnd); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if counts, _ = s.FailureCounts(ctx, keys[:1]); counts[0] != 13 {
		t.Fatalf("after 10 concurrent failures: %v, want 13", counts)
	}

	if err := s.ClearFailures(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	counts, _ = s.FailureCounts(ctx, keys)
	if counts[0] != 0 || counts[1] != 4 {
		t.Fatalf("after clearing the account: %v, want [0 4]", counts)
	}
	if err := s.ClearFailures(ctx, "never-counted"); err != nil {
		t.Fatal(err)
	}

	// The window ends: counters read as zero even before TTL deletes them.
	clock.Advance(15*time.Minute + time.Second)
	counts, _ = s.FailureCounts(ctx, keys)
	if counts[0] != 0 || counts[1] != 0 {
		t.Fatalf("after the window: %v, want [0 0]", counts)
	}
}

func TestStoreOIDCState(t *testing.T) {
	ctx := context.Background()
	clock := newStepClock(time.Now().UTC())
	s := identityStore(t, clock.Now)
	st := identity.OIDCState{State: "state-1", Nonce: "nonce-1", Verifier: "verifier-1", ReturnTo: "/findings?x=1",
		ExpiresAt: clock.Now().Add(10 * time.Minute).Truncate(time.Millisecond)}
	if err := s.PutOIDCState(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := s.TakeOIDCState(ctx, "state-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != st.State || got.Nonce != st.Nonce || got.Verifier != st.Verifier || got.ReturnTo != st.ReturnTo || !got.ExpiresAt.Equal(st.ExpiresAt) {
		t.Fatalf("TakeOIDCState = %+v, want %+v", got, st)
	}
	_, err = s.TakeOIDCState(ctx, "state-1")
	wantKind(t, err, domain.KindNotFound, "second take")
	_, err = s.TakeOIDCState(ctx, "never-put")
	wantKind(t, err, domain.KindNotFound, "unknown state")

	// Taken once even by concurrent callbacks.
	if err := s.PutOIDCState(ctx, identity.OIDCState{State: "state-2", Nonce: "n", Verifier: "v", ReturnTo: "/",
		ExpiresAt: clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := s.TakeOIDCState(ctx, "state-2"); err == nil {
				ok.Add(1)
			} else if !domain.Is(err, domain.KindNotFound) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d concurrent takes succeeded, want 1", ok.Load())
	}

	// An expired state is not found.
	if err := s.PutOIDCState(ctx, identity.OIDCState{State: "state-3", Nonce: "n", Verifier: "v", ReturnTo: "/",
		ExpiresAt: clock.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	_, err = s.TakeOIDCState(ctx, "state-3")
	wantKind(t, err, domain.KindNotFound, "expired state")
}
