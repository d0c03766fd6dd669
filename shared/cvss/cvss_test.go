package cvss

import (
	"math"
	"strings"
	"testing"

	"rampart/shared/domain"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		vector  string
		version string
		score   float64
	}{
		// CVSS 3.1 specification and NVD examples.
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", V31, 9.8},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", V31, 6.1},
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", V31, 5.9},
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", V31, 7.8},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", V31, 10.0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", V31, 0.0},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", V31, 5.3},
		// Temporal metrics are validated but the base score is returned.
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U", V31, 9.8},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", V30, 9.8},
		// CVSS 4.0 specification examples (FIRST calculator).
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", V40, 9.3},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", V40, 10.0},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", V40, 0.0},
		{"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:P/VC:N/VI:H/VA:H/SC:N/SI:L/SA:L", V40, 5.2},
		{"CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", V40, 1.0},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U", V40, 9.1},
	}
	for _, tt := range tests {
		t.Run(tt.vector, func(t *testing.T) {
			version, score, err := Parse(tt.vector)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if version != tt.version || score != tt.score {
				t.Fatalf("Parse = (%s, %.1f), want (%s, %.1f)", version, score, tt.version, tt.score)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := map[string]string{
		"empty":                 "",
		"no prefix":             "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"version 2":             "AV:N/AC:L/Au:N/C:C/I:C/A:C",
		"unknown version":       "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"lowercase prefix":      "cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"missing metric":        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
		"duplicate metric":      "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"bad value":             "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"unknown metric":        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",
		"trailing slash":        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
		"leading space":         " CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"trailing space":        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H ",
		"header only":           "CVSS:3.1/",
		"4.0 missing metric":    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
		"4.0 wrong order":       "CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"4.0 3.1 metrics":       "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"3.1 with 4.0 metrics":  "CVSS:3.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"4.0 bad value":         "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:Q",
		"too long":              "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" + strings.Repeat("/E:U", 200),
		"4.0 header without /":  "CVSS:4.0",
		"garbage after version": "CVSS:3.1AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
	}
	for name, vector := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := ParseAt(vector, "body.x")
			if !domain.Is(err, domain.KindInvalid) {
				t.Fatalf("ParseAt(%q) error = %v, want Invalid", vector, err)
			}
			var de *domain.Error
			de, _ = err.(*domain.Error)
			if len(de.Fields) != 1 || de.Fields[0].Location != "body.x" || de.Fields[0].Message == "" {
				t.Fatalf("fields = %+v, want one at body.x", de.Fields)
			}
		})
	}
}

func TestParseDefaultLocation(t *testing.T) {
	_, _, err := Parse("nope")
	de, ok := err.(*domain.Error)
	if !ok || de.Kind != domain.KindInvalid || len(de.Fields) != 1 || de.Fields[0].Location != "body.cvss_vector" {
		t.Fatalf("Parse error = %#v, want Invalid at body.cvss_vector", err)
	}
}

// FuzzParse checks that no input panics, that every accepted vector has a
// known version and a score in [0, 10] with one decimal, and that parsing is
// deterministic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U/CR:H/IR:H/AR:H/MAV:N/MAC:L/MPR:N/MUI:N/MS:U/MC:H/MI:H/MA:H",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:P/VC:N/VI:H/VA:H/SC:N/SI:L/SA:L/E:P/CR:H/IR:M/AR:H/MAV:A/MAT:P/MPR:N/MVI:H/MVA:N/MSI:H/MSA:N/S:N/V:C/U:Amber",
		"CVSS:3.1/", "CVSS:4.0/", "", "CVSS:3.1/AV:N/AV:N",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, vector string) {
		version, score, err := Parse(vector)
		if err != nil {
			if !domain.Is(err, domain.KindInvalid) {
				t.Fatalf("error of kind %v: %v", domain.KindOf(err), err)
			}
			return
		}
		switch version {
		case V30, V31, V40:
		default:
			t.Fatalf("version %q", version)
		}
		if score < 0 || score > 10 || math.Abs(score*10-math.Round(score*10)) > 1e-9 {
			t.Fatalf("score %v out of range or not one decimal", score)
		}
		v2, s2, err2 := Parse(vector)
		if err2 != nil || v2 != version || s2 != score {
			t.Fatalf("not deterministic: (%s %v %v) then (%s %v %v)", version, score, err, v2, s2, err2)
		}
	})
}
