package console

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
)

// WABAsPath lists the onboarded WABAs the demos can use.
const WABAsPath = Prefix + "/wabas"

// maxWABAs bounds the list: a local table holds a handful.
const maxWABAs = 200

// WABA is one onboarded WhatsApp Business Account, as the console offers it.
type WABA struct {
	WABAID             string `json:"waba_id"`
	DisplayPhoneNumber string `json:"display_phone_number,omitempty"`
	ClientRef          string `json:"client_ref,omitempty"`
	OnboardedAt        string `json:"onboarded_at,omitempty"`
}

// tableWABAs reads the onboarded WABAs from the signup table the local
// stack's functions use (TABLE_NAME, and the AWS settings the stack set).
func tableWABAs(getenv config.Getenv) func(context.Context) ([]WABA, error) {
	return func(ctx context.Context) ([]WABA, error) {
		table := getenv(config.EnvTableName)
		if table == "" {
			return nil, errors.New(config.EnvTableName + " is not set")
		}
		cfg, err := app.AWS(getenv)
		if err != nil {
			return nil, err
		}
		recs, err := dynamo.Onboarded(ctx, dynamodb.NewFromConfig(cfg), table, maxWABAs)
		if err != nil {
			return nil, err
		}
		out := make([]WABA, 0, len(recs))
		for _, r := range recs {
			w := WABA{WABAID: r.WABAID, DisplayPhoneNumber: r.DisplayPhoneNumber, ClientRef: r.ClientRef}
			if !r.OnboardedAt.IsZero() {
				w.OnboardedAt = r.OnboardedAt.UTC().Format(time.RFC3339)
			}
			out = append(out, w)
		}
		return out, nil
	}
}

// wabas serves GET /console/wabas: {"wabas": [...]}, newest first.
func (c *Console) wabas(w http.ResponseWriter, r *http.Request) {
	if c.WABAs == nil {
		writeError(w, http.StatusServiceUnavailable, "the console has no signup table")
		return
	}
	list, err := c.WABAs(r.Context())
	if err != nil {
		writeError(w, http.StatusBadGateway, "reading the signup table: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"wabas": list})
}
