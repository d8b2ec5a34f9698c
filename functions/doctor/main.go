// Command doctor is the Lambda an operator invokes to check a deployment:
// `aws lambda invoke --function-name <DoctorFunction> out.json` returns the
// doctor's JSON report. It has no HTTP route.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/techprovider/wa-onboarding/shared/app"
	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/doctor"
)

func main() {
	// Configuration. The doctor reports a bad setting as a failed check, so
	// its loader never fails.
	load := func(g config.Getenv) (config.Doctor, error) { return config.LoadDoctor(g), nil }
	cfg, log, awsCfg, err := app.Load(os.Getenv, load)
	if err != nil {
		// Failing init makes Lambda report the configuration error on
		// every invocation instead of a report that cannot be trusted.
		fmt.Fprintln(os.Stderr, "doctor: init:", err)
		os.Exit(1)
	}

	// Clients and the doctor: AWS reads, and Meta and Plivo clients made
	// from the credentials it reads.
	d := doctor.FromConfig(cfg, clients.Deps{AWS: awsCfg, Logger: log})
	d.Target = fmt.Sprintf("AWS, stage %s, %s", cfg.Stage, awsCfg.Region)

	// Any payload runs the checks, an empty one included: the handler
	// takes none, so the runtime does not decode it. A failing check is
	// the report's content, not an invocation error.
	lambda.Start(func(ctx context.Context) (doctor.Report, error) {
		r := d.Run(ctx)
		level := slog.LevelInfo
		if !r.OK {
			level = slog.LevelWarn
		}
		failed := []string{}
		for _, c := range r.Checks {
			if c.Status == doctor.StatusFail {
				failed = append(failed, c.ID)
			}
		}
		log.Log(ctx, level, "doctor run", "ok", r.OK, "passed", r.Passed, "failed", r.Failed, "warnings", r.Warnings, "failed_checks", failed)
		return r, nil
	})
}
