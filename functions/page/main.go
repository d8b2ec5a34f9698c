// Command page is the Lambda behind GET / : the onboarding page that
// launches WhatsApp Embedded Signup, and its static assets.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/logging"
	"github.com/techprovider/wa-onboarding/shared/page"
)

// The page reads public settings only and makes no AWS call, so it links
// no AWS client.
func main() {
	cfg, err := config.LoadPage(os.Getenv)
	if err != nil {
		initFailed(err)
	}
	var opts []page.Option
	if cfg.Sandbox {
		// The local stack serves the simulated SDK from a second origin.
		opts = append(opts, page.WithSandboxSDKOrigin(os.Getenv(page.EnvSandboxSDKOrigin)))
	}
	lambda.Start(page.Handler(cfg, logging.New(os.Stdout, cfg.LogLevel), opts...))
}

// initFailed ends the init: Lambda then reports the configuration error on
// every invocation instead of serving wrong answers.
func initFailed(err error) {
	fmt.Fprintln(os.Stderr, "page: init:", err)
	os.Exit(1)
}
