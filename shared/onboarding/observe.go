package onboarding

import "time"

// Metric names emitted by the service. The template's alarms refer to them;
// a test keeps the two in step.
const (
	MetricSignupStarted   = "SignupStarted"
	MetricSignupOnboarded = "SignupOnboarded"
	MetricSignupPending   = "SignupPending"
	MetricSignupFailed    = "SignupFailed"
	MetricSignupReplayed  = "SignupReplayed"
	MetricUpstreamLatency = "UpstreamLatency"
	MetricUpstreamError   = "UpstreamError"
	MetricResumeAttempt   = "ResumeAttempt"
	MetricResumeGaveUp    = "ResumeGaveUp"
	MetricStoreError      = "StoreError"
	// MetricResumeSkipped counts the due records a resume run left for a
	// later run, by Reason: not_claimable (another run or a signup holds
	// the lock, or the record changed since the listing), store_error (the
	// claim itself failed), out_of_time (too little of the invocation left
	// to call Plivo and save the outcome).
	MetricResumeSkipped = "ResumeSkipped"
	// MetricMetaConfig counts signups Meta refused because of our own
	// app configuration (Reason meta_config); MetaConfigAlarm watches it.
	MetricMetaConfig = "MetaConfigError"
	// MetricSignupAwaitingCustomer counts signups recorded as waiting for
	// the customer (a number to add or verify), by State.
	MetricSignupAwaitingCustomer = "SignupAwaitingCustomer"
	// MetricWebhookSubscribeFailed counts signups whose WABA our app could
	// not subscribe to: Meta will send none of its webhooks until an
	// operator subscribes it (docs/lifecycle.md).
	MetricWebhookSubscribeFailed = "WebhookSubscribeFailed"
	// MetricWebhookResubscribed counts signups run again for a WABA
	// onboarded at Plivo that subscribed our app to it again: each heals a
	// subscription a removal we never received may have taken.
	MetricWebhookResubscribed = "WebhookResubscribed"
	// MetricBusinessUnproven counts signups recorded with the business_id
	// the page sent because Meta named no owner of the WABA.
	MetricBusinessUnproven = "BusinessUnproven"
)

// Dims are metric dimensions. Values must be low-cardinality: never a WABA
// ID, client_ref or request ID.
type Dims map[string]string

// Metrics records counters and latencies.
type Metrics interface {
	Count(name string, dims Dims)
	Latency(name string, d time.Duration, dims Dims)
	// CountWithLatency counts one under count and records d under latency,
	// both with dims: the pair an operation leaves when it ends, written
	// as one data point rather than two on the hot path.
	CountWithLatency(count, latency string, d time.Duration, dims Dims)
}

// NopMetrics discards everything.
type NopMetrics struct{}

// Count implements Metrics.
func (NopMetrics) Count(string, Dims) {}

// Latency implements Metrics.
func (NopMetrics) Latency(string, time.Duration, Dims) {}

// CountWithLatency implements Metrics.
func (NopMetrics) CountWithLatency(string, string, time.Duration, Dims) {}

// MetricsOrNop returns m, or NopMetrics when m is nil: the services leave
// their Metrics field optional for tests and tools.
func MetricsOrNop(m Metrics) Metrics {
	if m == nil {
		return NopMetrics{}
	}
	return m
}

// NowUTC returns now() in UTC, or the wall clock's time when now is nil: the
// services take an optional clock so tests can fix the time.
func NowUTC(now func() time.Time) time.Time {
	if now != nil {
		return now().UTC()
	}
	return time.Now().UTC()
}
