package attachments_test

import (
	"mime"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"rampart/shared/attachments"
)

func TestAttachSanitizeFileName(t *testing.T) {
	long := strings.Repeat("a", 300) + ".pdf"
	tests := []struct {
		name, in, want string
	}{
		{"plain", "report.pdf", "report.pdf"},
		{"unix traversal", "../../etc/passwd", "passwd"},
		{"windows traversal", `..\..\Windows\System32\cmd.exe`, "cmd.exe"},
		{"mixed separators", `C:\Users\me/Desktop\notes.txt`, "notes.txt"},
		{"absolute", "/etc/shadow", "shadow"},
		{"trailing separator", "dir/", "attachment"},
		{"nul and controls", "rep\x00ort\x1b[31m\x7f.pdf", "report[31m.pdf"},
		{"newlines", "a\r\nb.txt", "ab.txt"},
		{"C1 control", "a\u0085b.txt", "ab.txt"},
		{"right-to-left override", "invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"bidi isolates and marks", "\u2066a\u2069\u200e\u200fb\u061c.txt", "ab.txt"},
		{"zero width and BOM", "\ufeffre\u200bport\u200d.pdf", "report.pdf"},
		{"line separators", "a\u2028b\u2029c.txt", "abc.txt"},
		{"leading dots", ".htaccess", "htaccess"},
		{"dots only", "...", "attachment"},
		{"dot dot", "..", "attachment"},
		{"dot space dot", ". .hidden", "hidden"},
		{"trailing dots and spaces", "  name.txt. . ", "name.txt"},
		{"empty", "", "attachment"},
		{"spaces", "   ", "attachment"},
		{"invalid utf-8", "bad\xff\xfename.txt", "badname.txt"},
		{"NFD to NFC", "Cafe\u0301.txt", "Caf\u00e9.txt"},
		{"unicode kept", "Bericht «Q1» – Übersicht 日本.pdf", "Bericht «Q1» – Übersicht 日本.pdf"},
		{"long keeps extension", long, strings.Repeat("a", 251) + ".pdf"},
		{"private use", "a\ue000b.txt", "ab.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := attachments.SanitizeFileName(tt.in)
			if got != tt.want {
				t.Errorf("SanitizeFileName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkSanitized(t, tt.in, got)
		})
	}
	t.Run("long multibyte", func(t *testing.T) {
		in := strings.Repeat("é", 200) + ".txt" // 404 bytes
		got := attachments.SanitizeFileName(in)
		checkSanitized(t, in, got)
		if !strings.HasSuffix(got, ".txt") || len(got) < 240 {
			t.Errorf("got %q (%d bytes)", got, len(got))
		}
	})
	t.Run("long combining sequences", func(t *testing.T) {
		in := strings.Repeat("e\u0301\u0323", 120) // no precomposed form for all marks
		got := attachments.SanitizeFileName(in)
		checkSanitized(t, in, got)
	})
}

// checkSanitized asserts the invariants of a sanitised name.
func checkSanitized(t *testing.T, in, got string) {
	t.Helper()
	switch {
	case got == "":
		t.Fatalf("SanitizeFileName(%q) is empty", in)
	case len(got) > attachments.MaxFileNameBytes:
		t.Fatalf("SanitizeFileName(%q) has %d bytes", in, len(got))
	case !utf8.ValidString(got):
		t.Fatalf("SanitizeFileName(%q) = %q is not UTF-8", in, got)
	case !norm.NFC.IsNormalString(got):
		t.Fatalf("SanitizeFileName(%q) = %q is not NFC", in, got)
	case strings.ContainsAny(got, `/\`):
		t.Fatalf("SanitizeFileName(%q) = %q has a path separator", in, got)
	case strings.HasPrefix(got, "."):
		t.Fatalf("SanitizeFileName(%q) = %q starts with a dot", in, got)
	case strings.TrimSpace(got) != got:
		t.Fatalf("SanitizeFileName(%q) = %q has surrounding space", in, got)
	}
	for _, r := range got {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co) || r == utf8.RuneError {
			t.Fatalf("SanitizeFileName(%q) = %q keeps %U", in, got, r)
		}
	}
	if again := attachments.SanitizeFileName(got); again != got {
		t.Fatalf("not idempotent: %q → %q → %q", in, got, again)
	}
}

func FuzzSanitizeFileName(f *testing.F) {
	for _, s := range []string{"report.pdf", "../../etc/passwd", `..\a\b.exe`, "a\u202Eb", ".", "", "\x00", "Cafe\u0301",
		strings.Repeat("é", 200) + ".txt", strings.Repeat("e\u0301\u0323", 120), "\xff\xfe", " . . x . . ",
		strings.Repeat("x", 250) + ".\u0301pdf", "\u0958" + strings.Repeat("a", 254)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := attachments.SanitizeFileName(in)
		checkSanitized(t, in, got)
		cd := attachments.ContentDisposition(got)
		for i := 0; i < len(cd); i++ {
			if cd[i] < 0x20 || cd[i] > 0x7e {
				t.Fatalf("Content-Disposition %q is not printable ASCII", cd)
			}
		}
		_, params, err := mime.ParseMediaType(cd)
		if err != nil {
			t.Fatalf("Content-Disposition %q does not parse: %v", cd, err)
		}
		if params["filename"] != got {
			t.Fatalf("Content-Disposition %q names %q, want %q", cd, params["filename"], got)
		}
	})
}

func TestAttachContentDisposition(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		{"report.pdf", `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`},
		{"Übersicht Q1.pdf", `attachment; filename="Ubersicht Q1.pdf"; filename*=UTF-8''%C3%9Cbersicht%20Q1.pdf`},
		{`a"b\c%d;e.txt`, `attachment; filename="a_b_c_d;e.txt"; filename*=UTF-8''a%22b%5Cc%25d%3Be.txt`},
		{"日本.txt", `attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := attachments.ContentDisposition(tt.name)
			if got != tt.want {
				t.Errorf("ContentDisposition(%q) =\n  %s\nwant\n  %s", tt.name, got, tt.want)
			}
			disp, params, err := mime.ParseMediaType(got)
			if err != nil || disp != "attachment" || params["filename"] != tt.name {
				t.Errorf("parsed back as %q %v %v", disp, params, err)
			}
		})
	}
}
