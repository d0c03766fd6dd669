package scanner

import (
	"strconv"
	"strings"
)

// serviceResult turns one port of the reach sweep into a result. The
// subject is the port, so moving a service to another port is a new finding.
func (r *run) serviceResult(sp *ServicePort, open bool, banner string, err error) {
	id := serviceCheckID(sp.Service)
	subject := "tcp/" + strconv.Itoa(sp.Port)
	facts := map[string]string{"port": strconv.Itoa(sp.Port), "service": sp.Service}
	if !open {
		// Refused and filtered ports are both "not exposed" from outside;
		// the reason stays in the evidence.
		summary := "port " + strconv.Itoa(sp.Port) + " closed or filtered"
		if err != nil {
			facts["error"] = shortErr(err)
		}
		r.add(id, subject, OutcomePass, "", summary, facts)
		return
	}
	sev := sp.Severity
	if sev == "" {
		if c, ok := LookupCheck(id); ok {
			sev = c.Severity
		}
	}
	summary := sp.Service + " port " + strconv.Itoa(sp.Port) + " accepts connections from the internet"
	if banner != "" {
		facts["banner"] = banner
		summary += "; banner: " + banner
	}
	r.add(id, subject, OutcomeFail, sev, summary, facts)
}

// sanitizeBanner keeps printable ASCII so evidence is safe to render and
// store, and cuts it to a readable length.
func sanitizeBanner(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		case c == '\r' || c == '\n' || c == '\t':
			sb.WriteByte(' ')
		default:
			sb.WriteByte('.')
		}
	}
	s := strings.Join(strings.Fields(sb.String()), " ")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// shortErr keeps evidence readable: the innermost text of a dial error.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		s = s[i+2:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
