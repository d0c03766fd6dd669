// Package health serves liveness and readiness: the readiness probe touches
// every dependency a request needs and names the one that is down.
package health

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"rampart/shared/httpapi"
)

// Check probes one dependency.
type Check func(context.Context) error

// Status is the body of the health routes.
type Status struct {
	Status string            `json:"status" enum:"ok,unavailable" doc:"ok when every checked dependency answers"`
	Detail string            `json:"detail,omitempty" doc:"Which dependency failed"`
	Checks map[string]string `json:"checks,omitempty" doc:"Outcome per dependency: ok or unavailable"`
}

type statusOutput struct {
	Status int
	Body   Status
}

// Timeout bounds one readiness probe: a dependency slower than this is down
// for the purpose of taking traffic.
const Timeout = 2 * time.Second

// Register adds /api/v1/health, /health/live and /health/ready.
func Register(api huma.API, checks map[string]Check) {
	ok := func(context.Context, *struct{}) (*statusOutput, error) {
		return &statusOutput{Status: http.StatusOK, Body: Status{Status: "ok"}}, nil
	}
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "health", Method: http.MethodGet, Path: "/api/v1/health",
		Summary: "Health", Tags: []string{"Health"},
	}, ok)
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "health-live", Method: http.MethodGet, Path: "/api/v1/health/live",
		Summary: "Liveness (touches no dependency)", Tags: []string{"Health"},
	}, ok)
	httpapi.Register(api, httpapi.Public, huma.Operation{
		OperationID: "health-ready", Method: http.MethodGet, Path: "/api/v1/health/ready",
		Summary: "Readiness: checks DynamoDB and S3", Tags: []string{"Health"},
		Responses: map[string]*huma.Response{"503": {Description: "A dependency is down; detail names it"}},
	}, func(ctx context.Context, _ *struct{}) (*statusOutput, error) {
		return ready(ctx, checks), nil
	})
}

func ready(ctx context.Context, checks map[string]Check) *statusOutput {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		result = map[string]string{}
		failed []string
	)
	for name, check := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcome := "ok"
			if err := check(ctx); err != nil {
				outcome = "unavailable"
			}
			mu.Lock()
			defer mu.Unlock()
			result[name] = outcome
			if outcome != "ok" {
				failed = append(failed, name)
			}
		}()
	}
	wg.Wait()
	if len(failed) == 0 {
		return &statusOutput{Status: http.StatusOK, Body: Status{Status: "ok", Checks: result}}
	}
	sort.Strings(failed)
	return &statusOutput{Status: http.StatusServiceUnavailable, Body: Status{
		Status: "unavailable", Detail: strings.Join(failed, ", ") + " unavailable", Checks: result,
	}}
}
