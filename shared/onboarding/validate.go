package onboarding

import (
	"fmt"
	"unicode/utf8"
)

// MaxClientRefLength is Plivo's limit on client_ref.
const MaxClientRefLength = 64

// maxIDLength bounds Meta object IDs; real ones have 15 to 17 digits.
const maxIDLength = 20

// ValidateIdentity checks the IDs a caller sent. WABA, phone number and
// business IDs are optional (Meta can supply them) but must be Meta object
// IDs when present.
func ValidateIdentity(id Identity) error {
	var fields []FieldError
	for _, f := range []struct{ name, value string }{
		{"waba_id", id.WABAID},
		{"phone_number_id", id.PhoneNumberID},
		{"business_id", id.BusinessID},
	} {
		if msg := idProblem(f.name, f.value); msg != "" {
			fields = append(fields, FieldError{Field: f.name, Message: msg})
		}
	}
	if msg := clientRefProblem(id.ClientRef); msg != "" {
		fields = append(fields, FieldError{Field: "client_ref", Message: msg})
	}
	if len(fields) > 0 {
		return &Error{Code: CodeInvalidRequest, Message: "The request is invalid.", Fields: fields}
	}
	return nil
}

// ValidWABAID reports whether s looks like a Meta object ID.
func ValidWABAID(s string) bool { return s != "" && idProblem("waba_id", s) == "" }

func idProblem(name, v string) string {
	if v == "" {
		return ""
	}
	if len(v) > maxIDLength {
		return fmt.Sprintf("%s must be at most %d digits.", name, maxIDLength)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return fmt.Sprintf("%s must contain only digits.", name)
		}
	}
	if v[0] == '0' {
		return fmt.Sprintf("%s must not start with 0.", name)
	}
	return ""
}

// clientRefProblem keeps client_ref to the characters an internal customer
// identifier needs, so it is safe in logs, metrics queries and Plivo's API.
func clientRefProblem(v string) string {
	if v == "" {
		return ""
	}
	if !utf8.ValidString(v) {
		return "client_ref must be valid UTF-8."
	}
	if utf8.RuneCountInString(v) > MaxClientRefLength {
		return fmt.Sprintf("client_ref must be at most %d characters.", MaxClientRefLength)
	}
	for _, r := range v {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '-' || r == '_' || r == '.' || r == ':' || r == '@' || r == '/' || r == '+' || r == '='
		if !ok {
			return "client_ref may contain only letters, digits and - _ . : @ / + =."
		}
	}
	return ""
}
