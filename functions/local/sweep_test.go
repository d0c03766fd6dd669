package main

import (
	"testing"
	"time"

	"rampart/shared/authz"
	"rampart/shared/testenv"
)

// TestRouteSweep runs the authorization sweep over every operation compose
// registers (see shared/authz): a route added to any group is swept without
// a test of its own, and one whose path has ids fails here until
// authz.Fixtures can make them.
func TestRouteSweep(t *testing.T) {
	p := testenv.Platform(t)
	// Scans the sweep starts must not leave the machine: no DNS but a closed
	// port of 127.0.0.1, no port probes, loopback refused by the guard.
	p.Config.Scan.DNSServer = "127.0.0.1:9"
	p.Config.Scan.Ports = "none"
	p.Config.Scan.AllowLoopback = false
	p.Config.Scan.TargetTimeout = 2 * time.Second
	srv, err := p.LocalServer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.LocalBus != nil {
			p.LocalBus.Wait() // scans finish before the table goes
		}
		p.LocalReports().Wait() // and so do reports
	})
	sweep := authz.Sweep{Target: authz.Target{Handler: srv}, Ops: authz.FromAPI(srv.API),
		Fixtures: authz.Fixtures, Bodies: authz.Bodies}
	sweep.Run(t)
}
