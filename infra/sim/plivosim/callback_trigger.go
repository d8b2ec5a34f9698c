package plivosim

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// CallbackTrigger is the JSON body of POST /_sim/plivo/callback: send one
// signed WhatsApp callback, as Plivo would, to URL.
type CallbackTrigger struct {
	// URL is the receiver, e.g. the local stack's /webhooks/plivo/whatsapp.
	URL string `json:"url"`
	// Scheme is SchemeV3 (default) or SchemeV2.
	Scheme string `json:"scheme,omitempty"`
	// Method is POST (default) or GET.
	Method string `json:"method,omitempty"`
	// Params are the form fields of the callback (MessageUUID, Status,
	// From, To, ...).
	Params map[string]string `json:"params"`
}

// serveCallbackTrigger serves POST /_sim/plivo/callback: it sends the
// callback and answers {"status": <the receiver's HTTP status>}, so a
// script or the sandbox can play Plivo's side of a webhook delivery.
func (s *Server) serveCallbackTrigger(w http.ResponseWriter, r *http.Request) {
	var in CallbackTrigger
	if !simkit.DecodePost(w, r, &in, `{"url": "http(s)://...", "scheme": "v3"|"v2", "method": "POST"|"GET", "params": {...}}`,
		func() bool {
			in.Method = strings.ToUpper(in.Method)
			return isHTTPURL(in.URL) && (in.Method == "" || in.Method == http.MethodPost || in.Method == http.MethodGet)
		}) {
		return
	}
	params := url.Values{}
	for k, v := range in.Params {
		params.Set(k, v)
	}
	status, err := s.SendCallback(r.Context(), in.Method, in.URL, params, in.Scheme)
	if err != nil {
		simkit.WriteError(w, http.StatusBadGateway, err.Error())
		return
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]int{"status": status})
}
