// Command secretsmanagersim serves the Secrets Manager simulator for the
// local stack. Point the functions at it with
// AWS_ENDPOINT_URL_SECRETS_MANAGER=http://<addr>.
//
// Usage:
//
//	secretsmanagersim -addr :4584 -seed secrets.json
//
// where secrets.json maps secret names to their string values, e.g.
// {"wa/meta-app": "{\"app_id\":\"1\",\"app_secret\":\"s\"}"}.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/secretsmanagersim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4584", "listen address")
	seed := flag.String("seed", "", "JSON file mapping secret names to string values")
	flag.Parse()
	if err := run(*addr, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "secretsmanagersim:", err)
		os.Exit(1)
	}
}

func run(addr, seed string) error {
	sim := secretsmanagersim.New()
	if seed != "" {
		raw, err := os.ReadFile(seed)
		if err != nil {
			return err
		}
		var secrets map[string]string
		if err := json.Unmarshal(raw, &secrets); err != nil {
			return fmt.Errorf("seed %s: %w", seed, err)
		}
		for name, value := range secrets {
			sim.Put(name, value)
		}
		// Names only: the values are secrets, even fake ones.
		slog.Info("seeded secrets", "count", len(secrets))
	}
	slog.Info("secrets manager simulator listening", "addr", addr)
	srv := &http.Server{Addr: addr, Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
}
