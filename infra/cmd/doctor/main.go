// Command doctor is `make doctor`: the readiness checklist of
// shared/doctor, with a pass/fail line and the next step for each item,
// and a non-zero exit status when anything fails.
//
//	go run ./infra/cmd/doctor            the local stack: the one running at
//	                                 LOCAL_URL (default http://localhost:8080),
//	                                 or one started for the run
//	go run ./infra/cmd/doctor -broken    a local stack broken on purpose, to see
//	                                 what each failure looks like
//	go run ./infra/cmd/doctor -aws       AWS, configured by the environment
//	                                 (TABLE_NAME, META_SECRET_ID, ...; see
//	                                 docs/doctor-and-demo.md)
//	-json                            the report as JSON instead of text
//
// For a deployed stack the simplest is the doctor function, which has the
// stack's settings: aws lambda invoke --function-name <DoctorFunction> out.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/techprovider/wa-onboarding/infra/stack"
	"github.com/techprovider/wa-onboarding/infra/stack/console"
	"github.com/techprovider/wa-onboarding/infra/stack/localurl"
	"github.com/techprovider/wa-onboarding/infra/stack/selfcheck"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/doctor"
	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// EnvLocalURL is where a running local stack is looked for.
const EnvLocalURL = "LOCAL_URL"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "doctor:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	useAWS := fs.Bool("aws", false, "check AWS as the environment configures it, not the local stack")
	broken := fs.Bool("broken", false, "check a local stack broken on purpose: shows each failure")
	localURL := fs.String("url", localurl.FromEnv(EnvLocalURL), "a running local stack to check")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	var rep doctor.Report
	var err error
	switch {
	case *useAWS:
		rep, err = checkAWS(ctx)
	case *broken:
		rep, err = checkStarted(ctx, stderr, breakAll)
	default:
		var found bool
		if rep, found, err = checkRunning(ctx, *localURL); !found && err == nil {
			fmt.Fprintf(stderr, "No local stack answers at %s; starting one for this check (make run keeps one up).\n", *localURL)
			rep, err = checkStarted(ctx, stderr, nil)
		}
	}
	if err != nil {
		return 2, err
	}
	if *asJSON {
		_, err = stdout.Write(rep.JSON())
	} else {
		err = rep.WriteText(stdout)
	}
	return rep.ExitCode(), err
}

// checkAWS runs the doctor against AWS with the settings of the
// environment, as the doctor function would with the stack's.
func checkAWS(ctx context.Context) (doctor.Report, error) {
	cfg := config.LoadDoctor(os.Getenv)
	// The operator's own credentials, found the SDK's standard way
	// (profiles, SSO, ...), unlike a function's.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return doctor.Report{}, fmt.Errorf("AWS configuration: %w", err)
	}
	d := doctor.FromConfig(cfg, clients.Deps{AWS: awsCfg})
	d.Target = fmt.Sprintf("AWS (%s), settings from the environment", awsCfg.Region)
	return d.Run(ctx), nil
}

// checkRunning asks a running local stack's console for its report.
// found is false when nothing (or something else) answers there.
func checkRunning(ctx context.Context, base string) (rep doctor.Report, found bool, err error) {
	probe, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(probe, http.MethodGet, strings.TrimRight(base, "/")+console.DoctorPath, nil)
	if err != nil {
		return rep, false, fmt.Errorf("-url %q: %w", base, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rep, false, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return rep, false, nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rep); err != nil || rep.Target == "" {
		return rep, false, nil
	}
	return rep, true, nil
}

// checkStarted starts a local stack in this process, optionally breaks it,
// and runs the local doctor against it.
func checkStarted(ctx context.Context, stderr io.Writer, breakIt func(*stack.Stack, *doctor.Doctor, *selfcheck.TemplateRules, *selfcheck.TemplateBackups)) (doctor.Report, error) {
	st, err := stack.Start(ctx, stack.Options{
		ResumeEvery: -1, // the checks read the schedule, they do not need it to run
		Log:         slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return doctor.Report{}, err
	}
	defer st.Close()
	o := selfcheck.Options{PageURL: st.URL}
	if breakIt != nil {
		o.Break = func(d *doctor.Doctor, rules *selfcheck.TemplateRules, backups *selfcheck.TemplateBackups) {
			breakIt(st, d, rules, backups)
		}
	}
	rep, err := selfcheck.Run(ctx, o, time.Minute)
	if err == nil && breakIt != nil {
		rep.Target += ", broken on purpose (-broken)"
	}
	return rep, err
}

// breakAll breaks one thing per check, the ways operators really do:
// a rotated Plivo token nobody copied, a Meta app secret from another app,
// a placeholder left in the page settings, an old Graph version, no
// Multi-Partner Solution ID and the retired Embedded Signup v2,
// point-in-time recovery and the schedule switched off, a plain-HTTP page
// and a wildcard CORS origin.
func breakAll(st *stack.Stack, d *doctor.Doctor, rules *selfcheck.TemplateRules, backups *selfcheck.TemplateBackups) {
	if st.Plivo != nil {
		st.Plivo.RotateToken("rotated-in-the-plivo-console")
	}
	if st.Secrets != nil {
		// The broken secret keeps the stack's app ID: only the secret is
		// wrong.
		if app, err := secrets.ParseMetaApp(st.SecretValues[stack.MetaSecretID]); err == nil {
			st.Secrets.Put(d.MetaSecretID, `{"app_id":"`+app.AppID+`","app_secret":"0123456789abcdef0123456789abcdef"}`)
		}
	}
	d.MetaConfigID = "REPLACE_ME"
	d.GraphVersion = "v19.0"
	d.PlivoSolutionID = ""
	d.ESVersion = "v2"
	backups.Disabled = true
	rules.Disabled = true
	d.PageURL = "http://onboarding.example.com"
	d.AllowedOrigins = []string{"*"}
}
