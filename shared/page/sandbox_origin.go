package page

import (
	"net/url"
	"strings"
)

// EnvSandboxSDKOrigin is the origin (scheme://host:port) the local stack
// serves the simulated Meta SDK and its message relay from, in sandbox mode
// only. Real Meta serves its SDK from connect.facebook.net and posts the
// Embedded Signup messages from www.facebook.com: a second origin makes the
// sandbox page's exact-origin check and Content-Security-Policy work as in
// production. Unset, the simulated SDK runs from the page's own origin.
const EnvSandboxSDKOrigin = "SANDBOX_SDK_ORIGIN"

// SandboxRelayPath is the page the simulated SDK frames on its own origin to
// post the Embedded Signup messages from there, as Meta's window does.
const SandboxRelayPath = SandboxPrefix + "xd.html"

// WithSandboxSDKOrigin serves the sandbox page with the simulated SDK
// loaded from origin, whose messages alone it accepts. It changes nothing
// outside sandbox mode, nor for an origin that is not scheme://host[:port].
func WithSandboxSDKOrigin(origin string) Option {
	return func(o *options) {
		if validOrigin(origin) {
			o.sdkOrigin = origin
		}
	}
}

func validOrigin(origin string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil
}

// withSDKOrigin admits origin's script and frame in the sandbox page's
// policy, and nothing else from it.
func withSDKOrigin(headers map[string]string, origin string) map[string]string {
	out := make(map[string]string, len(headers))
	for k, v := range headers {
		out[k] = v
	}
	csp := out["Content-Security-Policy"]
	csp = strings.Replace(csp, "script-src 'self'", "script-src 'self' "+origin, 1)
	csp = strings.Replace(csp, "frame-src 'none'", "frame-src "+origin, 1)
	out["Content-Security-Policy"] = csp
	return out
}
