package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/plivo"
)

// Routes of the demo function, as template.yaml declares them (IAM
// authorized) and API Gateway names them in RouteKey.
const (
	PathMessages  = "/api/demo/messages"
	PathTemplates = "/api/demo/templates"

	RouteSendMessage    = "POST " + PathMessages
	RouteCreateTemplate = "POST " + PathTemplates
	RouteListTemplates  = "GET " + PathTemplates + "/{waba_id}"
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

// Handler serves the three demo routes from one function.
func Handler(svc *Service, log *slog.Logger) apigw.Handler {
	return func(ctx context.Context, req apigw.Request) (apigw.Response, error) {
		start := time.Now()
		caller, authenticated := apigw.IAMCaller(req)
		var resp apigw.Response
		if authenticated {
			resp = route(ctx, svc, log, req)
		} else {
			// The routes send real messages at the Tech Provider's cost: a
			// route deployed without its AWS_IAM authorizer fails closed.
			resp = apigw.Error(ctx, log, req.RequestContext.RequestID,
				onboarding.Errorf(onboarding.CodeUnauthorized, "Sign this request with AWS SigV4 (AWS_IAM)."))
		}
		log.InfoContext(ctx, "request",
			"request_id", req.RequestContext.RequestID,
			"route", req.RouteKey,
			"method", apigw.Method(req),
			"status", resp.StatusCode,
			"caller", caller,
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
		)
		return resp, nil
	}
}

func route(ctx context.Context, svc *Service, log *slog.Logger, req apigw.Request) apigw.Response {
	rid := req.RequestContext.RequestID
	fail := func(err error) apigw.Response { return apigw.Error(ctx, log, rid, err) }
	key := req.RouteKey
	if key == "" || key == "$default" {
		key = routeOf(req)
	}
	switch key {
	case RouteSendMessage:
		var in MessageRequest
		if err := decode(req, &in); err != nil {
			return fail(err)
		}
		out, err := svc.SendMessage(ctx, in)
		if err != nil {
			return fail(err)
		}
		return apigw.JSON(http.StatusAccepted, MessageAnswer{
			Status: "queued", WABAID: out.WABAID, Src: out.Src, Dst: out.Dst, Plivo: out.Plivo, RequestID: rid,
		})
	case RouteCreateTemplate:
		var in TemplateRequest
		if err := decode(req, &in); err != nil {
			return fail(err)
		}
		out, err := svc.CreateTemplate(ctx, in)
		if err != nil {
			return fail(err)
		}
		return apigw.JSON(http.StatusCreated, TemplateAnswer{
			Status: out.Template.Status, WABAID: out.WABAID, Template: out.Template,
			Plivo: PlivoAck{APIID: out.Plivo.APIID, Message: out.Plivo.Message}, RequestID: rid,
		})
	case RouteListTemplates:
		if m := apigw.Method(req); m != http.MethodGet {
			return fail(onboarding.Errorf(onboarding.CodeMethodNotAllowed, "Use GET for this resource."))
		}
		waba := req.PathParameters["waba_id"]
		if waba == "" {
			waba = lastSegment(req.RawPath)
		}
		list, err := svc.ListTemplates(ctx, waba)
		if err != nil {
			return fail(err)
		}
		return apigw.JSON(http.StatusOK, TemplatesAnswer{WABAID: waba, Count: len(list), Templates: list, RequestID: rid})
	case "":
		return fail(onboarding.Errorf(onboarding.CodeNotFound, "No such resource."))
	}
	return fail(onboarding.Errorf(onboarding.CodeMethodNotAllowed, "This method is not allowed on this resource."))
}

// routeOf names the route of a request that arrived without a route key
// (hand-written events, a catch-all route): the route its path belongs
// to, or "" when none.
func routeOf(req apigw.Request) string {
	path := strings.TrimSuffix(req.RawPath, "/")
	method := apigw.Method(req)
	switch {
	case path == PathMessages && method == http.MethodPost:
		return RouteSendMessage
	case path == PathTemplates && method == http.MethodPost:
		return RouteCreateTemplate
	case strings.HasPrefix(path, PathTemplates+"/") && !strings.Contains(path[len(PathTemplates)+1:], "/"):
		return RouteListTemplates
	case path == PathMessages || path == PathTemplates:
		return "wrong method"
	}
	return ""
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// decode reads a JSON request body into v: POST, application/json, one
// object, no unknown fields.
func decode(req apigw.Request, v any) error {
	if err := apigw.RequireJSON(req, http.MethodPost); err != nil {
		return err
	}
	body, err := apigw.Body(req)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid(bodyProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid(onboarding.FieldError{Field: "body", Message: "The body must hold one JSON object."})
	}
	return nil
}

// bodyProblem turns a decoding error into a field message without echoing
// the body.
func bodyProblem(err error) onboarding.FieldError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return onboarding.FieldError{Field: te.Field, Message: fmt.Sprintf("%s must be a %s.", te.Field, jsonKind(te.Type.Kind().String()))}
	case errors.As(err, &te):
		return onboarding.FieldError{Field: "body", Message: "The body must be a JSON object."}
	case errors.As(err, &se):
		return onboarding.FieldError{Field: "body", Message: "The body is not valid JSON."}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(name) > 40 {
			name = name[:40]
		}
		return onboarding.FieldError{Field: name, Message: fmt.Sprintf("Unknown field %q.", name)}
	}
	return onboarding.FieldError{Field: "body", Message: "The body is not valid JSON."}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "list"
	case "struct", "map", "ptr":
		return "JSON object"
	}
	return goKind
}
