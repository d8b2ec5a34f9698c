package metasim

import (
	"cmp"
	"crypto/rand"
	"slices"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Scope names Meta grants through Embedded Signup.
const (
	ScopeManagement         = "whatsapp_business_management"
	ScopeMessaging          = "whatsapp_business_messaging"
	ScopeBusinessManagement = "business_management"
	ScopePublicProfile      = "public_profile"
)

// PhoneNumber is a number the customer registered in the signup dialog.
type PhoneNumber struct {
	ID                 string `json:"id"`
	DisplayPhoneNumber string `json:"display_phone_number"`
	VerifiedName       string `json:"verified_name"`
	// CodeVerificationStatus is what Graph reports for the number:
	// VERIFIED when empty; NOT_VERIFIED or EXPIRED for a customer who
	// finished Embedded Signup (v3 and later) without entering the code.
	CodeVerificationStatus string `json:"code_verification_status,omitempty"`
	// Status is the number's Cloud API status: PENDING when empty (Embedded
	// Signup verified it; the BSP registers it), CONNECTED once registered.
	Status string `json:"status,omitempty"`
}

// Grant is what a customer gave the app by finishing Embedded Signup: the
// WABA, its owning business and its numbers. The token exchanged from the
// grant's code sees exactly these objects.
type Grant struct {
	WABAID     string `json:"waba_id"`
	BusinessID string `json:"business_id"`
	// WABAName and BusinessName are the WABA node's name and
	// owner_business_info.name. Defaults are derived from the IDs.
	WABAName     string        `json:"waba_name,omitempty"`
	BusinessName string        `json:"business_name,omitempty"`
	PhoneNumbers []PhoneNumber `json:"phone_numbers,omitempty"`
	// ExtraWABAIDs are further WABAs the token is granted on. They appear in
	// the granular scopes' target_ids, which makes "the WABA of this signup"
	// ambiguous from debug_token alone; their phone_numbers edge is empty.
	ExtraWABAIDs []string `json:"extra_waba_ids,omitempty"`
	// SolutionID is the Multi-Partner Solution the WABA was created under:
	// extras.setup.solutionID of the FB.login that produced the grant.
	// Empty means none: Plivo refuses such a WABA (plivosim CheckAtMeta).
	SolutionID string `json:"solution_id,omitempty"`
	// ManagementScope and MessagingScope name the two WhatsApp scopes in
	// debug_token, so that a test can simulate Meta renaming one. Defaults
	// ScopeManagement and ScopeMessaging.
	ManagementScope string `json:"management_scope,omitempty"`
	MessagingScope  string `json:"messaging_scope,omitempty"`
	// OmitScopes are scope names left out of debug_token's scopes and
	// granular_scopes, as when a customer unticks a permission.
	OmitScopes []string `json:"omit_scopes,omitempty"`
	// RedirectURI, when set, must be repeated verbatim in the code exchange,
	// as Meta demands for codes from a redirect-based login dialog. Codes
	// from the JavaScript SDK's FB.login have none, so the default accepts
	// any or no redirect_uri.
	RedirectURI string `json:"redirect_uri,omitempty"`
}

// withDefaults fills the derived fields and copies the slices, so that the
// caller's later changes to g do not reach issued codes.
func (g Grant) withDefaults() Grant {
	g.ManagementScope = cmp.Or(g.ManagementScope, ScopeManagement)
	g.MessagingScope = cmp.Or(g.MessagingScope, ScopeMessaging)
	g.WABAName = cmp.Or(g.WABAName, "WABA "+g.WABAID)
	g.BusinessName = cmp.Or(g.BusinessName, "Business "+g.BusinessID)
	g.PhoneNumbers = slices.Clone(g.PhoneNumbers)
	g.ExtraWABAIDs = slices.Clone(g.ExtraWABAIDs)
	g.OmitScopes = slices.Clone(g.OmitScopes)
	return g
}

// wabaIDs are the WABAs the grant's token may read.
func (g *Grant) wabaIDs() []string {
	return append([]string{g.WABAID}, g.ExtraWABAIDs...)
}

func (g *Grant) hasWABA(id string) bool {
	return slices.Contains(g.wabaIDs(), id)
}

func (g *Grant) omitted(scope string) bool {
	return slices.Contains(g.OmitScopes, scope)
}

type codeState struct {
	grant    *Grant
	issuedAt time.Time
	used     bool
}

type tokenState struct {
	grant     *Grant
	issuedAt  time.Time
	expiresAt time.Time // zero: never
	userID    string    // the business integration system user
}

// IssueCode plays the customer finishing the signup dialog: it returns a new
// random code for g that can be exchanged once, within CodeTTL.
func (s *Server) IssueCode(g Grant) string {
	g = g.withDefaults()
	g.SolutionID = cmp.Or(g.SolutionID, s.cfg.SolutionID)
	code := "AQ" + rand.Text() + rand.Text() + rand.Text()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = &codeState{grant: &g, issuedAt: s.cfg.Now()}
	return code
}

// issueTokenLocked creates a business token for a freshly exchanged code.
func (s *Server) issueTokenLocked(g *Grant) (string, *tokenState) {
	now := s.cfg.Now()
	ts := &tokenState{grant: g, issuedAt: now, userID: simkit.RandomID(15)}
	if s.cfg.TokenTTL > 0 {
		ts.expiresAt = now.Add(s.cfg.TokenTTL)
	}
	// Meta's user and system-user tokens start with "EAA".
	token := "EAA" + rand.Text() + rand.Text() + rand.Text() + rand.Text()
	s.tokens[token] = ts
	return token, ts
}

// WABAFacts says what Meta knows of a WABA and one of its numbers: the
// solution it was created under and whether the number is verified.
// known is false when no grant names the WABA.
func (s *Server) WABAFacts(wabaID, phoneNumberID string) (solutionID string, numberVerified, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.codes {
		if c.grant.WABAID != wabaID {
			continue
		}
		known, solutionID = true, c.grant.SolutionID
		for _, n := range c.grant.PhoneNumbers {
			if n.ID == phoneNumberID {
				numberVerified = n.CodeVerificationStatus == "" || n.CodeVerificationStatus == "VERIFIED" || n.Status == "CONNECTED"
			}
		}
	}
	return solutionID, numberVerified, known
}

// DisplayNumber returns the display number of the phone number ID in any
// grant this Server issued a code for, as Meta's phone_numbers edge would
// show it. The local stack hands it to the Plivo simulator, which makes a
// number it onboards a sender, as Plivo's onboarding does.
func (s *Server) DisplayNumber(phoneNumberID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.codes {
		for _, n := range c.grant.PhoneNumbers {
			if n.ID == phoneNumberID {
				return n.DisplayPhoneNumber, true
			}
		}
	}
	return "", false
}
