package callbacks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/techprovider/wa-onboarding/shared/ascii"
)

// Headers Plivo signs callbacks with. The -Ma- headers carry the signature
// made with the main account's auth token, the others the one made with the
// token of the (sub)account that owns the number; either verifies.
const (
	HeaderSignatureV3   = "X-Plivo-Signature-V3"
	HeaderSignatureMaV3 = "X-Plivo-Signature-Ma-V3"
	HeaderNonceV3       = "X-Plivo-Signature-V3-Nonce"
	HeaderSignatureV2   = "X-Plivo-Signature-V2"
	HeaderSignatureMaV2 = "X-Plivo-Signature-Ma-V2"
	HeaderNonceV2       = "X-Plivo-Signature-V2-Nonce"
)

// Scheme names the signature scheme a callback was checked with.
type Scheme string

// Signature schemes. SchemeNone means the callback carried no signature.
const (
	SchemeNone Scheme = "none"
	SchemeV2   Scheme = "v2"
	SchemeV3   Scheme = "v3"
)

// SignatureV3 returns the X-Plivo-Signature-V3 value for a request to
// rawURL: base64(HMAC-SHA256(authToken, message + "." + nonce)), where the
// message is scheme://host[:port]/path followed by
//
//   - GET (or no POST parameters): "?" and the URL's query merged with
//     params, each pair "key=value" sorted by key (values of one key sorted
//     too) and joined by "&"; nothing when there are no pairs;
//   - POST with parameters: "?", the URL's own query as above, "." when that
//     query is not empty, then every parameter as key immediately followed
//     by value, sorted the same way, with no separator at all.
//
// Values are the decoded ones, as a form parser returns them. This is the
// construction of Plivo's SDKs (plivo-python validate_v3_signature,
// plivo-node validateV3Signature); the tests pin it to the vectors the SDKs
// publish.
func SignatureV3(authToken, method, rawURL string, params url.Values, nonce string) string {
	return mac(authToken, signedTextV3(method, rawURL, params)+"."+nonce)
}

// signedTextV3 is what V3 signs before the nonce: the URL and the fields.
func signedTextV3(method, rawURL string, params url.Values) string {
	base, query := splitURL(rawURL)
	var msg strings.Builder
	msg.WriteString(base)
	if strings.EqualFold(method, http.MethodGet) || len(params) == 0 {
		merged := url.Values{}
		if strings.EqualFold(method, http.MethodGet) {
			for k, vs := range params {
				merged[k] = vs
			}
		}
		// The URL's own query wins over a parameter of the same name, as
		// in the SDKs.
		for k, vs := range query {
			merged[k] = vs
		}
		if q := joinSorted(merged, "=", "&"); q != "" {
			msg.WriteString("?" + q)
		}
	} else {
		q := joinSorted(query, "=", "&")
		msg.WriteString("?" + q)
		if q != "" {
			msg.WriteString(".")
		}
		msg.WriteString(joinSorted(params, "", ""))
	}
	return msg.String()
}

// CarriesMessageV3 reports whether the V3-signed text of a callback holds
// a message someone outside Plivo wrote (the names ContentType, Body or
// ProfileName, which only an inbound message carries). V3 signs the
// fields as name and value with nothing between them, so the same signed
// characters can be cut into other fields: text someone wrote into a
// message ("…To+1555…") can be cut into a message to another customer,
// "from" any number, with the signature still valid. Such callbacks spend
// their nonce, bound to their body, so that the original, arriving first,
// refuses every other cut of it. The answer is read from the signed text,
// not from the fields, because every cut must get the same answer: a cut
// can move the names from values into keys, or across the boundary
// between them. A status update, with no written text, costs no write.
func CarriesMessageV3(method, rawURL string, params url.Values) bool {
	text := signedTextV3(method, rawURL, params)
	for _, name := range []string{FieldContentType, FieldBody, fieldProfileName} {
		if strings.Contains(text, name) {
			return true
		}
	}
	return false
}

// SignatureV2 returns the X-Plivo-Signature-V2 value for a request to
// rawURL: base64(HMAC-SHA256(authToken, scheme://host[:port]/path + nonce)).
// Neither the query nor the parameters are signed.
func SignatureV2(authToken, rawURL, nonce string) string {
	base, _ := splitURL(rawURL)
	return mac(authToken, base+nonce)
}

// VerifySignature checks the Plivo signature headers of a callback (read
// through header, whatever their case) against authToken, for a request to
// rawURL with the decoded form params. V3 is used whenever any V3 header is
// present, and then V2 is never consulted: a failed V3 is a failure, not a
// reason to try the weaker scheme. It reports the scheme it used.
func VerifySignature(header func(string) string, authToken, method, rawURL string, params url.Values) (Scheme, bool) {
	if authToken == "" {
		return SchemeNone, false
	}
	sigs, nonce := header(HeaderSignatureV3)+","+header(HeaderSignatureMaV3), header(HeaderNonceV3)
	if strings.Trim(sigs, ", ") != "" || nonce != "" {
		return SchemeV3, isNonce(nonce) && matchesAny(SignatureV3(authToken, method, rawURL, params, nonce), sigs)
	}
	sigs, nonce = header(HeaderSignatureV2)+","+header(HeaderSignatureMaV2), header(HeaderNonceV2)
	if strings.Trim(sigs, ", ") != "" || nonce != "" {
		return SchemeV2, nonce != "" && matchesAny(SignatureV2(authToken, rawURL, nonce), sigs)
	}
	return SchemeNone, false
}

// isNonce accepts the nonces Plivo sends (digits) and other plain tokens,
// never a ".": V3 signs the text, ".", then the nonce, so a nonce header
// holding a "." could take the end of the signed text into it. The
// signature would still match, under a nonce never spent, for a body that
// is the signed text cut short and regrouped.
func isNonce(s string) bool { return ascii.IsToken(s, 1, 128, "-_") }

// matchesAny compares want with each comma-separated signature in header,
// in constant time per candidate. Plivo sends several when the account has
// more than one active token.
func matchesAny(want, header string) bool {
	ok := false
	for c := range strings.SplitSeq(header, ",") {
		if c = strings.TrimSpace(c); c != "" && subtle.ConstantTimeCompare([]byte(c), []byte(want)) == 1 {
			ok = true
		}
	}
	return ok
}

// splitURL returns scheme://host[:port]/path, as Plivo signs it, and the
// decoded query. An unparsable URL signs as the text it is.
func splitURL(rawURL string) (string, url.Values) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL, nil
	}
	query, _ := url.ParseQuery(u.RawQuery)
	if u.Scheme == "" && u.Host == "" {
		return u.EscapedPath(), query
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath(), query
}

// joinSorted writes every key and value of v, sorted by key and then by
// value, as key+kv+value joined by sep.
func joinSorted(v url.Values, kv, sep string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(v)) {
		vals := slices.Clone(v[k])
		slices.Sort(vals)
		for _, x := range vals {
			if b.Len() > 0 {
				b.WriteString(sep)
			}
			b.WriteString(k + kv + x)
		}
	}
	return b.String()
}

func mac(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
