package sam_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// TestAlarmsWatchMetricsTheCodeEmits fails when an alarm on our namespace
// reads a metric the code never writes under exactly the alarm's dimension
// set: CloudWatch matches an alarm to a metric by namespace, name and the
// whole set of dimensions, so an alarm naming fewer or other dimensions
// than a data point carries watches a metric that never gets one, and
// never fires.
func TestAlarmsWatchMetricsTheCodeEmits(t *testing.T) {
	t.Parallel()
	doc := templateNode(t)
	resources := child(doc, "Resources")
	namespace := metricsNamespace(t, doc)
	emitted := emittedMetrics(t, resources, namespace)
	alarms := map[string]bool{}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		name, res := resources.Content[i].Value, resources.Content[i+1]
		if child(res, "Type").Value != "AWS::CloudWatch::Alarm" {
			continue
		}
		props := child(res, "Properties")
		if child(props, "AlarmActions") == nil {
			t.Errorf("%s: no alarm actions", name)
		}
		// CloudWatch reads only the data points published with an
		// alarm's Unit, if it names one: a unit other than the emitted
		// one leaves the alarm in INSUFFICIENT_DATA for good.
		if child(props, "Unit") != nil {
			t.Errorf("%s: names a Unit; leave it out", name)
		}
		// An alarm reads one metric, or several through metric math.
		watched := []*yaml.Node{props}
		if math := child(props, "Metrics"); math != nil {
			watched = nil
			for _, q := range math.Content {
				if child(child(q, "MetricStat"), "Unit") != nil {
					t.Errorf("%s: a MetricStat names a Unit; leave it out", name)
				}
				if m := child(child(q, "MetricStat"), "Metric"); m != nil {
					watched = append(watched, m)
				}
			}
			if len(watched) == 0 {
				t.Errorf("%s: its metric math reads no metric", name)
			}
		}
		for _, m := range watched {
			ns, metric := child(m, "Namespace"), child(m, "MetricName")
			if ns == nil || metric == nil {
				t.Errorf("%s: reads a metric without a namespace or name", name)
				continue
			}
			dims := map[string]string{}
			if d := child(m, "Dimensions"); d != nil {
				for _, item := range d.Content {
					dims[child(item, "Name").Value] = child(item, "Value").Value
				}
			}
			if checkWatched(t, name, ns, metric.Value, dims, namespace, emitted) {
				alarms[metric.Value] = true
			}
		}
	}
	for _, must := range []string{onboarding.MetricResumeGaveUp, onboarding.MetricSignupFailed, onboarding.MetricUpstreamError, callbacks.MetricUnrouted,
		callbacks.MetricSignatureInvalid, "CallbackThrottled", "SignupThrottled"} {
		if !alarms[must] {
			t.Errorf("no alarm watches %s", must)
		}
	}
}

// metricsNamespace is the functions' METRICS_NAMESPACE, as written: the
// alarms and the dashboard must name the same expression (one namespace
// per stack).
func metricsNamespace(t *testing.T, doc *yaml.Node) *yaml.Node {
	t.Helper()
	namespace := child(child(child(child(child(doc, "Globals"), "Function"), "Environment"), "Variables"), "METRICS_NAMESPACE")
	if namespace == nil || !strings.HasPrefix(namespace.Value, config.DefaultMetricsNamespace+"/") || !strings.Contains(namespace.Value, "${AWS::StackName}") {
		t.Fatalf("Globals' METRICS_NAMESPACE %v: want %s/${AWS::StackName}, one namespace per stack", namespace, config.DefaultMetricsNamespace)
	}
	return namespace
}

// emittedMetrics is what reaches our namespace: the code's EMF lines, and
// the template's metric filters, which emit what only the access log sees
// (API Gateway's own answers).
func emittedMetrics(t *testing.T, resources, namespace *yaml.Node) map[string]*emission {
	t.Helper()
	code := codeScan(t)
	// The scan must see the calls it is trusted with.
	if got := code.metrics[onboarding.MetricUpstreamError]; got == nil || !slices.ContainsFunc(got.keySets, func(k []string) bool {
		return slices.Equal(k, []string{"Operation", "Outcome", "Service"})
	}) {
		t.Fatalf("the code scan missed %s{Operation,Outcome,Service}: %+v", onboarding.MetricUpstreamError, got)
	}
	emitted := maps.Clone(code.metrics)
	for i := 0; i+1 < len(resources.Content); i += 2 {
		res := resources.Content[i+1]
		if child(res, "Type").Value != "AWS::Logs::MetricFilter" {
			continue
		}
		for _, tr := range child(child(res, "Properties"), "MetricTransformations").Content {
			if ns := child(tr, "MetricNamespace"); ns.Value != namespace.Value || ns.Tag != namespace.Tag {
				continue
			}
			keys := []string{}
			if d := child(tr, "Dimensions"); d != nil {
				for _, item := range d.Content {
					keys = append(keys, child(item, "Key").Value)
				}
				slices.Sort(keys)
			}
			// A filter's metric carries exactly its Dimensions, not the
			// EMF writer's extra sets.
			emitted[child(tr, "MetricName").Value] = &emission{keySets: [][]string{keys}, filter: true}
		}
	}
	return emitted
}

// checkWatched checks one metric an alarm or a graph reads and reports
// whether it is one of ours.
func checkWatched(t *testing.T, who string, ns *yaml.Node, metric string, dims map[string]string, namespace *yaml.Node, emitted map[string]*emission) bool {
	t.Helper()
	switch {
	case ns.Value == "AWS/SQS" && metric == "ApproximateNumberOfMessagesVisible":
		// A queue's depth: the lifecycle publisher's failure destination.
		return false
	case ns.Value == "AWS/Lambda":
		if metric != "Errors" && metric != "Throttles" && metric != "IteratorAge" && metric != "Invocations" {
			t.Errorf("%s: unexpected Lambda metric %s", who, metric)
		}
		if _, ok := dims["FunctionName"]; !ok || len(dims) != 1 {
			t.Errorf("%s: Lambda's %s read with dimensions %v, not FunctionName alone", who, metric, dims)
		}
		return false
	case ns.Value != namespace.Value || ns.Tag != namespace.Tag:
		t.Errorf("%s: namespace %s %s is not the one the functions write to (%s %s)", who, ns.Tag, ns.Value, namespace.Tag, namespace.Value)
		return false
	}
	e, ok := emitted[metric]
	if !ok {
		t.Errorf("%s: the code never emits metric %s", who, metric)
		return false
	}
	set := slices.Sorted(maps.Keys(dims))
	sets := e.emittedSets()
	if !slices.ContainsFunc(sets, func(s []string) bool { return slices.Equal(s, set) }) {
		t.Errorf("%s: reads %s with dimensions %v, but each data point carries exactly one of %v: it would never get one", who, metric, set, sets)
		return true
	}
	code := codeScan(t)
	for k, v := range dims {
		if k != "Function" && !e.filter && !code.canWrite(e, k, v) {
			t.Errorf("%s: reads %s with %s=%s, a value the code never writes", who, metric, k, v)
		}
	}
	return true
}

// TestLambdaPassesTheMetricLines: Lambda counts a JSON line without a
// "level", as every EMF line is, as INFO, and drops it below the
// function's ApplicationLogLevel. The alarms need those lines at every
// LogLevel, so Lambda must not filter: the functions do, by LOG_LEVEL.
func TestLambdaPassesTheMetricLines(t *testing.T) {
	t.Parallel()
	doc := templateNode(t)
	logging := child(child(child(doc, "Globals"), "Function"), "LoggingConfig")
	if level := child(logging, "ApplicationLogLevel"); level == nil || level.Tag == "!Ref" || (level.Value != "TRACE" && level.Value != "DEBUG") {
		t.Errorf("Globals' ApplicationLogLevel %v: want TRACE (or DEBUG), so that Lambda drops no metric line", level)
	}
	resources := child(doc, "Resources")
	for i := 0; i+1 < len(resources.Content); i += 2 {
		props := child(resources.Content[i+1], "Properties")
		if level := child(child(props, "LoggingConfig"), "ApplicationLogLevel"); level != nil {
			t.Errorf("%s sets its own ApplicationLogLevel (%s %s)", resources.Content[i].Value, level.Tag, level.Value)
		}
	}
}

// templateNode is template.yaml's top-level mapping, as written: tags
// such as !Sub and !Ref kept.
func templateNode(t *testing.T) *yaml.Node {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// TestEveryAlarmIsInTheRunbook: whoever an alarm pages finds it in the
// README's runbook, with what it means and what to do.
func TestEveryAlarmIsInTheRunbook(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	resources := child(templateNode(t), "Resources")
	for i := 0; i+1 < len(resources.Content); i += 2 {
		name := resources.Content[i].Value
		if child(resources.Content[i+1], "Type").Value == "AWS::CloudWatch::Alarm" && !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("%s is not in the README's runbook", name)
		}
	}
}

// TestStreamRetriesEndByAgeOnly: a stream record the lifecycle function
// could not publish is retried until MaximumRecordAgeInSeconds, however many
// times: a count of quick retries runs out within minutes of an EventBridge
// outage and leaves every event of it to be republished by hand. The age
// must stay under the stream's 24 h, so that what reaches the failure queue
// can still be read back from the stream.
func TestStreamRetriesEndByAgeOnly(t *testing.T) {
	t.Parallel()
	events := child(child(child(child(templateNode(t), "Resources"), "LifecycleFunction"), "Properties"), "Events")
	streams := 0
	for i := 1; events != nil && i < len(events.Content); i += 2 {
		if child(events.Content[i], "Type").Value != "DynamoDB" {
			continue
		}
		streams++
		props := child(events.Content[i], "Properties")
		if got := child(props, "MaximumRetryAttempts"); got == nil || got.Value != "-1" {
			t.Errorf("%s: MaximumRetryAttempts is not -1: records would stop being retried before the age limit", events.Content[i-1].Value)
		}
		age := child(props, "MaximumRecordAgeInSeconds")
		if age == nil {
			t.Fatalf("%s: no MaximumRecordAgeInSeconds: records would be retried until the stream drops them, unreported", events.Content[i-1].Value)
		}
		if secs, err := strconv.Atoi(age.Value); err != nil || secs <= 0 || secs >= 24*3600 || child(props, "DestinationConfig") == nil {
			t.Errorf("%s: MaximumRecordAgeInSeconds %s, want under the stream's 24 h, with an on-failure destination", events.Content[i-1].Value, age.Value)
		}
	}
	if streams != 1 {
		t.Errorf("LifecycleFunction has %d DynamoDB stream events, want 1", streams)
	}
}

// TestDashboardGraphsMetricsTheCodeEmits holds the dashboard's metric
// graphs to the same rule as the alarms: a line whose namespace, name or
// dimension set no data point carries is an empty graph an operator reads
// as "nothing happened".
func TestDashboardGraphsMetricsTheCodeEmits(t *testing.T) {
	t.Parallel()
	doc := templateNode(t)
	resources := child(doc, "Resources")
	namespace := metricsNamespace(t, doc)
	emitted := emittedMetrics(t, resources, namespace)
	graphs := 0
	for i := 0; i+1 < len(resources.Content); i += 2 {
		name, res := resources.Content[i].Value, resources.Content[i+1]
		if child(res, "Type").Value != "AWS::CloudWatch::Dashboard" {
			continue
		}
		body := child(child(res, "Properties"), "DashboardBody")
		if body == nil || body.Tag != "!Sub" {
			t.Fatalf("%s: DashboardBody is not a !Sub string", name)
		}
		// Each ${...} stands for a string, kept recognisable (<...>) to
		// compare the namespace with METRICS_NAMESPACE as written.
		subs := regexp.MustCompile(`\$\{[^}]+\}`)
		var dash struct {
			Widgets []struct {
				Type       string `json:"type"`
				Properties struct {
					Metrics [][]any `json:"metrics"`
				} `json:"properties"`
			} `json:"widgets"`
		}
		if err := json.Unmarshal([]byte(subs.ReplaceAllStringFunc(body.Value, func(s string) string { return "<" + s[2:len(s)-1] + ">" })), &dash); err != nil {
			t.Fatalf("%s: DashboardBody is not JSON: %v", name, err)
		}
		for w, widget := range dash.Widgets {
			if widget.Type != "metric" {
				continue
			}
			var prev []string
			for _, raw := range widget.Properties.Metrics {
				line, err := expandMetric(raw, prev)
				if err != nil {
					t.Errorf("%s widget %d: %v", name, w, err)
					continue
				}
				prev = line
				if len(line) < 2 || len(line)%2 != 0 {
					t.Errorf("%s widget %d: metric %v is not namespace, name and name/value pairs", name, w, line)
					continue
				}
				dims := map[string]string{}
				for j := 2; j+1 < len(line); j += 2 {
					dims[line[j]] = line[j+1]
				}
				ns := &yaml.Node{Tag: "!!str", Value: line[0]}
				if strings.Contains(line[0], "<") {
					ns.Tag, ns.Value = "!Sub", strings.NewReplacer("<", "${", ">", "}").Replace(line[0])
				}
				checkWatched(t, name, ns, line[1], dims, namespace, emitted)
				graphs++
			}
		}
	}
	if graphs == 0 {
		t.Fatal("no dashboard graph read")
	}
}

// expandMetric writes out one entry of a metric widget's "metrics": "."
// repeats the previous entry's item at that position, and a leading "..."
// repeats its items up to where this entry's remaining ones, aligned on its
// end, begin. A trailing options object is dropped.
func expandMetric(raw []any, prev []string) ([]string, error) {
	var items []string
	for _, v := range raw {
		s, ok := v.(string)
		if !ok {
			if _, isOptions := v.(map[string]any); isOptions {
				continue
			}
			return nil, fmt.Errorf("metric %v holds %v", raw, v)
		}
		items = append(items, s)
	}
	if len(items) > 0 && items[0] == "..." {
		rest := items[1:]
		if len(rest) > len(prev) {
			return nil, fmt.Errorf("metric %v: \"...\" with no previous metric that long", raw)
		}
		items = append(slices.Clone(prev[:len(prev)-len(rest)]), rest...)
	}
	for j, s := range items {
		if s == "." {
			if j >= len(prev) {
				return nil, fmt.Errorf("metric %v: \".\" at %d with no previous item there", raw, j)
			}
			items[j] = prev[j]
		}
	}
	return items, nil
}

// TestAccessLogFiltersMatchRoutesAndFormat: a metric filter on the API's
// access log counts only lines its pattern matches, and a pattern that
// names a route no event declares, or a key the access log format does not
// write, matches none: its alarm never fires. A string the format writes
// in quotes is compared as a quoted string.
func TestAccessLogFiltersMatchRoutesAndFormat(t *testing.T) {
	t.Parallel()
	resources := child(templateNode(t), "Resources")
	routes := map[string]bool{}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		events := child(child(resources.Content[i+1], "Properties"), "Events")
		for j := 1; events != nil && j < len(events.Content); j += 2 {
			if ev := events.Content[j]; child(ev, "Type").Value == "HttpApi" {
				p := child(ev, "Properties")
				routes[child(p, "Method").Value+" "+child(p, "Path").Value] = true
			}
		}
	}
	format := child(child(child(child(resources, "HttpApi"), "Properties"), "AccessLogSettings"), "Format").Value
	var written map[string]any
	if err := json.Unmarshal([]byte(format), &written); err != nil {
		t.Fatalf("the access log format is not JSON: %v", err)
	}
	term := regexp.MustCompile(`\$\.(\w+)\s*(=|!=)\s*("[^"]*"|[^\s)]+)`)
	filters := 0
	for i := 0; i+1 < len(resources.Content); i += 2 {
		name, res := resources.Content[i].Value, resources.Content[i+1]
		props := child(res, "Properties")
		if child(res, "Type").Value != "AWS::Logs::MetricFilter" || child(props, "LogGroupName").Value != "ApiAccessLogGroup" {
			continue
		}
		filters++
		terms := term.FindAllStringSubmatch(child(props, "FilterPattern").Value, -1)
		if len(terms) == 0 {
			t.Errorf("%s: no $.key comparison in its pattern", name)
		}
		for _, m := range terms {
			key, value := m[1], m[3]
			w, ok := written[key]
			if !ok {
				t.Errorf("%s: the access log format writes no %q", name, key)
				continue
			}
			if _, isString := w.(string); isString != strings.HasPrefix(value, `"`) {
				t.Errorf("%s: compares %s with %s, but the format writes it as %T", name, key, value, w)
			}
			if key == "routeKey" && !routes[strings.Trim(value, `"`)] {
				t.Errorf("%s: route %s is no HttpApi event's", name, value)
			}
		}
	}
	if filters == 0 {
		t.Fatal("no metric filter on the access log")
	}
}

// TestEachFunctionLogsToItsOwnGroup: a function without LoggingConfig's
// LogGroup writes to /aws/lambda/<function name>, which Lambda creates
// without retention and no saved query reads; two functions in one group
// would mix their lines in every query over it.
func TestEachFunctionLogsToItsOwnGroup(t *testing.T) {
	t.Parallel()
	resources := child(templateNode(t), "Resources")
	owner := map[string]string{}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		name, res := resources.Content[i].Value, resources.Content[i+1]
		if child(res, "Type").Value != "AWS::Serverless::Function" {
			continue
		}
		group := child(child(child(res, "Properties"), "LoggingConfig"), "LogGroup")
		if group == nil || group.Tag != "!Ref" {
			t.Errorf("%s: LoggingConfig.LogGroup is not a !Ref to a log group of the stack", name)
			continue
		}
		lg := child(resources, group.Value)
		if child(lg, "Type").Value != "AWS::Logs::LogGroup" {
			t.Errorf("%s: logs to %s, not an AWS::Logs::LogGroup", name, group.Value)
			continue
		}
		if r := child(child(lg, "Properties"), "RetentionInDays"); r == nil || r.Tag != "!Ref" || r.Value != "LogRetentionDays" {
			t.Errorf("%s: %s keeps its logs without the stack's LogRetentionDays", name, group.Value)
		}
		if other, ok := owner[group.Value]; ok {
			t.Errorf("%s and %s both log to %s", other, name, group.Value)
		}
		owner[group.Value] = name
	}
	if len(owner) == 0 {
		t.Fatal("no function read")
	}
}
