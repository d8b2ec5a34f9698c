// Package registry maps template.yaml's logical IDs to the wiring packages
// that build each function, for the local stack, the console and the
// template tests. The functions' own binaries never import it: a map of
// every builder would link every function into each of them.
package registry

import (
	"context"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/app/callbacksapp"
	"github.com/techprovider/wa-onboarding/shared/app/customersapp"
	"github.com/techprovider/wa-onboarding/shared/app/demoapp"
	"github.com/techprovider/wa-onboarding/shared/app/lifecycleapp"
	"github.com/techprovider/wa-onboarding/shared/app/metawebhooksapp"
	"github.com/techprovider/wa-onboarding/shared/app/pageapp"
	"github.com/techprovider/wa-onboarding/shared/app/resumeapp"
	"github.com/techprovider/wa-onboarding/shared/app/sessionsapp"
	"github.com/techprovider/wa-onboarding/shared/app/signupapp"
	"github.com/techprovider/wa-onboarding/shared/app/statusapp"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/lifecycle"
)

// HTTPFunction builds one HTTP API function's handler from its environment.
// The function's main.go calls the same builder, so what runs locally is
// what runs in Lambda.
type HTTPFunction func(ctx context.Context, getenv config.Getenv) (apigw.Handler, error)

// ScheduledFunction builds a function that EventBridge runs on a schedule.
type ScheduledFunction func(ctx context.Context, getenv config.Getenv) (resumeapp.Handler, error)

// HTTP maps the logical IDs of the functions behind HttpApi routes to their
// builders.
var HTTP = map[string]HTTPFunction{
	"SignupFunction":       signupapp.New,
	"StatusFunction":       statusapp.New,
	"PageFunction":         pageapp.New,
	"SessionsFunction":     sessionsapp.New,
	"DemoFunction":         demoapp.New,
	"CallbacksFunction":    callbacksapp.New,
	"MetawebhooksFunction": metawebhooksapp.New,
	"CustomersFunction":    customersapp.New,
}

// Streams maps the logical IDs of functions behind a DynamoDB Stream event
// source mapping to their builders; the local stack polls the stream for
// them (infra/sim/streampoll).
var Streams = map[string]func(ctx context.Context, getenv config.Getenv) (*lifecycle.Publisher, error){
	"LifecycleFunction": lifecycleapp.New,
}

// Scheduled maps the logical IDs of scheduled functions to their builders;
// the local stack runs them on a ticker.
var Scheduled = map[string]ScheduledFunction{
	"ResumeFunction": resumeapp.New,
}
