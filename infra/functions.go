package main

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Trigger says what invokes a function other than API Gateway.
type Trigger string

const (
	// TriggerNone: the function is invoked through its HTTP routes only.
	TriggerNone Trigger = ""
	// TriggerScanRequested: EventBridge rule "scan requested" on the project bus.
	TriggerScanRequested Trigger = "eventbridge:ScanRequested"
	// TriggerEveryMinute: EventBridge rule rate(1 minute) on the default bus.
	TriggerEveryMinute Trigger = "eventbridge:rate(1 minute)"
	// TriggerReportWorkflow: the tasks of the "report" state machine.
	TriggerReportWorkflow Trigger = "stepfunctions:report"
	// TriggerSigningKeyRotation: Secrets Manager rotation of the signing key.
	TriggerSigningKeyRotation Trigger = "secretsmanager:rotation"
)

// TableAccess is what a function may do with the DynamoDB table.
type TableAccess int

const (
	TableNone TableAccess = iota
	// TableDescribe: dynamodb:DescribeTable only (readiness probe).
	TableDescribe
	// TableItems: the item actions of the store (see tableItemActions).
	TableItems
)

// S3Grant is a set of object actions on key patterns of the bucket.
type S3Grant struct {
	Actions  []string
	Patterns []string // object key patterns, e.g. "orgs/*/reports/*"
}

// Key patterns of the bucket (docs/data-model.md, section S3). "*" in the
// organization position is the only wildcard: an IAM resource cannot name a
// tenant, tenancy is enforced by the code that builds the keys.
const (
	keysAttachments = "orgs/*/attachments/*"
	keysUploads     = "orgs/*/uploads/*"
	keysReports     = "orgs/*/reports/*"
	keysWorkReports = "work/reports/*"
)

// FunctionSpec is the deployment metadata of one folder of functions/.
type FunctionSpec struct {
	// MemoryMB also buys CPU: Lambda allots CPU in proportion to memory
	// (one full vCPU at 1,769 MB).
	MemoryMB float64
	Timeout  time.Duration

	// Routes served through API Gateway, "METHOD /path" ("ANY" for every method).
	Routes  []string
	Trigger Trigger

	Table      TableAccess
	S3         []S3Grant
	ListBucket bool // s3:ListBucket on the bucket (HeadBucket for the readiness probe)

	PutEvents      bool // events:PutEvents on the project bus, env RAMPART_EVENT_BUS
	StartReports   bool // states:StartExecution on the report state machine, env RAMPART_REPORT_STATE_MACHINE
	ReadSigningKey bool // GetSecretValue on the signing-key secret, env RAMPART_SIGNING_KEY_SECRET_ARN
	OIDC           bool // OIDC settings in the environment, GetSecretValue on the client secret
	// Requires names functions this one cannot work without; the stack
	// carries a warning (deploy --strict fails) when their folders are missing.
	Requires []string
}

// HTTP reports whether the function serves routes through API Gateway. Every
// HTTP function verifies access tokens, so it reads the verify-keys secret.
func (s FunctionSpec) HTTP() bool { return len(s.Routes) > 0 }

// group returns the two routes of a route group: the collection and everything under it.
func group(name string) []string {
	return []string{"ANY /api/v1/" + name, "ANY /api/v1/" + name + "/{proxy+}"}
}

// Sizing defaults. An HTTP function cannot usefully run longer than 29 s: the
// HTTP API integration timeout is 30 s, after which the client already has a
// 504; a short timeout stops a stuck request from burning money.
const (
	apiTimeout     = 10 * time.Second
	apiLongTimeout = 29 * time.Second
)

// Functions is the metadata table: one entry per folder of functions/ (except
// functions/local, the all-in-one local server). Synth fails on a folder
// without an entry, and the tests fail on an entry without a route or trigger.
var Functions = map[string]FunctionSpec{
	// health: liveness/readiness probes, the OpenAPI document, the docs UIs
	// (their assets are embedded in the binary) and the legacy unversioned
	// /api/... paths (308 or 410). It reads no data: 128 MB is plenty, and the
	// readiness probe (DescribeTable + HeadBucket) answers in well under 10 s.
	// It still verifies tokens: a setting makes openapi.json require one.
	"health": {
		MemoryMB: 128, Timeout: apiTimeout,
		Routes: []string{
			"GET /api/v1/health", "GET /api/v1/health/live", "GET /api/v1/health/ready",
			"GET /api/v1/openapi.json", "GET /api/v1/docs", "GET /api/v1/redoc",
			"GET /api/v1/docs/{proxy+}", "GET /docs", "GET /redoc",
			// Legacy unversioned paths. API Gateway picks the most specific
			// route, so every /api/v1/<group> route below wins over this one.
			"ANY /api/{proxy+}",
		},
		Table: TableDescribe, ListBucket: true,
	},
	// auth: login, refresh, logout, OIDC, register, accept-invite, profile.
	// Password hashing is deliberately CPU-bound: 1,024 MB (~0.6 vCPU) keeps a
	// login in the low hundreds of milliseconds; 15 s covers the OIDC code
	// exchange and ID-token verification against a slow identity provider.
	"auth": {
		MemoryMB: 1024, Timeout: 15 * time.Second,
		Routes: []string{
			"ANY /api/v1/auth/{proxy+}", "ANY /api/v1/users/me",
			// Its own route so that the stage can throttle it harder than the rest.
			"POST /api/v1/auth/login",
		},
		Table: TableItems, ReadSigningKey: true, OIDC: true,
		Requires: []string{"key-rotator"}, // nothing else ever writes a signing key
	},
	// users: admin views of members; creating a user hashes an initial
	// password, hence more CPU than the plain CRUD functions.
	"users": {
		MemoryMB: 512, Timeout: apiTimeout,
		Routes: group("users"), Table: TableItems,
	},
	// Plain CRUD over a few items per request: 256 MB, 10 s.
	"organizations": {MemoryMB: 256, Timeout: apiTimeout, Routes: group("organizations"), Table: TableItems},
	"clients":       {MemoryMB: 256, Timeout: apiTimeout, Routes: group("clients"), Table: TableItems},
	"sessions":      {MemoryMB: 256, Timeout: apiTimeout, Routes: group("sessions"), Table: TableItems},
	"templates":     {MemoryMB: 256, Timeout: apiTimeout, Routes: group("templates"), Table: TableItems},
	"taxonomy":      {MemoryMB: 256, Timeout: apiTimeout, Routes: group("taxonomy"), Table: TableItems},
	"schedules": {
		MemoryMB: 256, Timeout: apiTimeout, Routes: group("schedules"), Table: TableItems,
		PutEvents: true, // POST /schedules/{id}/run publishes "scan requested"
	},
	// assets: CSV import of up to 10,000 rows, validated whole and then written
	// in batches, must fit in the API's 30 s: 1,024 MB for CPU, 29 s.
	"assets": {MemoryMB: 1024, Timeout: apiLongTimeout, Routes: group("assets"), Table: TableItems},
	// findings: bulk updates of up to 100 findings run one transaction each.
	// Deleting a finding removes its attachments' objects.
	"findings": {
		MemoryMB: 512, Timeout: apiLongTimeout, Routes: group("findings"), Table: TableItems,
		S3: []S3Grant{{Actions: []string{"s3:DeleteObject"}, Patterns: []string{keysAttachments}}},
	},
	// attachments: multipart uploads up to the 6 MB Lambda payload are held
	// in memory and sniffed; larger ones go through presigned PUTs signed with
	// this function's role (so the role needs the object actions itself).
	// s3:PutObjectTagging because a presigned upload carries the tag
	// rampart-kind=upload (x-amz-tagging) that the lifecycle rule expires.
	"attachments": {
		MemoryMB: 512, Timeout: apiLongTimeout,
		Routes: []string{
			"ANY /api/v1/findings/{id}/attachments", "ANY /api/v1/findings/{id}/attachments/{proxy+}",
			"ANY /api/v1/attachments/{proxy+}",
		},
		Table: TableItems,
		S3: []S3Grant{
			{Actions: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, Patterns: []string{keysAttachments, keysUploads}},
			{Actions: []string{"s3:PutObjectTagging"}, Patterns: []string{keysUploads}},
		},
	},
	// scans: creating a scan publishes "scan requested"; deleting one removes
	// its results and the findings (with attachments) seen by no other scan,
	// which can be many items: 29 s.
	"scans": {
		MemoryMB: 256, Timeout: apiLongTimeout, Routes: group("scans"), Table: TableItems,
		PutEvents: true,
		S3:        []S3Grant{{Actions: []string{"s3:DeleteObject"}, Patterns: []string{keysAttachments}}},
	},
	// reports: starts report executions and presigns downloads (a presigned GET
	// is only as good as the signer's own s3:GetObject). The session report
	// routes wait a short while for a fresh export before answering 202: 29 s.
	// No states:DescribeExecution: the status lives in the export item.
	"reports": {
		MemoryMB: 256, Timeout: apiLongTimeout, Routes: group("reports"), Table: TableItems,
		StartReports: true,
		S3:           []S3Grant{{Actions: []string{"s3:GetObject"}, Patterns: []string{keysReports}}},
		Requires:     []string{"report-worker"}, // the state machine it starts
	},

	// scan-worker: runs the checks of one scan with bounded concurrency (TLS
	// handshakes, HTTP, DNS, port probes): network-bound but with many
	// goroutines, 1,024 MB; thousands of targets need Lambda's maximum, 15 min.
	"scan-worker": {
		MemoryMB: 1024, Timeout: 15 * time.Minute,
		Trigger: TriggerScanRequested, Table: TableItems,
	},
	// schedule-dispatcher: every minute, claims due schedules from the sparse
	// DueIndex and publishes one "scan requested" each. Must finish well
	// within the minute before the next run: 256 MB, 50 s.
	"schedule-dispatcher": {
		MemoryMB: 256, Timeout: 50 * time.Second,
		Trigger: TriggerEveryMinute, Table: TableItems, PutEvents: true,
	},
	// report-worker: the load/render/store/finish/fail steps. Rendering a PDF
	// of thousands of findings with embedded fonts is CPU- and memory-heavy:
	// 2,048 MB (> 1 vCPU) and 5 min per step; no fixed cap on findings.
	// s3:PutObjectTagging because artifacts carry rampart-kind=report.
	"report-worker": {
		MemoryMB: 2048, Timeout: 5 * time.Minute,
		Trigger: TriggerReportWorkflow, Table: TableItems,
		S3: []S3Grant{
			{Actions: []string{"s3:GetObject", "s3:PutObject"}, Patterns: []string{keysReports, keysWorkReports}},
			{Actions: []string{"s3:PutObjectTagging"}, Patterns: []string{keysReports}},
		},
	},
	// key-rotator: Secrets Manager rotation of the JWT signing key (create,
	// set, test, finish), publishing the public half to the verify-keys
	// secret. Generating a key pair is quick; 30 s covers the API calls.
	"key-rotator": {
		MemoryMB: 256, Timeout: 30 * time.Second,
		Trigger: TriggerSigningKeyRotation,
	},
}

// localServer is the folder of the all-in-one local server: not a Lambda.
const localServer = "local"

// DiscoverFunctions lists the folders of dir (the repository's functions/)
// that become Lambdas (those with Go files, except local), and fails when
// one has no metadata entry.
func DiscoverFunctions(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list function folders: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || e.Name() == localServer || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		// Like scripts/build.sh: a folder without Go files is no function (yet).
		if goFiles, _ := filepath.Glob(filepath.Join(dir, e.Name(), "*.go")); len(goFiles) == 0 {
			continue
		}
		names = append(names, e.Name())
	}
	if err := CheckFunctions(names); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return names, nil
}

// CheckFunctions fails on a function name without metadata.
func CheckFunctions(names []string) error {
	var errs []error
	for _, n := range names {
		if _, ok := Functions[n]; !ok {
			errs = append(errs, fmt.Errorf("function folder %q has no entry in infra/functions.go (Functions): add its memory, timeout, routes or trigger and permissions", n))
		}
	}
	return errors.Join(errs...)
}

// MissingRequirements names each function of names whose requirement is not
// among names. The stack still synthesizes (functions are being added one
// by one) but carries a warning, which `cdk deploy --strict` refuses.
func MissingRequirements(names []string) []string {
	var out []string
	for _, n := range names {
		for _, r := range Functions[n].Requires {
			if !slices.Contains(names, r) {
				out = append(out, fmt.Sprintf("function %q requires function %q, which has no folder in functions/", n, r))
			}
		}
	}
	return out
}

// ValidateMetadata checks the table itself: every entry is reachable (a route
// or a trigger), sized, and its routes are well formed and owned once.
func ValidateMetadata(specs map[string]FunctionSpec) error {
	var errs []error
	owner := map[string]string{}
	triggered := map[Trigger]string{}
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		s := specs[name]
		if len(s.Routes) == 0 && s.Trigger == TriggerNone {
			errs = append(errs, fmt.Errorf("%s: no route and no trigger: nothing would ever invoke it", name))
		}
		if s.Trigger != TriggerNone {
			if prev, dup := triggered[s.Trigger]; dup {
				errs = append(errs, fmt.Errorf("trigger %s given to both %s and %s", s.Trigger, prev, name))
			}
			triggered[s.Trigger] = name
		}
		if s.MemoryMB < 128 || s.MemoryMB > 10240 {
			errs = append(errs, fmt.Errorf("%s: memory %v MB outside 128..10240", name, s.MemoryMB))
		}
		if s.Timeout <= 0 || s.Timeout > 15*time.Minute {
			errs = append(errs, fmt.Errorf("%s: timeout %s outside (0, 15m]", name, s.Timeout))
		}
		if s.HTTP() && s.Timeout > apiLongTimeout {
			errs = append(errs, fmt.Errorf("%s: HTTP function timeout %s exceeds the API's 29 s", name, s.Timeout))
		}
		for _, r := range s.Routes {
			if _, _, err := parseRoute(r); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			if prev, dup := owner[r]; dup {
				errs = append(errs, fmt.Errorf("route %q owned by both %s and %s", r, prev, name))
			}
			owner[r] = name
		}
		for _, req := range s.Requires {
			if _, ok := specs[req]; !ok {
				errs = append(errs, fmt.Errorf("%s requires unknown function %q", name, req))
			}
		}
	}
	return errors.Join(errs...)
}

var routeMethods = map[string]bool{"ANY": true, "GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true}

// parseRoute splits "METHOD /path".
func parseRoute(r string) (method, path string, err error) {
	method, path, ok := strings.Cut(r, " ")
	if !ok || !routeMethods[method] || !strings.HasPrefix(path, "/") || strings.Contains(path, " ") {
		return "", "", fmt.Errorf("route %q: want \"METHOD /path\"", r)
	}
	if i := strings.Index(path, "{proxy+}"); i >= 0 && i != len(path)-len("{proxy+}") {
		return "", "", fmt.Errorf("route %q: a greedy {proxy+} must be the last segment", r)
	}
	return method, path, nil
}

// zipPath is where `make build` leaves a function's package.
func zipPath(buildDir, name string) string { return filepath.Join(buildDir, name+".zip") }
