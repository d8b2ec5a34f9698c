package doctor

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// pageOrigin checks the onboarding page is served over HTTPS: Meta's SDK
// refuses FB.login on http:// pages, except on a developer's own machine.
func pageOrigin(pageURL string, local bool) Result {
	res := Result{ID: "page.origin", Group: GroupPage, Title: "Page origin"}
	next := "serve the onboarding page over https:// (the API's own URL is HTTPS) and set PAGE_URL to it"
	if pageURL == "" {
		return fail(res, "PAGE_URL is not set", next)
	}
	u, err := url.Parse(pageURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fail(res, fmt.Sprintf("PAGE_URL %q is not an absolute http(s) URL", pageURL), next)
	}
	origin := u.Scheme + "://" + u.Host
	switch {
	case u.Scheme == "https":
		return pass(res, origin+" (HTTPS)")
	case loopback(u) && local:
		return pass(res, origin+" (plain HTTP is accepted on this machine only)")
	case loopback(u):
		return warn(res, origin+" is a loopback address: no customer can reach it", next)
	}
	return fail(res, origin+" is plain HTTP: Meta's SDK refuses to run Embedded Signup there and the code would travel unencrypted", next)
}

// allowedOrigins checks the API's CORS origins: present, exact origins,
// HTTPS outside a developer machine, and no wildcard.
func allowedOrigins(origins []string, local bool) Result {
	res := Result{ID: "page.allowed_origins", Group: GroupPage, Title: "Allowed origins"}
	next := "set the AllowedOrigins parameter to the https:// origins of the pages that call the API, e.g. https://app.example.com, and deploy"
	if len(origins) == 0 {
		return fail(res, "ALLOWED_ORIGINS is empty", next)
	}
	var bad, dev []string
	for _, o := range origins {
		if o == "*" {
			bad = append(bad, `"*" lets any site call the API from a visitor's browser`)
			continue
		}
		u, err := url.Parse(o)
		switch {
		case err != nil || u.Host == "" || u.User != nil:
			bad = append(bad, fmt.Sprintf("%q is not an origin", o))
		case u.Path != "" || u.RawQuery != "" || u.Fragment != "":
			bad = append(bad, fmt.Sprintf("%q has a path; an origin is scheme://host[:port] only", o))
		case u.Scheme == "https":
		case u.Scheme == "http" && loopback(u):
			if !local {
				dev = append(dev, o)
			}
		default:
			bad = append(bad, fmt.Sprintf("%q is not HTTPS", o))
		}
	}
	switch {
	case len(bad) > 0:
		return fail(res, strings.Join(bad, "; "), next)
	case len(dev) > 0:
		return warn(res, fmt.Sprintf("%s: development origins in a deployed stack", strings.Join(dev, ", ")), next)
	}
	return pass(res, strings.Join(origins, ", "))
}

// loopback reports whether u names this machine.
func loopback(u *url.URL) bool {
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// manual lists the prerequisites of Plivo's guide that no API call can
// confirm. They never fail the report; they are the checklist's reminder.
var manual = []Result{
	{
		ID: "manual.business_verification", Group: GroupManual, Status: StatusManual,
		Title:  "Meta Business Verification",
		Detail: "complete for your Meta Business Portfolio (guide: Prerequisites)",
		Next:   "Meta Business Suite > Settings > Security Center; do not onboard customers before it is approved",
	},
	{
		ID: "manual.multi_partner_solution", Group: GroupManual, Status: StatusManual,
		Title:  "Multi-Partner Solution",
		Detail: "created with Plivo as the partner and accepted by Plivo (guide 3.2)",
		Next:   "Meta App Dashboard > WhatsApp > Partner Solutions; wait for Plivo's confirmation before going live",
	},
	{
		ID: "manual.app_review", Group: GroupManual, Status: StatusManual,
		Title:  "App Review",
		Detail: "whatsapp_business_messaging and whatsapp_business_management approved (guide 3.4)",
		Next:   "record the two demos with `make demo-message` / `make demo-template` or the local console (docs/doctor-and-demo.md)",
	},
}
