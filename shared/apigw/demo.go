package apigw

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/demo"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
)

// MessageAnswer is the body of a 202 answer to POST /api/demo/messages.
type MessageAnswer struct {
	Status    string              `json:"status"`
	WABAID    string              `json:"waba_id"`
	Src       string              `json:"src"`
	Dst       string              `json:"dst"`
	Plivo     plivo.MessageResult `json:"plivo"`
	RequestID string              `json:"request_id"`
}

// TemplateAnswer is the body of a 201 answer to POST /api/demo/templates.
type TemplateAnswer struct {
	Status    string         `json:"status"`
	WABAID    string         `json:"waba_id"`
	Template  plivo.Template `json:"template"`
	Plivo     PlivoAck       `json:"plivo"`
	RequestID string         `json:"request_id"`
}

// PlivoAck is Plivo's acknowledgement of a template submission.
type PlivoAck struct {
	APIID   string `json:"api_id"`
	Message string `json:"message,omitempty"`
}

// TemplatesAnswer is the body of a 200 answer to GET
// /api/demo/templates/{waba_id}.
type TemplatesAnswer struct {
	WABAID    string           `json:"waba_id"`
	Count     int              `json:"count"`
	Templates []plivo.Template `json:"templates"`
	RequestID string           `json:"request_id"`
}

// DemoHandler serves the three demo routes from one function.
func DemoHandler(svc *demo.Service, log *slog.Logger) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		start := time.Now()
		caller, authenticated := IAMCaller(req)
		var resp Response
		if authenticated {
			resp = demoRoute(ctx, svc, log, req)
		} else {
			// The routes send real messages at the Tech Provider's cost: a
			// route deployed without its AWS_IAM authorizer fails closed.
			resp = Error(ctx, log, req.RequestContext.RequestID,
				onboarding.Errorf(onboarding.CodeUnauthorized, "Sign this request with AWS SigV4 (AWS_IAM)."))
		}
		log.InfoContext(ctx, "request",
			"request_id", req.RequestContext.RequestID,
			"route", req.RouteKey,
			"method", Method(req),
			"status", resp.StatusCode,
			"caller", caller,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
		)
		return resp, nil
	}
}

func demoRoute(ctx context.Context, svc *demo.Service, log *slog.Logger, req Request) Response {
	rid := req.RequestContext.RequestID
	fail := func(err error) Response { return Error(ctx, log, rid, err) }
	key := req.RouteKey
	if key == "" || key == "$default" {
		key = demoRouteOf(req)
	}
	switch key {
	case demo.RouteSendMessage:
		var in demo.MessageRequest
		if err := decodeJSON(req, &in); err != nil {
			return fail(err)
		}
		out, err := svc.SendMessage(ctx, in)
		if err != nil {
			return fail(err)
		}
		return JSON(http.StatusAccepted, MessageAnswer{
			Status: "queued", WABAID: out.WABAID, Src: out.Src, Dst: out.Dst, Plivo: out.Plivo, RequestID: rid,
		})
	case demo.RouteCreateTemplate:
		var in demo.TemplateRequest
		if err := decodeJSON(req, &in); err != nil {
			return fail(err)
		}
		out, err := svc.CreateTemplate(ctx, in)
		if err != nil {
			return fail(err)
		}
		return JSON(http.StatusCreated, TemplateAnswer{
			Status: out.Template.Status, WABAID: out.WABAID, Template: out.Template,
			Plivo: PlivoAck{APIID: out.Plivo.APIID, Message: out.Plivo.Message}, RequestID: rid,
		})
	case demo.RouteListTemplates:
		if m := Method(req); m != http.MethodGet {
			return fail(onboarding.Errorf(onboarding.CodeMethodNotAllowed, "Use GET for this resource."))
		}
		waba := pathParam(req, "waba_id", demoTemplatesPattern)
		list, err := svc.ListTemplates(ctx, waba)
		if err != nil {
			return fail(err)
		}
		return JSON(http.StatusOK, TemplatesAnswer{WABAID: waba, Count: len(list), Templates: list, RequestID: rid})
	case "":
		return fail(onboarding.Errorf(onboarding.CodeNotFound, "No such resource."))
	}
	return fail(onboarding.Errorf(onboarding.CodeMethodNotAllowed, "This method is not allowed on this resource."))
}

// routeOf names the route of a request that arrived without a route key
// (hand-written events, a catch-all route): the route its path belongs
// to, or "" when none.
func demoRouteOf(req Request) string {
	path := strings.TrimSuffix(RoutePath(req), "/")
	method := Method(req)
	switch {
	case path == demo.PathMessages && method == http.MethodPost:
		return demo.RouteSendMessage
	case path == demo.PathTemplates && method == http.MethodPost:
		return demo.RouteCreateTemplate
	case strings.HasPrefix(path, demo.PathTemplates+"/") && !strings.Contains(path[len(demo.PathTemplates)+1:], "/"):
		return demo.RouteListTemplates
	case path == demo.PathMessages || path == demo.PathTemplates:
		return "wrong method"
	}
	return ""
}
