package sam_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/techprovider/wa-onboarding/infra/testenv"
	"github.com/techprovider/wa-onboarding/shared/callbacks"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/metawebhooks"
	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// emitted are the metric names the code writes as EMF lines, with the
// dimension names each may carry.
var emitted = map[string][]string{
	onboarding.MetricSignupStarted:          nil,
	onboarding.MetricSignupOnboarded:        nil,
	onboarding.MetricSignupPending:          {"Reason"},
	onboarding.MetricSignupFailed:           {"Reason"},
	onboarding.MetricSignupReplayed:         nil,
	onboarding.MetricUpstreamLatency:        {"Service", "Operation"},
	onboarding.MetricUpstreamError:          {"Service", "Operation", "Outcome"},
	onboarding.MetricResumeAttempt:          nil,
	onboarding.MetricResumeGaveUp:           {"Reason"},
	onboarding.MetricStoreError:             {"Operation"},
	onboarding.MetricResumeSkipped:          {"Reason"},
	onboarding.MetricMetaConfig:             nil,
	onboarding.MetricSignupAwaitingCustomer: {"State"},
	onboarding.MetricWebhookSubscribeFailed: nil,
	onboarding.MetricWebhookResubscribed:    nil,
	callbacks.MetricUnrouted:                nil,
	callbacks.MetricPublishFailed:           nil,
	callbacks.MetricPublished:               nil,
	callbacks.MetricDuplicate:               nil,
	callbacks.MetricSignatureInvalid:        nil,
	callbacks.MetricNonceReused:             nil,
	metawebhooks.MetricOutOfTime:            nil,
}

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
// names a metric or dimension no code writes: such an alarm never fires.
func TestAlarmsWatchMetricsTheCodeEmits(t *testing.T) {
	t.Parallel()
	doc := templateNode(t)
	resources := child(doc, "Resources")
	// The functions' METRICS_NAMESPACE, as written: the alarms must name
	// the same expression (one namespace per stack).
	namespace := child(child(child(child(child(doc, "Globals"), "Function"), "Environment"), "Variables"), "METRICS_NAMESPACE")
	if namespace == nil || !strings.HasPrefix(namespace.Value, config.DefaultMetricsNamespace+"/") || !strings.Contains(namespace.Value, "${AWS::StackName}") {
		t.Fatalf("Globals' METRICS_NAMESPACE %v: want %s/${AWS::StackName}, one namespace per stack", namespace, config.DefaultMetricsNamespace)
	}
	// A metric filter of the template emits too: API Gateway's answers
	// reach only the access log.
	emitted := maps.Clone(emitted)
	for i := 0; i+1 < len(resources.Content); i += 2 {
		res := resources.Content[i+1]
		if child(res, "Type").Value != "AWS::Logs::MetricFilter" {
			continue
		}
		for _, tr := range child(child(res, "Properties"), "MetricTransformations").Content {
			if ns := child(tr, "MetricNamespace"); ns.Value == namespace.Value && ns.Tag == namespace.Tag {
				emitted[child(tr, "MetricName").Value] = nil
			}
		}
	}
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
		// An alarm reads one metric, or several through metric math.
		watched := []*yaml.Node{props}
		if math := child(props, "Metrics"); math != nil {
			watched = nil
			for _, q := range math.Content {
				if m := child(child(q, "MetricStat"), "Metric"); m != nil {
					watched = append(watched, m)
				}
			}
			if len(watched) == 0 {
				t.Errorf("%s: its metric math reads no metric", name)
			}
		}
		for _, m := range watched {
			if metric := checkWatched(t, name, m, namespace, emitted); metric != "" {
				alarms[metric] = true
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

// checkWatched checks one metric an alarm reads (a node with Namespace,
// MetricName and Dimensions) and returns it when it is one of ours.
func checkWatched(t *testing.T, alarm string, m, namespace *yaml.Node, emitted map[string][]string) string {
	t.Helper()
	ns, metric := child(m, "Namespace"), child(m, "MetricName")
	if ns == nil || metric == nil {
		t.Errorf("%s: reads a metric without a namespace or name", alarm)
		return ""
	}
	switch {
	case ns.Value == "AWS/SQS" && metric.Value == "ApproximateNumberOfMessagesVisible":
		// A queue's depth: the lifecycle publisher's failure destination.
		return ""
	case ns.Value == "AWS/Lambda":
		if metric.Value != "Errors" && metric.Value != "Throttles" && metric.Value != "IteratorAge" && metric.Value != "Invocations" {
			t.Errorf("%s: unexpected Lambda metric %s", alarm, metric.Value)
		}
		return ""
	case ns.Value != namespace.Value || ns.Tag != namespace.Tag:
		t.Errorf("%s: namespace %s %s is not the one the functions write to (%s %s)", alarm, ns.Tag, ns.Value, namespace.Tag, namespace.Value)
		return ""
	}
	dims, ok := emitted[metric.Value]
	if !ok {
		t.Errorf("%s: the code never emits metric %s", alarm, metric.Value)
		return ""
	}
	if d := child(m, "Dimensions"); d != nil {
		for _, item := range d.Content {
			if dim := child(item, "Name").Value; !slices.Contains(dims, dim) {
				t.Errorf("%s: metric %s is never emitted with dimension %s", alarm, metric.Value, dim)
			}
		}
	}
	return metric.Value
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
