package sam_test

import (
	"slices"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sam"
)

// callbackRoute is the route every Plivo callback comes in by: millions a
// day at a large Tech Provider (docs/sam.md, "Scale and cost").
const callbackRoute = "POST /webhooks/plivo/whatsapp"

// perCallbackFunctions are the functions that run once per Plivo callback.
func perCallbackFunctions(t *testing.T, tpl *sam.Template) []string {
	t.Helper()
	var fns []string
	for _, r := range tpl.Routes() {
		if r.Key() == callbackRoute {
			fns = append(fns, r.Function)
		}
	}
	if len(fns) == 0 {
		t.Fatalf("no function serves %s", callbackRoute)
	}
	return fns
}

// TestPerCallbackFunctionsAreNotSampledByXRay: with Tracing Active, Lambda
// records 1 invocation a second and 5% of the rest, and X-Ray bills $5 per
// million traces. At 2 million callbacks a day that is about 5.6 million
// traces a month, some $28, a fifth again on top of the callbacks' floor
// of $2.20 per million, for traces that show Lambda's own segments only
// (no code here calls the X-Ray SDK). The HTTP API sends no sampled trace
// header, so PassThrough records none.
func TestPerCallbackFunctionsAreNotSampledByXRay(t *testing.T) {
	t.Parallel()
	tpl := load(t)
	global, _ := tpl.RawGlobals("Function")["Tracing"].(string)
	for _, fn := range perCallbackFunctions(t, tpl) {
		mode := global
		if own, ok := props(tpl.Raw(fn))["Tracing"].(string); ok {
			mode = own
		}
		if mode == "Active" {
			t.Errorf("%s: Tracing is Active: X-Ray would sample every second of its callbacks", fn)
		}
	}
}

// TestWABAHistoryReadsNoPerCallbackLogs: the one-waba-history query filters
// on waba_id, sorts ascending and stops at 500 lines. The callbacks function
// logs a line with waba_id for every callback it publishes (400 a day for
// the average of 5,000 customers sharing 2 million), so with its log group
// in the query the 500 lines are a day or two of callbacks and the changes
// of the record after them (a restriction, a disconnect) are not shown;
// and Logs Insights bills every byte of every group the query names (1.5 GB
// a day of callback lines). The callbacks function changes no record.
func TestWABAHistoryReadsNoPerCallbackLogs(t *testing.T) {
	t.Parallel()
	tpl := load(t)
	query := props(tpl.Raw("WABAHistoryQuery"))
	if query == nil {
		t.Fatal("no WABAHistoryQuery")
	}
	groups := asStrings(query["LogGroupNames"])
	if len(groups) == 0 {
		t.Fatal("WABAHistoryQuery names no log group")
	}
	for _, fn := range perCallbackFunctions(t, tpl) {
		f, err := tpl.Function(fn)
		if err != nil {
			t.Fatal(err)
		}
		if f.LogGroup == "" {
			t.Fatalf("%s has no LoggingConfig.LogGroup", fn)
		}
		if slices.Contains(groups, f.LogGroup) {
			t.Errorf("WABAHistoryQuery reads %s, the log group of %s: one line per callback", f.LogGroup, fn)
		}
	}
}
