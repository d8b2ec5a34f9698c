package apigatewaysim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// CORSConfig is an HTTP API's CorsConfiguration, as the template reader
// gives it: tpl.CORS("HttpApi").
type CORSConfig = sam.CORS

// corsHeaders are the response headers API Gateway owns once CORS is
// configured: it drops the integration's own.
var corsHeaders = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Expose-Headers", "Access-Control-Allow-Credentials", "Access-Control-Max-Age",
}

// CORS puts API Gateway's CORS handling in front of next, as an HTTP API
// with cfg does (docs.aws.amazon.com/apigateway/latest/developerguide/
// http-api-cors.html):
//
//   - A preflight (OPTIONS with Origin and Access-Control-Request-Method)
//     never reaches a route: it is answered 204, with the allow headers
//     when the origin is allowed.
//   - Other requests go to next; when their Origin is allowed the answer
//     gets Access-Control-Allow-Origin (and Expose-Headers, Credentials),
//     and CORS headers the function set itself are dropped.
//
// An origin is allowed when it is listed (case-insensitively), when "*" is
// listed, or when "https://*" or "http://*" names its scheme. Where AWS
// does not document the behaviour the choice is the strict one: a preflight
// asking for a method or header the configuration does not allow gets no
// allow headers, so the browser refuses it as it would the deployed API's
// answer.
func CORS(cfg CORSConfig, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		reqMethod := r.Header.Get("Access-Control-Request-Method")
		if r.Method == http.MethodOptions && origin != "" && reqMethod != "" {
			h := w.Header()
			if allowed := allowOrigin(cfg, origin); allowed != "" && allows(cfg.AllowMethods, reqMethod) &&
				allowsHeaders(cfg, r.Header.Get("Access-Control-Request-Headers")) {
				h.Set("Access-Control-Allow-Origin", allowed)
				if len(cfg.AllowMethods) > 0 {
					h.Set("Access-Control-Allow-Methods", strings.Join(cfg.AllowMethods, ","))
				}
				if len(cfg.AllowHeaders) > 0 {
					h.Set("Access-Control-Allow-Headers", strings.Join(cfg.AllowHeaders, ","))
				}
				if cfg.MaxAge > 0 {
					h.Set("Access-Control-Max-Age", strconv.Itoa(cfg.MaxAge))
				}
				if cfg.AllowCredentials {
					h.Set("Access-Control-Allow-Credentials", "true")
				}
			}
			h.Set("Apigw-Requestid", newRequestID())
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		// API Gateway replaces the function's CORS headers with the
		// configured ones.
		next.ServeHTTP(&simkit.HeaderHook{ResponseWriter: w, Before: func(h http.Header, _ int) {
			for _, k := range corsHeaders {
				h.Del(k)
			}
			if allowed := allowOrigin(cfg, origin); allowed != "" {
				h.Set("Access-Control-Allow-Origin", allowed)
				if len(cfg.ExposeHeaders) > 0 {
					h.Set("Access-Control-Expose-Headers", strings.Join(cfg.ExposeHeaders, ","))
				}
				if cfg.AllowCredentials {
					h.Set("Access-Control-Allow-Credentials", "true")
				}
			}
		}}, r)
	})
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin, or
// "" when it is not allowed.
func allowOrigin(c CORSConfig, origin string) string {
	for _, o := range c.AllowOrigins {
		switch {
		case o == "*":
			if c.AllowCredentials {
				return origin // "*" cannot be used with credentials
			}
			return "*"
		case strings.EqualFold(o, origin):
			return origin
		case (o == "https://*" || o == "http://*") && strings.HasPrefix(strings.ToLower(origin), strings.TrimSuffix(o, "*")):
			return origin
		}
	}
	return ""
}

func allows(list []string, v string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return x == "*" || strings.EqualFold(x, v) })
}

func allowsHeaders(c CORSConfig, requested string) bool {
	for _, h := range strings.Split(requested, ",") {
		if h = strings.TrimSpace(h); h != "" && !allows(c.AllowHeaders, h) {
			return false
		}
	}
	return true
}
