package app

import (
	"context"

	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/eventbridge"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// init registers the callbacks function from its own file, so adding it
// changed no other function's wiring.
func init() { HTTPFunctions["CallbacksFunction"] = Callbacks }

// Callbacks builds the handler of POST /webhooks/plivo/whatsapp, which
// receives Plivo's WhatsApp callbacks and publishes them to the bus.
func Callbacks(ctx context.Context, getenv config.Getenv) (apigw.Handler, error) {
	cfg, err := config.LoadCallbacks(getenv)
	if err != nil {
		return nil, err
	}
	log := Logger(cfg.Common)
	awsCfg, err := AWS(ctx)
	if err != nil {
		return nil, err
	}
	r := NewCallbacksReceiver(cfg, Deps{AWS: awsCfg, Logger: log, Metrics: Metrics(cfg.Common, "callbacks")}, nil)
	return r.Handle, nil
}

// NewCallbacksReceiver builds the callback receiver from its configuration;
// bus defaults to an EventBridge client built from d.AWS.
func NewCallbacksReceiver(c config.Callbacks, d Deps, bus eventbridge.API) *callbacks.Receiver {
	d.defaults()
	if bus == nil {
		bus = awseb.NewFromConfig(d.AWS)
	}
	cache := secrets.NewCache(d.SecretsManager, c.SecretsTTL)
	svc := &callbacks.Service{
		Directory: &dynamo.Store{Client: d.DynamoDB, Table: c.TableName},
		Ledger:    &dynamo.CallbackLedger{Client: d.DynamoDB, Table: c.DedupTableName},
		Publisher: &eventbridge.Publisher{Client: bus, Bus: c.EventBusName},
		Logger:    d.Logger,
		Metrics:   d.Metrics,
	}
	return &callbacks.Receiver{
		Service: svc,
		URL:     c.PublicURL,
		Token: func(ctx context.Context, refresh bool) (string, error) {
			creds, err := cache.Plivo(ctx, c.PlivoSecretID, refresh)
			return creds.AuthToken, err
		},
		Logger:  d.Logger,
		Metrics: d.Metrics,
	}
}
