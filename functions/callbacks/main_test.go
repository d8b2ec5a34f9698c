package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/e2e/binaries"
	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
)

var update = flag.Bool("update", false, "re-sign events/callback-*.json for the current token and CallbackPublicUrl")

// unsigned are the events whose signature must not verify.
var unsigned = map[string]bool{"callback-tampered.json": true, "callback-unsigned.json": true}

// TestEvents checks that the callback events in events/ are signed the way
// the RIE test runs the function: with the simulated Plivo token, for the
// template's default CallbackPublicUrl. With -update it re-signs the valid
// ones in place (nonces and bodies unchanged).
func TestEvents(t *testing.T) {
	tpl, err := sam.Load("../../template.yaml", sam.WithParameters(binaries.Parameters))
	if err != nil {
		t.Fatal(err)
	}
	publicURL, ok := tpl.Parameter("CallbackPublicUrl")
	if !ok || publicURL == "" {
		t.Fatal("template.yaml has no CallbackPublicUrl default")
	}
	files, _ := filepath.Glob("../../events/callback-*.json")
	if len(files) == 0 {
		t.Fatal("no events/callback-*.json")
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var req apigw.Request
			if err := json.Unmarshal(raw, &req); err != nil {
				t.Fatal(err)
			}
			cb, err := apigw.ParseCallback(req)
			if err != nil {
				t.Fatal(err)
			}
			method := apigw.Method(req)
			if req.RequestContext.RequestID != "evt-"+strings.TrimSuffix(name, ".json") || req.RouteKey != method+" /webhooks/plivo/whatsapp" {
				t.Errorf("requestId %q, routeKey %q", req.RequestContext.RequestID, req.RouteKey)
			}
			// Plivo signs the URL it called: a GET's carries the fields.
			signedURL := publicURL
			if req.RawQueryString != "" {
				signedURL += "?" + req.RawQueryString
			}
			header := func(n string) string { return apigw.Header(req, n) }
			if *update && !unsigned[name] {
				raw = resign(raw, header, method, signedURL, cb)
				if err := os.WriteFile(file, raw, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, ok := callbacks.VerifySignature(header, binaries.PlivoAuthToken, method, signedURL, cb.Fields)
			if ok == unsigned[name] {
				t.Errorf("signature verifies: %v, want %v (regenerate with -update)", ok, !unsigned[name])
			}
		})
	}
}

// resign replaces the signature header values of an event's JSON text.
func resign(raw []byte, header func(string) string, method, signedURL string, cb *callbacks.Callback) []byte {
	sigs := map[string]string{}
	if n := header(callbacks.HeaderNonceV3); n != "" {
		s := callbacks.SignatureV3(binaries.PlivoAuthToken, method, signedURL, cb.Fields, n)
		sigs[callbacks.HeaderSignatureV3], sigs[callbacks.HeaderSignatureMaV3] = s, s
	}
	if n := header(callbacks.HeaderNonceV2); n != "" {
		s := callbacks.SignatureV2(binaries.PlivoAuthToken, signedURL, n)
		sigs[callbacks.HeaderSignatureV2], sigs[callbacks.HeaderSignatureMaV2] = s, s
	}
	for h, s := range sigs {
		re := regexp.MustCompile(`("` + regexp.QuoteMeta(strings.ToLower(h)) + `": )"[^"]*"`)
		raw = re.ReplaceAll(raw, []byte(`${1}"`+s+`"`))
	}
	return raw
}
