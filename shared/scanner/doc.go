// Package scanner is Rampart's external security scanner: a catalogue of
// checks, the per-target runner, scoring and the SSRF guard.
//
// It knows nothing of storage, the HTTP API or AWS. A scan worker hands it
// targets and stores what comes back: every [TargetReport] carries the raw
// [Result] of each check and the [Finding] derived from each failed or warned
// result, with a stable [Finding.Fingerprint] so the same problem seen by two
// scans deduplicates to one finding.
//
// Every connection a check makes goes to an address that [Guard] approved
// when it resolved the target (the name is resolved once and the IP is
// dialled), so a DNS answer that changes between the check and the connect
// cannot redirect the scanner to an internal address.
//
// Checks are passive: they read what a server offers (TLS versions, cipher
// suites, certificates, HTTP headers, a few well-known files with a byte
// limit, banners that servers send unprompted, DNS records) and never send
// exploit payloads.
package scanner
