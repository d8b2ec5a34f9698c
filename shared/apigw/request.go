package apigw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// MaxBodyBytes bounds request bodies; a signup body is a few hundred bytes.
const MaxBodyBytes = 16 << 10

// Header returns a request header by name, whatever its case. HTTP API v2
// lowercases header names, but hand-written events may not.
func Header(req Request, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// headerOnce is Header for a header that carries one value. Payload format
// 2.0 joins a header sent more than once with commas, so a value that
// only repeats itself ("4711,4711") is read as that value; values that
// differ are returned as they came, for the caller to refuse.
func headerOnce(req Request, name string) string {
	v := Header(req, name)
	first, rest, joined := strings.Cut(v, ",")
	if !joined {
		return v
	}
	first = strings.TrimSpace(first)
	for p := range strings.SplitSeq(rest, ",") {
		if strings.TrimSpace(p) != first {
			return v
		}
	}
	return first
}

// Method returns the request's HTTP method.
func Method(req Request) string { return strings.ToUpper(req.RequestContext.HTTP.Method) }

// readBody returns the request body, decoded when API Gateway base64-encoded it,
// and refuses bodies over MaxBodyBytes.
func readBody(req Request) ([]byte, error) { return readBodyUpTo(req, MaxBodyBytes) }

// readBodyUpTo is readBody with another limit, for routes whose bodies are larger
// than a signup's.
func readBodyUpTo(req Request, limit int) ([]byte, error) {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(req.Body)) > limit+3 {
			return nil, tooLarge(limit)
		}
		decoded, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, invalid("body", "The body is not valid base64.")
		}
		body = decoded
	}
	if len(body) > limit {
		return nil, tooLarge(limit)
	}
	return body, nil
}

func tooLarge(limit int) error {
	return onboarding.Errorf(onboarding.CodePayloadTooLarge, "The request body is larger than %d bytes.", limit)
}

func invalid(field, msg string) error {
	return invalidField(onboarding.FieldError{Field: field, Message: msg})
}

// requireJSON checks the method and content type of a JSON request.
func requireJSON(req Request, method string) error {
	if Method(req) != method {
		return onboarding.Errorf(onboarding.CodeMethodNotAllowed, "Use %s for this resource.", method)
	}
	if mt, ok := mediaType(req); !ok || mt != "application/json" {
		return onboarding.Errorf(onboarding.CodeUnsupportedMedia, "Send the body as application/json.")
	}
	return nil
}

// mediaType returns the media type of the request's Content-Type, false
// when it has none or an unreadable one. Payload format 2.0 joins a
// repeated header's values with commas, so a Content-Type sent twice
// arrives as "application/json,application/json": it names one media
// type when every value names the same one.
func mediaType(req Request) (string, bool) {
	ct := Header(req, "Content-Type")
	if ct == "" {
		return "", false
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt, true
	}
	var mt string
	for v := range strings.SplitSeq(ct, ",") {
		m, _, err := mime.ParseMediaType(v)
		if err != nil || mt != "" && m != mt {
			return "", false
		}
		mt = m
	}
	return mt, true
}

// signupFields are the body fields a signup may carry.
var signupFields = map[string]flatType{
	"code": flatString, "waba_id": flatString, "phone_number_id": flatString, "business_id": flatString,
	"client_ref": flatString, "session": flatString, "finish": flatString,
}

// FinishWABAOnly is the "finish" value of a signup whose Meta flow ended
// with FINISH_ONLY_WABA: a WABA shared without a phone number. The other
// finishes send no "finish".
const FinishWABAOnly = "waba_only"

// flatType is the JSON type decodeFlatObject accepts for a field.
type flatType uint8

// The field types of a flat object.
const (
	flatString flatType = iota + 1
	flatNumber          // returned as its JSON literal, for the caller to parse
)

// decodeFlatObject reads a JSON object whose values are all strings or
// numbers (or null, read as ""), each field of the type fields gives it,
// rejecting unknown keys, duplicate keys, nesting and trailing data.
// Reading tokens rather than unmarshalling is what lets it see duplicates
// and stop at the first nested value. Every flat body (signup, sessions)
// goes through it, so they refuse the same things with the same messages.
func decodeFlatObject(body []byte, fields map[string]flatType) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, invalid("body", "The body must be a JSON object.")
	}
	out := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid("body", "The body is not valid JSON.")
		}
		key, _ := tok.(string)
		want := fields[key]
		if want == 0 {
			return nil, invalid(safeField(key), fmt.Sprintf("Unknown field %q.", safeField(key)))
		}
		if _, dup := out[key]; dup {
			return nil, invalid(key, "The field appears more than once.")
		}
		val, err := dec.Token()
		if err != nil {
			return nil, invalid("body", "The body is not valid JSON.")
		}
		switch v := val.(type) {
		case string:
			if want != flatString {
				return nil, invalid(key, key+" must be a number.")
			}
			out[key] = v
		case json.Number:
			if want != flatNumber {
				return nil, invalid(key, key+" must be a string.")
			}
			out[key] = v.String()
		case nil:
			out[key] = ""
		default:
			if want == flatNumber {
				return nil, invalid(key, key+" must be a number.")
			}
			return nil, invalid(key, key+" must be a string.")
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, invalid("body", "The body is not valid JSON.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalid("body", "The body must hold one JSON object.")
	}
	return out, nil
}

// safeField shortens and cleans an unknown key before it is echoed back.
func safeField(key string) string {
	var b strings.Builder
	for _, r := range key {
		if b.Len() >= 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

// SignupInput is a parsed signup request body.
type SignupInput struct {
	Request onboarding.SignupRequest
	// Session is the onboarding session token, when the page carries one.
	Session string
}

// ParseSignup turns a payload v2 event into a signup request, or a 4xx
// domain error that says what is wrong.
func ParseSignup(req Request) (SignupInput, error) {
	if err := requireJSON(req, "POST"); err != nil {
		return SignupInput{}, err
	}
	body, err := readBody(req)
	if err != nil {
		return SignupInput{}, err
	}
	f, err := decodeFlatObject(body, signupFields)
	if err != nil {
		return SignupInput{}, err
	}
	in := SignupInput{
		Request: onboarding.SignupRequest{
			Code:      strings.TrimSpace(f["code"]),
			RequestID: req.RequestContext.RequestID,
			Identity: onboarding.Identity{
				WABAID:        strings.TrimSpace(f["waba_id"]),
				PhoneNumberID: strings.TrimSpace(f["phone_number_id"]),
				BusinessID:    strings.TrimSpace(f["business_id"]),
				ClientRef:     f["client_ref"],
			},
		},
		Session: f["session"],
	}
	switch f["finish"] {
	case "":
	case FinishWABAOnly:
		if in.Request.Identity.PhoneNumberID != "" {
			return SignupInput{}, invalid("finish", "finish waba_only names no phone number; drop phone_number_id.")
		}
		in.Request.WABAOnly = true
	default:
		return SignupInput{}, invalid("finish", "finish must be waba_only or absent.")
	}
	if in.Request.Code == "" {
		return SignupInput{}, invalid("code", "code is required.")
	}
	if len(in.Request.Code) > 2048 {
		return SignupInput{}, invalid("code", "code is too long.")
	}
	if err := onboarding.ValidateIdentity(in.Request.Identity); err != nil {
		return SignupInput{}, err
	}
	return in, nil
}

// decodeJSON reads a POSTed JSON request body into v: application/json,
// one object, no unknown fields. A problem is answered as a field error
// that names the field, never echoing the body.
func decodeJSON(req Request, v any) error {
	if err := requireJSON(req, http.MethodPost); err != nil {
		return err
	}
	body, err := readBody(req)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidField(bodyProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("body", "The body must hold one JSON object.")
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

func invalidField(f onboarding.FieldError) error {
	return &onboarding.Error{Code: onboarding.CodeInvalidRequest, Message: "The request is invalid.", Fields: []onboarding.FieldError{f}}
}
