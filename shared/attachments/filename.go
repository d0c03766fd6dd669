package attachments

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxFileNameBytes bounds a stored file name (the common file system limit).
const MaxFileNameBytes = 255

// DefaultFileName replaces a name that sanitizes to nothing.
const DefaultFileName = "attachment"

// SanitizeFileName turns a client's file name into the name Rampart keeps as
// metadata (never as part of an object key): invalid UTF-8, control and format
// characters (bidi overrides and isolates, zero-width characters, BOM) and
// line separators are removed; only the last path component of / and \ is
// kept; surrounding spaces, leading dots and trailing dots are trimmed; the
// result is NFC and at most 255 bytes (the extension is kept when it is
// short). An empty result is "attachment". SanitizeFileName is idempotent.
func SanitizeFileName(name string) string {
	for range 8 {
		next := sanitizeOnce(name)
		if next == name {
			break
		}
		name = next
	}
	if name == "" {
		return DefaultFileName
	}
	return name
}

func sanitizeOnce(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if unsafeRune(r) {
			return -1
		}
		return r
	}, name)
	name = norm.NFC.String(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = trim(name)
	name = truncate(name, MaxFileNameBytes)
	return trim(name)
}

// unsafeRune reports characters that must not survive in a file name: C0 and
// C1 controls, format characters (Cf: bidi embeddings, overrides, isolates and
// marks, zero-width joiners and spaces, BOM, tag characters), line and
// paragraph separators, surrogates and private use code points, and the
// replacement character left by broken encodings.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Cs, unicode.Co) ||
		r == utf8.RuneError || r == 0xFFFE || r == 0xFFFF
}

// trim removes surrounding white space, leading dots (no hidden files, no
// "..") and trailing dots (which some file systems drop).
func trim(s string) string {
	for {
		t := strings.TrimFunc(s, unicode.IsSpace)
		t = strings.TrimLeft(t, ".")
		t = strings.TrimRight(t, ".")
		if t == s {
			return s
		}
		s = t
	}
}

// truncate shortens name to max bytes, keeping a short extension, cutting
// only between whole characters (never inside a combining sequence).
func truncate(name string, max int) string {
	if len(name) <= max {
		return name
	}
	ext := path.Ext(name)
	if len(ext) > 16 || strings.ContainsFunc(ext, unicode.IsSpace) {
		ext = ""
	}
	stem := cut(name[:len(name)-len(ext)], max-len(ext))
	if stem == "" {
		return cut(name, max)
	}
	return stem + ext
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	// Keep s[:i] when the rest starts a new character; otherwise back up to
	// the last boundary, so that no combining sequence is split.
	if norm.NFC.FirstBoundaryInString(s[i:]) == 0 {
		return s[:i]
	}
	if b := norm.NFC.LastBoundary([]byte(s[:i])); b > 0 {
		return s[:b]
	}
	return s[:i]
}

// ContentDisposition is the RFC 6266 header that makes a browser save the
// file as name instead of displaying it: an ASCII fallback in filename= and
// the exact UTF-8 name in filename*= (RFC 8187).
func ContentDisposition(name string) string {
	return `attachment; filename="` + asciiFallback(name) + `"; filename*=UTF-8''` + percentEncode(name)
}

// asciiFallback keeps printable ASCII, drops accents (é → e) and replaces
// anything else, and the characters that are unsafe inside a quoted string
// or that user agents decode (" \ %), with an underscore.
func asciiFallback(name string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return DefaultFileName
	}
	return b.String()
}

// percentEncode encodes everything but RFC 8187 attr-chars.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func isAttrChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
