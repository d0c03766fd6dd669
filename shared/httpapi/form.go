package httpapi

import (
	"errors"
	"io"
	"net/url"

	"github.com/danielgtaylor/huma/v2"
)

// formFormat reads application/x-www-form-urlencoded bodies as an object of
// strings (the first value of each key), which is all a form login sends.
var formFormat = huma.Format{
	Marshal: func(io.Writer, any) error { return errors.New("form bodies are not written") },
	Unmarshal: func(data []byte, v any) error {
		vals, err := url.ParseQuery(string(data))
		if err != nil {
			return err
		}
		m := make(map[string]any, len(vals))
		for k, vs := range vals {
			m[k] = vs[0]
		}
		p, ok := v.(*any)
		if !ok {
			return errors.New("form bodies decode only for validation")
		}
		*p = m
		return nil
	},
}
