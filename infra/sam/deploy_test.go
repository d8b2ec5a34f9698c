package sam_test

// This file holds the first-deploy path against template.yaml: every
// parameter is explained in docs/deploy.md's checklist and listed in each
// samconfig.toml environment, so that someone following the checklist
// reaches `make deploy` with every value known.

import (
	"bufio"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// deployGuide is the first-deploy checklist.
const deployGuide = "docs/deploy.md"

// samconfigEnvs are samconfig.toml's deploy environments.
var samconfigEnvs = []string{"default", "prod"}

// override is one entry of a parameter_overrides list.
type override struct {
	value     string
	commented bool // `# "Name=..."`: listed, the template's default applies
	line      int
}

// samconfig is what the tests read from samconfig.toml.
type samconfig struct {
	keys      map[string]string              // "<env>.<command>.parameters.<key>" → raw value
	overrides map[string]map[string]override // section → parameter → entry
}

var (
	overrideLine = regexp.MustCompile(`^(#\s*)?"([A-Za-z0-9]+)=(.*)",?$`)
	keyLine      = regexp.MustCompile(`^([a-z_]+)\s*=\s*(.*)$`)
)

// readSamconfig reads the parts of samconfig.toml the SAM CLI's deploy
// uses: plain keys, and parameter_overrides lists, commented entries
// included.
func readSamconfig(t *testing.T, text string) samconfig {
	t.Helper()
	c := samconfig{keys: map[string]string{}, overrides: map[string]map[string]override{}}
	section, inList := "", false
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "["):
			section, inList = strings.Trim(line, "[]"), false
		case inList && line == "]":
			inList = false
		case inList:
			m := overrideLine.FindStringSubmatch(line)
			if m == nil {
				continue // a comment about the entries
			}
			if c.overrides[section] == nil {
				c.overrides[section] = map[string]override{}
			}
			if prev, dup := c.overrides[section][m[2]]; dup && !prev.commented && m[1] == "" {
				t.Errorf("samconfig.toml:%d: [%s] sets %s twice", n, section, m[2])
			}
			if _, seen := c.overrides[section][m[2]]; !seen || m[1] == "" {
				c.overrides[section][m[2]] = override{value: strings.ReplaceAll(m[3], `\"`, `"`), commented: m[1] != "", line: n}
			}
		case strings.HasPrefix(line, "#"):
		default:
			if m := keyLine.FindStringSubmatch(line); m != nil {
				c.keys[section+"."+m[1]] = m[2]
				inList = m[1] == "parameter_overrides" && strings.HasPrefix(m[2], "[") && !strings.HasSuffix(m[2], "]")
			}
		}
	}
	return c
}

// TestEveryParameterInSamconfig: each environment's deploy lists every
// parameter the template declares, set or commented out with its default;
// a parameter without a default is set; a set value passes the template's
// AllowedPattern and AllowedValues unless it is a REPLACE_ME placeholder
// (which fails them on purpose); the region is left to the user's AWS
// configuration.
func TestEveryParameterInSamconfig(t *testing.T) {
	tpl := load(t)
	raw := repoText(t, "samconfig.toml")
	c := readSamconfig(t, raw)
	for _, env := range samconfigEnvs {
		section := env + ".deploy.parameters"
		listed := c.overrides[section]
		if len(listed) == 0 {
			t.Errorf("samconfig.toml: [%s] has no parameter_overrides", section)
			continue
		}
		specs := tpl.ParameterSpecs()
		for _, name := range sortedNames(specs) {
			p := specs[name]
			o, ok := listed[name]
			switch {
			case !ok:
				t.Errorf("samconfig.toml [%s] does not list %s: add \"%s=<value>\" (or a commented line when its default fits) and its row in %s", section, name, name, deployGuide)
			case o.commented && p.Default == nil:
				t.Errorf("samconfig.toml:%d: [%s] comments out %s, which has no default: a deploy would fail", o.line, section, name)
			case !o.commented && !strings.Contains(o.value, "REPLACE_ME"):
				if msg := disallowed(o.value, p.AllowedPattern, p.AllowedValues); msg != "" {
					t.Errorf("samconfig.toml:%d: [%s] %s=%s %s", o.line, section, name, o.value, msg)
				}
			}
		}
		for name, o := range listed {
			if _, ok := specs[name]; !ok {
				t.Errorf("samconfig.toml:%d: [%s] lists %s, which template.yaml does not declare", o.line, section, name)
			}
		}
		if v, ok := c.keys[env+".global.parameters.region"]; ok {
			t.Errorf("samconfig.toml [%s.global.parameters] sets region = %s: the region comes from the user's AWS configuration", env, v)
		}
	}
	for _, secret := range []string{"app_secret", "auth_token", "AKIA", "aws_secret_access_key"} {
		if strings.Contains(raw, secret) {
			t.Errorf("samconfig.toml mentions %q: secrets go to Secrets Manager, never in samconfig.toml", secret)
		}
	}
}

// disallowed says why value breaks a parameter's constraints, or "".
func disallowed(value string, pattern string, allowed []string) string {
	value = strings.Trim(value, `"`)
	if pattern != "" {
		re, err := regexp.Compile("^(?:" + pattern + ")$")
		if err != nil {
			return fmt.Sprintf("cannot be checked: AllowedPattern %q: %v", pattern, err)
		}
		if !re.MatchString(value) {
			return "does not match the template's AllowedPattern " + pattern
		}
	}
	if len(allowed) > 0 {
		if slices.Contains(allowed, value) {
			return ""
		}
		return fmt.Sprintf("is not one of the template's AllowedValues %v", allowed)
	}
	return ""
}

// guideRow is a row of the checklist's parameter table: | `Name` | ...
var guideRow = regexp.MustCompile("^\\|\\s*`([A-Za-z0-9]+)`\\s*\\|")

// TestEveryParameterInTheChecklist: docs/deploy.md's parameter table has
// one row per template parameter, and no row for a parameter the template
// no longer declares.
func TestEveryParameterInTheChecklist(t *testing.T) {
	tpl := load(t)
	rows := map[string]int{}
	for i, line := range strings.Split(repoText(t, deployGuide), "\n") {
		if m := guideRow.FindStringSubmatch(line); m != nil {
			if prev, dup := rows[m[1]]; dup {
				t.Errorf("%s:%d: %s has a row already at line %d", deployGuide, i+1, m[1], prev)
			}
			rows[m[1]] = i + 1
		}
	}
	specs := tpl.ParameterSpecs()
	for _, name := range sortedNames(specs) {
		if _, ok := rows[name]; !ok {
			t.Errorf("%s has no row for the parameter %s: add | `%s` | where its value comes from | to its parameter table", deployGuide, name, name)
		}
	}
	for name, line := range rows {
		if _, ok := specs[name]; !ok {
			t.Errorf("%s:%d: a row for %s, which template.yaml does not declare", deployGuide, line, name)
		}
	}
}

// TestReadSamconfig holds the reader to the shapes samconfig.toml uses, so
// that the tests above cannot pass by reading nothing.
func TestReadSamconfig(t *testing.T) {
	c := readSamconfig(t, `
[prod.global.parameters]
stack_name = "x"
region = "eu-west-1"

[prod.deploy.parameters]
capabilities = "CAPABILITY_IAM"
parameter_overrides = [
  # a comment about the next entry
  "Stage=prod",
  # "PageUrl=",
  "ResumeSchedule=\"rate(2 minutes)\"",
]
confirm_changeset = true
`)
	got := c.overrides["prod.deploy.parameters"]
	want := map[string]override{
		"Stage":          {value: "prod", line: 10},
		"PageUrl":        {value: "", commented: true, line: 11},
		"ResumeSchedule": {value: `"rate(2 minutes)"`, line: 12},
	}
	if len(got) != len(want) {
		t.Fatalf("overrides = %+v", got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %+v, want %+v", k, got[k], w)
		}
	}
	if c.keys["prod.global.parameters.region"] != `"eu-west-1"` || c.keys["prod.deploy.parameters.confirm_changeset"] != "true" {
		t.Errorf("keys = %v", c.keys)
	}
	if msg := disallowed(`"rate(2 minutes)"`, "", nil); msg != "" {
		t.Error(msg)
	}
	p := "^v[0-9]+\\.[0-9]+$"
	if disallowed("25", p, nil) == "" || disallowed("v25.0", p, nil) != "" || disallowed("x", "", []string{"a", "b"}) == "" {
		t.Error("disallowed does not hold values to the constraints")
	}
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestStackContentsDocumented: docs/sam.md's "What the stack contains"
// names every resource of the template, so that the list cannot fall
// behind again. Log groups, alarms and saved queries are covered by their
// group's row (`*LogGroup`, `*Alarm`, QueryDefinition).
func TestStackContentsDocumented(t *testing.T) {
	tpl := load(t)
	doc := repoText(t, filepath.Join("docs", "sam.md"))
	start := strings.Index(doc, "## What the stack contains")
	if start < 0 {
		t.Fatal(`docs/sam.md has no "## What the stack contains"`)
	}
	section := doc[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	grouped := map[string]string{"AWS::Logs::LogGroup": "`*LogGroup`", "AWS::CloudWatch::Alarm": "`*Alarm`", "AWS::Logs::QueryDefinition": "QueryDefinition"}
	for _, name := range tpl.Resources() {
		typ := tpl.ResourceType(name)
		if row, ok := grouped[typ]; ok {
			if !strings.Contains(section, row) {
				t.Errorf("docs/sam.md's stack contents have no %s row for %s (%s)", row, name, typ)
			}
			continue
		}
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("docs/sam.md's stack contents do not name %s (%s): add a row", name, typ)
		}
	}
}

// TestRoutesDocumented: the README's "Routes and triggers" table gives every
// route of the template on its function's row, so that a reader finds the
// function and the handler of a route in one place.
func TestRoutesDocumented(t *testing.T) {
	tpl := load(t)
	doc := repoText(t, "README.md")
	start := strings.Index(doc, "### Routes and triggers")
	if start < 0 {
		t.Fatal(`README.md has no "### Routes and triggers"`)
	}
	section := doc[start:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	rows := map[string]string{}
	for line := range strings.Lines(section) {
		if cells := strings.Split(line, "|"); len(cells) > 2 {
			rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = line
		}
	}
	routed := map[string]string{}
	for _, r := range tpl.Routes() {
		fn := filepath.Base(functionDir(r.Function))
		routed[r.Key()] = fn
		row, ok := rows[fn]
		if !ok {
			t.Errorf("the README's routes table has no row for %s (%s)", fn, r.Function)
			continue
		}
		if !strings.Contains(row, "`"+r.Key()+"`") {
			t.Errorf("the README's routes table does not give %s on the row of %s", r.Key(), fn)
		}
	}
	// And the other way: a route removed or moved in the template must not
	// stay in the table, where a reader would look for it in vain.
	for fn, row := range rows {
		for _, m := range documentedRoute.FindAllStringSubmatch(row, -1) {
			if got, ok := routed[m[1]]; !ok || got != fn {
				t.Errorf("the README's routes table gives %s on the row of %s, but the template routes it to %q", m[1], fn, got)
			}
		}
	}
}

// documentedRoute is a route as the README's table writes it: `GET /path`.
var documentedRoute = regexp.MustCompile("`((?:GET|POST|PUT|PATCH|DELETE|ANY) /[^`]*)`")
