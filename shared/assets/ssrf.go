package assets

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"

	"rampart/shared/scanner"
)

// TargetGuard refuses, at asset creation, network targets the scanner must
// never reach. allowPrivate is the organization's "private ranges" setting.
// The error, when not nil, is a message for the caller.
type TargetGuard interface {
	CheckTarget(ctx context.Context, typ, target string, allowPrivate bool) error
}

// SSRFGuard checks targets with the scanner's guard (scanner.Guard):
//
//   - an IP literal is judged at once, without any lookup: loopback,
//     link-local (the metadata service), reserved and documentation ranges
//     are always refused, private ranges unless the organization allows them;
//   - `localhost` and names under `.localhost` are refused without a lookup:
//     they are the scanner's own host (RFC 6761);
//   - other names are resolved once, with a short timeout: a name any of
//     whose addresses is refused is refused; a name that does not resolve
//     (or not in time) is accepted, since it may be registered later. The
//     scanner resolves again through the same guard at scan time and dials
//     only the addresses it approved, so acceptance here grants nothing.
//
// Only network types (domain, host, ip, url) are checked: the scanner never
// connects to the URL of a reviewed artefact.
type SSRFGuard struct {
	// Resolver resolves names; nil is the system resolver. Tests inject one.
	Resolver scanner.Resolver
	// Timeout bounds one resolution (default 3 s).
	Timeout time.Duration
}

// CheckTarget implements TargetGuard.
func (g SSRFGuard) CheckTarget(ctx context.Context, typ, target string, allowPrivate bool) error {
	if !IsNetworkType(typ) {
		return nil
	}
	host := strings.TrimSuffix(strings.TrimPrefix(HostOf(typ, target), "["), "]")
	if host == "" {
		return nil
	}
	sg := scanner.Guard{AllowPrivate: allowPrivate, Resolver: g.Resolver}
	if a, err := netip.ParseAddr(host); err == nil {
		return refusal(sg.CheckAddr(a))
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return errors.New("localhost is the scanner's own host and cannot be a target")
	}
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := sg.Resolve(ctx, host)
	var re *scanner.RefusedError
	if errors.As(err, &re) {
		return refusal(err)
	}
	// Not resolving (yet) is acceptable: see the type's comment.
	return nil
}

func refusal(err error) error {
	if err == nil {
		return nil
	}
	var re *scanner.RefusedError
	if errors.As(err, &re) {
		msg := re.Error()
		open := scanner.Guard{AllowPrivate: true}
		if re.Addr.IsValid() && open.CheckAddr(re.Addr) == nil {
			msg += "; an admin can allow private address ranges in the organization settings"
		}
		return errors.New(msg)
	}
	return err
}

// checkMany runs the guard over many targets with bounded concurrency and
// an overall budget: a lookup still running when the budget is spent counts
// as "does not resolve" (accepted), like a single creation's timeout. It
// returns one error (or nil) per target.
func checkMany(ctx context.Context, g TargetGuard, types, targets []string, allowPrivate bool, workers int, budget time.Duration) []error {
	out := make([]error, len(targets))
	if g == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i] = g.CheckTarget(ctx, types[i], targets[i], allowPrivate)
			}
		}()
	}
	for i := range targets {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}
