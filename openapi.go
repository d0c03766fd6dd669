// Package rampart holds what belongs to the repository as a whole: the
// committed snapshot of the OpenAPI document.
package rampart

import _ "embed"

// OpenAPISnapshot is openapi.generated.json, written by `make openapi`. The
// health function serves it in Lambda, where no single function holds every
// route; a test keeps it equal to the live document of the local server.
//
//go:embed openapi.generated.json
var OpenAPISnapshot []byte
