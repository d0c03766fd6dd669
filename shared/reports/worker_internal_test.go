package reports

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"rampart/shared/domain"
)

// TestReportsReadFailureKinds: a broken download of the intermediate file
// is transient (retried), malformed data and renderer failures are not.
func TestReportsReadFailureKinds(t *testing.T) {
	broken := &sourceReader{r: io.MultiReader(bytes.NewReader([]byte(`{"meta":{"schema_version":"1.0"`)),
		iotest.ErrReader(errors.New("connection reset")))}
	_, err := ReadData(broken)
	if err = broken.classify(err); !Transient(err) {
		t.Errorf("broken stream: %v", err)
	}
	bad := &sourceReader{r: bytes.NewReader([]byte("not json\n"))}
	_, err = ReadData(bad)
	if err = bad.classify(err); Transient(err) || !errors.Is(err, ErrBadData) {
		t.Errorf("malformed data: %v", err)
	}
	ok := &sourceReader{r: bytes.NewReader(nil)}
	if err := ok.classify(errors.New("pdf: font")); domain.KindOf(err) != domain.KindInternal {
		t.Errorf("renderer failure: %v", err)
	}
}

func TestReportsReusable(t *testing.T) {
	now := time.Now()
	base := Export{Status: StatusSucceeded, CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(30 * 24 * time.Hour)}
	for _, c := range []struct {
		name string
		edit func(*Export)
		want bool
	}{
		{"succeeded", func(*Export) {}, true},
		{"running", func(e *Export) { e.Status = StatusRunning }, true},
		{"failed", func(e *Export) { e.Status = StatusFailed }, false},
		{"expiring within the hour", func(e *Export) { e.ExpiresAt = now.Add(30 * time.Minute) }, false},
		{"running past the workflow's timeout", func(e *Export) { e.Status, e.CreatedAt = StatusQueued, now.Add(-2*time.Hour) }, false},
		{"old but succeeded", func(e *Export) { e.CreatedAt = now.Add(-48 * time.Hour) }, true},
	} {
		e := base
		c.edit(&e)
		if got := reusable(e, now); got != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}
