package templates

import (
	"bytes"
	"embed"
	"fmt"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"rampart/shared/domain"
	"rampart/shared/taxonomy"
)

//go:embed builtin/*.yaml
var builtinFiles embed.FS

// builtinRec is one template of the built-in file.
type builtinRec struct {
	ID          string   `yaml:"id"`
	Title       string   `yaml:"title"`
	Description string   `yaml:"description"`
	Remediation string   `yaml:"remediation"`
	Severity    string   `yaml:"severity"`
	Category    string   `yaml:"category"`
	References  []string `yaml:"references"`
	CVSSVector  string   `yaml:"cvss_vector"`
}

var builtin = mustLoadBuiltin()

// ParseBuiltin reads templates in the built-in file's format and checks each
// against the rules of POST /templates with the built-in taxonomy; ids must
// be ULIDs and unique.
func ParseBuiltin(b []byte) ([]domain.Template, error) {
	var recs []builtinRec
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&recs); err != nil {
		return nil, fmt.Errorf("templates yaml: %w", err)
	}
	tax := taxonomy.Builtin()
	seen := map[string]bool{}
	out := make([]domain.Template, 0, len(recs))
	for i, r := range recs {
		if !domain.ValidID(r.ID) {
			return nil, fmt.Errorf("template %d (%q): id %q is not a ULID", i, r.Title, r.ID)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("template %d (%q): duplicate id %s", i, r.Title, r.ID)
		}
		seen[r.ID] = true
		refs := slices.Clone(r.References)
		if refs == nil {
			refs = []string{}
		}
		f, err := Check(Fields{Title: &r.Title, Description: &r.Description, Remediation: &r.Remediation,
			Severity: &r.Severity, Category: &r.Category, References: &refs, CVSSVector: &r.CVSSVector}, &tax, true)
		if err != nil {
			if de, ok := err.(*domain.Error); ok {
				return nil, fmt.Errorf("template %d (%s): %s %v", i, r.ID, de.Message, de.Fields)
			}
			return nil, err
		}
		if *f.Category == "" {
			return nil, fmt.Errorf("template %d (%s): a built-in template needs a category", i, r.ID)
		}
		t := domain.Template{ID: r.ID, BuiltIn: true}
		f.apply(&t)
		out = append(out, t)
	}
	return out, nil
}

func mustLoadBuiltin() []domain.Template {
	files, err := builtinFiles.ReadDir("builtin")
	if err != nil {
		panic(err)
	}
	var all []domain.Template
	seen := map[string]bool{}
	for _, f := range files {
		b, err := builtinFiles.ReadFile("builtin/" + f.Name())
		if err != nil {
			panic(err)
		}
		ts, err := ParseBuiltin(b)
		if err != nil {
			panic(fmt.Sprintf("built-in templates %s: %v", f.Name(), err))
		}
		for _, t := range ts {
			if seen[t.ID] {
				panic(fmt.Sprintf("built-in templates: id %s is used twice", t.ID))
			}
			seen[t.ID] = true
		}
		all = append(all, ts...)
	}
	return all
}

// Builtin returns copies of the built-in templates stamped with the given
// creation time.
func Builtin(at time.Time) []domain.Template {
	out := make([]domain.Template, len(builtin))
	for i, t := range builtin {
		t.References = slices.Clone(t.References)
		t.CreatedAt, t.UpdatedAt = at, at
		out[i] = t
	}
	return out
}
