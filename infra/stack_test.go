package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// One jsii runtime for the whole package: each restart costs seconds.
func TestMain(m *testing.M) {
	// The jsii runtime's Node 20 end-of-life banner drowns the test output.
	if os.Getenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION") == "" {
		os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	}
	code := m.Run()
	jsii.Close()
	if synthDir != "" {
		os.RemoveAll(synthDir)
	}
	os.Exit(code)
}

// Values the test deployment sets over cdk.json's defaults, so that the
// optional paths (CORS, OIDC client secret, alarm e-mail) are synthesized too.
const (
	testOrigin       = "https://app.example.com"
	testOIDCSecret   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rampart-oidc-AbCdEf"
	testReportDays   = 45
	testLoginRate    = 3
	testLoginBurst   = 6
	testThrottleRate = 70
)

// allFunctions is every entry of the metadata table: the test does not
// depend on which folders exist in functions/ right now.
func allFunctions() []string { return slices.Sorted(maps.Keys(Functions)) }

// cdkContext is cdk.json's "context".
func cdkContext() (map[string]any, error) {
	raw, err := os.ReadFile("../cdk.json")
	if err != nil {
		return nil, err
	}
	var doc struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	if doc.App != "cd infra && go run ." {
		return nil, fmt.Errorf("cdk.json app = %q", doc.App)
	}
	return doc.Context, nil
}

// dummyZips writes a minimal package (bootstrap at the root) per function.
func dummyZips(dir string, names []string) error {
	for _, n := range names {
		f, err := os.Create(zipPath(dir, n))
		if err != nil {
			return err
		}
		w := zip.NewWriter(f)
		h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
		h.SetMode(0o755)
		bw, err := w.CreateHeader(h)
		if err == nil {
			_, err = bw.Write([]byte("#!/bin/sh\necho " + n + "\n"))
		}
		if err == nil {
			err = w.Close()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type synthesized struct {
	stack    *RampartStack
	template assertions.Template
	json     map[string]any
	cfg      Config
	fnIDs    map[string]string // function name -> logical id
	err      error
}

var (
	synthOnce sync.Once
	synthRes  synthesized
	synthDir  string // the shared synth's dummy zips, removed by TestMain
)

// synth builds the stack once for all tests, with every function of the
// metadata table, dummy zips in a temp dir passed as the buildDir context.
func synth(t *testing.T) *synthesized {
	t.Helper()
	synthOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rampart-infra-test-")
		if err != nil {
			synthRes.err = err
			return
		}
		synthDir = dir
		names := allFunctions()
		if synthRes.err = dummyZips(dir, names); synthRes.err != nil {
			return
		}
		ctx, err := cdkContext()
		if err != nil {
			synthRes.err = err
			return
		}
		ctx["buildDir"] = dir
		ctx["corsOrigins"] = []any{testOrigin}
		ctx["oidcClientSecretArn"] = testOIDCSecret
		ctx["oidcIssuer"] = "https://login.example.com"
		ctx["oidcClientId"] = "rampart"
		ctx["oidcAllowedDomains"] = "example.com, example.org" // the -c form
		ctx["alarmEmail"] = "ops@example.com"
		ctx["reportRetentionDays"] = fmt.Sprint(testReportDays) // the -c form
		ctx["loginThrottleRate"] = float64(testLoginRate)
		ctx["loginThrottleBurst"] = float64(testLoginBurst)
		ctx["throttleRate"] = float64(testThrottleRate)
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
		cfg, err := LoadConfig(app.Node(), "/nonexistent")
		if err != nil {
			synthRes.err = err
			return
		}
		s, err := NewRampartStack(app, "Rampart-test", &RampartStackProps{Config: cfg, Functions: names})
		if err != nil {
			synthRes.err = err
			return
		}
		tmpl := assertions.Template_FromStack(s.Stack, nil)
		synthRes = synthesized{stack: s, template: tmpl, json: *tmpl.ToJSON(), cfg: cfg, fnIDs: map[string]string{}}
		for n, fn := range s.Functions {
			synthRes.fnIDs[n] = *s.Stack.GetLogicalId(fn.Node().DefaultChild().(awscdk.CfnElement))
		}
	})
	if synthRes.err != nil {
		t.Fatalf("synth: %v", synthRes.err)
	}
	return &synthRes
}

// assert runs an assertions call, turning its panic into a test failure.
func assert(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// ref returns the logical id a {"Ref": id} or {"Fn::GetAtt": [id, attr]} points at.
func ref(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if g, ok := m["Fn::GetAtt"].([]any); ok && len(g) > 0 {
		s, _ := g[0].(string)
		return s
	}
	return ""
}

// render flattens an intrinsic into a string: Fn::Join is joined, a Ref or
// GetAtt becomes "<id>" (or "<id>.<attr>"), AWS pseudo parameters a sample value.
func render(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		if j, ok := t["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
		if r, ok := t["Ref"].(string); ok {
			switch r {
			case "AWS::Partition":
				return "aws"
			case "AWS::Region":
				return "us-east-1"
			case "AWS::AccountId":
				return "123456789012"
			case "AWS::URLSuffix":
				return "amazonaws.com"
			}
			return "<" + r + ">"
		}
		if g, ok := t["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("<%v.%v>", g[0], g[1])
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func strs(v any) []string {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, e := range t {
			out = append(out, render(e))
		}
		return out
	default:
		return []string{render(t)}
	}
}

// ---------------------------------------------------------------------------
// Metadata and discovery

func TestMetadataTable(t *testing.T) {
	if err := ValidateMetadata(Functions); err != nil {
		t.Fatalf("infra/functions.go: %v", err)
	}
	// The check itself: an entry nothing invokes, a bad route, a duplicate.
	bad := map[string]FunctionSpec{
		"orphan": {MemoryMB: 128, Timeout: 1e9},
		"a":      {MemoryMB: 128, Timeout: 1e9, Routes: []string{"GET /x", "FETCH /y", "ANY /a/{proxy+}/b"}},
		"b":      {MemoryMB: 128, Timeout: 1e9, Routes: []string{"GET /x"}, Requires: []string{"ghost"}},
		"slow":   {MemoryMB: 128, Timeout: 60e9, Routes: []string{"GET /slow"}},
		"tick1":  {MemoryMB: 128, Timeout: 1e9, Trigger: TriggerEveryMinute},
		"tick2":  {MemoryMB: 128, Timeout: 1e9, Trigger: TriggerEveryMinute},
	}
	err := ValidateMetadata(bad)
	for _, want := range []string{"orphan: no route and no trigger", `"FETCH /y"`, "greedy", `owned by both a and b`, `unknown function "ghost"`, "exceeds the API's 29 s", "given to both tick1 and tick2"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateMetadata(bad) = %v, want it to mention %q", err, want)
		}
	}
}

func TestDiscoverFunctions(t *testing.T) {
	mk := func(names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
				t.Fatal(err)
			}
			if n != "empty" {
				if err := os.WriteFile(filepath.Join(dir, n, "main.go"), []byte("package main\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "README.md"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	got, err := DiscoverFunctions(mk("health", "local", ".hidden", "scans", "scan-worker", "empty"))
	if err != nil || !slices.Equal(got, []string{"health", "scan-worker", "scans"}) {
		t.Errorf("DiscoverFunctions = %v, %v", got, err)
	}
	_, err = DiscoverFunctions(mk("health", "billing"))
	if err == nil || !strings.Contains(err.Error(), `"billing" has no entry in infra/functions.go`) {
		t.Errorf("a folder without metadata: err = %v", err)
	}
	if got, err := DiscoverFunctions(mk("reports")); err != nil || len(got) != 1 {
		t.Errorf("a missing requirement is no discovery error: %v, %v", got, err)
	}
	if m := MissingRequirements([]string{"reports", "auth", "health"}); len(m) != 2 ||
		!strings.Contains(m[0], `"reports" requires function "report-worker"`) || !strings.Contains(m[1], `"auth" requires function "key-rotator"`) {
		t.Errorf("MissingRequirements = %q", m)
	}
	if m := MissingRequirements(allFunctions()); len(m) != 0 {
		t.Errorf("MissingRequirements(all) = %q", m)
	}
	if _, err := DiscoverFunctions(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("a missing functions/ folder: no error")
	}
}

func TestMissingPackageFailsSynth(t *testing.T) {
	synth(t) // the shared runtime is up; this app is separate
	app := awscdk.NewApp(nil)
	cfg := defaultConfig()
	cfg.BuildDir = t.TempDir()
	_, err := NewRampartStack(app, "Rampart-nozip", &RampartStackProps{Config: cfg, Functions: []string{"health"}})
	if err == nil || !strings.Contains(err.Error(), "health.zip") || !strings.Contains(err.Error(), "make build") {
		t.Errorf("err = %v", err)
	}
	_, err = NewRampartStack(app, "Rampart-unknown", &RampartStackProps{Config: cfg, Functions: []string{"billing"}})
	if err == nil || !strings.Contains(err.Error(), "no entry in infra/functions.go") {
		t.Errorf("err = %v", err)
	}
}

// A partial set of functions synthesizes, with a warning per missing
// requirement (which `cdk deploy --strict` turns into a failure), and
// without the resources of the absent functions.
func TestPartialFunctionSet(t *testing.T) {
	synth(t)
	cfg := defaultConfig()
	cfg.BuildDir = t.TempDir()
	names := []string{"health", "reports"}
	if err := dummyZips(cfg.BuildDir, names); err != nil {
		t.Fatal(err)
	}
	s, err := NewRampartStack(awscdk.NewApp(nil), "Rampart-partial", &RampartStackProps{Config: cfg, Functions: names})
	if err != nil {
		t.Fatal(err)
	}
	assert(t, "warning", func() {
		assertions.Annotations_FromStack(s.Stack).HasWarning(jsii.String("/Rampart-partial"),
			assertions.Match_StringLikeRegexp(jsii.String(`"reports" requires function "report-worker".*not deployable`)))
	})
	tmpl := assertions.Template_FromStack(s.Stack, nil)
	assert(t, "partial stack", func() {
		tmpl.ResourceCountIs(jsii.String("AWS::Lambda::Function"), jsii.Number(2))
		tmpl.ResourceCountIs(jsii.String("AWS::StepFunctions::StateMachine"), jsii.Number(0))
		tmpl.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(0))
		tmpl.ResourceCountIs(jsii.String("AWS::SQS::Queue"), jsii.Number(0))
		tmpl.ResourceCountIs(jsii.String("AWS::SecretsManager::RotationSchedule"), jsii.Number(0))
		// No auth: no login route, so no route settings on the stage.
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), &map[string]any{"RouteSettings": assertions.Match_Absent()})
	})
}

func TestConfig(t *testing.T) {
	synth(t)
	// cdk.json's context holds exactly the code's defaults.
	ctx, err := cdkContext()
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	got, err := LoadConfig(app.Node(), "/repo")
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	want.BuildDir = "/repo/build/lambda"
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("cdk.json context differs from defaultConfig():\n got %+v\nwant %+v", got, want)
	}
	// Invalid values are all reported at once.
	bad := map[string]any{"stage": "Prod", "removalPolicy": "keep", "logRetentionDays": "31",
		"deletionProtection": "maybe", "throttleRate": 0, "corsOrigins": []any{"*"}}
	app = awscdk.NewApp(&awscdk.AppProps{Context: &bad})
	_, err = LoadConfig(app.Node(), "/repo")
	for _, want := range []string{"stage", "removalPolicy", "logRetentionDays", "deletionProtection", "throttleRate", "corsOrigins"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadConfig(bad) = %v, want it to name %s", err, want)
		}
	}
}

// ---------------------------------------------------------------------------
// Functions

func TestFunctions(t *testing.T) {
	s := synth(t)
	fns := s.resources("AWS::Lambda::Function")
	if len(fns) != len(Functions) {
		t.Errorf("%d functions in the template, want %d", len(fns), len(Functions))
	}
	logGroups := s.resources("AWS::Logs::LogGroup")
	usedLogGroups := map[string]string{}
	for _, name := range allFunctions() {
		spec := Functions[name]
		id, ok := s.fnIDs[name]
		if !ok {
			t.Errorf("%s: not created", name)
			continue
		}
		p := props(fns[id])
		if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || fmt.Sprint(p["Architectures"]) != "[arm64]" {
			t.Errorf("%s: runtime %v handler %v architectures %v", name, p["Runtime"], p["Handler"], p["Architectures"])
		}
		if p["MemorySize"] != spec.MemoryMB || p["Timeout"] != spec.Timeout.Seconds() {
			t.Errorf("%s: memory %v timeout %v, want %v %v", name, p["MemorySize"], p["Timeout"], spec.MemoryMB, spec.Timeout.Seconds())
		}
		if code, _ := p["Code"].(map[string]any); code == nil || code["S3Key"] == nil {
			t.Errorf("%s: code is not an asset: %v", name, p["Code"])
		}
		lc, _ := p["LoggingConfig"].(map[string]any)
		lg := ref(lc["LogGroup"])
		if _, ok := logGroups[lg]; !ok {
			t.Errorf("%s: logging config %v does not name a log group of the stack", name, lc)
		} else {
			if other, dup := usedLogGroups[lg]; dup {
				t.Errorf("%s and %s share log group %s", name, other, lg)
			}
			usedLogGroups[lg] = name
			if days := props(logGroups[lg])["RetentionInDays"]; days != float64(s.cfg.LogRetentionDays) {
				t.Errorf("%s: log retention %v", name, days)
			}
		}

		env := map[string]string{}
		if e, ok := p["Environment"].(map[string]any); ok {
			for k, v := range e["Variables"].(map[string]any) {
				env[k] = render(v)
			}
		}
		expect := map[string]bool{
			"RAMPART_TABLE": true, "RAMPART_BUCKET": true, "RAMPART_STAGE": true,
			"RAMPART_APP_URL": true, "RAMPART_CORS_ORIGINS": true,
			// every function (shared/config requires it), readable by HTTP ones only
			"RAMPART_VERIFY_KEYS_SECRET_ARN": true,
			"RAMPART_EVENT_BUS":              name == "scans" || name == "schedules" || name == "schedule-dispatcher",
			"RAMPART_REPORT_STATE_MACHINE":   name == "reports",
			"RAMPART_REPORT_RETENTION_DAYS":  name == "reports" || name == "report-worker",
			"RAMPART_SIGNING_KEY_SECRET_ARN": name == "auth" || name == "key-rotator",
		}
		for _, k := range []string{"ISSUER", "CLIENT_ID", "CLIENT_SECRET_ARN", "REDIRECT_URL", "ALLOWED_DOMAINS", "DEFAULT_ORG", "DEFAULT_ROLE"} {
			expect["RAMPART_OIDC_"+k] = name == "auth"
		}
		for k, want := range expect {
			if _, got := env[k]; got != want {
				t.Errorf("%s: env %s present=%v, want %v", name, k, got, want)
			}
		}
		for k := range env {
			if _, known := expect[k]; !known {
				t.Errorf("%s: unexpected env %s", name, k)
			}
		}
		if env["RAMPART_STAGE"] != "$default" || env["RAMPART_CORS_ORIGINS"] != testOrigin {
			t.Errorf("%s: RAMPART_STAGE=%q RAMPART_CORS_ORIGINS=%q", name, env["RAMPART_STAGE"], env["RAMPART_CORS_ORIGINS"])
		}
		if name == "auth" {
			if env["RAMPART_OIDC_ALLOWED_DOMAINS"] != "example.com,example.org" ||
				env["RAMPART_OIDC_CLIENT_SECRET_ARN"] != testOIDCSecret ||
				!strings.HasSuffix(env["RAMPART_OIDC_REDIRECT_URL"], ".amazonaws.com/api/v1/auth/oidc/callback") {
				t.Errorf("auth OIDC env: %v", env)
			}
		}
	}
	// The async invoke settings of the workers.
	dlq := onlyID(t, s.resources("AWS::SQS::Queue"))
	sw := props(fns[s.fnIDs["scan-worker"]])
	if ref(sw["DeadLetterConfig"].(map[string]any)["TargetArn"]) != dlq {
		t.Errorf("scan-worker dead-letter config: %v", sw["DeadLetterConfig"])
	}
	eic := map[string]map[string]any{}
	for _, r := range s.resources("AWS::Lambda::EventInvokeConfig") {
		eic[render(props(r)["FunctionName"])] = props(r)
	}
	if c := eic["<"+s.fnIDs["scan-worker"]+">"]; c == nil || c["MaximumRetryAttempts"] != 2.0 {
		t.Errorf("scan-worker async config: %v", c)
	}
	if c := eic["<"+s.fnIDs["schedule-dispatcher"]+">"]; c == nil || c["MaximumRetryAttempts"] != 0.0 {
		t.Errorf("schedule-dispatcher async config: %v", c)
	}
}

func onlyID(t *testing.T, m map[string]map[string]any) string {
	t.Helper()
	if len(m) != 1 {
		t.Fatalf("want exactly one resource, got %v", slices.Sorted(maps.Keys(m)))
	}
	for id := range m {
		return id
	}
	return ""
}

// ---------------------------------------------------------------------------
// API

func TestRoutes(t *testing.T) {
	s := synth(t)
	// integration id -> function logical id
	integrations := map[string]string{}
	for id, r := range s.resources("AWS::ApiGatewayV2::Integration") {
		p := props(r)
		if p["IntegrationType"] != "AWS_PROXY" || p["PayloadFormatVersion"] != "2.0" {
			t.Errorf("integration %s: type %v payload %v", id, p["IntegrationType"], p["PayloadFormatVersion"])
		}
		integrations[id] = ref(p["IntegrationUri"])
	}
	got := map[string]string{} // route key -> function logical id
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		p := props(r)
		target := render(p["Target"]) // integrations/<id>
		fn := integrations[strings.Trim(strings.TrimPrefix(target, "integrations/"), "<>")]
		got[p["RouteKey"].(string)] = fn
	}
	want := map[string]string{}
	for name, spec := range Functions {
		for _, r := range spec.Routes {
			want[r] = s.fnIDs[name]
		}
	}
	for r, fn := range want {
		if got[r] != fn {
			t.Errorf("route %q -> %q, want %q", r, got[r], fn)
		}
	}
	for r := range got {
		if _, ok := want[r]; !ok {
			t.Errorf("unexpected route %q", r)
		}
	}
	// Spot checks of the contract: route groups, and the specific routes
	// that must win over a greedy one.
	for r, fn := range map[string]string{
		"ANY /api/v1/clients":                            "clients",
		"ANY /api/v1/clients/{proxy+}":                   "clients",
		"ANY /api/v1/users/me":                           "auth",
		"ANY /api/v1/users/{proxy+}":                     "users",
		"ANY /api/v1/findings/{id}/attachments":          "attachments",
		"ANY /api/v1/findings/{id}/attachments/{proxy+}": "attachments",
		"ANY /api/v1/attachments/{proxy+}":               "attachments",
		"ANY /api/{proxy+}":                              "health",
		"GET /api/v1/docs/{proxy+}":                      "health",
		"GET /docs":                                      "health",
		"GET /redoc":                                     "health",
		"POST /api/v1/auth/login":                        "auth",
	} {
		if got[r] != s.fnIDs[fn] {
			t.Errorf("route %q is not served by %s", r, fn)
		}
	}
	for _, g := range []string{"organizations", "assets", "sessions", "findings", "templates", "taxonomy", "scans", "schedules", "reports"} {
		if got["ANY /api/v1/"+g] == "" || got["ANY /api/v1/"+g+"/{proxy+}"] == "" {
			t.Errorf("route group %s incomplete", g)
		}
	}
	// Every routed function may be invoked by API Gateway, only from this API.
	perms := 0
	for _, r := range s.resources("AWS::Lambda::Permission") {
		p := props(r)
		if p["Principal"] == "apigateway.amazonaws.com" {
			perms++
			if !strings.Contains(render(p["SourceArn"]), ":execute-api:") {
				t.Errorf("API permission not scoped to the API: %v", render(p["SourceArn"]))
			}
		}
	}
	if perms != len(want) {
		t.Errorf("%d API Gateway invoke permissions, want one per route (%d)", perms, len(want))
	}
}

func TestApiStage(t *testing.T) {
	s := synth(t)
	assert(t, "HTTP API with CORS", func() {
		s.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), &map[string]any{
			"ProtocolType": "HTTP",
			"CorsConfiguration": map[string]any{
				"AllowOrigins":     []any{testOrigin},
				"AllowCredentials": true,
			},
		})
	})
	stage := props(s.resources("AWS::ApiGatewayV2::Stage")[onlyID(t, s.resources("AWS::ApiGatewayV2::Stage"))])
	if stage["StageName"] != "$default" || stage["AutoDeploy"] != true {
		t.Errorf("stage: %v", stage)
	}
	d := stage["DefaultRouteSettings"].(map[string]any)
	if d["ThrottlingRateLimit"] != float64(testThrottleRate) || d["ThrottlingBurstLimit"] != s.cfg.ThrottleBurst {
		t.Errorf("default throttle: %v", d)
	}
	login, _ := stage["RouteSettings"].(map[string]any)[loginRoute].(map[string]any)
	if login["ThrottlingRateLimit"] != float64(testLoginRate) || login["ThrottlingBurstLimit"] != float64(testLoginBurst) {
		t.Errorf("login route throttle: %v", stage["RouteSettings"])
	}
	// The route settings name a route that must exist before the stage.
	id := onlyID(t, s.resources("AWS::ApiGatewayV2::Stage"))
	deps := strs(s.json["Resources"].(map[string]any)[id].(map[string]any)["DependsOn"])
	var loginID string
	for rid, r := range s.resources("AWS::ApiGatewayV2::Route") {
		if props(r)["RouteKey"] == loginRoute {
			loginID = rid
		}
	}
	if !slices.Contains(deps, loginID) {
		t.Errorf("stage DependsOn %v lacks the login route %s", deps, loginID)
	}
	als := stage["AccessLogSettings"].(map[string]any)
	var format map[string]any
	if err := json.Unmarshal([]byte(als["Format"].(string)), &format); err != nil {
		t.Errorf("access log format is not JSON: %v", err)
	}
	for _, k := range []string{"requestId", "status", "routeKey", "integrationError"} {
		if format[k] == nil {
			t.Errorf("access log format lacks %s", k)
		}
	}
	if _, ok := s.resources("AWS::Logs::LogGroup")[ref(als["DestinationArn"])]; !ok {
		t.Errorf("access logs go to %v, not a log group of the stack", als["DestinationArn"])
	}
}

// ---------------------------------------------------------------------------
// IAM

// actionsOnlyOnStar are actions AWS authorizes on Resource "*" only (they
// have no resource-level permissions), so "*" is the narrowest resource:
//   - logs:*LogDelivery*, logs:PutResourcePolicy, logs:DescribeResourcePolicies,
//     logs:DescribeLogGroups: CloudWatch Logs vended-log delivery, which Step
//     Functions logging needs (added by CDK to the state machine's role);
//   - xray:PutTraceSegments, xray:PutTelemetryRecords, xray:GetSampling*:
//     X-Ray tracing (unused today; listed for when tracing is switched on).
var actionsOnlyOnStar = map[string]bool{
	"logs:CreateLogDelivery": true, "logs:GetLogDelivery": true, "logs:UpdateLogDelivery": true,
	"logs:DeleteLogDelivery": true, "logs:ListLogDeliveries": true, "logs:PutResourcePolicy": true,
	"logs:DescribeResourcePolicies": true, "logs:DescribeLogGroups": true,
	"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true,
	"xray:GetSamplingRules": true, "xray:GetSamplingTargets": true,
}

type grantPair struct{ action, resource string }

// policyStatements yields every statement of every identity policy in the
// template (AWS::IAM::Policy and inline policies of AWS::IAM::Role), with
// the logical ids of the roles it is attached to.
func policyStatements(resources map[string]any, f func(roles []string, stmt map[string]any)) {
	for id, r := range resources {
		res := r.(map[string]any)
		p, _ := res["Properties"].(map[string]any)
		var docs []any
		var roles []string
		switch res["Type"] {
		case "AWS::IAM::Policy":
			for _, ro := range p["Roles"].([]any) {
				roles = append(roles, ref(ro))
			}
			docs = append(docs, p["PolicyDocument"])
		case "AWS::IAM::Role":
			roles = []string{id}
			pols, _ := p["Policies"].([]any)
			for _, pol := range pols {
				docs = append(docs, pol.(map[string]any)["PolicyDocument"])
			}
		}
		for _, d := range docs {
			for _, st := range d.(map[string]any)["Statement"].([]any) {
				f(roles, st.(map[string]any))
			}
		}
	}
}

// wildcardProblems walks every identity policy and reports an Action "*"
// (or "service:*"), a Resource "*" for an action that has narrower
// resources, NotAction/NotResource, and managed policies on roles.
func wildcardProblems(resources map[string]any) (problems []string, statements int) {
	policyStatements(resources, func(roles []string, st map[string]any) {
		statements++
		for _, k := range []string{"NotAction", "NotResource"} {
			if st[k] != nil {
				problems = append(problems, fmt.Sprintf("%v: %s in an identity policy", roles, k))
			}
		}
		if st["Effect"] != "Allow" {
			return
		}
		actions, res := strs(st["Action"]), strs(st["Resource"])
		for _, a := range actions {
			if a == "*" || strings.HasSuffix(a, ":*") {
				problems = append(problems, fmt.Sprintf("%v: wildcard action %q", roles, a))
			}
		}
		if slices.Contains(res, "*") {
			for _, a := range actions {
				if !actionsOnlyOnStar[a] {
					problems = append(problems, fmt.Sprintf("%v: %s on Resource \"*\" (it supports narrower resources)", roles, a))
				}
			}
		}
	})
	// No managed policies either (AWSLambdaBasicExecutionRole: logs on "*").
	for id, r := range resources {
		res := r.(map[string]any)
		if res["Type"] != "AWS::IAM::Role" {
			continue
		}
		if mp := props(res)["ManagedPolicyArns"]; mp != nil {
			problems = append(problems, fmt.Sprintf("role %s has managed policies %v", id, render(mp)))
		}
	}
	sort.Strings(problems)
	return problems, statements
}

func TestIAMNoWildcards(t *testing.T) {
	s := synth(t)
	problems, n := wildcardProblems(s.json["Resources"].(map[string]any))
	if n == 0 {
		t.Fatal("no IAM statements found")
	}
	for _, p := range problems {
		t.Error(p)
	}
	// The walker itself finds what it must.
	var bad map[string]any
	if err := json.Unmarshal([]byte(`{
		"P": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "R"}], "PolicyDocument": {"Statement": [
			{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"},
			{"Effect": "Allow", "Action": ["s3:GetObject", "xray:PutTraceSegments"], "Resource": "*"},
			{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:::table/t"},
			{"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}]}}},
		"R": {"Type": "AWS::IAM::Role", "Properties": {
			"ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
			"Policies": [{"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}}]}}
	}`), &bad); err != nil {
		t.Fatal(err)
	}
	got, _ := wildcardProblems(bad)
	want := []string{`[R]: NotAction in an identity policy`, `[R]: s3:GetObject on Resource "*"`,
		`[R]: sqs:SendMessage on Resource "*"`, `[R]: wildcard action "*"`, `[R]: wildcard action "dynamodb:*"`, `role R has managed policies`}
	joined := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("the walker missed %q in:\n%s", w, joined)
		}
	}
	if strings.Contains(joined, "xray:PutTraceSegments") {
		t.Errorf("xray:PutTraceSegments on \"*\" is an allowed exception:\n%s", joined)
	}
}

// grants returns, per function, the set of (action, resource) it is allowed.
func grants(t *testing.T, s *synthesized) map[string]map[grantPair]bool {
	roleOf := map[string]string{}
	for name, id := range s.fnIDs {
		roleOf[ref(props(s.json["Resources"].(map[string]any)[id].(map[string]any))["Role"])] = name
	}
	out := map[string]map[grantPair]bool{}
	policyStatements(s.json["Resources"].(map[string]any), func(roles []string, st map[string]any) {
		for _, ro := range roles {
			name, ok := roleOf[ro]
			if !ok {
				continue
			}
			if out[name] == nil {
				out[name] = map[grantPair]bool{}
			}
			for _, a := range strs(st["Action"]) {
				for _, r := range strs(st["Resource"]) {
					out[name][grantPair{a, r}] = true
				}
			}
		}
	})
	return out
}

func TestIAMPerFunction(t *testing.T) {
	s := synth(t)
	g := grants(t, s)
	table := "<" + onlyID(t, s.resources("AWS::DynamoDB::Table")) + ".Arn>"
	bucket := "<" + onlyID(t, s.resources("AWS::S3::Bucket")) + ".Arn>"
	var signing, verify string
	for id, r := range s.resources("AWS::SecretsManager::Secret") {
		if strings.Contains(fmt.Sprint(props(r)["Description"]), "signing") {
			signing = "<" + id + ">"
		} else {
			verify = "<" + id + ">"
		}
	}
	bus := "<" + onlyID(t, s.resources("AWS::Events::EventBus")) + ".Arn>"
	sm := "<" + onlyID(t, s.resources("AWS::StepFunctions::StateMachine")) + ">"
	obj := func(pattern string) string { return bucket + "/" + pattern }

	for _, name := range allFunctions() {
		spec := Functions[name]
		want := map[grantPair]bool{}
		add := func(actions []string, resources ...string) {
			for _, a := range actions {
				for _, r := range resources {
					want[grantPair{a, r}] = true
				}
			}
		}
		// its own log group
		lg := ref(props(s.json["Resources"].(map[string]any)[s.fnIDs[name]].(map[string]any))["LoggingConfig"].(map[string]any)["LogGroup"])
		add([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, "<"+lg+".Arn>")
		switch name {
		case "health":
			add([]string{"dynamodb:DescribeTable"}, table)
			add([]string{"s3:ListBucket"}, bucket)
		case "key-rotator":
		default:
			add(tableItemActions, table)
			add([]string{"dynamodb:Query"}, table+"/index/*")
		}
		if spec.HTTP() {
			add([]string{"secretsmanager:GetSecretValue"}, verify)
		}
		switch name {
		case "auth":
			add([]string{"secretsmanager:GetSecretValue"}, signing, testOIDCSecret)
		case "key-rotator":
			add([]string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}, signing)
			add([]string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}, verify)
		case "attachments":
			add([]string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, obj(keysAttachments), obj(keysUploads))
			add([]string{"s3:PutObjectTagging"}, obj(keysUploads))
		case "findings":
			add([]string{"s3:DeleteObject"}, obj(keysAttachments))
		case "scans":
			add([]string{"s3:DeleteObject"}, obj(keysAttachments))
			add([]string{"events:PutEvents"}, bus)
		case "schedules", "schedule-dispatcher":
			add([]string{"events:PutEvents"}, bus)
		case "reports":
			add([]string{"s3:GetObject"}, obj(keysReports))
			add([]string{"states:StartExecution"}, sm)
		case "report-worker":
			add([]string{"s3:GetObject", "s3:PutObject"}, obj(keysReports), obj(keysWorkReports))
			add([]string{"s3:PutObjectTagging"}, obj(keysReports))
		case "scan-worker":
			add([]string{"sqs:SendMessage"}, "<"+onlyID(t, s.resources("AWS::SQS::Queue"))+".Arn>")
		}
		got := g[name]
		for p := range want {
			if !got[p] {
				t.Errorf("%s: missing %s on %s", name, p.action, p.resource)
			}
		}
		for p := range got {
			if !want[p] {
				t.Errorf("%s: unexpected %s on %s", name, p.action, p.resource)
			}
		}
	}
	// The signing key's private half is readable by auth and key-rotator only.
	for name, ps := range g {
		for p := range ps {
			if p.resource == signing && name != "auth" && name != "key-rotator" {
				t.Errorf("%s can %s the signing key", name, p.action)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Data

func TestTable(t *testing.T) {
	s := synth(t)
	gsi := func(name, pk, sk string) map[string]any {
		return map[string]any{
			"IndexName":  name,
			"KeySchema":  []any{map[string]any{"AttributeName": pk, "KeyType": "HASH"}, map[string]any{"AttributeName": sk, "KeyType": "RANGE"}},
			"Projection": map[string]any{"ProjectionType": "ALL"},
		}
	}
	assert(t, "table", func() {
		s.template.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), &map[string]any{
			"BillingMode": "PAY_PER_REQUEST",
			"KeySchema": []any{
				map[string]any{"AttributeName": "PK", "KeyType": "HASH"},
				map[string]any{"AttributeName": "SK", "KeyType": "RANGE"},
			},
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"TimeToLiveSpecification":          map[string]any{"AttributeName": "ttl", "Enabled": true},
			"DeletionProtectionEnabled":        true,
			"GlobalSecondaryIndexes": assertions.Match_ArrayEquals(&[]any{
				gsi("GSI1", "GSI1PK", "GSI1SK"), gsi("GSI2", "GSI2PK", "GSI2SK"),
				gsi("GSI3", "GSI3PK", "GSI3SK"), gsi("DueIndex", "DuePK", "DueSK"),
			}),
		})
	})
	table := s.resources("AWS::DynamoDB::Table")[onlyID(t, s.resources("AWS::DynamoDB::Table"))]
	if table["DeletionPolicy"] != "Retain" || table["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("table removal policy: %v / %v", table["DeletionPolicy"], table["UpdateReplacePolicy"])
	}
	var attrs []string
	for _, a := range props(table)["AttributeDefinitions"].([]any) {
		m := a.(map[string]any)
		if m["AttributeType"] != "S" {
			t.Errorf("attribute %v is not a string", m)
		}
		attrs = append(attrs, m["AttributeName"].(string))
	}
	sort.Strings(attrs)
	if fmt.Sprint(attrs) != "[DuePK DueSK GSI1PK GSI1SK GSI2PK GSI2SK GSI3PK GSI3SK PK SK]" {
		t.Errorf("attribute definitions: %v", attrs)
	}
}

func TestBucket(t *testing.T) {
	s := synth(t)
	assert(t, "bucket", func() {
		s.template.HasResourceProperties(jsii.String("AWS::S3::Bucket"), &map[string]any{
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
				map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
			}},
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"VersioningConfiguration": assertions.Match_Absent(),
			"CorsConfiguration": map[string]any{"CorsRules": []any{assertions.Match_ObjectLike(&map[string]any{
				"AllowedMethods": assertions.Match_ArrayWith(&[]any{"PUT", "POST"}),
				"AllowedOrigins": []any{testOrigin},
			})}},
		})
	})
	assert(t, "TLS-only bucket policy", func() {
		s.template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), &map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Effect":    "Deny",
					"Principal": map[string]any{"AWS": "*"},
					"Action":    "s3:*",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				}),
			})},
		})
	})
	rules := map[string]map[string]any{}
	bucket := props(s.resources("AWS::S3::Bucket")[onlyID(t, s.resources("AWS::S3::Bucket"))])
	for _, r := range bucket["LifecycleConfiguration"].(map[string]any)["Rules"].([]any) {
		m := r.(map[string]any)
		if m["Status"] != "Enabled" {
			t.Errorf("lifecycle rule %v disabled", m["Id"])
		}
		rules[m["Id"].(string)] = m
	}
	tag := func(r map[string]any) string {
		tf, _ := r["TagFilters"].([]any)
		if len(tf) != 1 {
			return fmt.Sprint(tf)
		}
		m := tf[0].(map[string]any)
		return fmt.Sprintf("%v=%v", m["Key"], m["Value"])
	}
	if r := rules["expire-reports"]; r == nil || tag(r) != "rampart-kind=report" || r["ExpirationInDays"] != float64(testReportDays) {
		t.Errorf("report rule: %v", r)
	}
	if r := rules["expire-unconfirmed-uploads"]; r == nil || tag(r) != "rampart-kind=upload" || r["ExpirationInDays"] != 1.0 {
		t.Errorf("upload rule: %v", r)
	}
	if r := rules["expire-work"]; r == nil || r["Prefix"] != "work/" || r["ExpirationInDays"] != 1.0 {
		t.Errorf("work rule: %v", r)
	}
	if r := rules["abort-incomplete-multipart-uploads"]; r == nil || r["AbortIncompleteMultipartUpload"].(map[string]any)["DaysAfterInitiation"] != 1.0 || r["Prefix"] != nil || r["TagFilters"] != nil {
		t.Errorf("multipart rule: %v", r)
	}
}

// ---------------------------------------------------------------------------
// Events and workflows

func TestEventRules(t *testing.T) {
	s := synth(t)
	bus := onlyID(t, s.resources("AWS::Events::EventBus"))
	if n := props(s.resources("AWS::Events::EventBus")[bus])["Name"]; n != "rampart-prod" {
		t.Errorf("bus name %v", n)
	}
	dlq := onlyID(t, s.resources("AWS::SQS::Queue"))
	var scan, tick map[string]any
	for _, r := range s.resources("AWS::Events::Rule") {
		p := props(r)
		if p["ScheduleExpression"] != nil {
			tick = p
		} else {
			scan = p
		}
	}
	if scan == nil || tick == nil {
		t.Fatalf("rules: scan %v, tick %v", scan, tick)
	}
	if ref(scan["EventBusName"]) != bus {
		t.Errorf("scan rule on bus %v", scan["EventBusName"])
	}
	if fmt.Sprint(scan["EventPattern"]) != fmt.Sprint(map[string]any{"source": []any{"rampart.scans"}, "detail-type": []any{"ScanRequested"}}) {
		t.Errorf("scan pattern %v", scan["EventPattern"])
	}
	target := scan["Targets"].([]any)[0].(map[string]any)
	if ref(target["Arn"]) != s.fnIDs["scan-worker"] || ref(target["DeadLetterConfig"].(map[string]any)["Arn"]) != dlq {
		t.Errorf("scan target %v", target)
	}
	rp := target["RetryPolicy"].(map[string]any)
	if rp["MaximumEventAgeInSeconds"] != 7200.0 || rp["MaximumRetryAttempts"] != 8.0 {
		t.Errorf("scan retry policy %v", rp)
	}
	if tick["ScheduleExpression"] != "rate(1 minute)" || tick["EventBusName"] != nil {
		t.Errorf("dispatcher rule %v", tick)
	}
	if ref(tick["Targets"].([]any)[0].(map[string]any)["Arn"]) != s.fnIDs["schedule-dispatcher"] {
		t.Errorf("dispatcher target %v", tick["Targets"])
	}
	// EventBridge may deliver to the DLQ, from this rule only.
	assert(t, "DLQ policy", func() {
		s.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), &map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
				"Action":    "sqs:SendMessage",
				"Principal": map[string]any{"Service": "events.amazonaws.com"},
				"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": assertions.Match_AnyValue()}},
			})})},
		})
	})
	// Rotation: the signing key, by key-rotator, invoked only for that secret.
	rot := props(s.resources("AWS::SecretsManager::RotationSchedule")[onlyID(t, s.resources("AWS::SecretsManager::RotationSchedule"))])
	if ref(rot["RotationLambdaARN"]) != s.fnIDs["key-rotator"] || rot["RotationRules"].(map[string]any)["ScheduleExpression"] != "rate(30 days)" {
		t.Errorf("rotation %v", rot)
	}
	found := false
	for _, r := range s.resources("AWS::Lambda::Permission") {
		p := props(r)
		if p["Principal"] == "secretsmanager.amazonaws.com" {
			found = ref(p["FunctionName"]) == s.fnIDs["key-rotator"] && render(p["SourceArn"]) == render(rot["SecretId"])
		}
	}
	if !found {
		t.Error("no scoped Secrets Manager invoke permission on key-rotator")
	}
}

// definition returns the state machine's ASL with placeholders for tokens.
func definition(t *testing.T, s *synthesized) (string, map[string]any) {
	t.Helper()
	sm := props(s.resources("AWS::StepFunctions::StateMachine")[onlyID(t, s.resources("AWS::StepFunctions::StateMachine"))])
	asl := strings.ReplaceAll(render(sm["DefinitionString"]), "<"+s.fnIDs["report-worker"]+".Arn>",
		"arn:aws:lambda:us-east-1:123456789012:function:report-worker")
	var def map[string]any
	if err := json.Unmarshal([]byte(asl), &def); err != nil {
		t.Fatalf("definition is not JSON: %v\n%s", err, asl)
	}
	return asl, def
}

func TestReportStateMachine(t *testing.T) {
	s := synth(t)
	sm := props(s.resources("AWS::StepFunctions::StateMachine")[onlyID(t, s.resources("AWS::StepFunctions::StateMachine"))])
	if sm["StateMachineType"] != "STANDARD" {
		t.Errorf("type %v", sm["StateMachineType"])
	}
	lc := sm["LoggingConfiguration"].(map[string]any)
	if lc["Level"] != "ALL" || lc["IncludeExecutionData"] != false {
		t.Errorf("logging %v", lc)
	}
	_, def := definition(t, s)
	states := def["States"].(map[string]any)
	if def["StartAt"] != "Load" {
		t.Errorf("StartAt %v", def["StartAt"])
	}
	next := map[string]string{"Load": "Render", "Render": "Store", "Store": "Finish", "MarkFailed": "ReportFailed"}
	steps := map[string]string{"Load": "load", "Render": "render", "Store": "store", "Finish": "finish", "MarkFailed": "fail"}
	for name, step := range steps {
		st, ok := states[name].(map[string]any)
		if !ok {
			t.Errorf("state %s missing", name)
			continue
		}
		// payloadResponseOnly: the function ARN as the Resource (the state's
		// result is the function's answer, not the lambda:invoke envelope),
		// and Parameters is the payload itself.
		if st["Type"] != "Task" || st["Resource"] != "arn:aws:lambda:us-east-1:123456789012:function:report-worker" {
			t.Errorf("%s: %v %v", name, st["Type"], st["Resource"])
		}
		payload := st["Parameters"].(map[string]any)
		if payload["step"] != step || payload["export_id.$"] != "$.export_id" || payload["org_id.$"] != "$.org_id" {
			t.Errorf("%s payload %v", name, payload)
		}
		if n := next[name]; n != "" && st["Next"] != n {
			t.Errorf("%s -> %v, want %s", name, st["Next"], n)
		}
		if name == "Finish" && st["End"] != true {
			t.Errorf("Finish does not end: %v", st)
		}
		retry := st["Retry"].([]any)
		if len(retry) != 1 {
			t.Errorf("%s: %d retriers", name, len(retry))
			continue
		}
		r := retry[0].(map[string]any)
		for _, e := range []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException", "Rampart.Transient"} {
			if !slices.Contains(strs(r["ErrorEquals"]), e) {
				t.Errorf("%s: no retry on %s", name, e)
			}
		}
		if r["IntervalSeconds"] != 2.0 || r["BackoffRate"] != 2.0 || r["MaxAttempts"] != 3.0 {
			t.Errorf("%s retry %v", name, r)
		}
		if name == "MarkFailed" {
			if payload["error.$"] != "$.error" || st["Catch"] != nil {
				t.Errorf("MarkFailed: payload %v catch %v", payload, st["Catch"])
			}
			continue
		}
		c := st["Catch"].([]any)
		if len(c) != 1 || fmt.Sprint(c[0]) != fmt.Sprint(map[string]any{"ErrorEquals": []any{"States.ALL"}, "Next": "MarkFailed", "ResultPath": "$.error"}) {
			t.Errorf("%s catch %v", name, c)
		}
	}
	if f := states["ReportFailed"].(map[string]any); f["Type"] != "Fail" || f["ErrorPath"] != "$.error.Error" {
		t.Errorf("ReportFailed %v", f)
	}
	if len(states) != 6 {
		t.Errorf("states %v", slices.Sorted(maps.Keys(states)))
	}
}

// TestReportStateMachineASL runs the pinned asl-validator (infra/tools) on
// the synthesized definition. Without `npm ci --prefix infra/tools` it is
// skipped, unless RAMPART_REQUIRE_ASL_VALIDATOR=1 (make test-infra) makes
// that a failure.
func TestReportStateMachineASL(t *testing.T) {
	s := synth(t)
	cli, _ := filepath.Abs("tools/node_modules/asl-validator/dist/bin/asl-validator.js")
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("RAMPART_REQUIRE_ASL_VALIDATOR") == "1" {
			t.Fatalf("asl-validator not installed (npm ci --prefix infra/tools): %v", err)
		}
		t.Skip("asl-validator not installed: npm ci --prefix infra/tools")
	}
	asl, _ := definition(t, s)
	file := filepath.Join(t.TempDir(), "report.asl.json")
	if err := os.WriteFile(file, []byte(asl), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("node", cli, "--json-path", file).CombinedOutput()
	if err != nil {
		t.Fatalf("asl-validator: %v\n%s\n%s", err, out, asl)
	}
	// The validator must also reject a broken definition (it really runs).
	broken := strings.Replace(asl, `"Next":"MarkFailed"`, `"Next":"Nowhere"`, 1)
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("node", cli, "--json-path", file).CombinedOutput(); err == nil {
		t.Errorf("asl-validator accepted a Catch to a missing state:\n%s", out)
	}
}

// ---------------------------------------------------------------------------
// Secrets, alarms, outputs

func TestSecrets(t *testing.T) {
	s := synth(t)
	if n := len(s.resources("AWS::SecretsManager::Secret")); n != 2 {
		t.Errorf("%d secrets, want 2 (signing, verify)", n)
	}
	for _, id := range []string{"SigningKeySecret", "VerifyKeysSecret"} {
		found := false
		for rid := range s.resources("AWS::SecretsManager::Secret") {
			found = found || strings.HasPrefix(rid, id)
		}
		if !found {
			t.Errorf("no secret %s", id)
		}
	}
}

func TestAlarms(t *testing.T) {
	s := synth(t)
	type key struct{ ns, metric, dim string }
	got := map[key]bool{}
	topic := onlyID(t, s.resources("AWS::SNS::Topic"))
	for id, r := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(r)
		if p["ComparisonOperator"] != "GreaterThanThreshold" || p["Threshold"] != 0.0 {
			t.Errorf("alarm %s: %v %v", id, p["ComparisonOperator"], p["Threshold"])
		}
		if acts := p["AlarmActions"].([]any); len(acts) != 1 || ref(acts[0]) != topic {
			t.Errorf("alarm %s actions %v", id, acts)
		}
		var dim string
		for _, d := range p["Dimensions"].([]any) {
			dim = ref(d.(map[string]any)["Value"])
		}
		got[key{p["Namespace"].(string), p["MetricName"].(string), dim}] = true
	}
	for name, id := range s.fnIDs {
		for _, m := range []string{"Errors", "Throttles"} {
			if !got[key{"AWS/Lambda", m, id}] {
				t.Errorf("no %s alarm for %s", m, name)
			}
		}
	}
	for _, k := range []key{
		{"AWS/SQS", "ApproximateNumberOfMessagesVisible", onlyID(t, s.resources("AWS::SQS::Queue"))},
		{"AWS/States", "ExecutionsFailed", onlyID(t, s.resources("AWS::StepFunctions::StateMachine"))},
		{"AWS/ApiGateway", "5xx", onlyID(t, s.resources("AWS::ApiGatewayV2::Api"))},
	} {
		if !got[k] {
			t.Errorf("no alarm %v", k)
		}
	}
	if want := 2*len(Functions) + 3; len(got) != want {
		t.Errorf("%d alarms, want %d", len(got), want)
	}
	assert(t, "alarm e-mail", func() {
		s.template.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), &map[string]any{
			"Protocol": "email", "Endpoint": "ops@example.com",
		})
	})
}

func TestOutputs(t *testing.T) {
	s := synth(t)
	for _, o := range []string{"ApiUrl", "TableName", "BucketName", "StateMachineArn", "EventBusName"} {
		assert(t, "output "+o, func() { s.template.HasOutput(jsii.String(o), &map[string]any{}) })
	}
	if n := len(s.json["Resources"].(map[string]any)); n > 450 {
		t.Errorf("%d resources: close to CloudFormation's 500 per stack", n)
	}
}

// TestSamEnv: SAM only overrides variables the template declares, so every
// key of infra/sam-env.json must be a variable some function has.
func TestSamEnv(t *testing.T) {
	s := synth(t)
	raw, err := os.ReadFile("sam-env.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Parameters map[string]string }
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, r := range s.resources("AWS::Lambda::Function") {
		if e, ok := props(r)["Environment"].(map[string]any); ok {
			for k := range e["Variables"].(map[string]any) {
				declared[k] = true
			}
		}
	}
	for k := range doc.Parameters {
		if !declared[k] {
			t.Errorf("sam-env.json sets %s, which no function declares", k)
		}
	}
}
