package eventbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/techprovider/wa-onboarding/infra/sim/eventbridgesim"
	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/eventbridge"
)

const bus = "wa-onboarding-test"

// newSim serves a simulator and returns a real SDK client pointed at it.
func newSim(t *testing.T) (*eventbridgesim.Server, *awseb.Client) {
	t.Helper()
	sim := eventbridgesim.New(bus)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client := awseb.New(awseb.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "test-secret", ""),
	})
	return sim, client
}

func event(detail string) callbacks.Event {
	return callbacks.Event{DetailType: callbacks.DetailTypeStatus, Detail: []byte(detail),
		Time: time.Date(2025, 11, 26, 10, 0, 0, 500e6, time.UTC)}
}

func TestPublishThroughTheSDK(t *testing.T) {
	t.Parallel()
	sim, client := newSim(t)
	p := &eventbridge.Publisher{Client: client, Bus: bus}
	id, err := p.Publish(t.Context(), event(`{"client_ref":"customer-1","callback":{"Body":"a <b> & c"}}`))
	if err != nil {
		t.Fatal(err)
	}
	evs := sim.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	if ev.ID != id || ev.Bus != bus || ev.Source != callbacks.EventSource || ev.DetailType != callbacks.DetailTypeStatus ||
		!ev.Time.Equal(time.Date(2025, 11, 26, 10, 0, 0, 500e6, time.UTC)) {
		t.Errorf("event %+v, id %s", ev, id)
	}
	var d map[string]any
	if err := json.Unmarshal(ev.Detail, &d); err != nil || d["client_ref"] != "customer-1" {
		t.Errorf("detail %s: %v", ev.Detail, err)
	}
}

func TestPublishFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(*eventbridgesim.Server)
		bus     string
		detail  string
		wantErr string
		events  int
	}{
		{"a transient 500 is retried by the SDK", func(s *eventbridgesim.Server) {
			s.FailNext(1, eventbridgesim.Fault{Type: eventbridgesim.ErrInternal, Status: 500})
		}, bus, `{}`, "", 1},
		{"a lasting 500 fails", func(s *eventbridgesim.Server) {
			s.FailNext(10, eventbridgesim.Fault{Type: eventbridgesim.ErrInternal, Status: 500})
		}, bus, `{}`, "InternalException", 0},
		{"a failed entry in a 200 answer fails", func(s *eventbridgesim.Server) { s.FailEntries(1) }, bus, `{}`, "InternalFailure", 0},
		{"a detail that is not an object fails", nil, bus, `[1]`, "MalformedDetail", 0},
		{"an unknown bus fails", nil, "nope", `{}`, "ResourceNotFoundException", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, client := newSim(t)
			if tt.setup != nil {
				tt.setup(sim)
			}
			_, err := (&eventbridge.Publisher{Client: client, Bus: tt.bus}).Publish(t.Context(), event(tt.detail))
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			if n := len(sim.Events()); n != tt.events {
				t.Errorf("%d events, want %d", n, tt.events)
			}
		})
	}
	t.Run("typed error", func(t *testing.T) {
		t.Parallel()
		_, client := newSim(t)
		_, err := (&eventbridge.Publisher{Client: client, Bus: "nope"}).Publish(t.Context(), event(`{}`))
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("err %T %v, want a typed ResourceNotFoundException", err, err)
		}
	})
	t.Run("a cancelled context fails fast", func(t *testing.T) {
		t.Parallel()
		sim, client := newSim(t)
		release := make(chan struct{})
		sim.OnRequest(func() { <-release })
		defer close(release)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := (&eventbridge.Publisher{Client: client, Bus: bus}).Publish(ctx, event(`{}`)); err == nil {
			t.Fatal("published past the deadline")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v to give up", d)
		}
	})
}

// TestEndpointFromEnvironment goes through LoadDefaultConfig and the
// standard AWS_ENDPOINT_URL_EVENTBRIDGE variable, as the function does
// against the local stack. It sets the environment, so it is not parallel.
func TestEndpointFromEnvironment(t *testing.T) {
	sim := eventbridgesim.New(bus)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	testenv.SetAWSEnv(t, map[string]string{"AWS_ENDPOINT_URL_EVENTBRIDGE": srv.URL})
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p := &eventbridge.Publisher{Client: awseb.NewFromConfig(cfg), Bus: "arn:aws:events:eu-west-1:123456789012:event-bus/" + bus}
	if _, err := p.Publish(t.Context(), event(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if evs := sim.Events(); len(evs) != 1 || evs[0].Bus != bus {
		t.Errorf("events %+v", evs)
	}
}
