package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctionstasks"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Names shared with the code (shared/...), spelled once here for the stack.
const (
	scanEventSource     = "rampart.scans"
	scanEventDetailType = "ScanRequested"
	// objectKindTag is the S3 object tag the lifecycle rules select on: the
	// code must tag report artifacts "report" and presigned uploads "upload".
	objectKindTag = "rampart-kind"
	// loginRoute gets a stricter throttle than the rest of the stage.
	loginRoute = "POST /api/v1/auth/login"
	// apiStageName: the HTTP API's $default stage serves paths without a
	// stage prefix, which is what RAMPART_STAGE tells shared/config.
	apiStageName = "$default"
	// transientError is the error type a report-worker step returns (as
	// messages.InvokeResponse_Error{Type: ...}) to ask the state machine to retry.
	transientError = "Rampart.Transient"
)

// tableItemActions are the DynamoDB item actions of the store (request paths
// use GetItem, Query, transactions and batches, never Scan). A transaction
// needs the action of each of its parts, hence Put/Update/Delete/ConditionCheck.
var tableItemActions = []string{
	"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem",
	"dynamodb:DeleteItem", "dynamodb:TransactWriteItems", "dynamodb:TransactGetItems",
	"dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem",
}

// RampartStackProps are the inputs of the stack: the settings and the
// functions to deploy (main.go discovers them in functions/; tests pass them).
type RampartStackProps struct {
	awscdk.StackProps
	Config    Config
	Functions []string
}

// RampartStack is the stack and the constructs the tests and outputs look at.
type RampartStack struct {
	awscdk.Stack
	Table        awsdynamodb.Table
	Bucket       awss3.Bucket
	Bus          awsevents.EventBus
	Api          awsapigatewayv2.HttpApi
	Stage        awsapigatewayv2.HttpStage
	StateMachine awsstepfunctions.StateMachine // nil without report-worker
	Functions    map[string]awslambda.Function
}

type builder struct {
	*RampartStack
	cfg           Config
	removal       awscdk.RemovalPolicy
	retention     awslogs.RetentionDays
	signingSecret awssecretsmanager.Secret
	verifySecret  awssecretsmanager.Secret
	roles         map[string]awsiam.Role
	alarms        awssns.Topic
	scanDLQ       awssqs.Queue // nil without scan-worker
}

// NewRampartStack builds the whole deployment. It fails (before creating
// anything) on a function without metadata or a missing package zip; a
// missing required function is a warning on the stack.
func NewRampartStack(scope constructs.Construct, id string, props *RampartStackProps) (*RampartStack, error) {
	cfg := props.Config
	names := slices.Clone(props.Functions)
	slices.Sort(names)
	if err := CheckFunctions(names); err != nil {
		return nil, err
	}
	var missing []error
	for _, n := range names {
		if _, err := os.Stat(zipPath(cfg.BuildDir, n)); err != nil {
			missing = append(missing, fmt.Errorf("package of function %q: %w (run `make build`, or pass -c buildDir=DIR)", n, err))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}

	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("Rampart (" + cfg.Stage + "): security assessments and NIS2 compliance")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)
	awscdk.Tags_Of(stack).Add(jsii.String("rampart:stage"), jsii.String(cfg.Stage), nil)
	for _, msg := range MissingRequirements(names) {
		awscdk.Annotations_Of(stack).AddWarningV2(jsii.String("rampart:missing-function"), jsii.String(msg+": not deployable"))
	}

	b := &builder{
		RampartStack: &RampartStack{Stack: stack, Functions: map[string]awslambda.Function{}},
		cfg:          cfg,
		removal:      awscdk.RemovalPolicy_RETAIN,
		retention:    retentionDays[cfg.LogRetentionDays],
		roles:        map[string]awsiam.Role{},
	}
	if cfg.RemovalPolicy == "destroy" {
		b.removal = awscdk.RemovalPolicy_DESTROY
	}

	b.alarms = awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Rampart " + cfg.Stage + " alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if cfg.AlarmEmail != "" {
		b.alarms.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlarmEmail), nil))
	}

	b.table()
	b.bucket()
	b.secrets()
	b.Bus = awsevents.NewEventBus(stack, jsii.String("EventBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(b.name("")),
	})
	b.api()
	for _, n := range names {
		b.function(n, Functions[n])
	}
	for _, n := range names {
		b.trigger(n, Functions[n].Trigger)
	}
	for _, n := range names {
		b.grant(n, Functions[n])
	}
	b.stageThrottles()
	b.outputs()
	return b.RampartStack, nil
}

// name is a stage-scoped physical name: rampart-<stage>[-suffix].
func (b *builder) name(suffix string) string {
	n := "rampart-" + b.cfg.Stage
	if suffix != "" {
		n += "-" + suffix
	}
	return n
}

func (b *builder) logGroup(id string) awslogs.LogGroup {
	return awslogs.NewLogGroup(b.Stack, jsii.String(id), &awslogs.LogGroupProps{
		Retention:     b.retention,
		RemovalPolicy: b.removal,
	})
}

func (b *builder) alarm(id, description string, metric awscloudwatch.Metric) {
	a := metric.CreateAlarm(b.Stack, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
		AlarmName:          jsii.String(b.name(id)),
		AlarmDescription:   jsii.String(description),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	a.AddAlarmAction(awscloudwatchactions.NewSnsAction(b.alarms))
}

func fiveMinutes(statistic string) *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String(statistic)}
}

// table is the one DynamoDB table of docs/data-model.md.
func (b *builder) table() {
	str := func(n string) *awsdynamodb.Attribute {
		return &awsdynamodb.Attribute{Name: jsii.String(n), Type: awsdynamodb.AttributeType_STRING}
	}
	t := awsdynamodb.NewTable(b.Stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:        str("PK"),
		SortKey:             str("SK"),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("ttl"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(b.cfg.DeletionProtection),
		RemovalPolicy:      b.removal,
	})
	// The index and key names are those of shared/dynamo (table.go).
	for _, ix := range [][3]string{
		{"GSI1", "GSI1PK", "GSI1SK"},
		{"GSI2", "GSI2PK", "GSI2SK"},
		{"GSI3", "GSI3PK", "GSI3SK"},
		{"DueIndex", "DuePK", "DueSK"}, // sparse: only enabled schedules carry DuePK
	} {
		t.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix[0]),
			PartitionKey:   str(ix[1]),
			SortKey:        str(ix[2]),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	b.Table = t
}

// bucket holds attachments and report artifacts. Lifecycle by object tag,
// since "orgs/<any org>/reports/" is not expressible as a prefix:
//   - report artifacts MUST be written with the tag rampart-kind=report;
//   - presigned uploads MUST carry rampart-kind=upload (sign x-amz-tagging),
//     and the confirm step MUST copy with TaggingDirective=REPLACE (no tag),
//     else the confirmed attachment would inherit the tag and expire too;
//   - work/ (intermediate workflow data) expires by prefix.
func (b *builder) bucket() {
	var cors *[]*awss3.CorsRule
	if len(b.cfg.CORSOrigins) > 0 {
		cors = &[]*awss3.CorsRule{{
			Id:             jsii.String("browser-uploads"),
			AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_PUT, awss3.HttpMethods_POST, awss3.HttpMethods_GET},
			AllowedOrigins: jsii.Strings(b.cfg.CORSOrigins...),
			AllowedHeaders: jsii.Strings("*"),
			ExposedHeaders: jsii.Strings("ETag"),
			MaxAge:         jsii.Number(3000),
		}}
	}
	day := awscdk.Duration_Days(jsii.Number(1))
	b.Bucket = awss3.NewBucket(b.Stack, jsii.String("Bucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		Versioned:         jsii.Bool(false),
		Cors:              cors,
		RemovalPolicy:     b.removal,
		LifecycleRules: &[]*awss3.LifecycleRule{
			{
				Id:         jsii.String("expire-reports"),
				TagFilters: &map[string]any{objectKindTag: "report"},
				Expiration: awscdk.Duration_Days(jsii.Number(float64(b.cfg.ReportRetentionDays))),
			},
			{
				Id:         jsii.String("expire-unconfirmed-uploads"),
				TagFilters: &map[string]any{objectKindTag: "upload"},
				Expiration: day,
			},
			{
				Id:         jsii.String("expire-work"),
				Prefix:     jsii.String("work/"),
				Expiration: day,
			},
			{
				Id:                                  jsii.String("abort-incomplete-multipart-uploads"),
				AbortIncompleteMultipartUploadAfter: day,
			},
		},
	})
}

// secrets: the JWT signing key (the current Ed25519 private key as PEM,
// rotated by key-rotator) and the verification keys (shared/secrets
// VerifySet: {"keys":[{"kid","pem"}]}, the public halves of the current and
// recent keys, read by every HTTP function). Neither holds a key at first:
// the rotation that runs when the schedule is created writes the first one.
// The placeholders are not secret (no key material in the template).
func (b *builder) secrets() {
	b.signingSecret = awssecretsmanager.NewSecret(b.Stack, jsii.String("SigningKeySecret"), &awssecretsmanager.SecretProps{
		Description:       jsii.String("Rampart " + b.cfg.Stage + ": private JWT signing key (rotated by key-rotator)"),
		SecretStringValue: awscdk.SecretValue_UnsafePlainText(jsii.String("pending: key-rotator writes the first signing key")),
		RemovalPolicy:     b.removal,
	})
	b.verifySecret = awssecretsmanager.NewSecret(b.Stack, jsii.String("VerifyKeysSecret"), &awssecretsmanager.SecretProps{
		Description:       jsii.String("Rampart " + b.cfg.Stage + ": public JWT verification keys (written by key-rotator)"),
		SecretStringValue: awscdk.SecretValue_UnsafePlainText(jsii.String(`{"keys":[]}`)),
		RemovalPolicy:     b.removal,
	})
}

// accessLogs implements awsapigatewayv2.IAccessLogSettings.
type accessLogs struct {
	destination awsapigatewayv2.IAccessLogDestination
	format      awsapigateway.AccessLogFormat
}

func (a *accessLogs) Destination() awsapigatewayv2.IAccessLogDestination { return a.destination }
func (a *accessLogs) Format() awsapigateway.AccessLogFormat              { return a.format }

// accessLogFormat is one JSON object per request (HTTP API $context variables).
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"requestTime":"$context.requestTime","method":"$context.httpMethod","routeKey":"$context.routeKey",` +
	`"path":"$context.path","status":"$context.status","protocol":"$context.protocol",` +
	`"responseLength":"$context.responseLength","responseLatency":"$context.responseLatency",` +
	`"integrationLatency":"$context.integrationLatency","integrationStatus":"$context.integrationStatus",` +
	`"integrationError":"$context.integrationErrorMessage","errorMessage":"$context.error.message",` +
	`"userAgent":"$context.identity.userAgent"}`

// api is the HTTP API with its $default stage; routes come with functions.
func (b *builder) api() {
	props := &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(b.name("")),
		CreateDefaultStage: jsii.Bool(false),
	}
	if len(b.cfg.CORSOrigins) > 0 {
		props.CorsPreflight = &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins:     jsii.Strings(b.cfg.CORSOrigins...),
			AllowCredentials: jsii.Bool(true), // the refresh cookie
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
				awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST,
				awsapigatewayv2.CorsHttpMethod_PUT, awsapigatewayv2.CorsHttpMethod_PATCH,
				awsapigatewayv2.CorsHttpMethod_DELETE, awsapigatewayv2.CorsHttpMethod_OPTIONS,
			},
			AllowHeaders:  jsii.Strings("Authorization", "Content-Type", "X-Organization-ID", "If-Match", "Idempotency-Key"),
			ExposeHeaders: jsii.Strings("ETag", "Location", "Retry-After", "Deprecation", "Sunset", "Link"),
			MaxAge:        awscdk.Duration_Hours(jsii.Number(1)),
		}
	}
	b.Api = awsapigatewayv2.NewHttpApi(b.Stack, jsii.String("Api"), props)
	b.Stage = b.Api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String(apiStageName),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(b.cfg.ThrottleRate),
			BurstLimit: jsii.Number(b.cfg.ThrottleBurst),
		},
		AccessLogSettings: &accessLogs{
			destination: awsapigatewayv2.NewLogGroupLogDestination(b.logGroup("ApiAccessLogs")),
			format:      awsapigateway.AccessLogFormat_Custom(jsii.String(accessLogFormat)),
		},
	})
	b.alarm("Api5xx", "The API answered 5xx (a Lambda error, timeout or a dependency down): see the access logs and the function's Errors alarm.",
		b.Api.MetricServerError(fiveMinutes("Sum")))
}

// stageThrottles adds the stricter login throttle (route settings exist only
// on the L1 stage, and need the route to exist first).
func (b *builder) stageThrottles() {
	route := b.Api.Node().TryFindChild(jsii.String(routeID(loginRoute)))
	if route == nil {
		return // no auth function in this deployment
	}
	cfn := b.Stage.Node().DefaultChild().(awsapigatewayv2.CfnStage)
	cfn.AddPropertyOverride(jsii.String("RouteSettings"), map[string]any{
		loginRoute: map[string]any{
			"ThrottlingRateLimit":  b.cfg.LoginThrottleRate,
			"ThrottlingBurstLimit": b.cfg.LoginThrottleBurst,
		},
	})
	b.Stage.Node().AddDependency(route)
}

// pascal turns "scan-worker" into "ScanWorker" for construct ids.
func pascal(name string) string {
	var sb strings.Builder
	for _, p := range strings.Split(name, "-") {
		if p != "" {
			sb.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return sb.String()
}

// routeID is a stable construct id for a route key.
func routeID(route string) string {
	r := strings.NewReplacer("{proxy+}", "Proxy", "{", "", "}", "", "/", " ", ".", " ", "-", " ", "_", " ")
	var sb strings.Builder
	for _, w := range strings.Fields(r.Replace(route)) {
		sb.WriteString(strings.ToUpper(w[:1]) + strings.ToLower(w[1:]))
	}
	return "Route" + sb.String()
}

// function creates one Lambda with its role, log group, routes and alarms.
func (b *builder) function(name string, spec FunctionSpec) {
	id := pascal(name)
	logs := b.logGroup(id + "Logs")
	role := awsiam.NewRole(b.Stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Rampart " + b.cfg.Stage + " " + name + " function"),
	})
	// Instead of AWSLambdaBasicExecutionRole (logs on "*"): its own log group only.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources: jsii.Strings(*logs.LogGroupArn()),
	}))
	b.roles[name] = role

	env := map[string]*string{
		"RAMPART_TABLE":        b.Table.TableName(),
		"RAMPART_BUCKET":       b.Bucket.BucketName(),
		"RAMPART_STAGE":        jsii.String(apiStageName),
		"RAMPART_APP_URL":      jsii.String(b.cfg.AppURL),
		"RAMPART_CORS_ORIGINS": jsii.String(strings.Join(b.cfg.CORSOrigins, ",")),
		// shared/config requires it in every Lambda. Only the ARN: the read
		// permission goes to the functions that verify tokens (see grant).
		"RAMPART_VERIFY_KEYS_SECRET_ARN": b.verifySecret.SecretArn(),
	}
	if spec.PutEvents {
		env["RAMPART_EVENT_BUS"] = b.Bus.EventBusName()
	}
	if name == "reports" || name == "report-worker" {
		// The export records' TTL follows the reports' lifecycle rule.
		env["RAMPART_REPORT_RETENTION_DAYS"] = jsii.String(strconv.Itoa(b.cfg.ReportRetentionDays))
	}
	if spec.ReadSigningKey || spec.Trigger == TriggerSigningKeyRotation {
		env["RAMPART_SIGNING_KEY_SECRET_ARN"] = b.signingSecret.SecretArn()
	}
	if spec.OIDC {
		redirect := b.cfg.OIDCRedirectURL
		if redirect == "" {
			redirect = *b.Stage.Url() + "api/v1/auth/oidc/callback"
		}
		env["RAMPART_OIDC_ISSUER"] = jsii.String(b.cfg.OIDCIssuer)
		env["RAMPART_OIDC_CLIENT_ID"] = jsii.String(b.cfg.OIDCClientID)
		env["RAMPART_OIDC_CLIENT_SECRET_ARN"] = jsii.String(b.cfg.OIDCClientSecretArn)
		env["RAMPART_OIDC_REDIRECT_URL"] = jsii.String(redirect)
		env["RAMPART_OIDC_ALLOWED_DOMAINS"] = jsii.String(strings.Join(b.cfg.OIDCAllowedDomains, ","))
		env["RAMPART_OIDC_DEFAULT_ORG"] = jsii.String(b.cfg.OIDCDefaultOrg)
		env["RAMPART_OIDC_DEFAULT_ROLE"] = jsii.String(b.cfg.OIDCDefaultRole)
	}

	props := &awslambda.FunctionProps{
		Description:  jsii.String("Rampart " + name),
		Code:         awslambda.Code_FromAsset(jsii.String(zipPath(b.cfg.BuildDir, name)), nil),
		Handler:      jsii.String("bootstrap"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		MemorySize:   jsii.Number(spec.MemoryMB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(spec.Timeout.Seconds())),
		Role:         role,
		LogGroup:     logs,
		Environment:  &env,
	}
	switch spec.Trigger {
	case TriggerScanRequested:
		// Function errors: Lambda retries twice, then the event goes to the
		// DLQ (the L2 grants sqs:SendMessage on that queue only).
		b.scanDLQ = awssqs.NewQueue(b.Stack, jsii.String("ScanDeadLetterQueue"), &awssqs.QueueProps{
			RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
			Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL:      jsii.Bool(true),
			RemovalPolicy:   b.removal,
		})
		props.DeadLetterQueue = b.scanDLQ
		props.RetryAttempts = jsii.Number(2)
		props.MaxEventAge = awscdk.Duration_Hours(jsii.Number(2))
	case TriggerEveryMinute:
		// Lambda's own async retries would overlap the next tick: none.
		props.RetryAttempts = jsii.Number(0)
	}
	fn := awslambda.NewFunction(b.Stack, jsii.String(id+"Function"), props)
	b.Functions[name] = fn

	if spec.HTTP() {
		integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(id+"Integration"), fn,
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
		for _, r := range spec.Routes {
			method, path, _ := parseRoute(r) // ValidateMetadata (tested) checks the syntax
			awsapigatewayv2.NewHttpRoute(b.Api, jsii.String(routeID(r)), &awsapigatewayv2.HttpRouteProps{
				HttpApi:     b.Api,
				RouteKey:    awsapigatewayv2.HttpRouteKey_With(jsii.String(path), awsapigatewayv2.HttpMethod(method)),
				Integration: integration,
			})
		}
	}

	b.alarm(id+"Errors", "The "+name+" function returned errors (unhandled errors, timeouts, out of memory): see its log group.",
		fn.MetricErrors(fiveMinutes("Sum")))
	b.alarm(id+"Throttles", "Invocations of the "+name+" function were throttled: the account's Lambda concurrency is exhausted.",
		fn.MetricThrottles(fiveMinutes("Sum")))
}

// trigger connects a worker to what invokes it: EventBridge rules, the
// report state machine, the signing-key rotation. (ValidateMetadata allows
// one function per trigger.)
func (b *builder) trigger(name string, t Trigger) {
	fn := b.Functions[name]
	switch t {
	case TriggerScanRequested:
		b.scanRule(fn)
	case TriggerEveryMinute:
		awsevents.NewRule(b.Stack, jsii.String("ScheduleDispatcherRule"), &awsevents.RuleProps{
			Description: jsii.String("Every minute: start the scans of due schedules"),
			Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
				// A missed tick is made up by the next one (claims are
				// conditional, one scan per due time): no long retries.
				MaxEventAge:   awscdk.Duration_Minutes(jsii.Number(1)),
				RetryAttempts: jsii.Number(2),
			})},
		})
	case TriggerReportWorkflow:
		b.reportStateMachine(fn)
	case TriggerSigningKeyRotation:
		b.rotation(fn, b.roles[name])
	}
}

// scanRule: "scan requested" events on the project bus go to scan-worker.
// Undeliverable events (EventBridge gave up) and events the function failed
// on after Lambda's async retries both land in the same DLQ with the
// original event as the message body, ready to be redriven.
func (b *builder) scanRule(fn awslambda.Function) {
	awsevents.NewRule(b.Stack, jsii.String("ScanRequestedRule"), &awsevents.RuleProps{
		Description: jsii.String("Scan requested: run the scan in scan-worker"),
		EventBus:    b.Bus,
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(scanEventSource),
			DetailType: jsii.Strings(scanEventDetailType),
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: b.scanDLQ,
			MaxEventAge:     awscdk.Duration_Hours(jsii.Number(2)),
			RetryAttempts:   jsii.Number(8),
		})},
	})
	b.alarm("ScanDeadLetters", "Scan-requested events could not be processed and wait in the dead-letter queue: the scans stay pending until redriven.",
		b.scanDLQ.MetricApproximateNumberOfMessagesVisible(fiveMinutes("Maximum")))
}

// reportStateMachine: Load → Render → Store → Finish, each a report-worker
// step that passes ids and S3 keys only (the data itself goes through
// work/reports/<export id>/ in S3). Any failure goes to MarkFailed (step
// "fail", with {Error, Cause} in $.error), then the execution fails.
//
// The worker receives {"step", "export_id", "org_id", and the previous step's
// result under its step name}; each step's result is kept at $.<step>.
func (b *builder) reportStateMachine(worker awslambda.Function) {
	ids := func(step string, extra map[string]any) awsstepfunctions.TaskInput {
		payload := map[string]any{
			"step":      step,
			"export_id": awsstepfunctions.JsonPath_StringAt(jsii.String("$.export_id")),
			"org_id":    awsstepfunctions.JsonPath_StringAt(jsii.String("$.org_id")),
		}
		for k, v := range extra {
			payload[k] = v
		}
		return awsstepfunctions.TaskInput_FromObject(&payload)
	}
	prev := func(step string) map[string]any {
		return map[string]any{step: awsstepfunctions.JsonPath_ObjectAt(jsii.String("$." + step))}
	}
	task := func(stateName, step string, input awsstepfunctions.TaskInput, resultPath *string) awsstepfunctionstasks.LambdaInvoke {
		t := awsstepfunctionstasks.NewLambdaInvoke(b.Stack, jsii.String(stateName), &awsstepfunctionstasks.LambdaInvokeProps{
			LambdaFunction:           worker,
			Payload:                  input,
			PayloadResponseOnly:      jsii.Bool(true),
			ResultPath:               resultPath,
			RetryOnServiceExceptions: jsii.Bool(false), // replaced by the retrier below
		})
		t.AddRetry(&awsstepfunctions.RetryProps{
			Errors: jsii.Strings(
				"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
				"Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException", transientError),
			Interval:    awscdk.Duration_Seconds(jsii.Number(2)),
			BackoffRate: jsii.Number(2),
			MaxAttempts: jsii.Number(3),
		})
		return t
	}

	failed := awsstepfunctions.NewFail(b.Stack, jsii.String("ReportFailed"), &awsstepfunctions.FailProps{
		ErrorPath: jsii.String("$.error.Error"),
		CausePath: jsii.String("$.error.Cause"),
	})
	markFailed := task("MarkFailed", "fail", ids("fail", map[string]any{
		"error": awsstepfunctions.JsonPath_ObjectAt(jsii.String("$.error")),
	}), awsstepfunctions.JsonPath_DISCARD())
	markFailed.Next(failed)

	load := task("Load", "load", ids("load", nil), jsii.String("$.load"))
	render := task("Render", "render", ids("render", prev("load")), jsii.String("$.render"))
	store := task("Store", "store", ids("store", prev("render")), jsii.String("$.store"))
	finish := task("Finish", "finish", ids("finish", prev("store")), jsii.String("$.finish"))
	for _, t := range []awsstepfunctionstasks.LambdaInvoke{load, render, store, finish} {
		t.AddCatch(markFailed, &awsstepfunctions.CatchProps{
			Errors:     jsii.Strings("States.ALL"),
			ResultPath: jsii.String("$.error"),
		})
	}

	b.StateMachine = awsstepfunctions.NewStateMachine(b.Stack, jsii.String("ReportStateMachine"), &awsstepfunctions.StateMachineProps{
		StateMachineName: jsii.String(b.name("report")),
		StateMachineType: awsstepfunctions.StateMachineType_STANDARD,
		DefinitionBody:   awsstepfunctions.DefinitionBody_FromChainable(load.Next(render).Next(store).Next(finish)),
		Timeout:          awscdk.Duration_Hours(jsii.Number(1)),
		Logs: &awsstepfunctions.LogOptions{
			Destination:          b.logGroup("ReportStateMachineLogs"),
			Level:                awsstepfunctions.LogLevel_ALL,
			IncludeExecutionData: jsii.Bool(false),
		},
	})
	b.alarm("ReportsFailed", "Report executions failed (after retries): the exports are marked failed; see the state machine's log group.",
		b.StateMachine.MetricFailed(fiveMinutes("Sum")))
}

// rotation schedules the signing-key rotation with key-rotator. It is the
// L1 resource on purpose: the L2 Secret.addRotationSchedule also grants
// secretsmanager:GetRandomPassword on "*", which the rotator does not use,
// and its invoke permission is not scoped to the secret.
func (b *builder) rotation(fn awslambda.Function, role awsiam.Role) {
	fn.AddPermission(jsii.String("SecretsManagerRotation"), &awslambda.Permission{
		Principal: awsiam.NewServicePrincipal(jsii.String("secretsmanager.amazonaws.com"), nil),
		SourceArn: b.signingSecret.SecretArn(),
	})
	rot := awssecretsmanager.NewCfnRotationSchedule(b.Stack, jsii.String("SigningKeyRotation"), &awssecretsmanager.CfnRotationScheduleProps{
		SecretId:          b.signingSecret.SecretArn(),
		RotationLambdaArn: fn.FunctionArn(),
		RotationRules: &awssecretsmanager.CfnRotationSchedule_RotationRulesProperty{
			ScheduleExpression: jsii.String(fmt.Sprintf("rate(%d days)", b.cfg.SigningKeyRotationDays)),
		},
		RotateImmediatelyOnUpdate: jsii.Bool(true), // writes the first key at deploy
	})
	// The first rotation runs at creation: the function, its permission and
	// its role's policy must exist by then.
	rot.Node().AddDependency(fn, role)
}

func (b *builder) statement(name string, actions []string, resources ...*string) {
	b.roles[name].AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	}))
}

// grant gives a function exactly what its metadata asks for.
func (b *builder) grant(name string, spec FunctionSpec) {
	tableArn := b.Table.TableArn()
	switch spec.Table {
	case TableDescribe:
		b.statement(name, []string{"dynamodb:DescribeTable"}, tableArn)
	case TableItems:
		b.statement(name, tableItemActions, tableArn)
		// Indexes are only ever queried.
		b.statement(name, []string{"dynamodb:Query"}, jsii.String(*tableArn+"/index/*"))
	}
	for _, g := range spec.S3 {
		var res []*string
		for _, p := range g.Patterns {
			res = append(res, b.Bucket.ArnForObjects(jsii.String(p)))
		}
		b.statement(name, g.Actions, res...)
	}
	if spec.ListBucket {
		b.statement(name, []string{"s3:ListBucket"}, b.Bucket.BucketArn())
	}
	if spec.PutEvents {
		b.statement(name, []string{"events:PutEvents"}, b.Bus.EventBusArn())
	}
	if spec.StartReports && b.StateMachine != nil {
		b.statement(name, []string{"states:StartExecution"}, b.StateMachine.StateMachineArn())
		b.Functions[name].AddEnvironment(jsii.String("RAMPART_REPORT_STATE_MACHINE"), b.StateMachine.StateMachineArn(), nil)
	}
	if spec.ReadSigningKey {
		b.statement(name, []string{"secretsmanager:GetSecretValue"}, b.signingSecret.SecretArn())
	}
	if spec.HTTP() {
		b.statement(name, []string{"secretsmanager:GetSecretValue"}, b.verifySecret.SecretArn())
	}
	if spec.OIDC && b.cfg.OIDCClientSecretArn != "" {
		b.statement(name, []string{"secretsmanager:GetSecretValue"}, jsii.String(b.cfg.OIDCClientSecretArn))
	}
	if spec.Trigger == TriggerSigningKeyRotation {
		// The four rotation steps on the signing key (createSecret puts
		// AWSPENDING, finishSecret moves AWSCURRENT) ...
		b.statement(name, []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
			"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}, b.signingSecret.SecretArn())
		// ... and publishing the public keys (setSecret) to the verify secret.
		b.statement(name, []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
			"secretsmanager:PutSecretValue"}, b.verifySecret.SecretArn())
	}
}

func (b *builder) outputs() {
	out := func(id string, value *string, description string) {
		awscdk.NewCfnOutput(b.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("ApiUrl", b.Stage.Url(), "Base URL of the API (RAMPART_BASE_URL of the black-box suite)")
	out("TableName", b.Table.TableName(), "DynamoDB table")
	out("BucketName", b.Bucket.BucketName(), "S3 bucket of attachments and reports")
	out("EventBusName", b.Bus.EventBusName(), "EventBridge bus of scan-requested events")
	if b.StateMachine != nil {
		out("StateMachineArn", b.StateMachine.StateMachineArn(), "Report state machine")
	}
}
