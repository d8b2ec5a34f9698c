package plivosim_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/techprovider/wa-onboarding/infra/sim/plivosim"
)

// An Embedded Signup call whose answer is lost: Plivo onboards the WABA, the
// client sees EOF, and a retry is told the WABA is already registered.
func Example_lostResponse() {
	sim := plivosim.New(plivosim.Config{AuthID: "MAXXXXXXXXXXXXXXXXXX", AuthToken: "token"})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	signup := func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/Account/MAXXXXXXXXXXXXXXXXXX/WhatsApp/EmbeddedSignup/",
			strings.NewReader(`{"waba_id":"109876543210987","business_id":"198765432109876","phone_number_id":"112233445566778"}`))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("MAXXXXXXXXXXXXXXXXXX", "token")
		return http.DefaultClient.Do(req)
	}

	sim.DropNextSignupResponse()
	_, err := signup()
	_, onboarded := sim.Onboarded("109876543210987")
	fmt.Println(err != nil, onboarded)

	resp, err := signup()
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, sim.SignupCalls(), sim.SuccessfulSignups())
	// Output:
	// true true
	// 400 2 1
}
