package plivosim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Callback signature schemes for SendCallback.
const (
	SchemeV3 = "v3"
	SchemeV2 = "v2"
)

// Header names Plivo signs callbacks with. The -Ma- headers are signed with
// the main account's token, the others with the token of the (sub)account
// that owns the resource.
const (
	HeaderSignatureV3   = "X-Plivo-Signature-V3"
	HeaderSignatureMaV3 = "X-Plivo-Signature-Ma-V3"
	HeaderNonceV3       = "X-Plivo-Signature-V3-Nonce"
	HeaderSignatureV2   = "X-Plivo-Signature-V2"
	HeaderSignatureMaV2 = "X-Plivo-Signature-Ma-V2"
	HeaderNonceV2       = "X-Plivo-Signature-V2-Nonce"
)

// SendCallback sends params to callbackURL with method, as Plivo sends a
// WhatsApp callback: with POST (or "") form-encoded in the body, with GET
// in the query, after any the URL has. It signs the request with scheme
// (SchemeV3, or SchemeV2 for the older scheme; "" means SchemeV3), and
// returns the receiver's HTTP status. The body of the answer is read and
// discarded, as Plivo does.
func (s *Server) SendCallback(ctx context.Context, method, callbackURL string, params url.Values, scheme string) (int, error) {
	s.mu.Lock()
	token := s.token
	s.mu.Unlock()
	main := s.cfg.MainAuthToken
	if main == s.cfg.AuthToken {
		// Without a separate main account, the -Ma- header follows rotation.
		main = token
	}

	target, body, signed := callbackURL, params.Encode(), params
	switch method {
	case http.MethodPost, "":
		method = http.MethodPost
	case http.MethodGet:
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		if body != "" {
			target += sep + body
		}
		body, signed = "", nil
	default:
		return 0, fmt.Errorf("plivosim: callbacks are sent with POST or GET, not %q", method)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("plivosim: callback request: %w", err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	nonce := simkit.RandomID(20) // the shape of Plivo's nonces
	switch scheme {
	case SchemeV3, "":
		req.Header.Set(HeaderNonceV3, nonce)
		req.Header.Set(HeaderSignatureV3, SignV3(token, method, target, signed, nonce))
		req.Header.Set(HeaderSignatureMaV3, SignV3(main, method, target, signed, nonce))
	case SchemeV2:
		req.Header.Set(HeaderNonceV2, nonce)
		req.Header.Set(HeaderSignatureV2, SignV2(token, callbackURL, nonce))
		req.Header.Set(HeaderSignatureMaV2, SignV2(main, callbackURL, nonce))
	default:
		return 0, fmt.Errorf("plivosim: unknown callback scheme %q (want %q or %q)", scheme, SchemeV3, SchemeV2)
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("plivosim: callback: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}
