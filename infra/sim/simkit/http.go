package simkit

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteAWSError answers in the error shape of the AWS JSON 1.1 protocol
// (Secrets Manager, EventBridge): {"__type": typ, "message": msg}. The
// message also goes out as "Message": the SDK's typed errors read that
// spelling, other clients (and the documented shape) the lower-case one.
func WriteAWSError(w http.ResponseWriter, status int, typ, msg string) {
	writeAWS(w, status, map[string]string{"__type": typ, "message": msg, "Message": msg})
}

// WriteAWSJSON answers 200 with v in the AWS JSON 1.1 protocol.
func WriteAWSJSON(w http.ResponseWriter, v any) { writeAWS(w, http.StatusOK, v) }

func writeAWS(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", NewUUID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// NewUUID returns a random version 4 UUID, the shape of AWS request and
// version IDs and of Plivo's api_id and message_uuid.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// AllowControlCORS sets the CORS headers of a simulator's control routes,
// which hold no secrets, so that a sandbox page on another origin can call
// them. It answers a preflight itself and then reports true.
func AllowControlCORS(w http.ResponseWriter, r *http.Request) (answered bool) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	if r.Method != http.MethodOptions {
		return false
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// Hang waits until the client gives up or 30s pass, and reports whether
// the client is still there: the simulated service then answers late. The
// limit keeps a test that forgot its client timeout from hanging
// httptest.Server.Close for ever.
func Hang(r *http.Request) (clientStillThere bool) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	<-ctx.Done()
	return r.Context().Err() == nil
}

// AWSFault is an error an AWS simulator answers a whole request with
// instead of serving it.
type AWSFault struct {
	Type    string // __type, e.g. "ThrottlingException"
	Status  int    // HTTP status; 400 when zero
	Message string
}

// Write answers the request with f, as WriteAWSError does.
func (f AWSFault) Write(w http.ResponseWriter) {
	status := f.Status
	status = cmp.Or(status, http.StatusBadRequest)
	WriteAWSError(w, status, f.Type, f.Message)
}

// WriteError answers a control route's failure as {"error": msg}.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// DecodePost reads the JSON body of a control route that takes POST into
// v. When the method is another, or the body is not JSON of shape (as the
// message names it, e.g. `{"code": "..."}`), or complete (when given)
// finds it lacking, it answers the error itself and reports false.
func DecodePost(w http.ResponseWriter, r *http.Request, v any, shape string, complete func() bool) bool {
	if r.Method != http.MethodPost {
		WriteError(w, http.StatusMethodNotAllowed, "use POST")
		return false
	}
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v)
	if err == nil && complete != nil && !complete() {
		err = errors.New("a field is missing")
	}
	if err != nil {
		WriteError(w, http.StatusBadRequest, "body must be "+shape+": "+err.Error())
		return false
	}
	return true
}

// Sleep waits d or until ctx is done, and reports whether d elapsed: a
// simulated delay the client may give up on.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// IsDigits reports whether s is a non-empty run of ASCII digits, the shape
// of Meta's object IDs.
func IsDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// HeaderHook is a ResponseWriter that calls Before once, with the status,
// just before the status line and headers go out: the place to edit the
// headers another handler set, or to note the status.
type HeaderHook struct {
	http.ResponseWriter
	Before func(h http.Header, status int)
	wrote  bool
}

// WriteHeader runs Before, the first time, then writes the header.
func (w *HeaderHook) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		w.Before(w.Header(), status)
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write writes the header as 200 first, when no status was written.
func (w *HeaderHook) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection, for Hijack.
func (w *HeaderHook) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Alphanumeric is the alphabet of Meta's trace IDs and of generated
// passwords.
const Alphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RandomString returns n random characters of alphabet.
func RandomString(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// RandomID returns a random n-digit number that does not start with 0: the
// shape of Meta's object and template IDs and of Plivo's nonces.
func RandomID(n int) string {
	return RandomString("123456789", 1) + RandomString("0123456789", n-1)
}

// HangUp closes the client's connection without writing a byte: an answer
// lost on the way.
func HangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
