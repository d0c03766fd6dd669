package main

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Config is the deployment's settings, read from CDK context (cdk.json
// "context", overridden with `cdk synth|deploy -c key=value`). docs/deploy.md
// lists them; defaultConfig holds the same defaults as cdk.json.
type Config struct {
	Stage       string   // names the bus, API, state machine and alarms: rampart-<stage>
	AppURL      string   // RAMPART_APP_URL: where the OIDC callback sends the browser
	CORSOrigins []string // API CORS and S3 CORS (presigned uploads)

	OIDCIssuer          string
	OIDCClientID        string
	OIDCClientSecretArn string // a Secrets Manager secret the operator creates
	OIDCRedirectURL     string // default <ApiUrl>api/v1/auth/oidc/callback
	OIDCAllowedDomains  []string
	OIDCDefaultOrg      string
	OIDCDefaultRole     string

	LogRetentionDays       int
	ReportRetentionDays    int
	SigningKeyRotationDays int
	RemovalPolicy          string // retain | destroy
	DeletionProtection     bool

	ThrottleRate       float64 // requests per second, whole stage
	ThrottleBurst      float64
	LoginThrottleRate  float64 // POST /api/v1/auth/login, all clients together
	LoginThrottleBurst float64

	AlarmEmail string // optional subscriber of the alarm topic
	BuildDir   string // where `make build` leaves <function>.zip; relative to the repository root
}

func defaultConfig() Config {
	return Config{
		Stage:                  "prod",
		OIDCDefaultRole:        "viewer",
		LogRetentionDays:       30,
		ReportRetentionDays:    30,
		SigningKeyRotationDays: 30,
		RemovalPolicy:          "retain",
		DeletionProtection:     true,
		ThrottleRate:           100,
		ThrottleBurst:          200,
		LoginThrottleRate:      5,
		LoginThrottleBurst:     10,
		BuildDir:               "build/lambda",
	}
}

// contextReader reads typed values from the construct tree's context. Values
// from cdk.json arrive typed (bool, number, list); values from `-c` arrive as
// strings, so every reader accepts both.
type contextReader struct {
	node constructs.Node
	errs []error
}

func (r *contextReader) get(key string) (any, bool) {
	v := r.node.TryGetContext(jsii.String(key))
	return v, v != nil
}

func (r *contextReader) str(key string, def *string) {
	if v, ok := r.get(key); ok {
		*def = strings.TrimSpace(fmt.Sprint(v))
	}
}

func (r *contextReader) list(key string, def *[]string) {
	v, ok := r.get(key)
	if !ok {
		return
	}
	var out []string
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			out = append(out, fmt.Sprint(e))
		}
	case string:
		out = strings.Split(t, ",")
	default:
		r.errs = append(r.errs, fmt.Errorf("context %s: want a list or a comma-separated string, got %T", key, v))
		return
	}
	*def = (*def)[:0:0]
	for _, e := range out {
		if e = strings.TrimSpace(e); e != "" {
			*def = append(*def, e)
		}
	}
}

func (r *contextReader) number(key string, def *float64, min, max float64) {
	v, ok := r.get(key)
	if !ok {
		return
	}
	var f float64
	switch t := v.(type) {
	case float64:
		f = t
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(t), 64); err != nil {
			r.errs = append(r.errs, fmt.Errorf("context %s=%q: want a number", key, t))
			return
		}
	default:
		r.errs = append(r.errs, fmt.Errorf("context %s: want a number, got %T", key, v))
		return
	}
	if f < min || f > max {
		r.errs = append(r.errs, fmt.Errorf("context %s=%v: want %v..%v", key, f, min, max))
		return
	}
	*def = f
}

func (r *contextReader) integer(key string, def *int, min, max int) {
	f := float64(*def)
	r.number(key, &f, float64(min), float64(max))
	if f != float64(int(f)) {
		r.errs = append(r.errs, fmt.Errorf("context %s=%v: want a whole number", key, f))
		return
	}
	*def = int(f)
}

func (r *contextReader) boolean(key string, def *bool) {
	v, ok := r.get(key)
	if !ok {
		return
	}
	switch t := v.(type) {
	case bool:
		*def = t
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(t))
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("context %s=%q: want true or false", key, t))
			return
		}
		*def = b
	default:
		r.errs = append(r.errs, fmt.Errorf("context %s: want true or false, got %T", key, v))
	}
}

var stageName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,20}$`)

// LoadConfig reads the context of node (the app) over the defaults. A
// relative buildDir is taken from repoRoot.
func LoadConfig(node constructs.Node, repoRoot string) (Config, error) {
	c := defaultConfig()
	r := &contextReader{node: node}
	r.str("stage", &c.Stage)
	r.str("appUrl", &c.AppURL)
	r.list("corsOrigins", &c.CORSOrigins)
	r.str("oidcIssuer", &c.OIDCIssuer)
	r.str("oidcClientId", &c.OIDCClientID)
	r.str("oidcClientSecretArn", &c.OIDCClientSecretArn)
	r.str("oidcRedirectUrl", &c.OIDCRedirectURL)
	r.list("oidcAllowedDomains", &c.OIDCAllowedDomains)
	r.str("oidcDefaultOrg", &c.OIDCDefaultOrg)
	r.str("oidcDefaultRole", &c.OIDCDefaultRole)
	r.integer("logRetentionDays", &c.LogRetentionDays, 0, 3653)
	r.integer("reportRetentionDays", &c.ReportRetentionDays, 1, 3650)
	r.integer("signingKeyRotationDays", &c.SigningKeyRotationDays, 1, 1000)
	r.str("removalPolicy", &c.RemovalPolicy)
	r.boolean("deletionProtection", &c.DeletionProtection)
	r.number("throttleRate", &c.ThrottleRate, 1, 10000)
	r.number("throttleBurst", &c.ThrottleBurst, 1, 5000)
	r.number("loginThrottleRate", &c.LoginThrottleRate, 1, 10000)
	r.number("loginThrottleBurst", &c.LoginThrottleBurst, 1, 5000)
	r.str("alarmEmail", &c.AlarmEmail)
	r.str("buildDir", &c.BuildDir)

	errs := r.errs
	if !stageName.MatchString(c.Stage) {
		errs = append(errs, fmt.Errorf("context stage=%q: want lower-case letters, digits and dashes, starting with a letter, at most 21 characters", c.Stage))
	}
	if c.RemovalPolicy != "retain" && c.RemovalPolicy != "destroy" {
		errs = append(errs, fmt.Errorf("context removalPolicy=%q: want retain or destroy", c.RemovalPolicy))
	}
	if _, ok := retentionDays[c.LogRetentionDays]; !ok {
		errs = append(errs, fmt.Errorf("context logRetentionDays=%d: CloudWatch Logs accepts only %s (0 = never expire)", c.LogRetentionDays, retentionChoices()))
	}
	switch c.OIDCDefaultRole {
	case "admin", "auditor", "viewer", "client":
	default:
		errs = append(errs, fmt.Errorf("context oidcDefaultRole=%q: want admin, auditor, viewer or client", c.OIDCDefaultRole))
	}
	if c.OIDCClientSecretArn != "" && !strings.HasPrefix(c.OIDCClientSecretArn, "arn:") {
		errs = append(errs, fmt.Errorf("context oidcClientSecretArn=%q: want the ARN of a Secrets Manager secret", c.OIDCClientSecretArn))
	}
	for _, o := range c.CORSOrigins {
		if o == "*" {
			errs = append(errs, errors.New("context corsOrigins: \"*\" is refused: the refresh cookie needs credentialed CORS, which requires explicit origins"))
		}
	}
	if c.BuildDir == "" {
		errs = append(errs, errors.New("context buildDir is empty"))
	} else if !filepath.IsAbs(c.BuildDir) {
		c.BuildDir = filepath.Join(repoRoot, c.BuildDir)
	}
	return c, errors.Join(errs...)
}

// retentionDays maps days to the values CloudWatch Logs accepts.
var retentionDays = map[int]awslogs.RetentionDays{
	0: awslogs.RetentionDays_INFINITE, 1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS,
	30: awslogs.RetentionDays_ONE_MONTH, 60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS,
	365: awslogs.RetentionDays_ONE_YEAR, 400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS,
	2192: awslogs.RetentionDays_SIX_YEARS, 2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
}

func retentionChoices() string {
	var days []string
	for _, d := range slices.Sorted(maps.Keys(retentionDays)) {
		days = append(days, strconv.Itoa(d))
	}
	return strings.Join(days, ", ")
}
