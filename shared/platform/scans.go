package platform

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"rampart/shared/assets"
	"rampart/shared/domain"
	"rampart/shared/events"
	"rampart/shared/findings"
	"rampart/shared/routes"
	"rampart/shared/scanner"
	"rampart/shared/scans"
)

// storeAssets adapts the asset store to the lookups findings and scans need.
type storeAssets struct{ p *Platform }

func (a storeAssets) GetAsset(ctx context.Context, org, id string) (domain.Asset, error) {
	return a.p.Store().GetAsset(ctx, org, id)
}

// AllAssets pages through the organization's assets with the list cursor.
func (a storeAssets) AllAssets(ctx context.Context, org string) ([]domain.Asset, error) {
	var out []domain.Asset
	req := domain.PageRequest{Page: 1, PerPage: 100}
	for {
		p, err := a.p.Store().ListAssets(ctx, org, assets.Filter{}, req)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" || len(p.Items) == 0 {
			return out, nil
		}
		req.Cursor = p.NextCursor
	}
}

type storeSessions struct{ p *Platform }

func (s storeSessions) GetSession(ctx context.Context, org, id string) (domain.Session, error) {
	return s.p.Store().GetAssessmentSession(ctx, org, id)
}

type storeTemplates struct{ p *Platform }

func (t storeTemplates) GetTemplate(ctx context.Context, org, id string) (domain.Template, error) {
	st, err := t.p.Store().GetTemplate(ctx, org, id)
	return st.Template, err
}

// Findings builds the finding service.
func (p *Platform) Findings() *findings.Service {
	st := p.Store()
	return &findings.Service{Store: st, Taxonomy: st, Assets: storeAssets{p}, Sessions: storeSessions{p},
		Templates: storeTemplates{p}, Clock: domain.SystemClock}
}

// FindingRoutes builds the handlers of the findings function.
func (p *Platform) FindingRoutes() *routes.Findings {
	return &routes.Findings{Findings: p.Findings(), Taxonomy: p.Store()}
}

// Scanner builds the scanner from the configuration.
func (p *Platform) Scanner() (scanner.Scanner, error) {
	c := p.Config.Scan
	sc := scanner.Scanner{DNSServer: c.DNSServer, MaxConcurrency: c.Concurrency, TargetTimeout: c.TargetTimeout,
		HTTPPort: c.HTTPPort, HTTPSPort: c.HTTPSPort}
	sc.Guard.AllowLoopback = c.AllowLoopback
	if c.RootCAFile != "" {
		pem, err := os.ReadFile(c.RootCAFile)
		if err != nil {
			return sc, fmt.Errorf("RAMPART_SCAN_ROOT_CA_FILE: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return sc, errors.New("RAMPART_SCAN_ROOT_CA_FILE holds no PEM certificate")
		}
		sc.RootCAs = pool
	}
	switch c.Ports {
	case "":
	case "none":
		sc.Ports = []scanner.ServicePort{}
	default:
		known := map[int]scanner.ServicePort{}
		for _, sp := range scanner.DefaultPorts() {
			known[sp.Port] = sp
		}
		for _, f := range strings.Split(c.Ports, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 65535 {
				return sc, fmt.Errorf("RAMPART_SCAN_PORTS: %q is not a port", f)
			}
			sp, ok := known[n]
			if !ok {
				sp = scanner.ServicePort{Port: n, Service: "other", Severity: scanner.SeverityMedium}
			}
			sc.Ports = append(sc.Ports, sp)
		}
	}
	return sc, nil
}

// ScanWorker builds the worker that runs requested scans.
func (p *Platform) ScanWorker(pub events.Publisher) (*scans.Worker, error) {
	sc, err := p.Scanner()
	if err != nil {
		return nil, err
	}
	return &scans.Worker{Store: p.Store(), Orgs: p.Store(), Scanner: sc, Publisher: pub, Clock: domain.SystemClock,
		Log: p.Log, Lease: p.Config.Scan.Lease, Reserve: sc.TargetTimeout + 30*time.Second,
		CancelPoll: 2 * time.Second, MaxAttempts: 5}, nil
}

// Publisher returns the EventBridge publisher (Lambda), or in local mode the
// in-process bus that runs the scan worker in this process.
func (p *Platform) Publisher() (events.Publisher, error) {
	p.busOnce.Do(func() {
		if p.Config.Lambda {
			if p.Config.EventBus == "" {
				p.busErr = errors.New("RAMPART_EVENT_BUS is required")
				return
			}
			p.bus = &events.EventBridge{Client: eventbridge.NewFromConfig(p.AWS.AWS), Bus: p.Config.EventBus}
			return
		}
		local := &events.Local{Log: p.Log, Retries: 3, Backoff: 2 * time.Second}
		worker, err := p.ScanWorker(local)
		if err != nil {
			p.busErr = err
			return
		}
		local.Handle = worker.Handle
		p.bus, p.LocalBus = local, local
	})
	return p.bus, p.busErr
}

// ScanRoutes builds the handlers of the scans function.
func (p *Platform) ScanRoutes() (*routes.Scans, error) {
	pub, err := p.Publisher()
	if err != nil {
		return nil, err
	}
	svc := &scans.Service{Store: p.Store(), Assets: storeAssets{p}, Publisher: pub, Clock: domain.SystemClock,
		Attachments: p.Attachments()}
	return &routes.Scans{Scans: svc, Store: p.Store(), Findings: p.Findings()}, nil
}
