package plivosim

import (
	"net/http"
	"strconv"
	"testing"
)

func onboarded(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	if r := e.call(t, http.MethodPost, "WhatsApp/EmbeddedSignup/", signupBody()); r.status != 200 {
		t.Fatalf("signup: %d %s", r.status, r.body)
	}
	return e
}

func templateBody(name, lang string) map[string]any {
	return map[string]any{
		"name": name, "language": lang, "category": "UTILITY",
		"components": []any{map[string]any{"type": "BODY", "text": "Your order {{1}} shipped."}},
	}
}

func TestCreateTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		waba   string
		body   any
		status int
		msg    string
	}{
		{name: "created", waba: testWABA, body: templateBody("order_shipped", "en_US"), status: 201},
		{name: "missing name", waba: testWABA, body: map[string]any{"language": "en", "category": "UTILITY", "components": []any{map[string]any{}}}, status: 400, msg: "name is required."},
		{name: "bad name", waba: testWABA, body: templateBody("Order-Shipped", "en"), status: 400, msg: "name may contain only lowercase letters (a-z), digits (0-9) and underscores."},
		{name: "missing language", waba: testWABA, body: templateBody("order_shipped", ""), status: 400, msg: "language is required."},
		{name: "bad category", waba: testWABA, body: map[string]any{"name": "x", "language": "en", "category": "PROMO", "components": []any{map[string]any{}}}, status: 400, msg: "category must be one of MARKETING, UTILITY, AUTHENTICATION."},
		{name: "no components", waba: testWABA, body: map[string]any{"name": "x", "language": "en", "category": "UTILITY", "components": []any{}}, status: 400, msg: "components must be a non-empty list."},
		{name: "WABA not on this account", waba: "555", body: templateBody("order_shipped", "en_US"), status: 404, msg: msgWABANotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := onboarded(t)
			e.sim.Preregister("555", "")
			r := e.call(t, http.MethodPost, "WhatsApp/Template/"+tt.waba+"/", tt.body)
			if tt.status != 201 {
				wantError(t, r, tt.status, tt.msg)
				return
			}
			if r.status != 201 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got map[string]string
			decode(t, r.body, &got)
			// The create answer of Plivo's Go SDK (WhatsappTemplateResponse):
			// the template's fields prefixed template_.
			if got["template_status"] != "PENDING" || got["template_name"] != "order_shipped" || got["template_category"] != "UTILITY" ||
				got["template_language"] != "en_US" || len(got["api_id"]) != 36 {
				t.Errorf("body %s", r.body)
			}
			if _, err := strconv.ParseUint(got["template_id"], 10, 64); err != nil {
				t.Errorf("template_id %q is not a Meta ID", got["template_id"])
			}
			ts := e.sim.Templates(testWABA)
			if len(ts) != 1 || ts[0].TemplateID != got["template_id"] {
				t.Errorf("Templates() = %+v", ts)
			}
		})
	}
}

func TestDuplicateTemplate(t *testing.T) {
	t.Parallel()
	e := onboarded(t)
	if r := e.call(t, http.MethodPost, "WhatsApp/Template/"+testWABA+"/", templateBody("welcome", "en")); r.status != 201 {
		t.Fatalf("first: %d", r.status)
	}
	wantError(t, e.call(t, http.MethodPost, "WhatsApp/Template/"+testWABA+"/", templateBody("welcome", "en")),
		400, `A template named "welcome" already exists in language "en".`)
	if r := e.call(t, http.MethodPost, "WhatsApp/Template/"+testWABA+"/", templateBody("welcome", "es")); r.status != 201 {
		t.Errorf("same name, other language: %d", r.status)
	}
}

func TestListAndGetTemplates(t *testing.T) {
	t.Parallel()
	e := onboarded(t)
	var ids []string
	for i := range 25 {
		r := e.call(t, http.MethodPost, "WhatsApp/Template/"+testWABA+"/", templateBody("t_"+strconv.Itoa(i), "en"))
		var got map[string]string
		decode(t, r.body, &got)
		ids = append(ids, got["template_id"])
	}

	type page struct {
		APIID string `json:"api_id"`
		Meta  struct {
			Limit      int     `json:"limit"`
			Next       *string `json:"next"`
			Offset     int     `json:"offset"`
			Previous   *string `json:"previous"`
			TotalCount int     `json:"total_count"`
		} `json:"meta"`
		Objects []Template `json:"objects"`
	}
	var p page
	decode(t, e.call(t, http.MethodGet, "WhatsApp/Template/"+testWABA+"/", nil).body, &p)
	if p.Meta.Limit != 20 || p.Meta.TotalCount != 25 || len(p.Objects) != 20 || p.Meta.Next == nil || p.Meta.Previous != nil {
		t.Fatalf("first page meta %+v, %d objects", p.Meta, len(p.Objects))
	}
	want := "/v1/Account/" + testAuthID + "/WhatsApp/Template/" + testWABA + "/?limit=20&offset=20"
	if *p.Meta.Next != want {
		t.Errorf("next %q, want %q", *p.Meta.Next, want)
	}
	o := p.Objects[0]
	if o.TemplateID != ids[0] || o.Status != "PENDING" || o.QualityScore != nil || o.RejectedReason != "NONE" || len(o.Components) == 0 {
		t.Errorf("object %+v", o)
	}

	decode(t, e.call(t, http.MethodGet, "WhatsApp/Template/"+testWABA+"/?limit=20&offset=20", nil).body, &p)
	if len(p.Objects) != 5 || p.Meta.Next != nil || p.Meta.Previous == nil {
		t.Errorf("second page meta %+v, %d objects", p.Meta, len(p.Objects))
	}
	decode(t, e.call(t, http.MethodGet, "WhatsApp/Template/"+testWABA+"/?template_name=t_3", nil).body, &p)
	if len(p.Objects) != 1 || p.Objects[0].Name != "t_3" {
		t.Errorf("filter: %+v", p.Objects)
	}

	if !e.sim.SetTemplateStatus(testWABA, ids[3], StatusApproved) {
		t.Fatal("SetTemplateStatus: not found")
	}
	r := e.call(t, http.MethodGet, "WhatsApp/Template/"+testWABA+"/"+ids[3]+"/", nil)
	var one struct {
		APIID string `json:"api_id"`
		Template
	}
	decode(t, r.body, &one)
	if r.status != 200 || one.Status != "APPROVED" || one.QualityScore == nil || one.TemplateID != ids[3] || len(one.APIID) != 36 {
		t.Errorf("get: %d %s", r.status, r.body)
	}
	wantError(t, e.call(t, http.MethodGet, "WhatsApp/Template/"+testWABA+"/1/", nil), 404, "Template not found.")
	if e.sim.SetTemplateStatus(testWABA, "1", StatusApproved) {
		t.Error("SetTemplateStatus found a missing template")
	}
	wantError(t, e.call(t, http.MethodGet, "WhatsApp/Template/555/", nil), 404, msgWABANotFound)
}
