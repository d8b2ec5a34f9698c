package plivosim

import (
	"net/http"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Signup is a WABA onboarded at the simulated Plivo.
type Signup struct {
	WABAID        string `json:"waba_id"`
	BusinessID    string `json:"business_id,omitempty"`
	PhoneNumberID string `json:"phone_number_id"`
	ClientRef     string `json:"client_ref,omitempty"`
	// APIID is the api_id of the answer that committed the signup, whether
	// or not the client received it.
	APIID string `json:"api_id,omitempty"`
	// DisplayPhoneNumber is the sender number the signup registered, if the
	// configuration knew it.
	DisplayPhoneNumber string    `json:"display_phone_number,omitempty"`
	CreatedAt          time.Time `json:"created_at"`
	// Preregistered marks a WABA onboarded by someone else (Preregister):
	// it blocks a signup but belongs to no account of ours.
	Preregistered bool `json:"preregistered,omitempty"`
}

// lostResponse is an armed "lost response" scenario: the next signup that
// commits loses its answer.
type lostResponse struct {
	drop  bool
	delay time.Duration
}

// DropNextSignupResponse makes the next successful Embedded Signup commit
// and then close the connection without an answer: the client sees EOF
// while Plivo did onboard the WABA.
func (s *Server) DropNextSignupResponse() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost = &lostResponse{drop: true}
}

// DelayNextSignupResponse makes the next successful Embedded Signup commit
// and then hold its answer for d (or until the client gives up): with d
// longer than the client's timeout, the client sees a timeout while Plivo
// did onboard the WABA.
func (s *Server) DelayNextSignupResponse(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost = &lostResponse{delay: d}
}

// Onboarded returns the signup of wabaID, if it is registered (by us or,
// with Preregistered set, by someone else).
func (s *Server) Onboarded(wabaID string) (Signup, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	su, ok := s.signups[wabaID]
	return su, ok
}

// SignupCalls returns how many requests reached the Embedded Signup route,
// whatever their outcome (401s included).
func (s *Server) SignupCalls() int { return s.calls.Calls(RouteSignup) }

// SuccessfulSignups returns how many Embedded Signup calls committed,
// including those whose answer was lost.
func (s *Server) SuccessfulSignups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.successes
}

// Preregister records wabaID with phoneID as onboarded by someone else, so
// that a signup of the same WABA is "already registered" and one of the same
// phone under another WABA is "already registered under another WABA".
func (s *Server) Preregister(wabaID, phoneID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signups[wabaID] = Signup{WABAID: wabaID, PhoneNumberID: phoneID, CreatedAt: s.cfg.Now(), Preregistered: true}
	if phoneID != "" {
		s.phoneOwner[phoneID] = wabaID
	}
}

// signupAnswer is the guide's success body, in its field order.
type signupAnswer struct {
	APIID         string `json:"api_id"`
	Message       string `json:"message"`
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id"`
	BusinessID    string `json:"business_id"`
}

// embeddedSignup serves POST /WhatsApp/EmbeddedSignup/.
func (s *Server) embeddedSignup(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	su := Signup{
		WABAID:        str(body, "waba_id"),
		BusinessID:    str(body, "business_id"),
		PhoneNumberID: str(body, "phone_number_id"),
		ClientRef:     str(body, "client_ref"),
	}
	// The guide's table, in its order.
	switch {
	case su.WABAID == "":
		writeError(w, http.StatusBadRequest, MsgWABARequired)
		return
	case su.BusinessID == "":
		writeError(w, http.StatusBadRequest, MsgBusinessRequired)
		return
	case su.PhoneNumberID == "":
		writeError(w, http.StatusBadRequest, MsgPhoneRequired)
		return
	case !simkit.IsDigits(su.WABAID):
		writeError(w, http.StatusBadRequest, MsgWABAInvalid)
		return
	case len([]rune(su.ClientRef)) > maxClientRefLen:
		// The guide gives the limit but not the message.
		writeError(w, http.StatusBadRequest, "client_ref must be at most 64 characters.")
		return
	}

	// Asked outside the lock: these may call into another simulator.
	if s.cfg.CheckAtMeta != nil {
		if refusal := s.cfg.CheckAtMeta(su.WABAID, su.PhoneNumberID); refusal != "" {
			writeError(w, http.StatusBadRequest, refusal)
			return
		}
	}
	display, known := s.cfg.PhoneNumbers[su.PhoneNumberID]
	if !known && s.cfg.LookupNumber != nil {
		display, known = s.cfg.LookupNumber(su.PhoneNumberID)
	}

	s.mu.Lock()
	if _, taken := s.signups[su.WABAID]; taken {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, MsgWABARegistered)
		return
	}
	if owner, taken := s.phoneOwner[su.PhoneNumberID]; taken && owner != su.WABAID {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, MsgPhoneRegistered)
		return
	}
	su.APIID = simkit.NewUUID()
	su.CreatedAt = s.cfg.Now()
	if known && display != "" {
		su.DisplayPhoneNumber = display
		s.numbers[sanitizeNumber(display)] = true
	}
	s.signups[su.WABAID] = su
	s.phoneOwner[su.PhoneNumberID] = su.WABAID
	s.successes++
	lost := s.lost
	s.lost = nil
	s.mu.Unlock()

	if lost != nil {
		if lost.drop {
			simkit.HangUp(w)
			return
		}
		if !simkit.Sleep(r.Context(), lost.delay) {
			return // committed, and the client gave up waiting
		}
	}
	simkit.WriteJSON(w, http.StatusOK, signupAnswer{
		APIID: su.APIID, Message: MsgSignupOK,
		WABAID: su.WABAID, PhoneNumberID: su.PhoneNumberID, BusinessID: su.BusinessID,
	})
}
