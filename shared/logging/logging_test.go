package logging_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/logging"
)

// TestCanariesNeverLogged plants secrets where a key-based filter cannot
// see them: inside error strings, free text and map values. None may be
// written; the harmless text around them must be.
func TestCanariesNeverLogged(t *testing.T) {
	t.Parallel()
	const (
		code   = "AQcanarycode0001"
		secret = "canary-client-secret"
		token  = "EAAcanarytoken0001"
		proof  = "canaryproof0123456789abcdef"
		sig    = "canarySignatureV3Value="
		nonce  = "canary-nonce-77"
	)
	var buf bytes.Buffer
	log := logging.New(&buf, "DEBUG")
	urlText := "https://graph.facebook.com/v25.0/oauth/access_token?client_id=1&client_secret=" + secret + "&code=" + code
	log.Info("error string", "error", errors.New("Get \""+urlText+"\": context deadline exceeded"))
	log.Info("free text", "detail", "debug_token?input_token=x&access_token="+token+"&appsecret_proof="+proof)
	log.Info("header text", "detail", "X-Plivo-Signature-V3: "+sig+" x-plivo-signature-v3-nonce="+nonce)
	log.Info("maps", "headers", map[string]string{"X-Plivo-Signature-Ma-V3": sig, "x-plivo-signature-v2-nonce": nonce, "from": "+1555"},
		"query", url.Values{"code": {code}, "next": {"https://x.example/?appsecret_proof=" + proof}},
		"http", http.Header{"Authorization": {"Bearer " + token}})
	log.Info("key", "X-Plivo-Signature-V2", sig)
	out := buf.String()
	for _, c := range []string{code, secret, token, proof, sig, nonce} {
		if strings.Contains(out, c) {
			t.Errorf("canary %q logged:\n%s", c, out)
		}
	}
	for _, keep := range []string{"context deadline exceeded", "client_id=1", "+1555", "graph.facebook.com"} {
		if !strings.Contains(out, keep) {
			t.Errorf("harmless text %q lost:\n%s", keep, out)
		}
	}
}

// TestRedactTextLeavesLookalikes: "error_code=" and "status_code=" are
// not the code parameter.
func TestRedactTextLeavesLookalikes(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"error_code=190", "status_code=401 x", "country_code=US"} {
		if got := logging.RedactText(s); got != s {
			t.Errorf("RedactText(%q) = %q", s, got)
		}
	}
}

// TestLinesCarryLambdasLevel: Lambda's log-level filtering reads a JSON
// line's "level", and takes a line as INFO when its level is not one of
// Lambda's names or its time is not RFC 3339. The template passes every
// line (ApplicationLogLevel TRACE) and the functions filter themselves;
// should Lambda filter one day, our lines must already say their level.
func TestLinesCarryLambdasLevel(t *testing.T) {
	t.Parallel()
	lambdaLevels := []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
	for _, c := range []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug, "DEBUG"}, {slog.LevelInfo, "INFO"}, {slog.LevelWarn, "WARN"}, {slog.LevelError, "ERROR"},
	} {
		t.Run(c.want, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logging.New(&buf, "DEBUG").Log(t.Context(), c.level, "a line", "k", "v")
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("not one JSON line: %q", buf.String())
			}
			if line["level"] != c.want || !slices.Contains(lambdaLevels, c.want) {
				t.Errorf("level = %v, want %s", line["level"], c.want)
			}
			if ts, ok := line["time"].(string); !ok {
				t.Errorf("time = %v", line["time"])
			} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Errorf("time %q is not RFC 3339: %v", ts, err)
			}
			if line["msg"] != "a line" {
				t.Errorf("msg = %v", line["msg"])
			}
		})
	}
}
