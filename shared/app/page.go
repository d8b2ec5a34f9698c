package app

import (
	"context"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/page"
)

// init registers the page function from its own file, so adding it changed
// no other function's wiring.
func init() { HTTPFunctions["PageFunction"] = Page }

// Page builds the onboarding page function's handler. It reads public
// settings only and makes no AWS call.
func Page(_ context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, err := config.LoadPage(getenv)
	if err != nil {
		return nil, err
	}
	return page.Handler(cfg, Logger(cfg.Common)), nil
}
