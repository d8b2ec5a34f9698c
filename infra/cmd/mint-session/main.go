// Command mint-session creates onboarding links and manages the keys that
// sign them.
//
// Ask the sessions route for a link, as a Tech Provider's backend does
// (SigV4-signed, service execute-api). Against the local stack (`make
// run`, default http://localhost:8080) any credentials pass; against a
// deployed API the standard AWS credential chain signs:
//
//	go run ./infra/cmd/mint-session -client-ref customer-1 [-ttl 15m]
//	go run ./infra/cmd/mint-session -api https://abc123.execute-api.eu-west-1.amazonaws.com -client-ref customer-1
//
// Mint offline from a keys secret (its JSON, as in Secrets Manager):
//
//	go run ./infra/cmd/mint-session -keys keys.json -page-url https://onboard.example.com/ -client-ref customer-1
//
// Keys: print a new keys secret, or rotate one read on stdin (the new key
// becomes primary; -keep previous keys stay valid for tokens in flight):
//
//	go run ./infra/cmd/mint-session -new-key 2026-11 > keys.json
//	aws secretsmanager get-secret-value --secret-id <arn> --query SecretString --output text |
//	  go run ./infra/cmd/mint-session -rotate 2026-12 -keep 1 > next.json
//
// Only the link (or with -json the whole answer) goes to stdout; the keys
// JSON is printed only by -new-key and -rotate.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/techprovider/wa-onboarding/infra/makevar"
	"github.com/techprovider/wa-onboarding/infra/stack/localurl"
	"github.com/techprovider/wa-onboarding/shared/apiclient"
	"github.com/techprovider/wa-onboarding/shared/apigw"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
	"github.com/techprovider/wa-onboarding/shared/session"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "mint-session:", err)
		os.Exit(1)
	}
}

type options struct {
	api, clientRef, keys, pageURL, region string
	newKey, rotate                        string
	ttl                                   time.Duration
	keep                                  int
	json                                  bool
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mint-session", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.api, "api", localurl.FromEnv("MINT_SESSION_API"), "base URL of the API serving "+apigw.SessionsPath)
	fs.StringVar(&o.clientRef, "client-ref", "", "the customer the link is for (required to mint)")
	fs.DurationVar(&o.ttl, "ttl", 0, "link lifetime, 1m..24h (default: the function's SESSION_TTL)")
	fs.StringVar(&o.keys, "keys", "", "mint offline with this keys secret JSON file ('-' for stdin) instead of calling the API")
	fs.StringVar(&o.pageURL, "page-url", "", "page the link opens (with -keys)")
	fs.StringVar(&o.region, "region", "", "region to sign for (default: from the API host, else the AWS config)")
	fs.StringVar(&o.newKey, "new-key", "", "print a new keys secret whose only key has this ID")
	fs.StringVar(&o.rotate, "rotate", "", "read a keys secret on stdin, print it with a new primary key of this ID")
	fs.IntVar(&o.keep, "keep", 1, "with -rotate: previous keys to keep")
	fs.BoolVar(&o.json, "json", false, "print the whole answer as JSON, not just the link")
	if err := makevar.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.newKey != "":
		k, err := session.NewKey(o.newKey)
		if err != nil {
			return err
		}
		return printKeys(stdout, session.Keyset{}, k, 0)
	case o.rotate != "":
		raw, err := io.ReadAll(io.LimitReader(stdin, 1<<16))
		if err != nil {
			return err
		}
		ks, err := session.ParseKeyset(string(raw))
		if err != nil {
			return err
		}
		k, err := session.NewKey(o.rotate)
		if err != nil {
			return err
		}
		return printKeys(stdout, ks, k, o.keep)
	case o.clientRef == "":
		return errors.New(makevar.Flag("client-ref") + " is required (or -new-key / -rotate)")
	}
	if o.ttl != 0 && (o.ttl < session.MinTTL || o.ttl > session.MaxTTL || o.ttl%time.Second != 0) {
		return fmt.Errorf("%s must be whole seconds between %s and %s", makevar.Flag("ttl"), session.MinTTL, session.MaxTTL)
	}
	var ans apigw.SessionAnswer
	var err error
	if o.keys != "" {
		ans, err = mintOffline(ctx, o, stdin)
	} else {
		ans, err = request(ctx, o)
	}
	if err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ans)
	}
	_, err = fmt.Fprintln(stdout, ans.URL)
	return err
}

func printKeys(w io.Writer, ks session.Keyset, next session.Key, keep int) error {
	out, err := ks.Rotate(next, keep)
	if err != nil {
		return err
	}
	s, err := out.SecretString()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, s)
	return err
}

func mintOffline(ctx context.Context, o options, stdin io.Reader) (apigw.SessionAnswer, error) {
	if o.pageURL == "" {
		return apigw.SessionAnswer{}, errors.New("-keys needs -page-url")
	}
	page, err := url.Parse(o.pageURL)
	if err != nil || page.Host == "" {
		return apigw.SessionAnswer{}, errors.New("-page-url must be an absolute URL")
	}
	var raw []byte
	if o.keys == "-" {
		raw, err = io.ReadAll(io.LimitReader(stdin, 1<<16))
	} else {
		raw, err = os.ReadFile(o.keys)
	}
	if err != nil {
		return apigw.SessionAnswer{}, err
	}
	ks, err := session.ParseKeyset(string(raw))
	if err != nil {
		return apigw.SessionAnswer{}, err
	}
	iss, err := (&session.Minter{Keys: session.StaticKeys(ks)}).Mint(ctx, o.clientRef, o.ttl)
	if err != nil {
		return apigw.SessionAnswer{}, errors.New(describe(err))
	}
	q := page.Query()
	q.Set(apigw.SessionQueryParam, iss.Token)
	page.RawQuery = q.Encode()
	return apigw.SessionAnswer{URL: page.String(), Token: iss.Token, ExpiresAt: iss.ExpiresAt.Format(time.RFC3339), ClientRef: iss.ClientRef}, nil
}

// describe renders a domain error with its field messages.
func describe(err error) string {
	var de *onboarding.Error
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		return err.Error()
	}
	msgs := make([]string, 0, len(de.Fields))
	for _, f := range de.Fields {
		msgs = append(msgs, f.Message)
	}
	return strings.Join(msgs, " ")
}

// request POSTs to the sessions route with a SigV4 signature.
func request(ctx context.Context, o options) (apigw.SessionAnswer, error) {
	base, err := apiclient.BaseURL(o.api)
	if err != nil {
		return apigw.SessionAnswer{}, fmt.Errorf("-api: %w", err)
	}
	local := apiclient.IsLocal(base.Hostname())
	if base.Scheme == "http" && !local {
		return apigw.SessionAnswer{}, errors.New("-api must be https outside localhost")
	}
	signer, err := apiclient.NewSigner(ctx, base, o.region, false)
	if err != nil {
		return apigw.SessionAnswer{}, err
	}
	body := map[string]any{"client_ref": o.clientRef}
	if o.ttl > 0 {
		body["ttl_seconds"] = int64(o.ttl / time.Second)
	}
	payload, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.String()+apigw.SessionsPath, bytes.NewReader(payload))
	if err != nil {
		return apigw.SessionAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := signer.Sign(ctx, req, payload, time.Now()); err != nil {
		return apigw.SessionAnswer{}, err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		if local {
			return apigw.SessionAnswer{}, fmt.Errorf("%w (is the local stack running? `make run`)", err)
		}
		return apigw.SessionAnswer{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated {
		return apigw.SessionAnswer{}, fmt.Errorf("%s answered %s: %s", req.URL.Path, resp.Status, bytes.TrimSpace(raw))
	}
	var ans apigw.SessionAnswer
	if err := json.Unmarshal(raw, &ans); err != nil || ans.URL == "" {
		return apigw.SessionAnswer{}, fmt.Errorf("unexpected answer: %s", bytes.TrimSpace(raw))
	}
	return ans, nil
}
