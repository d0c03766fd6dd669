// Command baseline is the yardstick of bench/coldstart: a Go program with
// Rampart's shape and none of its work. It answers every request with 401 and
// a small JSON body, as a plain HTTP server on RAMPART_ADDR or, when started
// by Lambda (AWS_LAMBDA_FUNCTION_NAME), through the same API Gateway adapter
// the functions use. Its start-up is what exec, the Go runtime and the
// measurement itself cost on the machine; a function's start-up minus this is
// Rampart's own init.
package main

import (
	"log"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

func main() {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"detail":"missing bearer token"}`))
	})
	if os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
		lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
		return
	}
	addr := os.Getenv("RAMPART_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	log.Fatal(http.ListenAndServe(addr, h))
}
