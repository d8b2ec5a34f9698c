package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
)

// CustomersPath + {client_ref} shows one customer's WABAs and numbers
// through the per-customer route.
const (
	CustomersPath  = Prefix + "/customers/"
	customersFunc  = "CustomersFunction"
	customersRoute = "GET /api/customers/{client_ref}/whatsapp"
)

// customers serves GET /console/customers/{client_ref}: the per-customer
// route's answer, with the request the console made, as an APICall.
func (c *Console) customers(w http.ResponseWriter, r *http.Request, ref string) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET"})
		return
	}
	if c.Customers == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "no customers function: " + errString(c.customersErr)})
		return
	}
	call := APICall{Method: http.MethodGet, Path: "/api/customers/" + url.PathEscape(ref) + "/whatsapp", Route: customersRoute}
	ev := event(call, nil)
	ev.PathParameters = map[string]string{"client_ref": ref}
	start := time.Now()
	resp, err := c.Customers(r.Context(), ev)
	call.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		resp = apigw.JSON(http.StatusBadGateway, map[string]any{"message": "Internal Server Error"})
	}
	call.Status = resp.StatusCode
	call.ResponseBody = json.RawMessage(resp.Body)
	if !json.Valid(call.ResponseBody) {
		call.ResponseBody, _ = json.Marshal(resp.Body)
	}
	writeJSON(w, http.StatusOK, call)
}

// customerRef is the client_ref of a /console/customers/ path.
func customerRef(p string) string {
	ref, _ := url.PathUnescape(strings.TrimPrefix(p, CustomersPath))
	return ref
}
