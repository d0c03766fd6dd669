package scanner

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Target types the scanner understands (the asset types of the taxonomy that
// carry a network target).
const (
	TargetDomain = "domain" // DNS checks plus web and TLS checks on the name itself
	TargetHost   = "host"   // a host name: TLS, HTTP and exposed-service checks
	TargetIP     = "ip"     // an IP literal: TLS, HTTP and exposed-service checks
	TargetURL    = "url"    // an http(s) URL: the host checks of its host, web checks on its path
)

// TargetTypes lists the target types in a stable order.
func TargetTypes() []string { return []string{TargetDomain, TargetHost, TargetIP, TargetURL} }

// Target is one asset to scan.
type Target struct {
	AssetID string `json:"asset_id"`
	Type    string `json:"type"`
	Value   string `json:"value"`
}

// Severity of a failed or warned result, and of a finding.
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// Severities lists the severities from worst to mildest.
func Severities() []Severity {
	return []Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}
}

// Rank orders severities: critical is 4, info 0, anything unknown -1.
func (s Severity) Rank() int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	case SeverityInfo:
		return 0
	}
	return -1
}

// Outcome of one check on one subject.
type Outcome string

const (
	OutcomePass    Outcome = "pass"
	OutcomeFail    Outcome = "fail"
	OutcomeWarn    Outcome = "warn"
	OutcomeError   Outcome = "error"   // the check could not decide (timeout, protocol error)
	OutcomeSkipped Outcome = "skipped" // the check does not apply (service absent, covered by another check)
)

// Evidence is what a result saw: a short sentence for people and a few facts
// for machines. It never holds secrets (for an exposed .env file it names the
// variables, not their values).
type Evidence struct {
	Summary string            `json:"summary"`
	Facts   map[string]string `json:"facts,omitempty"`
}

// Result is the raw outcome of one check on one target. A check can yield
// several results for one target, one per Subject (a port, a cookie, a
// protocol version); Subject is empty when the check has a single result.
type Result struct {
	AssetID  string   `json:"asset_id"`
	CheckID  string   `json:"check_id"`
	Host     string   `json:"host"`
	Subject  string   `json:"subject,omitempty"`
	Outcome  Outcome  `json:"outcome"`
	Severity Severity `json:"severity,omitempty"` // set for fail and warn only
	Evidence Evidence `json:"evidence"`
}

// Finding is a failed or warned result joined with its check's catalogue
// entry: what a person triages.
type Finding struct {
	Fingerprint string   `json:"fingerprint"`
	CheckID     string   `json:"check_id"`
	AssetID     string   `json:"asset_id"`
	Host        string   `json:"host"`
	Subject     string   `json:"subject,omitempty"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Severity    Severity `json:"severity"`
	Category    Category `json:"category"`
	NIS2        string   `json:"nis2"`
	Outcome     Outcome  `json:"outcome"`
	Evidence    Evidence `json:"evidence"`
	Remediation string   `json:"remediation"`
	References  []string `json:"references,omitempty"`
}

// Fingerprint identifies one problem on one asset across scans. It covers the
// asset, the check and the subject (port, cookie name, protocol version) and
// nothing that varies between runs (evidence text, severity, the address the
// name resolved to), so a later scan of the same problem yields the same value.
func Fingerprint(assetID, checkID, subject string) string {
	h := sha256.New()
	// NUL separators keep ("a","bc") and ("ab","c") apart.
	h.Write([]byte(assetID))
	h.Write([]byte{0})
	h.Write([]byte(checkID))
	h.Write([]byte{0})
	h.Write([]byte(subject))
	return hex.EncodeToString(h.Sum(nil))
}

// FindingFor joins a fail or warn result with its catalogue entry. ok is
// false for other outcomes and for unknown check ids.
func FindingFor(r Result) (Finding, bool) {
	if r.Outcome != OutcomeFail && r.Outcome != OutcomeWarn {
		return Finding{}, false
	}
	c, ok := LookupCheck(r.CheckID)
	if !ok {
		return Finding{}, false
	}
	sev := r.Severity
	if sev == "" {
		sev = c.Severity
	}
	return Finding{
		Fingerprint: Fingerprint(r.AssetID, r.CheckID, r.Subject),
		CheckID:     r.CheckID,
		AssetID:     r.AssetID,
		Host:        r.Host,
		Subject:     r.Subject,
		Title:       c.Title,
		Description: c.Description,
		Severity:    sev,
		Category:    c.Category,
		NIS2:        c.NIS2,
		Outcome:     r.Outcome,
		Evidence:    r.Evidence,
		Remediation: c.Remediation,
		References:  c.References,
	}, true
}

// TargetReport is everything the scanner learned about one target.
type TargetReport struct {
	Target Target `json:"target"`
	// Host is the name or address the network checks used.
	Host string `json:"host"`
	// Addresses are the guard-approved addresses the checks dialled.
	Addresses []string `json:"addresses,omitempty"`
	// Live is true when the host answered at least one probe: a TCP port
	// accepted a connection, or (for a domain) DNS answered that the name
	// exists. Only live hosts are scored.
	Live     bool      `json:"live"`
	Results  []Result  `json:"results"`
	Findings []Finding `json:"findings"`
	// Errors are target-level problems: a refused or unresolvable target,
	// the per-target timeout.
	Errors []string `json:"errors,omitempty"`
	// Stopped is true when ShouldStop ended the run between two checks.
	Stopped bool `json:"stopped,omitempty"`
	// TimedOut is true when the per-target timeout ended the run.
	TimedOut bool `json:"timed_out,omitempty"`
}

// Validate checks that the target's value parses for its type, without any
// network access (asset creation uses it; Guard.ValidateTarget adds the
// address check).
func (t Target) Validate() error {
	_, err := parseTarget(t)
	return err
}

// parsedTarget is a target reduced to what the checks need.
type parsedTarget struct {
	host      string // name or IP literal (no brackets)
	isIP      bool   // host is an IP literal
	httpPort  int    // 0: the scanner's default
	httpsPort int    // 0: the scanner's default
	path      string // request path for web checks
	kind      string // the target type
	dns       bool   // run DNS checks
	services  bool   // run exposed-service checks
}

var errEmptyTarget = errors.New("empty target")

func parseTarget(t Target) (parsedTarget, error) {
	v := strings.TrimSpace(t.Value)
	if v == "" {
		return parsedTarget{}, errEmptyTarget
	}
	p := parsedTarget{kind: t.Type, path: "/"}
	switch t.Type {
	case TargetDomain:
		if _, err := netip.ParseAddr(v); err == nil {
			return p, fmt.Errorf("domain %q is an IP address", v)
		}
		name, err := normalizeHostname(v)
		if err != nil {
			return p, err
		}
		if !strings.Contains(name, ".") {
			return p, fmt.Errorf("domain %q has no dot", v)
		}
		p.host, p.dns = name, true
	case TargetHost:
		if a, err := parseIPLiteral(v); err == nil {
			p.host, p.isIP = a.String(), true
		} else {
			name, err := normalizeHostname(v)
			if err != nil {
				return p, err
			}
			p.host = name
		}
		p.services = true
	case TargetIP:
		a, err := parseIPLiteral(v)
		if err != nil {
			return p, fmt.Errorf("ip %q: %w", v, err)
		}
		p.host, p.isIP, p.services = a.String(), true, true
	case TargetURL:
		u, err := url.Parse(v)
		if err != nil {
			return p, fmt.Errorf("url %q: %w", v, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return p, fmt.Errorf("url %q: scheme must be http or https", v)
		}
		if u.Hostname() == "" {
			return p, fmt.Errorf("url %q has no host", v)
		}
		if a, err := parseIPLiteral(u.Hostname()); err == nil {
			p.host, p.isIP = a.String(), true
		} else {
			name, err := normalizeHostname(u.Hostname())
			if err != nil {
				return p, err
			}
			p.host = name
		}
		if ps := u.Port(); ps != "" {
			port, err := strconv.Atoi(ps)
			if err != nil || port < 1 || port > 65535 {
				return p, fmt.Errorf("url %q: bad port", v)
			}
			// An explicit port names where that scheme is served; the
			// other scheme keeps the scanner's default port.
			if u.Scheme == "https" {
				p.httpsPort = port
			} else {
				p.httpPort = port
			}
		}
		if u.EscapedPath() != "" {
			p.path = u.EscapedPath()
		}
		if u.RawQuery != "" {
			p.path += "?" + u.RawQuery
		}
		// "a url target implies its host": the host gets the host checks.
		p.services = true
	default:
		return p, fmt.Errorf("unknown target type %q", t.Type)
	}
	return p, nil
}

func parseIPLiteral(s string) (netip.Addr, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, err
	}
	if a.Zone() != "" {
		return a, errors.New("zoned addresses are not scannable")
	}
	return a.Unmap(), nil
}

// normalizeHostname lower-cases a DNS name, drops a trailing dot and checks
// letter-digit-hyphen syntax (underscores allowed: they occur in real names).
func normalizeHostname(s string) (string, error) {
	name := strings.TrimSuffix(strings.ToLower(s), ".")
	if name == "" || len(name) > 253 {
		return "", fmt.Errorf("host name %q has a bad length", s)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return "", fmt.Errorf("host name %q has an empty or long label", s)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("host name %q has a label starting or ending with a hyphen", s)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("host name %q contains %q", s, c)
			}
		}
	}
	return name, nil
}

// hostPort joins a host and port, bracketing IPv6 literals.
func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
