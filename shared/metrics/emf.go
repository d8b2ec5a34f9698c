// Package metrics writes CloudWatch metrics in the Embedded Metric Format:
// one structured JSON line per data point on stdout, turned into metrics by
// CloudWatch Logs with no API call on the request path.
package metrics

import (
	"encoding/json"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// EMF is an onboarding.Metrics that writes EMF lines to W.
type EMF struct {
	W         io.Writer
	Namespace string
	// Function names the emitting function; it is a dimension of every
	// metric beside the aggregate without dimensions, so alarms can watch
	// the total and dashboards can split it.
	Function string
	Now      func() time.Time

	mu sync.Mutex
}

var _ onboarding.Metrics = (*EMF)(nil)

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Count implements onboarding.Metrics.
func (e *EMF) Count(name string, dims onboarding.Dims) {
	e.put(dims, point{name, "Count", 1})
}

// Latency implements onboarding.Metrics.
func (e *EMF) Latency(name string, d time.Duration, dims onboarding.Dims) {
	e.put(dims, milliseconds(name, d))
}

// CountWithLatency implements onboarding.Metrics: one line holding both
// metrics, which EMF allows when they share their dimensions.
func (e *EMF) CountWithLatency(count, latency string, d time.Duration, dims onboarding.Dims) {
	e.put(dims, point{count, "Count", 1}, milliseconds(latency, d))
}

// point is one metric's value in a line.
type point struct {
	name, unit string
	value      float64
}

func milliseconds(name string, d time.Duration) point {
	return point{name, "Milliseconds", float64(d.Microseconds()) / 1000}
}

func (e *EMF) put(dims onboarding.Dims, points ...point) {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	line := map[string]any{}
	defs := make([]metricDef, 0, len(points))
	for _, p := range points {
		line[p.name] = p.value
		defs = append(defs, metricDef{Name: p.name, Unit: p.unit})
	}
	keys := slices.Sorted(maps.Keys(dims))
	sets := [][]string{{}}
	if len(keys) > 0 {
		sets = append(sets, keys)
	}
	if e.Function != "" {
		line["Function"] = e.Function
		sets = append(sets, append([]string{"Function"}, keys...))
	}
	for k, v := range dims {
		line[k] = v
	}
	line["_aws"] = metadata{
		Timestamp: now().UnixMilli(),
		CloudWatchMetrics: []directive{{
			Namespace:  e.Namespace,
			Dimensions: sets,
			Metrics:    defs,
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.W.Write(b)
}
