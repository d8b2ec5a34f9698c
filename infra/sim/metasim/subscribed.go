package metasim

import (
	"maps"
	"net/http"
	"slices"
)

// codePermission is the first of Graph's "API Permission" codes (200-299).
const codePermission = 200

// subscribedApps serves /{waba_id}/subscribed_apps as Meta's "Manage
// webhooks" page documents it: POST subscribes the calling app to the
// WABA's webhooks and DELETE unsubscribes it, both answering
// {"success":true}; GET lists the subscribed apps. The app is the one the
// token was issued to, which here is always Config.AppID.
//
// The token must be a live business token with its appsecret_proof, like
// every other WABA call. A WABA outside the grant gets the "Unsupported
// post request" error Meta gives for an object the token cannot see (what
// products report from this very call); a WABA inside it whose
// whatsapp_business_management scope the customer left out gets code 200,
// the permission error of Meta's WhatsApp error table.
func (s *Server) subscribedApps(r *http.Request, wabaID string) response {
	g, bad, ok := s.wabaToken(r, wabaID, http.MethodGet, http.MethodPost, http.MethodDelete)
	if !ok {
		return bad
	}
	if g.omitted(g.ManagementScope) {
		return graphErrorResponse(http.StatusForbidden, graphErrorDetail{
			Message: "(#200) Permissions error", Type: "OAuthException", Code: codePermission,
		})
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		// Subscribing again is not an error on Meta: the call is idempotent,
		// which is what lets a client retry it after a lost answer.
		s.subscribed[wabaID] = true
	case http.MethodDelete:
		delete(s.subscribed, wabaID)
	default:
		data := []orderedObject{}
		if s.subscribed[wabaID] {
			data = append(data, orderedObject{{"whatsapp_business_api_data", orderedObject{
				{"id", s.cfg.AppID},
				{"link", "https://www.facebook.com/games/?app_id=" + s.cfg.AppID},
				{"name", DefaultAppName},
			}}})
		}
		return jsonResponse(orderedObject{{"data", data}})
	}
	return jsonResponse(orderedObject{{"success", true}})
}

// Subscribed reports whether the app is subscribed to webhooks on wabaID:
// a POST to its subscribed_apps edge succeeded and no DELETE followed.
func (s *Server) Subscribed(wabaID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subscribed[wabaID]
}

// SubscribedWABAs returns the WABAs the app is subscribed to, sorted.
func (s *Server) SubscribedWABAs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.subscribed))
}
