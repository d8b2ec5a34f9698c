package stack

import (
	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
	"github.com/techprovider/wa-onboarding/shared/config"
)

// EnvAllowedOrigins overrides the template's AllowedOrigins parameter for
// the local stack: origins allowed to call the API from a browser, comma
// separated.
const EnvAllowedOrigins = "ALLOWED_ORIGINS"

// corsConfig is the CorsConfiguration of the HTTP API the routes belong
// to, as API Gateway applies it, with AllowOrigins from EnvAllowedOrigins
// when set. False when the API has none.
func corsConfig(tmpl *sam.Template, routes []sam.Route, get func(string) string) (apigatewaysim.CORSConfig, bool) {
	api := ""
	for _, r := range routes {
		if r.API != "" {
			api = r.API
			break
		}
	}
	c, ok := tmpl.CORS(api)
	if v := get(EnvAllowedOrigins); ok && v != "" {
		c.AllowOrigins = config.SplitList(v)
	}
	return c, ok
}
