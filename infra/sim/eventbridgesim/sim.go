// Package eventbridgesim is an in-memory Amazon EventBridge speaking the
// JSON 1.1 protocol for PutEvents, so tests and the local stack can drive a
// real aws-sdk-go-v2 eventbridge.Client (BaseEndpoint or
// AWS_ENDPOINT_URL_EVENTBRIDGE) and see every event that reached a bus.
//
// It checks what EventBridge checks of an entry (Source, DetailType and a
// Detail that is a JSON object; at most 10 entries and 256 KiB a request),
// records accepted entries with the ID it gave them, and can be told to fail
// whole requests or single entries. Signatures are not checked.
package eventbridgesim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// OpPutEvents is the one operation simulated, as it appears after
// "AWSEvents." in X-Amz-Target.
const OpPutEvents = "PutEvents"

// EventsPath is a plain GET endpoint returning the recorded events as JSON,
// for scripts driving the local stack.
const EventsPath = "/_sim/eventbridge/events"

// Error types, named as EventBridge names them so the SDK decodes them.
const (
	ErrInternal          = "InternalException"
	ErrValidation        = "ValidationException"
	ErrResourceNotFound  = "ResourceNotFoundException"
	ErrUnknownOperation  = "UnknownOperationException"
	ErrSerialization     = "SerializationException"
	ErrEntryInternal     = "InternalFailure"
	ErrEntryMalformed    = "MalformedDetail"
	ErrEntryInvalidInput = "InvalidArgument"
)

// Limits EventBridge applies to PutEvents.
const (
	MaxEntries      = 10
	MaxRequestBytes = 256 << 10
	DefaultBus      = "default"
)

// Fault is an error the simulator answers a whole request with, its Type
// one of the Err constants.
type Fault = simkit.AWSFault

// Event is one accepted entry.
type Event struct {
	ID         string          `json:"id"`
	Bus        string          `json:"bus"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
	Resources  []string        `json:"resources,omitempty"`
	// Time is the entry's own time, or the request's when it gave none.
	Time       time.Time `json:"time"`
	ReceivedAt time.Time `json:"received_at"`
}

// Server is the simulator. The zero value is not usable; call New.
type Server struct {
	buses []string

	calls simkit.AWSCalls // under OpPutEvents

	mu          sync.Mutex
	events      []Event
	entryFaults int
	now         func() time.Time
}

// New returns a simulator that knows the buses named (and "default"); a
// PutEvents to another bus fails with ResourceNotFoundException. With no
// names, every bus exists.
func New(buses ...string) *Server {
	return &Server{buses: buses, now: time.Now}
}

// Events returns a copy of the accepted events, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Calls returns how many PutEvents requests arrived, failed ones included.
func (s *Server) Calls() int { return s.calls.Calls(OpPutEvents) }

// Reset forgets every event, call and queued failure.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events, s.entryFaults = nil, 0
	s.calls.Reset()
}

// FailNext makes the next n PutEvents requests answer with f; n < 0 makes
// every one fail until FailNext(0, Fault{}) or Reset.
func (s *Server) FailNext(n int, f Fault) { s.calls.FailNext(OpPutEvents, n, f) }

// FailEntries makes the next n entries fail inside a 200 answer, with
// ErrorCode InternalFailure, as EventBridge reports a partial failure.
func (s *Server) FailEntries(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entryFaults += n
}

// OnRequest installs fn to run, outside the lock, before each PutEvents is
// served; tests block in it to hold a request in flight. Nil removes it.
func (s *Server) OnRequest(fn func()) {
	if fn == nil {
		s.calls.OnRequest(nil)
		return
	}
	s.calls.OnRequest(func(string) { fn() })
}

type entry struct {
	Source       string   `json:"Source"`
	DetailType   string   `json:"DetailType"`
	Detail       string   `json:"Detail"`
	EventBusName string   `json:"EventBusName"`
	Resources    []string `json:"Resources"`
	// Time is epoch seconds, as awsJson writes timestamps.
	Time *float64 `json:"Time"`
}

type resultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == EventsPath {
		simkit.WriteJSON(w, http.StatusOK, s.Events())
		return
	}
	op, ok := simkit.AWSOperation(w, r, "AWSEvents.")
	if !ok {
		return
	}
	if op != OpPutEvents {
		simkit.WriteAWSError(w, http.StatusBadRequest, ErrUnknownOperation, "operation "+op+" is not simulated")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		simkit.WriteAWSError(w, http.StatusBadRequest, ErrSerialization, "cannot read the request body")
		return
	}

	if f, failed := s.calls.Begin(op); failed {
		f.Write(w)
		return
	}
	if len(body) > MaxRequestBytes {
		simkit.WriteAWSError(w, http.StatusBadRequest, ErrValidation, "Total size of the entries in the request is over the limit.")
		return
	}
	var in struct {
		Entries []entry `json:"Entries"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		simkit.WriteAWSError(w, http.StatusBadRequest, ErrSerialization, "request body is not valid JSON")
		return
	}
	if len(in.Entries) == 0 || len(in.Entries) > MaxEntries {
		simkit.WriteAWSError(w, http.StatusBadRequest, ErrValidation, fmt.Sprintf("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and %d", MaxEntries))
		return
	}
	for _, e := range in.Entries {
		if bus := busName(e.EventBusName); !s.knows(bus) {
			simkit.WriteAWSError(w, http.StatusBadRequest, ErrResourceNotFound, "Event bus "+bus+" does not exist.")
			return
		}
	}

	out := struct {
		FailedEntryCount int           `json:"FailedEntryCount"`
		Entries          []resultEntry `json:"Entries"`
	}{Entries: make([]resultEntry, len(in.Entries))}
	s.mu.Lock()
	now := s.now().UTC()
	for i, e := range in.Entries {
		res := s.accept(e, now)
		if res.ErrorCode != "" {
			out.FailedEntryCount++
		}
		out.Entries[i] = res
	}
	s.mu.Unlock()
	simkit.WriteAWSJSON(w, out)
}

// accept checks and records one entry; s.mu is held.
func (s *Server) accept(e entry, now time.Time) resultEntry {
	switch {
	case e.Source == "" || e.DetailType == "" || e.Detail == "":
		return resultEntry{ErrorCode: ErrEntryInvalidInput, ErrorMessage: "Parameter(s) Source, DetailType and Detail are required."}
	case len(e.DetailType) > 128:
		return resultEntry{ErrorCode: ErrEntryInvalidInput, ErrorMessage: "DetailType is longer than 128 characters."}
	case !isObject(e.Detail):
		return resultEntry{ErrorCode: ErrEntryMalformed, ErrorMessage: "Detail is malformed."}
	case s.entryFaults > 0:
		s.entryFaults--
		return resultEntry{ErrorCode: ErrEntryInternal, ErrorMessage: "Internal Service Failure"}
	}
	ev := Event{
		ID: simkit.NewUUID(), Bus: busName(e.EventBusName), Source: e.Source, DetailType: e.DetailType,
		Detail: json.RawMessage(e.Detail), Resources: e.Resources, Time: now, ReceivedAt: now,
	}
	if e.Time != nil {
		ev.Time = time.UnixMilli(int64(*e.Time * 1000)).UTC()
	}
	s.events = append(s.events, ev)
	return resultEntry{EventID: ev.ID}
}

func (s *Server) knows(bus string) bool {
	return len(s.buses) == 0 || bus == DefaultBus || slices.Contains(s.buses, bus)
}

// busName reduces an ARN (arn:aws:events:region:account:event-bus/name) to
// the bus's name; no name is the default bus.
func busName(nameOrARN string) string {
	if nameOrARN == "" {
		return DefaultBus
	}
	if i := strings.LastIndex(nameOrARN, ":event-bus/"); i >= 0 {
		return nameOrARN[i+len(":event-bus/"):]
	}
	return nameOrARN
}

func isObject(s string) bool {
	var v map[string]any
	return json.Unmarshal([]byte(s), &v) == nil && v != nil // null decodes to a nil map
}
