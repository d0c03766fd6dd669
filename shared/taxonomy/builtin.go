package taxonomy

import (
	"bytes"
	_ "embed"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"rampart/shared/domain"
)

//go:embed builtin-v1.yaml
var builtinYAML []byte

// SystemActor is the created_by of what Rampart itself writes (the built-in
// version 1 of every organization).
const SystemActor = "system"

// BuiltinDate is when the built-in version was authored: the created_at an
// organization shows for version 1 before it was written to its partition.
var BuiltinDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var builtin = mustParse(builtinYAML)

// ParseYAML reads a version's domains from YAML (the shape of
// builtin-v1.yaml: one key per domain, each a list of values) and checks them
// against every rule. Unknown keys are errors.
func ParseYAML(b []byte) (map[string][]domain.TaxonomyValue, error) {
	var domains map[string][]domain.TaxonomyValue
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&domains); err != nil {
		return nil, fmt.Errorf("taxonomy yaml: %w", err)
	}
	return Normalize(domains, "yaml")
}

func mustParse(b []byte) domain.Taxonomy {
	d, err := ParseYAML(b)
	if err != nil {
		panic(fmt.Sprintf("built-in taxonomy is invalid: %v", describe(err)))
	}
	return domain.Taxonomy{Version: 1, Domains: d, CreatedAt: BuiltinDate, CreatedBy: SystemActor}
}

func describe(err error) string {
	if de, ok := err.(*domain.Error); ok {
		return fmt.Sprintf("%s %v", de.Message, de.Fields)
	}
	return err.Error()
}

// Builtin returns the built-in version 1 (a copy: callers may change it).
func Builtin() domain.Taxonomy { return Clone(builtin) }
