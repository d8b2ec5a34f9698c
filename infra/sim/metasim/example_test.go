package metasim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/techprovider/wa-onboarding/infra/sim/metasim"
)

// The product's flow against the simulator: a customer finishes the dialog
// (IssueCode), the backend exchanges the code and reads the WABA's numbers
// with appsecret_proof.
func Example() {
	sim := metasim.New(metasim.Config{AppID: "1234", AppSecret: "app-secret"})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	code := sim.IssueCode(metasim.Grant{
		WABAID:       "109876543210987",
		BusinessID:   "198765432109876",
		PhoneNumbers: []metasim.PhoneNumber{{ID: "112233445566778", DisplayPhoneNumber: "+1 555-010-0000", VerifiedName: "Acme"}},
	})
	resp, err := http.Get(srv.URL + "/v25.0/oauth/access_token?" + url.Values{
		"client_id": {"1234"}, "client_secret": {"app-secret"}, "code": {code},
	}.Encode())
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()

	resp, err = http.Get(srv.URL + "/v25.0/109876543210987/phone_numbers?" + url.Values{
		"access_token":    {tok.AccessToken},
		"appsecret_proof": {metasim.AppSecretProof("app-secret", tok.AccessToken)},
	}.Encode())
	if err != nil {
		panic(err)
	}
	var numbers struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&numbers)
	resp.Body.Close()

	fmt.Println(resp.StatusCode, numbers.Data[0].ID, sim.Calls(metasim.EndpointOAuth))
	// Output: 200 112233445566778 1
}
