package attachments

import (
	"bytes"
	"mime"

	"github.com/gabriel-vasile/mimetype"

	"rampart/shared/domain"
)

// SniffBytes is how much of a file the type check reads (mimetype's limit).
const SniffBytes = 3072

// Type allow-list, checked on the bytes (never the name or the declared
// type). Each allowed type maps to whether it is active content a browser
// could run (HTML, SVG, XML): those are stored and served as
// application/octet-stream so that they can never render, even in a client
// that ignores Content-Disposition.
var allowed = map[string]bool{
	"image/png":  false,
	"image/apng": false,
	"image/jpeg": false,
	"image/gif":  false,
	"image/webp": false,

	"application/pdf": false,

	"text/plain":                     false,
	"text/csv":                       false,
	"text/tab-separated-values":      false, // text with tabs sniffs as TSV
	"application/json":               false, // HAR is JSON and sniffs as application/json
	"application/x-ndjson":           false,
	"application/geo+json":           false,
	"application/vnd.cyclonedx+json": false,

	"application/vnd.tcpdump.pcap": false,
	pcapngType:                     false,

	"application/zip": false,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   false,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         false,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": false,
	"application/vnd.oasis.opendocument.text":                                   false,
	"application/vnd.oasis.opendocument.spreadsheet":                            false,
	"application/vnd.oasis.opendocument.presentation":                           false,

	"text/html":             true,
	"application/xhtml+xml": true,
	"image/svg+xml":         true,
	"text/xml":              true, // and every XML dialect mimetype knows (RSS, Atom, CycloneDX, ...)
}

// OctetStream is how active content is stored and served.
const OctetStream = "application/octet-stream"

const pcapngType = "application/x-pcapng"

// Detect sniffs the media type of a file from its first bytes (at most
// SniffBytes are looked at) and checks it against the allow-list: anything
// else, executables above all (PE, ELF, Mach-O, scripts, Java archives), is
// KindUnsupported (415), whatever the file is called.
func Detect(head []byte) (string, error) {
	if len(head) > SniffBytes {
		head = head[:SniffBytes]
	}
	if isPcapng(head) {
		return pcapngType, nil
	}
	if kind := executable(head); kind != "" {
		return "", refused(kind)
	}
	m := mimetype.Detect(head)
	base := baseType(m.String())
	if base == "application/pdf" && !bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("%PDF-")) {
		// mimetype finds "%PDF-" anywhere in the first KiB: a polyglot
		// (HTML, script) would pass as a PDF.
		return "", domain.E(domain.KindUnsupported, "a PDF must start with its %%PDF- header")
	}
	if _, ok := allowed[base]; ok {
		return m.String(), nil
	}
	for p := m.Parent(); p != nil; p = p.Parent() {
		if p.Is("text/xml") { // an XML dialect
			return m.String(), nil
		}
	}
	return "", refused(base)
}

func refused(kind string) error {
	return domain.E(domain.KindUnsupported,
		"file type %s is not allowed: attach images (PNG, JPEG, GIF, WebP), PDF, text, CSV, JSON, XML, HAR, pcap/pcapng, "+
			"zip or office documents (docx, xlsx, pptx, odt, ods, odp), HTML or SVG", kind)
}

// executable recognises executables and scripts by their first bytes,
// before any other check: some formats (PDF) are recognised anywhere in the
// first KiB, so an executable carrying such a marker must not pass as them.
func executable(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return "application/x-elf"
	case bytes.HasPrefix(b, []byte("MZ")):
		return "application/vnd.microsoft.portable-executable"
	case bytes.HasPrefix(b, []byte("#!")):
		return "text/x-script"
	case len(b) >= 4:
		switch string(b[:4]) {
		case "\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe":
			return "application/x-mach-binary"
		case "\xca\xfe\xba\xbe": // Mach-O universal binary or Java class
			return "application/x-mach-binary"
		}
	}
	return ""
}

// Served is the Content-Type an attachment of type t is stored and
// downloaded with: the sniffed type, or application/octet-stream for
// active content.
func Served(t string) string {
	base := baseType(t)
	if active, ok := allowed[base]; ok && !active {
		return t
	}
	return OctetStream
}

func baseType(t string) string {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return t
	}
	return mt
}

// isPcapng matches a pcapng Section Header Block (mimetype knows only pcap).
func isPcapng(b []byte) bool {
	return len(b) >= 12 && bytes.Equal(b[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) &&
		(bytes.Equal(b[8:12], []byte{0x1a, 0x2b, 0x3c, 0x4d}) || bytes.Equal(b[8:12], []byte{0x4d, 0x3c, 0x2b, 0x1a}))
}
