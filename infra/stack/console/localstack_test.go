package console_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/stack/console"
)

// TestDemosInTheLocalStack runs both App Review demos end to end in the
// local stack: a WABA onboarded through the signup API, then the console
// and the IAM-authorized demo routes sending a message and creating and
// listing templates through the Plivo simulator.
func TestDemosInTheLocalStack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st, err := stack.Start(ctx, stack.Options{ResumeEvery: -1, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	do := func(method, path, contentType, body string, signed bool) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, st.URL+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if signed {
			// The local IAM authorizer reads the access key and trusts the rest.
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=TESTDEMO/20261125/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=x")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	// Onboard a WABA the way the page does.
	const waba, phone, display = "100000000000042", "200000000000042", "+1 555-010-0042"
	grant, _ := json.Marshal(metasim.Grant{WABAID: waba, BusinessID: "300000000000003",
		PhoneNumbers: []metasim.PhoneNumber{{ID: phone, DisplayPhoneNumber: display, VerifiedName: "Acme"}}})
	var code, sess struct{ Code, Token string }
	if s, b := do("POST", "/_sim/meta/codes", "application/json", string(grant), false); s != 200 || json.Unmarshal(b, &code) != nil {
		t.Fatalf("code: %d %s", s, b)
	}
	if s, b := do("POST", "/_sim/local/session", "", "", false); s != 200 || json.Unmarshal(b, &sess) != nil {
		t.Fatalf("session: %d %s", s, b)
	}
	signup, _ := json.Marshal(map[string]string{"code": code.Code, "waba_id": waba, "phone_number_id": phone,
		"business_id": "300000000000003", "session": sess.Token})
	if s, b := do("POST", "/api/whatsapp/embedded-signup", "application/json", string(signup), false); s != 200 {
		t.Fatalf("signup: %d %s", s, b)
	}
	// The onboarding made the number a sender of the account, as Plivo's
	// does: the demo can send from it with no further step.
	if got := st.Plivo.Numbers(); !slices.Contains(got, "15550100042") {
		t.Fatalf("Plivo senders %v after onboarding, want %s", got, display)
	}

	t.Run("console: send a message", func(t *testing.T) {
		s, b := do("POST", console.RunPath+"message", "application/json", `{"waba_id":"`+waba+`","dst":"+14155550100","text":"App Review demo"}`, false)
		var run console.Run
		if s != 200 || json.Unmarshal(b, &run) != nil || run.API.Status != 202 || len(run.Plivo) != 1 ||
			!strings.HasSuffix(run.Plivo[0].URL, "/Message/") || run.Plivo[0].Headers["Authorization"] != "Basic [REDACTED]" {
			t.Fatalf("console run: %d %s", s, b)
		}
		msgs := st.Plivo.Messages()
		if len(msgs) != 1 || msgs[0].Src != "15550100042" || msgs[0].Text != "App Review demo" {
			t.Fatalf("plivo messages %+v", msgs)
		}
	})

	t.Run("console: create a template", func(t *testing.T) {
		s, b := do("POST", console.RunPath+"template", "application/json",
			`{"waba_id":"`+waba+`","name":"order_update","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"Hi {{1}}","example":{"body_text":[["Ana"]]}}]}`, false)
		var run console.Run
		if s != 200 || json.Unmarshal(b, &run) != nil || run.API.Status != 201 || len(run.Plivo) != 1 ||
			!strings.Contains(string(run.API.ResponseBody), `"PENDING"`) {
			t.Fatalf("console run: %d %s", s, b)
		}
		if tm := st.Plivo.Templates(waba); len(tm) != 1 || tm[0].Status != plivosim.StatusPending {
			t.Fatalf("plivo templates %+v", tm)
		}
	})

	t.Run("demo routes need SigV4", func(t *testing.T) {
		body := `{"waba_id":"` + waba + `","dst":"+14155550100","text":"signed"}`
		if s, b := do("POST", "/api/demo/messages", "application/json", body, false); s != http.StatusForbidden {
			t.Errorf("unsigned: %d %s", s, b)
		}
		if s, b := do("POST", "/api/demo/messages", "application/json", body, true); s != http.StatusAccepted {
			t.Errorf("signed: %d %s", s, b)
		}
		s, b := do("GET", "/api/demo/templates/"+waba, "", "", true)
		if s != 200 || !strings.Contains(string(b), `"count":1`) || !strings.Contains(string(b), "order_update") {
			t.Errorf("list: %d %s", s, b)
		}
		if s, b := do("GET", "/api/demo/templates/100000000000099", "", "", true); s != 404 {
			t.Errorf("unknown waba: %d %s", s, b)
		}
	})

	t.Run("console lists the onboarded WABA", func(t *testing.T) {
		s, b := do("GET", console.WABAsPath, "", "", false)
		var list struct{ WABAs []console.WABA }
		if s != 200 || json.Unmarshal(b, &list) != nil || len(list.WABAs) != 1 {
			t.Fatalf("wabas: %d %s", s, b)
		}
		if w := list.WABAs[0]; w.WABAID != waba || w.DisplayPhoneNumber != display || w.ClientRef == "" || w.OnboardedAt == "" {
			t.Fatalf("wabas: %+v", w)
		}
	})

	t.Run("console page and doctor", func(t *testing.T) {
		if s, b := do("GET", console.Prefix, "", "", false); s != 200 || !strings.Contains(string(b), "App Review demos") || !strings.Contains(string(b), `id="waba-pick"`) {
			t.Fatalf("page: %d", s)
		}
		s, b := do("GET", console.DoctorPath, "", "", false)
		if s != 200 || !strings.Contains(string(b), `"ok": true`) {
			t.Fatalf("doctor: %d %s", s, b)
		}
	})
}
