package metasim

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AppSecretProof returns the appsecret_proof Graph expects with token: the
// hex HMAC-SHA256 of the token keyed by the app secret.
func AppSecretProof(appSecret, token string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// exchangeCode serves /oauth/access_token.
func (s *Server) exchangeCode(r *http.Request) response {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return unsupportedMethod(r.Method, "access_token")
	}
	// Meta validates the app before it looks at the code.
	if param(r, "client_id") != s.cfg.AppID {
		return graphError("OAuthException", codeBadAppID, 0, msgBadClientID)
	}
	if !hmac.Equal([]byte(param(r, "client_secret")), []byte(s.cfg.AppSecret)) {
		return graphError("OAuthException", codeUnknown, 0, msgBadSecret)
	}
	code := param(r, "code")
	if code == "" {
		return graphError("OAuthException", codeUnknown, 0, msgMissingCode)
	}
	redirectURI := param(r, "redirect_uri")

	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.codes[code]
	switch {
	case !ok:
		return graphError("OAuthException", codeParam, subcodeCodeFormat, msgCodeFormat)
	case cs.used:
		return graphError("OAuthException", codeParam, subcodeCodeUsed, msgCodeUsed)
	case !s.cfg.Now().Before(cs.issuedAt.Add(s.cfg.CodeTTL)):
		return graphError("OAuthException", codeParam, subcodeCodeExpired, msgCodeExpired)
	case cs.grant.RedirectURI != "" && redirectURI != cs.grant.RedirectURI:
		return graphError("OAuthException", codeParam, subcodeCodeFormat, msgRedirectURI)
	}
	cs.used = true
	token, ts := s.issueTokenLocked(cs.grant)
	out := struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in,omitempty"`
	}{AccessToken: token, TokenType: "bearer"}
	if !ts.expiresAt.IsZero() {
		out.ExpiresIn = int64(ts.expiresAt.Sub(ts.issuedAt) / time.Second)
	}
	return jsonResponse(out)
}

// tokenData is debug_token's "data" object. Field order follows Meta's.
type tokenData struct {
	AppID               string          `json:"app_id,omitempty"`
	Type                string          `json:"type,omitempty"`
	Application         string          `json:"application,omitempty"`
	DataAccessExpiresAt *int64          `json:"data_access_expires_at,omitempty"`
	Error               *tokenError     `json:"error,omitempty"`
	ExpiresAt           *int64          `json:"expires_at,omitempty"`
	IsValid             bool            `json:"is_valid"`
	IssuedAt            int64           `json:"issued_at,omitempty"`
	Scopes              []string        `json:"scopes"`
	GranularScopes      []granularScope `json:"granular_scopes,omitempty"`
	UserID              string          `json:"user_id,omitempty"`
}

// tokenError is the error object inside debug_token's data; unlike the
// top-level Graph error it has no type and spells the subcode "subcode".
type tokenError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Subcode int    `json:"subcode,omitempty"`
}

type granularScope struct {
	Scope     string   `json:"scope"`
	TargetIDs []string `json:"target_ids,omitempty"`
}

// debugToken serves /debug_token.
func (s *Server) debugToken(r *http.Request) response {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return unsupportedMethod(r.Method, "debug_token")
	}
	appToken, _ := accessToken(r)
	if bad, ok := s.checkAppToken(appToken); !ok {
		return bad
	}
	input := param(r, "input_token")
	if input == "" {
		return graphError("OAuthException", codeParam, 0, msgInputRequired)
	}
	if s.isAppToken(input) {
		return jsonResponse(map[string]tokenData{"data": {
			AppID: s.cfg.AppID, Type: "APP", Application: DefaultAppName, IsValid: true, Scopes: []string{},
		}})
	}

	s.mu.Lock()
	ts, ok := s.tokens[input]
	s.mu.Unlock()
	if !ok {
		// Meta answers 200 here: the debug call worked, the token did not.
		return jsonResponse(map[string]tokenData{"data": {
			Error:   &tokenError{Code: codeToken, Message: msgCannotParse},
			IsValid: false,
			Scopes:  []string{},
		}})
	}

	g := ts.grant
	zero := int64(0)
	expiresAt := zero
	if !ts.expiresAt.IsZero() {
		expiresAt = ts.expiresAt.Unix()
	}
	d := tokenData{
		AppID:       s.cfg.AppID,
		Type:        "SYSTEM_USER",
		Application: DefaultAppName,
		// System-user tokens have no data-access expiry; Meta reports 0.
		DataAccessExpiresAt: &zero,
		ExpiresAt:           &expiresAt,
		IsValid:             true,
		IssuedAt:            ts.issuedAt.Unix(),
		UserID:              ts.userID,
	}
	for _, sc := range []string{g.ManagementScope, g.MessagingScope} {
		if !g.omitted(sc) {
			d.Scopes = append(d.Scopes, sc)
			d.GranularScopes = append(d.GranularScopes, granularScope{Scope: sc, TargetIDs: g.wabaIDs()})
		}
	}
	if !g.omitted(ScopeBusinessManagement) {
		d.Scopes = append(d.Scopes, ScopeBusinessManagement)
		d.GranularScopes = append(d.GranularScopes, granularScope{Scope: ScopeBusinessManagement})
	}
	if !g.omitted(ScopePublicProfile) {
		d.Scopes = append(d.Scopes, ScopePublicProfile)
	}
	if d.Scopes == nil {
		d.Scopes = []string{}
	}
	if now := s.cfg.Now(); !ts.expiresAt.IsZero() && !now.Before(ts.expiresAt) {
		d.IsValid = false
		d.Error = &tokenError{Code: codeToken, Subcode: subcodeExpired, Message: sessionExpired(ts.expiresAt, now)}
	}
	return jsonResponse(map[string]tokenData{"data": d})
}

// isAppToken reports whether tok is this app's "id|secret" app token.
func (s *Server) isAppToken(tok string) bool {
	id, secret, ok := strings.Cut(tok, "|")
	return ok && id == s.cfg.AppID && hmac.Equal([]byte(secret), []byte(s.cfg.AppSecret))
}

// checkAppToken validates debug_token's access_token.
func (s *Server) checkAppToken(tok string) (response, bool) {
	switch {
	case tok == "":
		return graphError("OAuthException", codeNoToken, 0, msgNoToken), false
	case s.isAppToken(tok):
		return response{}, true
	case strings.Contains(tok, "|"):
		return graphError("OAuthException", codeToken, 0, msgBadSignature), false
	}
	s.mu.Lock()
	_, isBusiness := s.tokens[tok]
	s.mu.Unlock()
	if isBusiness {
		// A customer's business token is not a developer of the app.
		return graphError("OAuthException", codeParam, 0, msgNeedAppToken), false
	}
	return graphError("OAuthException", codeToken, 0, msgCannotParse), false
}

// businessToken authenticates a call made with a customer's business token:
// the token must be known and live, and appsecret_proof must match it.
func (s *Server) businessToken(r *http.Request) (*tokenState, response, bool) {
	tok, _ := accessToken(r)
	if tok == "" {
		return nil, graphError("OAuthException", codeNoToken, 0, msgNoToken), false
	}
	s.mu.Lock()
	ts, ok := s.tokens[tok]
	s.mu.Unlock()
	if !ok {
		return nil, graphError("OAuthException", codeToken, 0, msgCannotParse), false
	}
	if now := s.cfg.Now(); !ts.expiresAt.IsZero() && !now.Before(ts.expiresAt) {
		return nil, graphError("OAuthException", codeToken, subcodeExpired,
			sessionExpired(ts.expiresAt, now)), false
	}
	proof := param(r, "appsecret_proof")
	if proof == "" {
		return nil, graphError("GraphMethodException", codeParam, 0, msgProofMissing), false
	}
	want := AppSecretProof(s.cfg.AppSecret, tok)
	if !hmac.Equal([]byte(strings.ToLower(proof)), []byte(want)) {
		return nil, graphError("GraphMethodException", codeParam, 0, msgProofInvalid), false
	}
	return ts, response{}, true
}

// wabaToken authenticates a call on the WABA id, which the simulated path
// takes with methods: a business token (see businessToken) whose grant
// holds the WABA. A WABA outside the grant gets the error Meta gives for
// an object the token cannot see.
func (s *Server) wabaToken(r *http.Request, id string, methods ...string) (*Grant, response, bool) {
	if !slices.Contains(methods, r.Method) {
		return nil, unsupportedMethod(r.Method, id), false
	}
	ts, bad, ok := s.businessToken(r)
	if !ok {
		return nil, bad, false
	}
	if !ts.grant.hasWABA(id) {
		return nil, unsupportedMethod(r.Method, id), false
	}
	return ts.grant, response{}, true
}

// phoneFields are the fields the phone_numbers edge can return.
var phoneFields = map[string]func(PhoneNumber) any{
	"id":                       func(p PhoneNumber) any { return p.ID },
	"display_phone_number":     func(p PhoneNumber) any { return p.DisplayPhoneNumber },
	"verified_name":            func(p PhoneNumber) any { return p.VerifiedName },
	"quality_rating":           func(PhoneNumber) any { return "GREEN" },
	"code_verification_status": func(p PhoneNumber) any { return cmp.Or(p.CodeVerificationStatus, "VERIFIED") },
	"platform_type":            func(PhoneNumber) any { return "CLOUD_API" },
	"status":                   func(p PhoneNumber) any { return cmp.Or(p.Status, "PENDING") },
	"name_status":              func(PhoneNumber) any { return "APPROVED" },
}

var defaultPhoneFields = []string{"verified_name", "code_verification_status", "display_phone_number", "quality_rating", "id"}

// defaultPageSize is Graph's page size when limit is not given.
const defaultPageSize = 25

// phoneNumbers serves /{waba_id}/phone_numbers.
func (s *Server) phoneNumbers(r *http.Request, wabaID string) response {
	g, bad, ok := s.wabaToken(r, wabaID, http.MethodGet)
	if !ok {
		return bad
	}
	fields, bad, ok := parseFields(r, defaultPhoneFields, func(f string) bool { return phoneFields[f] != nil }, "WhatsAppBusinessPhoneNumber")
	if !ok {
		return bad
	}
	var numbers []PhoneNumber
	if wabaID == g.WABAID {
		numbers = g.PhoneNumbers
	}

	limit := defaultPageSize
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = n
	}
	start := 0
	if after := r.URL.Query().Get("after"); after != "" {
		start = decodeCursor(after) + 1
	}
	start = min(start, len(numbers))
	end := min(start+limit, len(numbers))

	data := make([]orderedObject, 0, end-start)
	for _, p := range numbers[start:end] {
		obj := orderedObject{}
		for _, f := range fields {
			obj = append(obj, field{f, phoneFields[f](p)})
		}
		data = append(data, obj)
	}
	out := orderedObject{{"data", data}}
	if len(data) > 0 {
		cursors := orderedObject{{"before", encodeCursor(start)}, {"after", encodeCursor(end - 1)}}
		paging := orderedObject{{"cursors", cursors}}
		if end < len(numbers) {
			q := r.URL.Query()
			q.Set("after", encodeCursor(end-1))
			q.Set("limit", strconv.Itoa(limit))
			// Meta's next link repeats the request's parameters, tokens
			// included, so products must not log it.
			paging = append(paging, field{"next", "https://graph.facebook.com" + r.URL.Path + "?" + q.Encode()})
		}
		out = append(out, field{"paging", paging})
	}
	return jsonResponse(out)
}

func encodeCursor(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("idx:" + strconv.Itoa(i)))
}

func decodeCursor(c string) int {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "idx:"))
	if err != nil {
		return -1
	}
	return n
}

// wabaNode serves GET /{waba_id}?fields=...
func (s *Server) wabaNode(r *http.Request, id string) response {
	g, bad, ok := s.wabaToken(r, id, http.MethodGet)
	if !ok {
		return bad
	}
	name := g.WABAName
	if id != g.WABAID {
		name = "WABA " + id
	}
	values := map[string]func() any{
		"id":   func() any { return id },
		"name": func() any { return name },
		"owner_business_info": func() any {
			return orderedObject{{"name", g.BusinessName}, {"id", g.BusinessID}}
		},
		"currency":                   func() any { return "USD" },
		"timezone_id":                func() any { return "1" },
		"message_template_namespace": func() any { return "sim_" + id },
		"account_review_status":      func() any { return "APPROVED" },
	}
	fields, bad, ok := parseFields(r, []string{"id", "name"}, func(f string) bool { return values[f] != nil }, "WhatsAppBusinessAccount")
	if !ok {
		return bad
	}
	obj := orderedObject{}
	for _, f := range fields {
		if f != "id" {
			obj = append(obj, field{f, values[f]()})
		}
	}
	// Graph always answers a node's id, after the requested fields.
	obj = append(obj, field{"id", id})
	return jsonResponse(obj)
}

// parseFields reads the fields parameter, keeping request order and dropping
// duplicates; an unknown field is Meta's "nonexisting field" error.
func parseFields(r *http.Request, def []string, known func(string) bool, nodeType string) ([]string, response, bool) {
	raw := r.URL.Query().Get("fields")
	if raw == "" {
		return def, response{}, true
	}
	var out []string
	seen := map[string]bool{}
	for f := range strings.SplitSeq(raw, ",") {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] {
			continue
		}
		if !known(f) {
			return nil, graphError("OAuthException", codeParam, 0,
				fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (%s)", f, nodeType)), false
		}
		seen[f] = true
		out = append(out, f)
	}
	if len(out) == 0 {
		return def, response{}, true
	}
	return out, response{}, true
}

// sessionExpired formats Meta's expired-token message.
func sessionExpired(expiredAt, now time.Time) string {
	const layout = "Monday, 02-Jan-06 15:04:05 MST"
	pt, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		pt = time.UTC
	}
	return fmt.Sprintf(msgSessionExpired, expiredAt.In(pt).Format(layout), now.In(pt).Format(layout))
}
