package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"rampart/shared/domain"
)

// ErrorBody is the contract's error envelope, used for every error answer:
// {"detail": "...", "errors": [{"location": "body.email", "message": "..."}]}.
type ErrorBody struct {
	status  int
	headers http.Header
	Detail  string              `json:"detail" doc:"Human-readable description of the problem"`
	Errors  []domain.FieldError `json:"errors,omitempty" doc:"Invalid fields, when the request failed validation"`
}

func (e *ErrorBody) Error() string { return e.Detail }

// GetStatus lets huma write the status code.
func (e *ErrorBody) GetStatus() int { return e.status }

// GetHeaders lets huma add headers such as Retry-After.
func (e *ErrorBody) GetHeaders() http.Header { return e.headers }

// statusOf is the one mapping from domain error kinds to HTTP status codes.
var statusOf = map[domain.Kind]int{
	domain.KindInternal:        http.StatusInternalServerError,
	domain.KindMalformed:       http.StatusBadRequest,
	domain.KindUnauthenticated: http.StatusUnauthorized,
	domain.KindForbidden:       http.StatusForbidden,
	domain.KindNotFound:        http.StatusNotFound,
	domain.KindConflict:        http.StatusConflict,
	domain.KindPrecondition:    http.StatusPreconditionFailed,
	domain.KindTooLarge:        http.StatusRequestEntityTooLarge,
	domain.KindUnsupported:     http.StatusUnsupportedMediaType,
	domain.KindInvalid:         http.StatusUnprocessableEntity,
	domain.KindThrottled:       http.StatusTooManyRequests,
	domain.KindUnavailable:     http.StatusServiceUnavailable,
	domain.KindGone:            http.StatusGone,
}

// StatusOf returns the HTTP status for a domain error kind.
func StatusOf(k domain.Kind) int { return statusOf[k] }

// errorFor turns any error into the envelope. Domain errors keep their message;
// anything unclassified is a bug, logged in full and answered without internals.
func errorFor(err error) *ErrorBody {
	var body *ErrorBody
	if errors.As(err, &body) {
		return body
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		// The server-wide cap cut off a body that declared no length.
		return &ErrorBody{status: http.StatusRequestEntityTooLarge, Detail: "request body too large"}
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		slog.Error("unclassified error", "error", err.Error())
		return &ErrorBody{status: http.StatusInternalServerError, Detail: "internal error"}
	}
	out := &ErrorBody{status: StatusOf(de.Kind), Detail: de.Message, Errors: de.Fields}
	switch de.Kind {
	case domain.KindInternal:
		slog.Error("internal error", "error", de.Error())
		out.Detail = "internal error"
	case domain.KindUnavailable:
		slog.Warn("dependency unavailable", "error", de.Error())
	case domain.KindThrottled:
		if de.RetryAfterSeconds > 0 {
			out.headers = http.Header{"Retry-After": {strconv.Itoa(de.RetryAfterSeconds)}}
		}
	case domain.KindUnauthenticated:
		out.headers = http.Header{"WWW-Authenticate": {`Bearer realm="rampart"`}}
	}
	return out
}

// newError replaces huma's error constructor so that huma's own errors
// (validation, body size, parse failures) and errors returned by handlers all
// take the contract's shape.
func newError(status int, msg string, errs ...error) huma.StatusError {
	if status == http.StatusInternalServerError {
		for _, err := range errs {
			if err != nil {
				return errorFor(err)
			}
		}
		return &ErrorBody{status: status, Detail: "internal error"}
	}
	out := &ErrorBody{status: status, Detail: msg}
	for _, err := range errs {
		if err == nil {
			continue
		}
		var d *huma.ErrorDetail
		if conv, ok := err.(huma.ErrorDetailer); ok {
			d = conv.ErrorDetail()
		} else {
			d = &huma.ErrorDetail{Message: err.Error()}
		}
		loc := d.Location
		if name := missingProperty(d.Message); name != "" {
			// huma locates a missing property at its parent object; the
			// contract names the field itself ("body.email").
			loc += "." + name
		}
		out.Errors = append(out.Errors, domain.FieldError{Location: loc, Message: d.Message})
	}
	if status == http.StatusBadRequest && len(out.Errors) > 0 {
		out.Detail = "malformed request body: " + out.Errors[0].Message
	} else if msg == "validation failed" && len(out.Errors) > 0 {
		// huma's own message names no field; say which one failed first.
		out.Detail = "validation failed: " + out.Errors[0].Location + ": " + out.Errors[0].Message
	}
	return out
}

// missingProperty returns the property named by huma's "expected required
// property X to be present" message, or "".
func missingProperty(msg string) string {
	prefix, suffix, _ := strings.Cut(validation.MsgExpectedRequiredProperty, "%s")
	name, ok := strings.CutPrefix(msg, prefix)
	if !ok {
		return ""
	}
	name, ok = strings.CutSuffix(name, suffix)
	if !ok {
		return ""
	}
	return name
}

func init() {
	// huma's error constructor is a package variable; Rampart has one error
	// shape for every API it builds, so it is set once here.
	huma.NewError = newError
	huma.NewErrorWithContext = func(_ huma.Context, status int, msg string, errs ...error) huma.StatusError {
		return newError(status, msg, errs...)
	}
}

// Error converts a handler's error for huma; handlers may also return domain
// errors directly, which huma passes through newError as a 500 first and
// errorFor then classifies.
func Error(err error) error {
	if err == nil {
		return nil
	}
	return errorFor(err)
}
