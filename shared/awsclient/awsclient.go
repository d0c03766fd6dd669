// Package awsclient builds the aws-sdk-go-v2 clients. Endpoints are never set
// here: the SDK reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> itself, so
// one binary talks to AWS, LocalStack or a local emulator unchanged.
package awsclient

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"rampart/shared/config"
)

// Clients are the AWS clients one process shares across requests.
type Clients struct {
	AWS      aws.Config
	DynamoDB *dynamodb.Client
	S3       *s3.Client
}

// New loads the SDK configuration (region, credentials, endpoints) once.
func New(ctx context.Context, cfg config.Config) (*Clients, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(cfg.Region),
		// A bounded wait for response headers makes a hung dependency show up as
		// a 503 instead of a request that never ends.
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(tune)),
		awsconfig.WithRetryMaxAttempts(3),
	)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	return &Clients{
		AWS:      awsCfg,
		DynamoDB: dynamodb.NewFromConfig(awsCfg),
		S3: s3.NewFromConfig(awsCfg, func(o *s3.Options) {
			o.UsePathStyle = cfg.S3PathStyle
		}),
	}, nil
}

func tune(t *http.Transport) {
	t.MaxIdleConnsPerHost = 64
	t.ResponseHeaderTimeout = 30 * time.Second
}
