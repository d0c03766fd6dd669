package reports

import (
	"bufio"
	"encoding/json"
	"io"
)

// JSON is the full structured report (docs/report-schema.json), streamed:
// the head fields, then the scope and the findings each encoded on its own
// inside hand-opened arrays, so only one finding is in memory at a time.
type JSON struct{}

// Render implements Renderer.
func (JSON) Render(w io.Writer, d *Data) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	m := d.Meta()
	m.SchemaVersion = SchemaVersion
	m.Export.Format = FormatJSON
	put := func(s string) error { _, err := bw.WriteString(s); return err }
	field := func(name string, v any, first bool) error {
		sep := ","
		if first {
			sep = "{"
		}
		if err := put(sep + `"` + name + `":`); err != nil {
			return err
		}
		return enc.Encode(v)
	}
	if err := field("schema_version", m.SchemaVersion, true); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    any
	}{{"export", m.Export}, {"organization", m.Organization}, {"subject", m.Subject}, {"scan", m.Scan},
		{"taxonomy", m.Taxonomy}, {"summary", m.Summary}} {
		if err := field(f.name, f.v, false); err != nil {
			return err
		}
	}
	list := func(name string, each func(fn func(v any) error) error) error {
		if err := put(`,"` + name + `":[`); err != nil {
			return err
		}
		first := true
		err := each(func(v any) error {
			if !first {
				if err := put(","); err != nil {
					return err
				}
			}
			first = false
			return enc.Encode(v)
		})
		if err != nil {
			return err
		}
		return put("]")
	}
	if err := list("scope", func(fn func(any) error) error {
		return d.Assets(func(a Asset) error { return fn(a) })
	}); err != nil {
		return err
	}
	if err := list("findings", func(fn func(any) error) error {
		return d.Findings(func(f Finding) error { return fn(f) })
	}); err != nil {
		return err
	}
	if err := put("}\n"); err != nil {
		return err
	}
	return bw.Flush()
}
