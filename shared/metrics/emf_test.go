package metrics_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/techprovider/wa-onboarding/shared/metrics"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// ValidateEMF checks every line of out against the EMF schema and the rules
// a schema cannot say: each dimension and metric named in the directive is
// a member of the line, dimensions as strings and metrics as numbers.
func validateEMF(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	f, err := os.Open("testdata/emf.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("emf.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("emf.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(sc.Bytes()))
		if err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		if err := schema.Validate(inst); err != nil {
			t.Fatalf("invalid EMF line %s: %v", sc.Text(), err)
		}
		var line map[string]any
		_ = json.Unmarshal(sc.Bytes(), &line)
		for _, d := range line["_aws"].(map[string]any)["CloudWatchMetrics"].([]any) {
			dir := d.(map[string]any)
			for _, set := range dir["Dimensions"].([]any) {
				for _, key := range set.([]any) {
					if _, ok := line[key.(string)].(string); !ok {
						t.Fatalf("dimension %v is not a string member of %s", key, sc.Text())
					}
				}
			}
			for _, m := range dir["Metrics"].([]any) {
				if _, ok := line[m.(map[string]any)["Name"].(string)].(float64); !ok {
					t.Fatalf("metric %v has no numeric value in %s", m, sc.Text())
				}
			}
		}
		lines = append(lines, line)
	}
	return lines
}

func TestEMFLinesAreValid(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	e := &metrics.EMF{W: &buf, Namespace: "WhatsAppOnboarding", Function: "signup", Now: func() time.Time { return time.UnixMilli(1764000000000) }}
	e.Count(onboarding.MetricSignupStarted, nil)
	e.Count(onboarding.MetricSignupFailed, onboarding.Dims{"Reason": "meta_rejected"})
	e.Latency(onboarding.MetricUpstreamLatency, 1500*time.Microsecond, onboarding.Dims{"Service": "plivo", "Operation": "embedded_signup"})
	lines := validateEMF(t, buf.Bytes())
	if len(lines) != 3 {
		t.Fatalf("lines = %d", len(lines))
	}
	if lines[2][onboarding.MetricUpstreamLatency] != 1.5 {
		t.Fatalf("latency = %v", lines[2][onboarding.MetricUpstreamLatency])
	}
	// The dimensionless aggregate is what alarms watch.
	sets := lines[1]["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"].([]any)
	if len(sets[0].([]any)) != 0 || len(sets) != 3 {
		t.Fatalf("dimension sets = %v", sets)
	}
}

func TestCountWithLatencyIsOneValidLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	e := &metrics.EMF{W: &buf, Namespace: "WhatsAppOnboarding", Function: "callbacks", Now: func() time.Time { return time.UnixMilli(1764000000000) }}
	e.CountWithLatency("CallbackPublished", "CallbackPublishLatency", 2250*time.Microsecond, onboarding.Dims{"Kind": "status"})
	lines := validateEMF(t, buf.Bytes())
	if len(lines) != 1 {
		t.Fatalf("lines = %d, want one for both metrics", len(lines))
	}
	line := lines[0]
	if line["CallbackPublished"] != 1.0 || line["CallbackPublishLatency"] != 2.25 || line["Kind"] != "status" {
		t.Fatalf("line = %v", line)
	}
	defs := line["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Metrics"].([]any)
	units := map[string]string{}
	for _, d := range defs {
		m := d.(map[string]any)
		units[m["Name"].(string)] = m["Unit"].(string)
	}
	if units["CallbackPublished"] != "Count" || units["CallbackPublishLatency"] != "Milliseconds" || len(units) != 2 {
		t.Fatalf("metric definitions = %v", defs)
	}
}
