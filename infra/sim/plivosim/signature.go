package plivosim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// SignV3 returns the X-Plivo-Signature-V3 value Plivo sends with a callback
// to uri: base64(HMAC-SHA256(authToken, message + "." + nonce)).
//
// The message is the URL without its query, scheme://host[:port]/path, then:
//   - GET: "?" and the URL's query merged with params, as key=value pairs
//     sorted by key (values of one key sorted too) and joined by "&"; no "?"
//     when there are none.
//   - POST: "?" and the URL's own sorted query as above, then, if the query
//     was not empty, "."; then every POST parameter sorted by key as key
//     immediately followed by value, with no separators. With no POST
//     parameters it is the GET form of the URL's own query.
//
// This is what Plivo's SDKs (plivo-python validate_v3_signature, plivo-node
// validateV3Signature, plivo-go ComputeSignatureV3) compute; the tests pin it
// to the vectors published in plivo-go's test suite.
func SignV3(authToken, method, uri string, params url.Values, nonce string) string {
	u, err := url.Parse(uri)
	if err != nil {
		u = &url.URL{Path: uri}
	}
	base := baseURL(u)
	query, _ := url.ParseQuery(u.RawQuery)

	var msg strings.Builder
	msg.WriteString(base)
	if strings.EqualFold(method, "GET") || len(params) == 0 {
		merged := url.Values{}
		for k, vs := range query {
			merged[k] = append(merged[k], vs...)
		}
		if strings.EqualFold(method, "GET") {
			for k, vs := range params {
				merged[k] = append(merged[k], vs...)
			}
		}
		if q := sortedQuery(merged); q != "" {
			msg.WriteString("?" + q)
		}
	} else {
		q := sortedQuery(query)
		msg.WriteString("?" + q)
		if q != "" {
			msg.WriteString(".")
		}
		msg.WriteString(sortedParams(params))
	}
	msg.WriteString("." + nonce)
	return hmacBase64(authToken, msg.String())
}

// SignV2 returns the X-Plivo-Signature-V2 value Plivo sends with a callback
// to uri: base64(HMAC-SHA256(authToken, scheme://host[:port]/path + nonce)).
// The query and the parameters are not signed.
func SignV2(authToken, uri, nonce string) string {
	u, err := url.Parse(uri)
	if err != nil {
		u = &url.URL{Path: uri}
	}
	return hmacBase64(authToken, baseURL(u)+nonce)
}

// baseURL is the URL without query and fragment, as Plivo signs it.
func baseURL(u *url.URL) string {
	if u.Scheme == "" && u.Host == "" {
		return u.Path
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// sortedQuery is "k=v&k=v" sorted by key, then by value within a key.
func sortedQuery(v url.Values) string { return sortedPairs(v, "=", "&") }

// sortedParams is "kvkv" sorted by key, then by value within a key.
func sortedParams(v url.Values) string { return sortedPairs(v, "", "") }

func sortedPairs(v url.Values, kvSep, sep string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(v)) {
		for _, x := range slices.Sorted(slices.Values(v[k])) {
			parts = append(parts, k+kvSep+x)
		}
	}
	return strings.Join(parts, sep)
}

func hmacBase64(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
