package sam_test

import (
	"crypto/rand"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/dynamo"
	"github.com/techprovider/wa-onboarding/shared/session"
)

// TestOnboardingSessions holds the session resources of the template
// against the code: the IAM-only route, the generated key's shape, the
// dedup table's key and TTL, and the functions' settings.
func TestOnboardingSessions(t *testing.T) {
	t.Parallel()
	tpl := load(t)

	t.Run("only the sessions, provider status, demo and customers routes require IAM", func(t *testing.T) {
		t.Parallel()
		found := false
		for _, r := range tpl.Routes() {
			switch {
			case r.Function == "SessionsFunction":
				found = true
				if r.Key() != "POST "+apigw.SessionsPath || r.Auth != "AWS_IAM" {
					t.Errorf("sessions route %s auth %q, want POST %s with AWS_IAM", r.Key(), r.Auth, apigw.SessionsPath)
				}
			case r.Function == "StatusFunction" && r.Key() == apigw.ProviderStatusRoute:
				if r.Auth != "AWS_IAM" {
					t.Errorf("provider status route %s auth %q, want AWS_IAM: it shows any customer's record", r.Key(), r.Auth)
				}
			case r.Function == "CustomersFunction":
				if r.Auth != "AWS_IAM" {
					t.Errorf("customers route %s auth %q, want AWS_IAM: it shows a customer's records to the Tech Provider's backend", r.Key(), r.Auth)
				}
			case r.Function == "DemoFunction":
				if r.Auth != "AWS_IAM" {
					t.Errorf("demo route %s auth %q, want AWS_IAM: it sends messages for the Tech Provider's backend", r.Key(), r.Auth)
				}
			case r.Auth != "":
				t.Errorf("%s route %s has authorizer %q; the page and the signup are public", r.Function, r.Key(), r.Auth)
			}
		}
		if !found {
			t.Fatal("no route for SessionsFunction")
		}
		auth, _ := props(tpl.Raw(apiID))["Auth"].(map[string]any)
		if auth["EnableIamAuthorizer"] != true {
			t.Errorf("HttpApi Auth %v: AWS_IAM routes need EnableIamAuthorizer", auth)
		}
		if _, ok := auth["DefaultAuthorizer"]; ok {
			t.Errorf("HttpApi has a DefaultAuthorizer: the page and signup routes must stay public")
		}
		ev := props(props(tpl.Raw("SessionsFunction"))["Events"].(map[string]any)["Sessions"].(map[string]any))
		if rs, _ := ev["RouteSettings"].(map[string]any); rs["ThrottlingRateLimit"] == nil || rs["ThrottlingBurstLimit"] == nil {
			t.Errorf("sessions route RouteSettings %v: want its own throttle", rs)
		}
	})

	t.Run("generated key parses", func(t *testing.T) {
		t.Parallel()
		r := tpl.Raw("SessionKeysSecret")
		if r["Type"] != "AWS::SecretsManager::Secret" {
			t.Fatalf("SessionKeysSecret %v: want a secret", r)
		}
		gen, _ := props(r)["GenerateSecretString"].(map[string]any)
		tmpl, _ := gen["SecretStringTemplate"].(string)
		key, _ := gen["GenerateStringKey"].(string)
		length, _ := gen["PasswordLength"].(float64)
		if gen["ExcludePunctuation"] != true || length < 43 || key == "" {
			t.Fatalf("GenerateSecretString %v: want ExcludePunctuation and a length whose base64 reading is >= 32 bytes", gen)
		}
		// What Secrets Manager does: a random string from letters and
		// digits, set under GenerateStringKey in the template's object.
		var obj map[string]any
		if err := json.Unmarshal([]byte(tmpl), &obj); err != nil {
			t.Fatalf("SecretStringTemplate: %v", err)
		}
		const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		for range 50 {
			b := make([]byte, int(length))
			for i := range b {
				n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
				b[i] = alnum[n.Int64()]
			}
			obj[key] = string(b)
			raw, _ := json.Marshal(obj)
			ks, err := session.ParseKeyset(string(raw))
			if err != nil {
				t.Fatalf("a generated secret does not parse: %v", err)
			}
			if _, ok := ks.Primary(); !ok {
				t.Fatal("a generated secret has no primary key")
			}
		}
	})

	t.Run("dedup table matches the ledger", func(t *testing.T) {
		t.Parallel()
		tb, err := tpl.Table("DedupTable")
		if err != nil {
			t.Fatal(err)
		}
		if tb.HashKey != dynamo.DedupKeyAttribute || tb.Attributes[dynamo.DedupKeyAttribute] != "S" || tb.RangeKey != "" ||
			tb.TTLAttribute != dynamo.DedupTTLAttribute || tb.BillingMode != "PAY_PER_REQUEST" {
			t.Errorf("DedupTable %+v, want hash key %s (S), TTL on %s, on demand", tb, dynamo.DedupKeyAttribute, dynamo.DedupTTLAttribute)
		}
	})

	t.Run("functions point at the keys and the table", func(t *testing.T) {
		t.Parallel()
		for fn, want := range map[string]map[string]string{
			"SignupFunction":   {config.EnvSessionSecretID: "${SessionKeysSecret}", config.EnvDedupTableName: "${DedupTable}"},
			"SessionsFunction": {config.EnvSessionSecretID: "${SessionKeysSecret}"},
		} {
			env := tpl.Environment(fn)
			for k, v := range want {
				if env[k] != v {
					t.Errorf("%s: %s = %q, want %q", fn, k, env[k], v)
				}
			}
		}
		if _, err := config.LoadSessions(func(k string) string { return placeholderValue(tpl.Environment("SessionsFunction")[k]) }); err != nil {
			t.Errorf("SessionsFunction environment: %v", err)
		}
	})
}
