package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

func TestReplaceBetween(t *testing.T) {
	t.Parallel()
	doc := "# Title\n\n" + readmeBegin + "\nold figures\n" + readmeEnd + "\n\nafter\n"
	got, err := replaceBetween(doc, "new figures\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Title\n\n" + readmeBegin + "\nnew figures\n" + readmeEnd + "\n\nafter\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Twice gives the same document: the markers stay.
	if again, _ := replaceBetween(got, "new figures"); again != got {
		t.Errorf("second rewrite changed the document: %q", again)
	}
	for _, bad := range []string{"no markers", readmeEnd + " then " + readmeBegin, readmeBegin + " only"} {
		if _, err := replaceBetween(bad, "x"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestCallbackCost(t *testing.T) {
	t.Parallel()
	const n = 1000
	lv := level{calls: calls{byOp: map[string]int{"PutItem": 50, "Query": 10}, sm: 1}, busChunks: 950, logBytes: n * 1024}
	for i := range n {
		lv.results = append(lv.results, invocation{took: 1500 * time.Microsecond, answer: map[bool]string{true: "published", false: "unrouted"}[i < 950]})
	}
	lines, logs := lv.cost()
	got := map[string]float64{}
	for _, l := range lines {
		got[l.p.item] = l.perMillion()
	}
	// Per million callbacks: 1 request each; 2 ms billed at 128 MB;
	// 0.05 WRU; 0.005 RRU; 0.95 events; 0.001 Secrets Manager calls.
	want := map[string]float64{
		priceHTTPAPIRequest.item:   1.00,
		priceLambdaRequest.item:    0.20,
		priceLambdaArmGBs.item:     0.002 * 0.125 * 0.0000133334 * 1e6,
		priceDynamoWRU.item:        0.05 * 0.625,
		priceDynamoRRU.item:        0.005 * 0.125,
		priceEventBridgeEvent.item: 0.95,
		priceSecretsCall.item:      0.001 * 5,
	}
	for item, w := range want {
		if math.Abs(got[item]-w) > 1e-9 {
			t.Errorf("%s: $%.6f per million, want $%.6f", item, got[item], w)
		}
	}
	if math.Abs(floorPerMillion()-2.20) > 1e-9 {
		t.Errorf("floor $%.4f, want $2.20", floorPerMillion())
	}
	if w := 1024.0 / (1 << 30) * 0.50 * 1e6; math.Abs(logs.perMillion()-w) > 1e-9 {
		t.Errorf("logs $%.6f, want $%.6f", logs.perMillion(), w)
	}
}

func TestCallbackMix(t *testing.T) {
	t.Parallel()
	m := &callbackMix{numbers: []string{"15550100001", "15550100002"}, unknown: []string{"15550199999"}}
	count := map[string]int{}
	var prevStatus string
	for range 2 * len(mixPattern) {
		class, v := m.next()
		count[class]++
		switch class {
		case classStatus:
			prevStatus = v.Encode()
			if v.Get("Status") == "" || !strings.HasPrefix(v.Get("From"), "+1555010000") {
				t.Errorf("status %v", v)
			}
		case classRedeliver:
			if v.Encode() != prevStatus {
				t.Errorf("redelivery %v is not the previous status %s", v, prevStatus)
			}
		case classUnknown:
			if v.Get("To") != "+15550199999" {
				t.Errorf("unknown-number message to %s", v.Get("To"))
			}
		case classInbound:
			if !strings.HasPrefix(v.Get("To"), "+1555010000") {
				t.Errorf("inbound to %s", v.Get("To"))
			}
		}
	}
	want := map[string]int{classStatus: 30, classInbound: 6, classRedeliver: 2, classUnknown: 2}
	for c, w := range want {
		if count[c] != w {
			t.Errorf("%s: %d of 40, want %d", c, count[c], w)
		}
	}
}

func TestSummaryVerdicts(t *testing.T) {
	t.Parallel()
	rows := []summaryRow{
		{what: "a", ok: true},
		{what: "b", cause: "by design: a reason"},
		{what: "c", cause: "work to do"},
		{what: "d", got: "not measured", cause: "work to do"},
	}
	md := summary(rows).markdown()
	if !strings.Contains(md, "4 targets: 1 met, 1 missed by design, 1 missed with work to do, 1 not measured.") {
		t.Errorf("summary line: %s", md)
	}
	for _, want := range []string{"| a |  |  | met |  |", "missed, by design | by design: a reason |", "| **missed** | work to do |"} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
}

// make bench rewrites the README's figures between its markers, so the
// README and the report of one run cannot disagree.
func TestReadmeHasBenchMarkers(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replaceBetween(string(raw), "x"); err != nil {
		t.Fatal(err)
	}
}
