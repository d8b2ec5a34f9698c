package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Status is the outcome of one check.
type Status string

// Statuses. Only StatusFail makes the report fail; StatusSkip marks a check
// that could not run because an earlier one failed, StatusManual an item no
// API can check.
const (
	StatusPass   Status = "pass"
	StatusWarn   Status = "warn"
	StatusFail   Status = "fail"
	StatusSkip   Status = "skip"
	StatusManual Status = "manual"
)

// Groups, in the order the report prints them.
const (
	GroupSecrets  = "Secrets"
	GroupPlivo    = "Plivo"
	GroupMeta     = "Meta"
	GroupDynamoDB = "DynamoDB"
	GroupSchedule = "Resume schedule"
	GroupPage     = "Onboarding page"
	GroupManual   = "Before production (not checkable by API)"
)

// Result is one line of the checklist.
type Result struct {
	// ID is stable, for scripts: "secret.plivo", "table.pitr"...
	ID     string `json:"id"`
	Group  string `json:"group"`
	Title  string `json:"title"`
	Status Status `json:"status"`
	// Detail says what was found. It never holds a secret value.
	Detail string `json:"detail"`
	// Next is the step that fixes a failure or a warning.
	Next string `json:"next,omitempty"`
}

// Report is the whole checklist.
type Report struct {
	Target    string    `json:"target"`
	CheckedAt time.Time `json:"checked_at"`
	OK        bool      `json:"ok"`
	Passed    int       `json:"passed"`
	Failed    int       `json:"failed"`
	Warnings  int       `json:"warnings"`
	Skipped   int       `json:"skipped"`
	Checks    []Result  `json:"checks"`
}

func (r *Report) add(res Result) { r.Checks = append(r.Checks, res) }

func (r *Report) finish() {
	r.Passed, r.Failed, r.Warnings, r.Skipped = 0, 0, 0, 0
	for _, c := range r.Checks {
		switch c.Status {
		case StatusPass:
			r.Passed++
		case StatusFail:
			r.Failed++
		case StatusWarn:
			r.Warnings++
		case StatusSkip:
			r.Skipped++
		}
	}
	r.OK = r.Failed == 0
}

// Result returns the check with id, if the report has it.
func (r Report) Result(id string) (Result, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Result{}, false
}

// ExitCode is 0 when nothing failed and 1 otherwise, for `make doctor`.
func (r Report) ExitCode() int {
	if r.OK {
		return 0
	}
	return 1
}

// JSON returns the report as indented JSON.
func (r Report) JSON() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return append(b, '\n')
}

var labels = map[Status]string{
	StatusPass:   "PASS",
	StatusWarn:   "WARN",
	StatusFail:   "FAIL",
	StatusSkip:   "SKIP",
	StatusManual: "TODO",
}

// WriteText writes the checklist for a person: one line per check grouped
// by subject, the next step under each failure or warning, and a summary
// naming what failed.
func (r Report) WriteText(w io.Writer) error {
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.Title))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "WhatsApp onboarding doctor: %s (%s)\n", r.Target, r.CheckedAt.Format("2006-01-02 15:04:05 MST"))
	group := ""
	for _, c := range r.Checks {
		if c.Group != group {
			group = c.Group
			fmt.Fprintf(&b, "\n%s\n", group)
		}
		fmt.Fprintf(&b, "  %s  %-*s  %s\n", labels[c.Status], width, c.Title, oneLine(c.Detail))
		if c.Next != "" && c.Status != StatusPass {
			fmt.Fprintf(&b, "  %s  %-*s  next: %s\n", "    ", width, "", oneLine(c.Next))
		}
	}
	b.WriteString("\n")
	b.WriteString(r.Summary())
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is the report's last line: the verdict and what failed.
func (r Report) Summary() string {
	checked := r.Passed + r.Failed + r.Warnings + r.Skipped
	if r.OK {
		s := fmt.Sprintf("OK: %d of %d checks passed", r.Passed, checked)
		if r.Warnings > 0 {
			s += fmt.Sprintf(", %d with a warning", r.Warnings)
		}
		return s + "."
	}
	var failed []string
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			failed = append(failed, c.Title)
		}
	}
	s := fmt.Sprintf("FAILED: %d of %d checks failed (%s)", r.Failed, checked, strings.Join(failed, ", "))
	if r.Skipped > 0 {
		s += fmt.Sprintf("; %d skipped until those pass", r.Skipped)
	}
	return s + "."
}

// oneLine keeps a detail on its line whatever an upstream message holds.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
