package reports_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"rampart/shared/reports"
)

// counter counts the bytes a renderer writes.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// peakHeap samples the live heap while fn runs and returns the largest
// value seen (runtime/metrics, every millisecond, without stopping the
// world), after a GC so that what an earlier iteration left does not count.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	read()
	return peak.Load()
}

// BenchmarkRender renders 1,000 and 10,000 synthetic findings (the
// intermediate file on disk, as the render step streams it from S3) in each
// format. Metrics: time per report, peak-heap-MB (largest live heap while
// rendering) and out-MB (report size).
//
//	go test -run '^$' -bench BenchmarkRender -benchtime 3x ./shared/reports/
func BenchmarkRender(b *testing.B) {
	dir := b.TempDir()
	for _, n := range []int{1000, 10000} {
		path := filepath.Join(dir, fmt.Sprintf("data-%d.jsonl", n))
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		writeSynthetic(b, w, reports.SubjectSession, n)
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		_ = f.Close()
		for _, format := range []string{reports.FormatPDF, reports.FormatCSV, reports.FormatJSON} {
			b.Run(fmt.Sprintf("%s/%d", format, n), func(b *testing.B) {
				r, _ := reports.RendererFor(format)
				var peak uint64
				var out int64
				for b.Loop() {
					p := peakHeap(func() {
						in, err := os.Open(path)
						if err != nil {
							b.Fatal(err)
						}
						defer in.Close()
						d, err := reports.ReadData(in)
						if err != nil {
							b.Fatal(err)
						}
						c := &counter{}
						if err := r.Render(io.Writer(c), d); err != nil {
							b.Fatal(err)
						}
						out = c.n
					})
					peak = max(peak, p)
				}
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(out)/(1<<20), "out-MB")
			})
		}
	}
}
