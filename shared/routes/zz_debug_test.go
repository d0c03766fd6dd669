package routes_test

import "testing"

func TestZZDebug(t *testing.T) {
	e := newCatEnv(t)
	o := e.org("dbg")
	v, _ := e.createTemplate(o.Auditor, map[string]any{"title": "x", "severity": "low"})
	r := e.call(o.Auditor, "PATCH", "/api/v1/templates/"+v.ID, map[string]any{"severity": "HIGH"})
	t.Logf("no if-match: %d %s", r.Code, r.Body)
	r = e.call(o.Auditor, "PATCH", "/api/v1/templates/"+v.ID, map[string]any{"cvss_vector": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"})
	t.Logf("cvss: %d %s", r.Code, r.Body)
}
