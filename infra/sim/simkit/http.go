package simkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
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
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", NewUUID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg, "Message": msg})
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

// Hang waits until the client gives up or limit passes, and reports
// whether the client is still there: the simulated service then answers
// late. limit keeps a test that forgot its client timeout from hanging
// httptest.Server.Close for ever.
func Hang(r *http.Request, limit time.Duration) (clientStillThere bool) {
	ctx, cancel := context.WithTimeout(r.Context(), limit)
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
	if status == 0 {
		status = http.StatusBadRequest
	}
	WriteAWSError(w, status, f.Type, f.Message)
}
