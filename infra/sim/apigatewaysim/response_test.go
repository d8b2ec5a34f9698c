package apigatewaysim_test

import (
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sim/apigatewaysim"
)

// TestDecodeResponse holds the emulator to how API Gateway reads a
// function's output with payload format 2.0: a JSON object with a
// statusCode is the answer; any other valid JSON, a bare string included,
// is the body of a 200 application/json answer.
func TestDecodeResponse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, out   string
		status      int
		body, ctype string
		b64, fails  bool
	}{
		{"structured", `{"statusCode":201,"headers":{"Content-Type":"text/plain"},"body":"made"}`, 201, "made", "text/plain", false, false},
		{"structured, base64", `{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`, 200, "aGk=", "", true, false},
		{"bare string", `"Hello from Lambda!"`, 200, "Hello from Lambda!", "application/json", false, false},
		{"object without statusCode", `{"message":"Hello from Lambda!"}`, 200, `{"message":"Hello from Lambda!"}`, "application/json", false, false},
		{"number", `42`, 200, `42`, "application/json", false, false},
		{"statusCode of the wrong type", `{"statusCode":"200","body":"x"}`, 0, "", "", false, true},
		{"not JSON", `Hello`, 0, "", "", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp, err := apigatewaysim.DecodeResponse([]byte(c.out))
			if (err != nil) != c.fails {
				t.Fatalf("DecodeResponse(%s) error %v, want failure %v", c.out, err, c.fails)
			}
			if c.fails {
				return
			}
			if resp.StatusCode != c.status || resp.Body != c.body || resp.IsBase64Encoded != c.b64 {
				t.Errorf("DecodeResponse(%s) = %d %q base64 %v, want %d %q %v", c.out, resp.StatusCode, resp.Body, resp.IsBase64Encoded, c.status, c.body, c.b64)
			}
			got := resp.Headers["Content-Type"] + resp.Headers["content-type"]
			if got != c.ctype {
				t.Errorf("content type %q, want %q", got, c.ctype)
			}
		})
	}
}
