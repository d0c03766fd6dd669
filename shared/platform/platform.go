// Package platform builds what every function needs from the configuration:
// logger, AWS clients, stores and the HTTP server with its authorization. It
// is the composition root shared by functions/*, whose main.go only picks the
// route groups and workers the function serves.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"rampart/shared/auth"
	"rampart/shared/awsclient"
	"rampart/shared/config"
	"rampart/shared/dynamo"
	"rampart/shared/events"
	"rampart/shared/health"
	"rampart/shared/httpapi"
	"rampart/shared/objects"
)

// Platform holds one process's configuration and clients.
type Platform struct {
	Config config.Config
	Log    *slog.Logger
	AWS    *awsclient.Clients

	storeOnce sync.Once
	store     *dynamo.Store
	keyOnce   sync.Once
	localKeys *auth.StaticKeys
	keyErr    error

	busOnce sync.Once
	bus     events.Publisher
	busErr  error
	// LocalBus is the in-process bus in local mode (nil in Lambda); tests
	// wait on it for scans to finish.
	LocalBus *events.Local
}

// New loads the configuration and builds the clients; a configuration error
// stops start-up with a message naming the setting.
func New(ctx context.Context) (*Platform, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	return FromConfig(ctx, cfg)
}

// FromConfig builds the platform for a given configuration (tests).
func FromConfig(ctx context.Context, cfg config.Config) (*Platform, error) {
	log := NewLogger(cfg.LogLevel)
	slog.SetDefault(log)
	clients, err := awsclient.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Platform{Config: cfg, Log: log, AWS: clients}, nil
}

// NewLogger writes structured JSON logs to stdout (CloudWatch in Lambda).
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l}))
}

// Server builds an HTTP server with Rampart's middleware and authorization.
func (p *Platform) Server() (*httpapi.Server, error) {
	authn, err := p.Authenticator()
	if err != nil {
		return nil, err
	}
	return httpapi.New(httpapi.Options{
		Auth:         authn,
		MaxBodyBytes: p.Config.MaxBodyBytes,
		Stage:        p.Config.Stage,
		Logger:       p.Log,
	}), nil
}

// Bootstrap creates the table and bucket on an emulator (local mode only).
func (p *Platform) Bootstrap(ctx context.Context) error {
	if err := dynamo.EnsureTable(ctx, p.AWS.DynamoDB, p.Config.Table); err != nil {
		return err
	}
	return objects.EnsureBucket(ctx, p.AWS.S3, p.Config.Bucket)
}

// HealthChecks are the readiness probes of the table and the bucket.
func (p *Platform) HealthChecks() map[string]health.Check {
	return map[string]health.Check{
		"dynamodb": func(ctx context.Context) error { return dynamo.Ping(ctx, p.AWS.DynamoDB, p.Config.Table) },
		"s3":       func(ctx context.Context) error { return objects.Ping(ctx, p.AWS.S3, p.Config.Bucket) },
	}
}

// Serve runs the handler under Lambda or as a local HTTP server.
func (p *Platform) Serve(h http.Handler) error {
	return httpapi.Serve(h, p.Config.Lambda, p.Config.Addr, p.Log)
}

// Fatal reports a start-up error and exits; Lambda shows it as an init error.
func Fatal(err error) {
	fmt.Fprintln(os.Stderr, "rampart:", err)
	os.Exit(1)
}

// RunHTTP is the whole main of an HTTP function: it reads the configuration,
// builds the function's server with routes, and serves it under Lambda or as
// a local HTTP server. A start-up error ends the process with its message.
func RunHTTP(routes func(*Platform) (*httpapi.Server, error)) {
	p, err := New(context.Background())
	if err != nil {
		Fatal(err)
	}
	srv, err := routes(p)
	if err != nil {
		Fatal(err)
	}
	if err := p.Serve(srv); err != nil {
		Fatal(err)
	}
}
