package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CustomersPath + {client_ref} shows one customer's WABAs and numbers
// through the per-customer route.
const (
	CustomersPath  = Prefix + "/customers/"
	customersRoute = "GET /api/customers/{client_ref}/whatsapp"
)

// customers serves GET /console/customers/{client_ref}: the per-customer
// route's answer, with the request the console made, as an APICall.
func (c *Console) customers(w http.ResponseWriter, r *http.Request, ref string) {
	if c.Customers == nil {
		writeError(w, http.StatusServiceUnavailable, "no customers function: "+errString(c.customersErr))
		return
	}
	call := APICall{Method: http.MethodGet, Path: "/api/customers/" + url.PathEscape(ref) + "/whatsapp", Route: customersRoute}
	ev := event(call, nil)
	ev.PathParameters = map[string]string{"client_ref": ref}
	start := time.Now()
	resp, err := c.Customers(r.Context(), ev)
	call.answer(start, resp, err)
	writeJSON(w, http.StatusOK, call)
}

// customerRef is the client_ref of a /console/customers/ path.
func customerRef(p string) string {
	ref, _ := url.PathUnescape(strings.TrimPrefix(p, CustomersPath))
	return ref
}
