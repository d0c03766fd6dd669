package httpapi

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"

	"rampart/shared/domain"
)

//go:embed docsassets/*.js docsassets/*.css
var docsAssets embed.FS

// DocsOptions configure the documentation routes.
type DocsOptions struct {
	// Spec returns the OpenAPI document. Locally it is the live document of
	// every route; in Lambda, where one function holds only its own routes, it is
	// the committed snapshot, which a test keeps equal to the live document.
	Spec func() ([]byte, error)
	// RequireAuth makes openapi.json need a valid bearer token.
	RequireAuth bool
}

// LiveSpec renders the API's document once, on first use.
func LiveSpec(api huma.API) func() ([]byte, error) {
	return sync.OnceValues(func() ([]byte, error) {
		return json.MarshalIndent(api.OpenAPI(), "", "  ")
	})
}

// The docs pages load only Rampart's own assets; Swagger UI's start-up code is
// an asset too, so script-src needs no 'unsafe-inline'. ReDoc injects its
// styles and runs a worker from a blob, which the policy allows narrowly.
const (
	swaggerCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	redocCSP   = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

var pageTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rampart API – {{.Title}}</title>
{{range .Styles}}<link rel="stylesheet" href="{{.}}">{{end}}
</head><body>{{.Body}}
{{range .Scripts}}<script src="{{.}}"></script>{{end}}
</body></html>`))

type page struct {
	Title           string
	Styles, Scripts []string
	Body            template.HTML
}

const assetsPrefix = "/api/v1/docs/assets/"

// The Swagger UI start-up code, served as an asset so that the page's CSP can
// forbid inline scripts. validatorUrl null keeps Swagger UI from embedding a
// badge from validator.swagger.io, which would hand it the document's URL.
const swaggerInit = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: %q, dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};`

// RegisterDocs adds openapi.json, Swagger UI, ReDoc and their aliases.
func (s *Server) RegisterDocs(opts DocsOptions) {
	specAccess := Public
	if opts.RequireAuth {
		specAccess = Authenticated
	}
	Register(s.API, specAccess, huma.Operation{
		OperationID: "get-openapi", Method: http.MethodGet, Path: "/api/v1/openapi.json",
		Summary: "OpenAPI 3.1 document of this API", Tags: []string{"Documentation"},
	}, func(_ context.Context, _ *struct{}) (*specOutput, error) {
		b, err := opts.Spec()
		if err != nil {
			return nil, domain.Wrap(domain.KindInternal, err, "openapi document unavailable")
		}
		return &specOutput{ContentType: "application/json", Body: b}, nil
	})
	// Pages link with absolute paths that include a named stage, so that both
	// /api/v1/docs and its /docs alias find their assets behind API Gateway.
	base := ""
	if s.opts.Stage != "" {
		base = "/" + s.opts.Stage
	}
	assets, spec := base+assetsPrefix, base+"/api/v1/openapi.json"
	swagger := s.docsPage(swaggerCSP, page{
		Title:   "Swagger UI",
		Styles:  []string{assets + "swagger-ui.css"},
		Scripts: []string{assets + "swagger-ui-bundle.js", assets + "swagger-ui-standalone-preset.js", assets + "swagger-init.js"},
		Body:    `<div id="swagger-ui"></div>`,
	})
	redoc := s.docsPage(redocCSP, page{
		Title:   "ReDoc",
		Scripts: []string{assets + "redoc.standalone.js"},
		Body:    template.HTML(`<redoc spec-url="` + template.HTMLEscapeString(spec) + `"></redoc>`),
	})
	initJS := []byte(fmt.Sprintf(swaggerInit, spec))
	s.Router.Get("/api/v1/docs", swagger)
	s.Router.Get("/docs", swagger)
	s.Router.Get("/api/v1/redoc", redoc)
	s.Router.Get("/redoc", redoc)
	s.Router.Get(assetsPrefix+"{name}", func(w http.ResponseWriter, r *http.Request) { serveAsset(w, r, initJS) })
}

type specOutput struct {
	ContentType string `header:"Content-Type"`
	Body        []byte
}

func (s *Server) docsPage(csp string, p page) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = pageTemplate.Execute(w, p)
	}
}

func serveAsset(w http.ResponseWriter, r *http.Request, initJS []byte) {
	name := chi.URLParam(r, "name")
	var body []byte
	switch {
	case name == "swagger-init.js":
		body = initJS
	default:
		b, err := fs.ReadFile(docsAssets, "docsassets/"+name)
		if err != nil {
			WriteError(w, &ErrorBody{status: http.StatusNotFound, Detail: "no such asset"})
			return
		}
		body = b
	}
	ct := "text/css; charset=utf-8"
	if len(name) > 3 && name[len(name)-3:] == ".js" {
		ct = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	// Assets change only with a new deployment.
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(body)
}
