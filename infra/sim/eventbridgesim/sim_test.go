package eventbridgesim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sim/eventbridgesim"
)

func post(t *testing.T, url, target, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func entries(n int, e string) string {
	return `{"Entries":[` + strings.TrimSuffix(strings.Repeat(e+",", n), ",") + `]}`
}

const good = `{"Source":"s","DetailType":"d","Detail":"{\"a\":1}","EventBusName":"bus"}`

func TestPutEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		target string
		body   string
		status int
		errTyp string
		failed float64
		events int
	}{
		{"one", "AWSEvents.PutEvents", entries(1, good), 200, "", 0, 1},
		{"ten", "AWSEvents.PutEvents", entries(10, good), 200, "", 0, 10},
		{"eleven", "AWSEvents.PutEvents", entries(11, good), 400, eventbridgesim.ErrValidation, 0, 0},
		{"none", "AWSEvents.PutEvents", `{"Entries":[]}`, 400, eventbridgesim.ErrValidation, 0, 0},
		{"partial", "AWSEvents.PutEvents", `{"Entries":[` + good + `,{"Source":"s","DetailType":"d","Detail":"x"},{"Source":"s"}]}`, 200, "", 2, 1},
		{"details that are JSON but no object", "AWSEvents.PutEvents", `{"Entries":[` + good + `,{"Source":"s","DetailType":"d","Detail":"null"},{"Source":"s","DetailType":"d","Detail":"[1]"},{"Source":"s","DetailType":"d","Detail":"\"x\""},{"Source":"s","DetailType":"d","Detail":"1"}]}`, 200, "", 4, 1},
		{"default bus by ARN", "AWSEvents.PutEvents", entries(1, `{"Source":"s","DetailType":"d","Detail":"{}","EventBusName":"arn:aws:events:us-east-1:1:event-bus/default"}`), 200, "", 0, 1},
		{"unknown bus", "AWSEvents.PutEvents", entries(1, `{"Source":"s","DetailType":"d","Detail":"{}","EventBusName":"other"}`), 400, eventbridgesim.ErrResourceNotFound, 0, 0},
		{"too large", "AWSEvents.PutEvents", entries(1, `{"Source":"s","DetailType":"d","Detail":"{\"a\":\"`+strings.Repeat("x", eventbridgesim.MaxRequestBytes)+`\"}"}`), 400, eventbridgesim.ErrValidation, 0, 0},
		{"not JSON", "AWSEvents.PutEvents", "{", 400, eventbridgesim.ErrSerialization, 0, 0},
		{"other operation", "AWSEvents.PutRule", `{}`, 400, eventbridgesim.ErrUnknownOperation, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim := eventbridgesim.New("bus")
			srv := httptest.NewServer(sim)
			defer srv.Close()
			status, out := post(t, srv.URL, tt.target, tt.body)
			if status != tt.status || tt.errTyp != "" && out["__type"] != tt.errTyp {
				t.Fatalf("status %d body %v, want %d %s", status, out, tt.status, tt.errTyp)
			}
			if tt.errTyp == "" && out["FailedEntryCount"] != tt.failed {
				t.Errorf("FailedEntryCount %v, want %v", out["FailedEntryCount"], tt.failed)
			}
			if n := len(sim.Events()); n != tt.events {
				t.Errorf("%d events, want %d", n, tt.events)
			}
		})
	}
}

func TestEventsEndpointAndReset(t *testing.T) {
	t.Parallel()
	sim := eventbridgesim.New()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	post(t, srv.URL, "AWSEvents.PutEvents", entries(2, good))
	resp, err := http.Get(srv.URL + eventbridgesim.EventsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var evs []eventbridgesim.Event
	if err := json.NewDecoder(resp.Body).Decode(&evs); err != nil || len(evs) != 2 || evs[0].Bus != "bus" || evs[0].ID == evs[1].ID {
		t.Fatalf("events %+v, %v", evs, err)
	}
	if sim.Calls() != 1 {
		t.Errorf("calls %d", sim.Calls())
	}
	sim.Reset()
	if len(sim.Events()) != 0 || sim.Calls() != 0 {
		t.Error("Reset kept state")
	}
}
