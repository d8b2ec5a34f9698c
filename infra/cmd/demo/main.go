// Command demo runs the App Review demos from a terminal: it calls the demo
// API (the local stack's, or a deployed stack's with SigV4) and prints the
// request and the answer.
//
//	go run ./infra/cmd/demo message   -waba 109876543210987 -dst +14155550100 -text "Hello"
//	go run ./infra/cmd/demo message   -waba ... -dst ... -template hello_world -lang en_US -params "Ana,#1042"
//	go run ./infra/cmd/demo template  -waba ... -name order_update -category UTILITY -body "Hi {{1}}" -examples Ana
//	go run ./infra/cmd/demo templates -waba ...
//
// -api is the API's base URL: DEMO_API_URL, else the local stack at
// http://localhost:8080. Requests are signed with SigV4 (service
// execute-api), as the IAM-authorized routes require: with the standard AWS
// credential chain, or placeholder credentials for the local stack, whose
// authorizer accepts any signature. -sign=true always uses the chain,
// -sign=false sends the request unsigned.
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
	"time"

	"github.com/techprovider/wa-onboarding/infra/makevar"
	"github.com/techprovider/wa-onboarding/infra/stack/localurl"
	"github.com/techprovider/wa-onboarding/shared/apiclient"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/demo"
	"github.com/techprovider/wa-onboarding/shared/plivo"
)

// EnvAPIURL is the default -api.
const EnvAPIURL = "DEMO_API_URL"

const usage = `usage: go run ./infra/cmd/demo <message|template|templates> [flags]

  message    send a WhatsApp message from an onboarded WABA
  template   create a message template on an onboarded WABA
  templates  list the WABA's templates

Run a command with -h for its flags.
`

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
	}
	os.Exit(code)
}

// call is one request to the demo API.
type call struct {
	method, path string
	body         any
}

// common are the flags every command has.
type common struct {
	api, sign, region string
	raw               bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.api, "api", localurl.FromEnv(EnvAPIURL), "base URL of the API (env "+EnvAPIURL+")")
	fs.StringVar(&c.sign, "sign", "auto", "SigV4-sign the request: auto (AWS credentials, or placeholder ones for an API on this machine), true or false")
	fs.StringVar(&c.region, "region", "", "AWS region for signing; default from the API's host name or the AWS configuration")
	fs.BoolVar(&c.raw, "json", false, "print only the API's JSON answer")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		return 2, nil
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	waba := fs.String("waba", "", "WABA ID onboarded by this system (required)")
	var build func() (call, error)
	switch cmd {
	case "message":
		dst := fs.String("dst", "", "recipient, E.164 (+14155550100)")
		text := fs.String("text", "", "message text (or -template); delivered only inside the 24-hour window after the recipient last wrote to the number")
		tmpl := fs.String("template", "", "approved template name, instead of -text: what starts a conversation (e.g. hello_world)")
		lang := fs.String("lang", "en_US", "template language")
		params := fs.String("params", "", "template body variables, comma separated")
		cbURL := fs.String("callback", "", "Plivo status callback URL (optional)")
		cbMethod := fs.String("method", "", "status callback method, GET or POST (optional)")
		build = func() (call, error) {
			req := demo.MessageRequest{WABAID: *waba, Dst: *dst, Text: *text, URL: *cbURL, Method: *cbMethod}
			if *tmpl != "" {
				req.Template = messageTemplate(*tmpl, *lang, *params)
			}
			return call{http.MethodPost, demo.PathMessages, req}, nil
		}
	case "template":
		name := fs.String("name", "", "template name: a-z, 0-9 and _")
		lang := fs.String("lang", "en_US", "template language")
		category := fs.String("category", "UTILITY", "MARKETING, UTILITY or AUTHENTICATION")
		body := fs.String("body", "", "BODY text, with {{1}}, {{2}}... variables")
		examples := fs.String("examples", "", "example values of the variables, comma separated")
		header := fs.String("header", "", "HEADER text (optional)")
		footer := fs.String("footer", "", "FOOTER text (optional)")
		components := fs.String("components", "", "components as Meta's JSON list, instead of -body/-header/-footer")
		build = func() (call, error) {
			req := demo.TemplateRequest{WABAID: *waba, Name: *name, Language: *lang, Category: *category}
			if *components != "" {
				if err := json.Unmarshal([]byte(*components), &req.Components); err != nil {
					return call{}, fmt.Errorf("-components is not a JSON list: %w", err)
				}
			} else {
				req.Components = templateComponents(*header, *body, *examples, *footer)
			}
			return call{http.MethodPost, demo.PathTemplates, req}, nil
		}
	case "templates":
		build = func() (call, error) {
			return call{method: http.MethodGet, path: demo.PathTemplates + "/" + url.PathEscape(*waba)}, nil
		}
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2, nil
	}
	if err := makevar.Parse(fs, args); err != nil {
		if makevar.FromMake() {
			return 2, err
		}
		return 2, nil // the flag package printed it, with the usage
	}
	if *waba == "" {
		return 2, errors.New(makevar.Flag("waba") + " is required")
	}
	cl, err := build()
	if err != nil {
		return 2, err
	}
	status, err := send(ctx, c, cl, stdout)
	if err != nil {
		return 1, err
	}
	if status < 200 || status > 299 {
		return 1, nil
	}
	return 0, nil
}

// messageTemplate fills a template's body variables, in Plivo's format.
func messageTemplate(name, lang, params string) *plivo.MessageTemplate {
	t := &plivo.MessageTemplate{Name: name, Language: lang}
	if vals := config.SplitList(params); len(vals) > 0 {
		c := plivo.Component{Type: "body"}
		for _, v := range vals {
			c.Parameters = append(c.Parameters, plivo.Parameter{Type: "text", Text: v})
		}
		t.Components = append(t.Components, c)
	}
	return t
}

// templateComponents builds Meta's template components from the flags.
func templateComponents(header, body, examples, footer string) []json.RawMessage {
	var out []json.RawMessage
	add := func(v any) {
		b, _ := json.Marshal(v)
		out = append(out, b)
	}
	if header != "" {
		add(map[string]string{"type": "HEADER", "format": "TEXT", "text": header})
	}
	b := map[string]any{"type": "BODY", "text": body}
	if ex := config.SplitList(examples); len(ex) > 0 {
		b["example"] = map[string]any{"body_text": [][]string{ex}}
	}
	add(b)
	if footer != "" {
		add(map[string]string{"type": "FOOTER", "text": footer})
	}
	return out
}

// send makes the call, signed when needed, and prints it and the answer.
func send(ctx context.Context, c common, cl call, out io.Writer) (int, error) {
	base, err := apiclient.BaseURL(c.api)
	if err != nil {
		return 0, fmt.Errorf("%s%w", makevar.Flag("api"), err)
	}
	var body []byte
	if cl.body != nil {
		if body, err = json.Marshal(cl.body); err != nil {
			return 0, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, base.String()+cl.path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	signed, err := c.maybeSign(ctx, req, body, base)
	if err != nil {
		return 0, err
	}
	if !c.raw {
		how := "unsigned"
		switch signed {
		case "":
		case apiclient.LocalAccessKeyID:
			how = "SigV4-signed for the local stack, which accepts any signature"
		default:
			how = "SigV4-signed as " + signed
		}
		fmt.Fprintf(out, "→ %s %s  [%s]\n", cl.method, req.URL, how)
		if body != nil {
			fmt.Fprintf(out, "%s\n\n", indent(body))
		}
	}
	resp, err := (&http.Client{Timeout: 45 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if c.raw {
		fmt.Fprintf(out, "%s\n", indent(answer))
		return resp.StatusCode, nil
	}
	fmt.Fprintf(out, "← HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		fmt.Fprintf(out, "  (Retry-After: %s s)", ra)
	}
	fmt.Fprintf(out, "\n%s\n", indent(answer))
	if resp.StatusCode == http.StatusForbidden && signed == "" {
		fmt.Fprintln(out, "\nThe deployed demo routes need SigV4: run with -sign=true and AWS credentials allowed execute-api:Invoke on the DemoInvokeArn output.")
	}
	return resp.StatusCode, nil
}

// maybeSign signs req with SigV4 for execute-api, and returns the
// credential's access key ID ("" when not signed). With -sign=auto an API
// on this machine gets the local stack's placeholder credentials.
func (c common) maybeSign(ctx context.Context, req *http.Request, body []byte, base *url.URL) (string, error) {
	if c.sign == "false" {
		return "", nil
	}
	signer, err := apiclient.NewSigner(ctx, base, c.region, c.sign != "auto")
	if err != nil {
		return "", err
	}
	if err := signer.Sign(ctx, req, body, time.Now()); err != nil {
		return "", err
	}
	return signer.Credentials.AccessKeyID, nil
}

func indent(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}
