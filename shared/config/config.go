// Package config reads Rampart's settings from environment variables, in one
// place. Every setting has a default that works for `make run`; in Lambda the
// settings the stack must provide are required, and a missing or invalid value
// stops start-up with an error naming the variable.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is everything a function may need; each function reads what it uses.
type Config struct {
	// Lambda is true when the process runs inside AWS Lambda.
	Lambda bool
	// Local is true for the all-in-one local server: it creates the table and
	// bucket at start and runs the workers in-process.
	Local bool

	Region      string
	Table       string
	Bucket      string
	S3PathStyle bool

	Addr    string // listen address of the plain HTTP server
	DataDir string // where `make run` keeps emulator data
	Stage   string // API Gateway stage name stripped from paths ("" or "$default": none)

	LogLevel     string
	MaxBodyBytes int64
	// MaxUploadBytes caps a multipart attachment upload (below the Lambda
	// payload ceiling: API Gateway base64-encodes binary bodies);
	// UploadURLTTL and DownloadURLTTL are the lifetimes of presigned
	// attachment transfers.
	MaxUploadBytes int64
	UploadURLTTL   time.Duration
	DownloadURLTTL time.Duration

	// LegacySunset is when unversioned /api/... paths stop redirecting.
	LegacySunset time.Time
	// DocsRequireAuth makes /api/v1/openapi.json require a bearer token.
	DocsRequireAuth bool
	AppURL          string
	CORSOrigins     []string

	Auth Auth
	Scan Scan

	// EventBus is the EventBridge bus of "scan requested" (Lambda).
	EventBus string
	// DispatchInterval is how often the local server runs the schedule
	// dispatcher (in AWS an EventBridge rule runs it every minute).
	DispatchInterval time.Duration
	// ReportStateMachine is the ARN of the report workflow (Lambda; locally
	// the workflow runs in-process). ReportRetentionDays is how long report
	// exports and artifacts are kept: the export item's ttl and the stack's
	// lifecycle rule on objects tagged rampart-kind=report.
	ReportStateMachine  string
	ReportRetentionDays int
	// SeedAdminEmail and SeedAdminPassword create the first admin in local
	// mode; an empty password is generated and kept in the data directory.
	SeedAdminEmail    string
	SeedAdminPassword string
}

// Auth configures tokens, sessions and single sign-on.
type Auth struct {
	Issuer        string
	Audience      string
	AccessTTL     time.Duration
	RefreshTTL    time.Duration
	InviteTTL     time.Duration
	AllowRegister bool
	// KeyFile holds the local signing key (generated when missing); in Lambda
	// the keys come from Secrets Manager.
	KeyFile             string
	SigningKeySecretARN string
	VerifyKeysSecretARN string

	OIDCIssuer          string
	OIDCClientID        string
	OIDCClientSecret    string
	OIDCClientSecretARN string
	OIDCRedirectURL     string
	OIDCAllowedDomains  []string
	OIDCDefaultOrg      string
	OIDCDefaultRole     string
}

// Scan configures the scanner and its worker.
type Scan struct {
	DNSServer     string // resolver of the DNS checks and target names; "" the system's
	Concurrency   int
	TargetTimeout time.Duration
	// HTTPPort and HTTPSPort move the web and TLS checks off 80 and 443
	// (tests point them at their own servers).
	HTTPPort, HTTPSPort int
	// RootCAFile adds a CA bundle to trust when verifying chains.
	RootCAFile string
	// Ports lists exposed-service ports to probe ("" the built-in list,
	// "none" no probes); e.g. "21,23,3389".
	Ports string
	// Lease is how long a scan worker's claim holds without renewal (it
	// renews every quarter): after a worker dies, the recovery sweep requests
	// the scan again once the lease ran out.
	Lease time.Duration
	// AllowLoopback lets scans reach 127.0.0.0/8 and ::1 when the
	// organization also allows private ranges. It is a deployment switch for
	// tests and local development only: in Lambda loopback is the runtime API.
	AllowLoopback bool
}

// OIDCEnabled reports whether single sign-on is configured.
func (a Auth) OIDCEnabled() bool { return a.OIDCIssuer != "" }

// Env is the source of settings; tests pass a map.
type Env func(key string) (string, bool)

// FromMap adapts a map to Env.
func FromMap(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Load reads the process environment.
func Load() (Config, error) { return Parse(os.LookupEnv) }

// Parse reads settings from env and reports every invalid or missing one at
// once, so a misconfigured deployment is fixed in one round.
func Parse(env Env) (Config, error) {
	r := reader{env: env}
	var c Config
	c.Lambda = r.has("AWS_LAMBDA_FUNCTION_NAME")
	c.Local = r.boolean("RAMPART_LOCAL", false)
	c.Region = r.str("AWS_REGION", "us-east-1")
	if c.Lambda {
		c.Table = r.required("RAMPART_TABLE")
		c.Bucket = r.required("RAMPART_BUCKET")
	} else {
		c.Table = r.str("RAMPART_TABLE", "rampart")
		c.Bucket = r.str("RAMPART_BUCKET", "rampart-local")
	}
	c.S3PathStyle = r.boolean("RAMPART_S3_PATH_STYLE", !c.Lambda)
	c.Addr = r.str("RAMPART_ADDR", "127.0.0.1:8080")
	c.DataDir = r.str("RAMPART_DATA_DIR", ".data")
	c.Stage = strings.Trim(r.str("RAMPART_STAGE", ""), "/")
	if c.Stage == "$default" {
		c.Stage = ""
	}
	c.LogLevel = r.oneOf("RAMPART_LOG_LEVEL", "info", "debug", "info", "warn", "error")
	c.MaxBodyBytes = int64(r.integer("RAMPART_MAX_BODY_BYTES", 1<<20, 1024, 6<<20))
	c.MaxUploadBytes = int64(r.integer("RAMPART_MAX_UPLOAD_BYTES", 4<<20, 1024, 4352<<10))
	c.UploadURLTTL = r.duration("RAMPART_UPLOAD_URL_TTL", 10*time.Minute, time.Second)
	c.DownloadURLTTL = r.duration("RAMPART_DOWNLOAD_URL_TTL", 5*time.Minute, time.Second)
	c.LegacySunset = r.instant("RAMPART_LEGACY_SUNSET", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	c.DocsRequireAuth = r.boolean("RAMPART_DOCS_REQUIRE_AUTH", false)
	c.AppURL = r.str("RAMPART_APP_URL", "http://127.0.0.1:8080")
	c.CORSOrigins = r.list("RAMPART_CORS_ORIGINS")
	c.SeedAdminEmail = r.str("RAMPART_SEED_ADMIN_EMAIL", "admin@rampart.local")
	c.SeedAdminPassword = r.str("RAMPART_SEED_ADMIN_PASSWORD", "")

	c.EventBus = r.str("RAMPART_EVENT_BUS", "")
	c.DispatchInterval = r.duration("RAMPART_DISPATCH_INTERVAL", time.Minute, 10*time.Millisecond)
	c.ReportStateMachine = r.str("RAMPART_REPORT_STATE_MACHINE", "")
	c.ReportRetentionDays = r.integer("RAMPART_REPORT_RETENTION_DAYS", 30, 1, 3650)
	c.Scan.DNSServer = r.str("RAMPART_SCAN_DNS_SERVER", "")
	c.Scan.Concurrency = r.integer("RAMPART_SCAN_CONCURRENCY", 16, 1, 256)
	c.Scan.TargetTimeout = r.duration("RAMPART_SCAN_TARGET_TIMEOUT", 2*time.Minute, time.Second)
	c.Scan.HTTPPort = r.integer("RAMPART_SCAN_HTTP_PORT", 80, 1, 65535)
	c.Scan.HTTPSPort = r.integer("RAMPART_SCAN_HTTPS_PORT", 443, 1, 65535)
	c.Scan.RootCAFile = r.str("RAMPART_SCAN_ROOT_CA_FILE", "")
	c.Scan.Ports = r.str("RAMPART_SCAN_PORTS", "")
	c.Scan.AllowLoopback = r.boolean("RAMPART_SCAN_ALLOW_LOOPBACK", false)
	c.Scan.Lease = r.duration("RAMPART_SCAN_LEASE", 2*time.Minute, time.Second)
	if c.Lambda && c.Scan.AllowLoopback {
		r.errs = append(r.errs, fmt.Errorf("RAMPART_SCAN_ALLOW_LOOPBACK must not be set in Lambda"))
	}

	a := &c.Auth
	a.Issuer = r.str("RAMPART_JWT_ISSUER", "rampart")
	a.Audience = r.str("RAMPART_JWT_AUDIENCE", "rampart-api")
	a.AccessTTL = r.duration("RAMPART_ACCESS_TOKEN_TTL", 15*time.Minute, time.Minute)
	a.RefreshTTL = r.duration("RAMPART_REFRESH_TOKEN_TTL", 30*24*time.Hour, time.Hour)
	a.InviteTTL = r.duration("RAMPART_INVITE_TTL", 7*24*time.Hour, time.Hour)
	a.AllowRegister = r.boolean("RAMPART_ALLOW_REGISTER", true)
	a.KeyFile = r.str("RAMPART_JWT_KEY_FILE", c.DataDir+"/jwt-signing-key.pem")
	a.SigningKeySecretARN = r.str("RAMPART_SIGNING_KEY_SECRET_ARN", "")
	a.VerifyKeysSecretARN = r.str("RAMPART_VERIFY_KEYS_SECRET_ARN", "")
	if c.Lambda && a.VerifyKeysSecretARN == "" {
		r.errs = append(r.errs, fmt.Errorf("RAMPART_VERIFY_KEYS_SECRET_ARN is required in Lambda"))
	}
	a.OIDCIssuer = r.str("RAMPART_OIDC_ISSUER", "")
	a.OIDCClientID = r.str("RAMPART_OIDC_CLIENT_ID", "")
	a.OIDCClientSecret = r.str("RAMPART_OIDC_CLIENT_SECRET", "")
	a.OIDCClientSecretARN = r.str("RAMPART_OIDC_CLIENT_SECRET_ARN", "")
	a.OIDCRedirectURL = r.str("RAMPART_OIDC_REDIRECT_URL", strings.TrimRight(c.AppURL, "/")+"/api/v1/auth/oidc/callback")
	a.OIDCAllowedDomains = r.list("RAMPART_OIDC_ALLOWED_DOMAINS")
	a.OIDCDefaultOrg = r.str("RAMPART_OIDC_DEFAULT_ORG", "")
	a.OIDCDefaultRole = r.oneOf("RAMPART_OIDC_DEFAULT_ROLE", "viewer", "admin", "auditor", "reviewer", "viewer")
	if a.OIDCIssuer != "" && a.OIDCClientID == "" {
		r.errs = append(r.errs, fmt.Errorf("RAMPART_OIDC_CLIENT_ID is required when RAMPART_OIDC_ISSUER is set"))
	}
	return c, r.err()
}

type reader struct {
	env  Env
	errs []error
}

func (r *reader) has(key string) bool { v, ok := r.env(key); return ok && v != "" }

func (r *reader) str(key, def string) string {
	if v, ok := r.env(key); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

func (r *reader) required(key string) string {
	v := r.str(key, "")
	if v == "" {
		r.errs = append(r.errs, fmt.Errorf("%s is required", key))
	}
	return v
}

func (r *reader) boolean(key string, def bool) bool {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want true or false", key, v))
	}
	return b
}

func (r *reader) integer(key string, def, min, max int) int {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want an integer from %d to %d", key, v, min, max))
	}
	return n
}

func (r *reader) duration(key string, def, min time.Duration) time.Duration {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < min {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want a duration of at least %s (e.g. 15m)", key, v, min))
	}
	return d
}

func (r *reader) instant(key string, def time.Time) time.Time {
	v := r.str(key, "")
	if v == "" {
		return def
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want an RFC 3339 instant", key, v))
	}
	return t.UTC()
}

func (r *reader) oneOf(key, def string, allowed ...string) string {
	v := strings.ToLower(r.str(key, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.errs = append(r.errs, fmt.Errorf("%s=%q: want one of %s", key, v, strings.Join(allowed, ", ")))
	return def
}

func (r *reader) list(key string) []string {
	var out []string
	for _, p := range strings.Split(r.str(key, ""), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (r *reader) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %w", errors.Join(r.errs...))
}
