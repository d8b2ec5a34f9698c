package plivosim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Template categories and statuses, as Plivo's WhatsApp Template API names
// them.
const (
	CategoryMarketing      = "MARKETING"
	CategoryUtility        = "UTILITY"
	CategoryAuthentication = "AUTHENTICATION"

	StatusPending  = "PENDING"
	StatusApproved = "APPROVED"
	StatusRejected = "REJECTED"
	StatusPaused   = "PAUSED"
	StatusDisabled = "DISABLED"
)

var (
	categories    = []string{CategoryMarketing, CategoryUtility, CategoryAuthentication}
	statuses      = []string{StatusPending, StatusApproved, StatusRejected, StatusPaused, StatusDisabled}
	templateNames = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
)

// pageLimit is the largest page Plivo's list APIs return.
const pageLimit = 20

// QualityScore is Meta's quality rating of an approved template.
type QualityScore struct {
	Score string `json:"score"`
}

// Template is a WhatsApp message template submitted through the API. Its
// JSON is the WhatsAppTemplate object of Plivo's Template API.
type Template struct {
	TemplateID string          `json:"template_id"`
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Category   string          `json:"category"`
	Status     string          `json:"status"`
	Components json.RawMessage `json:"components"`
	// QualityScore is null while the template is PENDING.
	QualityScore   *QualityScore `json:"quality_score"`
	RejectedReason string        `json:"rejected_reason"`
	CreatedAt      time.Time     `json:"-"`
}

// Templates returns a copy of wabaID's templates, oldest first.
func (s *Server) Templates(wabaID string) []Template {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Template, len(s.templates[wabaID]))
	for i, t := range s.templates[wabaID] {
		out[i] = t.clone()
	}
	return out
}

func (t Template) clone() Template {
	t.Components = slices.Clone(t.Components)
	if t.QualityScore != nil {
		q := *t.QualityScore
		t.QualityScore = &q
	}
	return t
}

// SetTemplateStatus plays Meta's asynchronous review: it moves a template to
// status (APPROVED, REJECTED, PAUSED, DISABLED or back to PENDING) and
// reports whether the template exists.
func (s *Server) SetTemplateStatus(wabaID, templateID, status string) bool {
	if !slices.Contains(statuses, status) {
		panic("plivosim: unknown template status " + strconv.Quote(status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.templates[wabaID] {
		t := &s.templates[wabaID][i]
		if t.TemplateID != templateID {
			continue
		}
		t.Status = status
		t.RejectedReason = "NONE"
		t.QualityScore = nil
		switch status {
		case StatusApproved:
			// Meta rates a new template UNKNOWN until it has traffic.
			t.QualityScore = &QualityScore{Score: "UNKNOWN"}
		case StatusRejected:
			t.RejectedReason = "INVALID_FORMAT"
		}
		return true
	}
	return false
}

// ownsWABA reports whether wabaID was onboarded through this account; a
// preregistered WABA belongs to someone else.
func (s *Server) ownsWABA(wabaID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	su, ok := s.signups[wabaID]
	return ok && !su.Preregistered
}

// msgWABANotFound answers template calls for a WABA the account does not
// have. Plivo's text is not documented.
const msgWABANotFound = "WhatsApp Business Account not found for this account."

// createTemplate serves POST /WhatsApp/Template/{waba_id}/.
func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request, wabaID string) {
	if !s.ownsWABA(wabaID) {
		writeError(w, http.StatusNotFound, msgWABANotFound)
		return
	}
	body, ok := decodeObject(w, r)
	if !ok {
		return
	}
	name, lang, cat := str(body, "name"), str(body, "language"), str(body, "category")
	comps, isList := body["components"].([]any)
	// Plivo's texts for these 400s are not documented.
	switch {
	case name == "":
		writeError(w, http.StatusBadRequest, "name is required.")
		return
	case !templateNames.MatchString(name):
		writeError(w, http.StatusBadRequest, "name may contain only lowercase letters (a-z), digits (0-9) and underscores.")
		return
	case lang == "":
		writeError(w, http.StatusBadRequest, "language is required.")
		return
	case !slices.Contains(categories, cat):
		writeError(w, http.StatusBadRequest, "category must be one of MARKETING, UTILITY, AUTHENTICATION.")
		return
	case !isList || len(comps) == 0:
		writeError(w, http.StatusBadRequest, "components must be a non-empty list.")
		return
	}
	compJSON, _ := json.Marshal(comps)

	s.mu.Lock()
	for _, t := range s.templates[wabaID] {
		if t.Name == name && t.Language == lang {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "A template named "+strconv.Quote(name)+" already exists in language "+strconv.Quote(lang)+".")
			return
		}
	}
	t := Template{
		TemplateID: simkit.RandomID(16), Name: name, Language: lang, Category: cat, Status: StatusPending,
		Components: compJSON, RejectedReason: "NONE", CreatedAt: s.cfg.Now(),
	}
	s.templates[wabaID] = append(s.templates[wabaID], t)
	s.mu.Unlock()

	// The answer's fields are those of Plivo's Go SDK
	// (WhatsappTemplateResponse): the template's own prefixed template_, so
	// that status stays free for the request's outcome, which the
	// simulator leaves out rather than guess its wording.
	simkit.WriteJSON(w, http.StatusCreated, struct {
		APIID            string `json:"api_id"`
		TemplateID       string `json:"template_id"`
		TemplateName     string `json:"template_name"`
		TemplateLanguage string `json:"template_language"`
		TemplateCategory string `json:"template_category"`
		TemplateStatus   string `json:"template_status"`
	}{simkit.NewUUID(), t.TemplateID, t.Name, t.Language, t.Category, t.Status})
}

// listMeta is the paging block of Plivo's list answers.
type listMeta struct {
	Limit      int     `json:"limit"`
	Next       *string `json:"next"`
	Offset     int     `json:"offset"`
	Previous   *string `json:"previous"`
	TotalCount int     `json:"total_count"`
}

// listTemplates serves GET /WhatsApp/Template/{waba_id}/?limit=&offset=&template_name=.
func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, authID, wabaID string) {
	if !s.ownsWABA(wabaID) {
		writeError(w, http.StatusNotFound, msgWABANotFound)
		return
	}
	q := r.URL.Query()
	limit := pageLimit
	if n, err := strconv.Atoi(q.Get("limit")); err == nil {
		limit = min(max(n, 1), pageLimit)
	}
	offset := 0
	if n, err := strconv.Atoi(q.Get("offset")); err == nil && n > 0 {
		offset = n
	}
	name := q.Get("template_name")
	name = cmp.Or(name, q.Get("name"))

	var all []Template
	for _, t := range s.Templates(wabaID) {
		if name == "" || t.Name == name {
			all = append(all, t)
		}
	}
	start := min(offset, len(all))
	end := min(start+limit, len(all))
	page := all[start:end]
	if page == nil {
		page = []Template{}
	}

	base := "/v1/Account/" + authID + "/WhatsApp/Template/" + wabaID + "/?limit=" + strconv.Itoa(limit) + "&offset="
	meta := listMeta{Limit: limit, Offset: offset, TotalCount: len(all)}
	if end < len(all) {
		next := base + strconv.Itoa(end)
		meta.Next = &next
	}
	if start > 0 {
		prev := base + strconv.Itoa(max(start-limit, 0))
		meta.Previous = &prev
	}
	simkit.WriteJSON(w, http.StatusOK, struct {
		APIID   string     `json:"api_id"`
		Meta    listMeta   `json:"meta"`
		Objects []Template `json:"objects"`
	}{simkit.NewUUID(), meta, page})
}

// getTemplate serves GET /WhatsApp/Template/{waba_id}/{template_id}/.
func (s *Server) getTemplate(w http.ResponseWriter, wabaID, templateID string) {
	if !s.ownsWABA(wabaID) {
		writeError(w, http.StatusNotFound, msgWABANotFound)
		return
	}
	for _, t := range s.Templates(wabaID) {
		if t.TemplateID == templateID {
			simkit.WriteJSON(w, http.StatusOK, struct {
				APIID string `json:"api_id"`
				Template
			}{simkit.NewUUID(), t})
			return
		}
	}
	writeError(w, http.StatusNotFound, "Template not found.")
}
