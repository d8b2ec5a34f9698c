package binaries

import (
	"net/http"
	"strings"
	"testing"
)

// demoAtPlivo leaves at the Plivo simulator what onboarding the seeded
// WABA left at Plivo: the WABA registered to the account, its number a
// sender, and (for the list event) the template the create event submits.
func demoAtPlivo(t *testing.T) {
	t.Helper()
	post := func(path, body string, want int) {
		req, _ := http.NewRequest(http.MethodPost, stack.PlivoURL+"/v1/Account/"+PlivoAuthID+"/"+path, strings.NewReader(body))
		req.SetBasicAuth(PlivoAuthID, PlivoAuthToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("Plivo simulator POST %s = %d", path, resp.StatusCode)
		}
	}
	if _, ok := stack.Plivo.Onboarded(OnboardedWABA); !ok {
		post("WhatsApp/EmbeddedSignup/", `{"waba_id":"`+OnboardedWABA+`","business_id":"`+BusinessID+`","phone_number_id":"`+OnboardedPhone+`"}`, 200)
	}
	stack.Plivo.RegisterNumber("+1 555-010-0002")
	if t.Name() == "TestEvents/demo-templates" && len(stack.Plivo.Templates(OnboardedWABA)) == 0 {
		post("WhatsApp/Template/"+OnboardedWABA+"/", `{"name":"order_update","language":"en_US","category":"UTILITY","components":[{"type":"BODY","text":"Hi"}]}`, 201)
	}
}
