package main

import (
	"fmt"
	"runtime"
	"strings"
)

// summaryRow is one target: what was measured against it, and for a miss
// its cause, which starts with "by design" (and says why) or "work to do".
type summaryRow struct {
	what, target, got string
	ok                bool
	cause             string
}

func (s summaryRow) verdict() string {
	switch {
	case s.ok:
		return "met"
	case s.got == "not measured":
		return "not measured"
	case strings.HasPrefix(s.cause, "by design"):
		return "missed, by design"
	}
	return "**missed**"
}

// summaryMarkdown opens the report: the count of targets met and missed,
// then one row per target.
func summaryMarkdown(rows []summaryRow) string {
	var b strings.Builder
	met, design, work, unmeasured := 0, 0, 0, 0
	for _, r := range rows {
		switch v := r.verdict(); {
		case v == "met":
			met++
		case v == "not measured":
			unmeasured++
		case strings.HasPrefix(v, "missed, by design"):
			design++
		default:
			work++
		}
	}
	fmt.Fprintf(&b, "## Summary\n\n%d targets: %d met, %d missed by design, %d missed with work to do, %d not measured.\n\n", len(rows), met, design, work, unmeasured)
	b.WriteString(summaryTable(rows))
	return b.String()
}

func summaryTable(rows []summaryRow) string {
	var b strings.Builder
	b.WriteString("| target | measured | goal | verdict | why, when missed |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		why := ""
		if !r.ok {
			why = r.cause
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.what, r.got, r.target, r.verdict(), why)
	}
	b.WriteString("\n")
	return b.String()
}

// headline is the README's block of figures: the same summary, and the
// throughputs, from this run.
func (r *report) headline(out string) string {
	var rows []summaryRow
	r.markdownRows(&rows)
	var b strings.Builder
	fmt.Fprintf(&b, "From `make bench` on %s (%d cores, shared: figures move between runs); the full report with the method is `%s`, explained in [docs/bench.md](docs/bench.md). ",
		r.started.UTC().Format("2006-01-02"), runtime.NumCPU(), out)
	b.WriteString("`make bench` rewrites this block.\n\n")
	var parts []string
	for _, lv := range r.callbacks {
		if lv.name == "" {
			parts = append(parts, fmt.Sprintf("%.0f", float64(len(lv.results))/lv.wall.Seconds()))
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, "Callbacks through the built binary: %s callbacks/s with 1 / 10 / 50 execution environments on this machine. ", strings.Join(parts, " / "))
	}
	parts = parts[:0]
	for _, lv := range r.levels {
		parts = append(parts, fmt.Sprintf("%.1f", float64(len(lv.results))/lv.wall.Seconds()))
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, "Signups: %s signups/s at concurrency 1 / 10 / 50 (Meta %s, Plivo %s per call).", strings.Join(parts, " / "), r.metaLat, r.plivoLat)
	}
	b.WriteString("\n\n")
	b.WriteString(summaryTable(rows))
	return b.String()
}

// markdownRows collects the summary rows by rendering the report.
func (r *report) markdownRows(rows *[]summaryRow) {
	r.summaryHook = func(s []summaryRow) { *rows = s }
	_ = r.markdown()
	r.summaryHook = nil
}
