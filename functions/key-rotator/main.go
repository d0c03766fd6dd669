// Command key-rotator is the Secrets Manager rotation function of the JWT
// signing key. Secrets Manager invokes it four times per rotation (create,
// set, test, finish); the logic is in shared/secrets (Rotator).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"rampart/shared/config"
	"rampart/shared/secrets"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadKeyRotation()
	if err != nil {
		fatal(err)
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region))
	if err != nil {
		fatal(fmt.Errorf("aws configuration: %w", err))
	}
	lambda.Start(handler(&secrets.Rotator{Client: secretsmanager.NewFromConfig(awsCfg),
		SigningARN: cfg.SigningKeySecretARN, VerifyARN: cfg.VerifyKeysSecretARN, Log: log}))
}

// handler adapts the rotation event; an error makes Secrets Manager retry the
// step, and the rotation is marked failed if it keeps failing.
func handler(r *secrets.Rotator) func(context.Context, events.SecretsManagerSecretRotationEvent) error {
	return func(ctx context.Context, e events.SecretsManagerSecretRotationEvent) error {
		return r.Handle(ctx, secrets.RotationEvent{SecretID: e.SecretID, ClientRequestToken: e.ClientRequestToken, Step: e.Step})
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "key-rotator:", err)
	os.Exit(1)
}
