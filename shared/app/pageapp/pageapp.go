// Package pageapp wires the onboarding page function: GET /.
package pageapp

import (
	"context"
	"os"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/page"
)

// New builds the onboarding page function's handler. It reads public
// settings only and makes no AWS call, so it links no AWS client (nor
// shared/app, whose Deps do).
func New(_ context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, err := config.LoadPage(getenv)
	if err != nil {
		return nil, err
	}
	var opts []page.Option
	if cfg.Sandbox {
		// The local stack serves the simulated SDK from a second origin.
		opts = append(opts, page.WithSandboxSDKOrigin(getenv(page.EnvSandboxSDKOrigin)))
	}
	return page.Handler(cfg, logging.New(os.Stdout, cfg.LogLevel), opts...), nil
}
