// Package smtest is a Secrets Manager for tests: an HTTP server on 127.0.0.1
// that speaks the service's JSON protocol for the calls Rampart makes, keeps
// secrets and their version stages in memory, and records every request, so
// a test can point a real aws-sdk-go-v2 client at it and check the exact
// calls an adapter sends.
package smtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Call is one recorded request: the action (from X-Amz-Target, without the
// "secretsmanager." prefix) and its JSON body.
type Call struct {
	Action string
	Body   map[string]any
}

// Version is one version of a secret; Value nil means the version exists
// only as a stage label (as Secrets Manager makes the AWSPENDING version of
// a rotation before the rotation function has put its value).
type Version struct {
	Value  *string
	Stages []string
}

type secret struct {
	rotation bool
	versions map[string]*Version
}

// Server is the fake service.
type Server struct {
	URL string

	mu      sync.Mutex
	calls   []Call
	secrets map[string]*secret
}

// New starts a server that stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{secrets: map[string]*secret{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Client returns a real Secrets Manager client that talks to the server.
func (s *Server) Client() *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:           "eu-central-1",
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// Put adds a version to a secret (creating the secret); rotation says
// whether the secret has rotation enabled.
func (s *Server) Put(id, versionID string, value *string, rotation bool, stages ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[id]
	if sec == nil {
		sec = &secret{versions: map[string]*Version{}}
		s.secrets[id] = sec
	}
	sec.rotation = sec.rotation || rotation
	for _, st := range stages {
		for _, v := range sec.versions {
			v.Stages = without(v.Stages, st)
		}
	}
	sec.versions[versionID] = &Version{Value: value, Stages: append([]string(nil), stages...)}
}

// Value returns the value of the version of id that has stage.
func (s *Server) Value(id, stage string) (versionID, value string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[id]
	if sec == nil {
		return "", "", false
	}
	for vid, v := range sec.versions {
		if contains(v.Stages, stage) && v.Value != nil {
			return vid, *v.Value, true
		}
	}
	return "", "", false
}

// Stages returns the stages of every version of id.
func (s *Server) Stages(id string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	if sec := s.secrets[id]; sec != nil {
		for vid, v := range sec.versions {
			st := append([]string(nil), v.Stages...)
			sort.Strings(st)
			out[vid] = st
		}
	}
	return out
}

// Calls returns the requests received so far and forgets them.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

func without(stages []string, st string) []string {
	out := stages[:0:0]
	for _, x := range stages {
		if x != st {
			out = append(out, x)
		}
	}
	return out
}

func contains(stages []string, st string) bool {
	for _, x := range stages {
		if x == st {
			return true
		}
	}
	return false
}

type apiError struct {
	code string
	msg  string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	action, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.")
	if r.Method != http.MethodPost || !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, "not a signed Secrets Manager request", http.StatusBadRequest)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, "body is not JSON", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Action: action, Body: body})
	out, e := s.handle(action, body)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if e != nil {
		w.Header().Set("X-Amzn-ErrorType", e.code)
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "Message": e.msg})
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func str(body map[string]any, key string) string { s, _ := body[key].(string); return s }

// handle runs one action; s.mu is held.
func (s *Server) handle(action string, body map[string]any) (map[string]any, *apiError) {
	id := str(body, "SecretId")
	sec := s.secrets[id]
	if sec == nil {
		return nil, &apiError{"ResourceNotFoundException", "Secrets Manager can't find the specified secret."}
	}
	base := map[string]any{"ARN": id, "Name": id}
	switch action {
	case "DescribeSecret":
		stages := map[string][]string{}
		for vid, v := range sec.versions {
			stages[vid] = v.Stages
		}
		base["RotationEnabled"] = sec.rotation
		base["VersionIdsToStages"] = stages
		return base, nil

	case "GetSecretValue":
		vid, stage := str(body, "VersionId"), str(body, "VersionStage")
		if vid == "" && stage == "" {
			stage = "AWSCURRENT"
		}
		for id, v := range sec.versions {
			if (vid == "" || id == vid) && (stage == "" || contains(v.Stages, stage)) && v.Value != nil {
				base["VersionId"], base["SecretString"], base["VersionStages"] = id, *v.Value, v.Stages
				return base, nil
			}
		}
		return nil, &apiError{"ResourceNotFoundException", "Secrets Manager can't find the specified secret value for " +
			fmt.Sprintf("VersionId %q, VersionStage %q", vid, stage)}

	case "PutSecretValue":
		vid, value := str(body, "ClientRequestToken"), str(body, "SecretString")
		if vid == "" {
			return nil, &apiError{"InvalidParameterException", "ClientRequestToken is required"}
		}
		var stages []string
		if list, ok := body["VersionStages"].([]any); ok {
			for _, x := range list {
				stages = append(stages, x.(string))
			}
		} else {
			stages = []string{"AWSCURRENT"}
		}
		if v := sec.versions[vid]; v != nil && v.Value != nil {
			if *v.Value != value {
				return nil, &apiError{"ResourceExistsException", "a version with this ClientRequestToken already exists with another value"}
			}
			base["VersionId"], base["VersionStages"] = vid, v.Stages
			return base, nil
		}
		v := sec.versions[vid]
		if v == nil {
			v = &Version{}
			sec.versions[vid] = v
		}
		v.Value = &value
		for _, st := range stages {
			s.moveStage(sec, st, vid)
		}
		base["VersionId"], base["VersionStages"] = vid, v.Stages
		return base, nil

	case "UpdateSecretVersionStage":
		stage, to, from := str(body, "VersionStage"), str(body, "MoveToVersionId"), str(body, "RemoveFromVersionId")
		for vid, v := range sec.versions {
			if contains(v.Stages, stage) && vid != from && vid != to {
				return nil, &apiError{"InvalidParameterException", fmt.Sprintf("stage %s is on version %s, not %q", stage, vid, from)}
			}
		}
		if to != "" {
			if sec.versions[to] == nil || sec.versions[to].Value == nil {
				return nil, &apiError{"ResourceNotFoundException", "no version " + to}
			}
			s.moveStage(sec, stage, to)
		} else if from != "" && sec.versions[from] != nil {
			sec.versions[from].Stages = without(sec.versions[from].Stages, stage)
		}
		return base, nil
	}
	return nil, &apiError{"InvalidRequestException", "unsupported action " + action}
}

// moveStage puts stage on version to, taking it from the others; moving
// AWSCURRENT labels the version that had it AWSPREVIOUS, as the service does.
func (s *Server) moveStage(sec *secret, stage, to string) {
	for vid, v := range sec.versions {
		if vid == to || !contains(v.Stages, stage) {
			continue
		}
		v.Stages = without(v.Stages, stage)
		if stage == "AWSCURRENT" {
			for _, o := range sec.versions {
				o.Stages = without(o.Stages, "AWSPREVIOUS")
			}
			v.Stages = append(v.Stages, "AWSPREVIOUS")
		}
	}
	if !contains(sec.versions[to].Stages, stage) {
		sec.versions[to].Stages = append(sec.versions[to].Stages, stage)
	}
	if stage == "AWSCURRENT" {
		sec.versions[to].Stages = without(sec.versions[to].Stages, "AWSPENDING")
	}
}
