package makefile

// This file holds the GitHub workflows to what the deploy's security rests
// on: the deploy role's credentials go only to main's code, built from
// modules checked against go.sum, and no job leaves its token or an
// attacker's text where a script runs.

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// workflow is the part of a workflow file these tests read.
type workflow struct {
	On          yaml.Node         `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]job    `yaml:"jobs"`
}

type job struct {
	If          string            `yaml:"if"`
	Uses        string            `yaml:"uses"`
	Permissions map[string]string `yaml:"permissions"`
	Steps       []step            `yaml:"steps"`
}

type step struct {
	Name string         `yaml:"name"`
	Uses string         `yaml:"uses"`
	Run  string         `yaml:"run"`
	With map[string]any `yaml:"with"`
}

// workflows reads every file of .github/workflows, by file name.
func workflows(t *testing.T) map[string]workflow {
	t.Helper()
	dir := filepath.Join(testenv.RepoRoot(), ".github", "workflows")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]workflow{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yml") && !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var w workflow
		if err := yaml.Unmarshal(b, &w); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		out[e.Name()] = w
	}
	if len(out) < 3 {
		t.Fatalf("read only %d workflows", len(out))
	}
	return out
}

// events lists a workflow's triggers, whichever form `on:` takes.
func events(on yaml.Node) []string {
	switch on.Kind {
	case yaml.ScalarNode:
		return []string{on.Value}
	case yaml.SequenceNode:
		var out []string
		for _, n := range on.Content {
			out = append(out, n.Value)
		}
		return out
	case yaml.MappingNode:
		var out []string
		for i := 0; i < len(on.Content); i += 2 {
			out = append(out, on.Content[i].Value)
		}
		return out
	}
	return nil
}

const configureCredentials = "aws-actions/configure-aws-credentials@"

// pinnedRef is a full commit ID: a tag can be moved to other code by
// whoever controls the action's repository, a commit cannot.
var pinnedRef = regexp.MustCompile(`^[0-9a-f]{40}$`)

// notYetPinned are the actions still on a tag, because no commit of theirs
// could be verified when the others were pinned (sam-deploy.yml says how to
// pin them). The list only shrinks.
var notYetPinned = map[string]bool{
	"aws-actions/setup-sam":                 true,
	"aws-actions/configure-aws-credentials": true,
}

// TestActionsPinnedToCommits: every action from another repository runs the
// commit the workflow names, not whatever its tag points to today.
func TestActionsPinnedToCommits(t *testing.T) {
	t.Parallel()
	pinned := 0
	for name, w := range workflows(t) {
		for id, j := range w.Jobs {
			for _, s := range j.Steps {
				if s.Uses == "" || strings.HasPrefix(s.Uses, "./") {
					continue
				}
				action, ref, _ := strings.Cut(s.Uses, "@")
				switch {
				case pinnedRef.MatchString(ref):
					pinned++
				case !notYetPinned[action]:
					t.Errorf("%s: job %s uses %s: pin it to a full commit ID (with the tag in a comment)", name, id, s.Uses)
				}
			}
		}
	}
	if pinned == 0 {
		t.Fatal("no action pinned to a commit")
	}
}

func hasCredentialsStep(j job) bool {
	return slices.ContainsFunc(j.Steps, func(s step) bool { return strings.HasPrefix(s.Uses, configureCredentials) })
}

// TestWorkflowsGiveAttackersNoFoothold: no trigger that runs a fork's code
// with the repository's secrets or a write token (pull_request_target,
// workflow_run), no expression in a script (a branch name or a title there
// is shell code: pass values through env), and no checkout leaving the job's
// token in .git/config for the rest of the job's code to read.
func TestWorkflowsGiveAttackersNoFoothold(t *testing.T) {
	t.Parallel()
	for name, w := range workflows(t) {
		for _, ev := range events(w.On) {
			if ev == "pull_request_target" || ev == "workflow_run" {
				t.Errorf("%s runs on %s", name, ev)
			}
		}
		if w.Permissions == nil {
			t.Errorf("%s sets no top-level permissions: its jobs get the repository's default token", name)
		}
		for id, j := range w.Jobs {
			for i, s := range j.Steps {
				if strings.Contains(s.Run, "${{") {
					t.Errorf("%s: job %s, step %d (%s) expands an expression in its script; pass it through env:\n%s", name, id, i+1, s.Name, s.Run)
				}
				if strings.HasPrefix(s.Uses, "actions/checkout@") && s.With["persist-credentials"] != false {
					t.Errorf("%s: job %s checks out with persist-credentials %v; want false (nothing pushes)", name, id, s.With["persist-credentials"])
				}
			}
		}
	}
}

// TestOnlyDeploysGetAnOIDCToken: id-token: write, which lets a job ask for
// the token the deploy role trusts, only where AWS credentials are
// configured (or for the call of the workflow that does).
func TestOnlyDeploysGetAnOIDCToken(t *testing.T) {
	t.Parallel()
	all := workflows(t)
	configures := func(name string) bool {
		return slices.ContainsFunc(slices.Collect(maps.Values(all[name].Jobs)), hasCredentialsStep)
	}
	n := 0
	for name, w := range all {
		if w.Permissions["id-token"] == "write" && !configures(name) {
			t.Errorf("%s grants id-token: write to all its jobs but configures no AWS credentials", name)
		}
		for id, j := range w.Jobs {
			if j.Permissions["id-token"] != "write" {
				continue
			}
			n++
			called := strings.TrimPrefix(j.Uses, "./.github/workflows/")
			if !hasCredentialsStep(j) && (called == j.Uses || !configures(called)) {
				t.Errorf("%s: job %s has id-token: write but configures no AWS credentials", name, id)
			}
		}
	}
	if n == 0 {
		t.Fatal("no job has id-token: write: is the deploy still there?")
	}
}

// TestDeployRunsOnlyMainsCode: workflow_dispatch runs deploy.yml on any
// branch the dispatcher picks; each deploy job refuses one that is not main.
// (A branch can edit this file too: the environments' deployment-branch
// rule, docs/deploy.md, is what stops a malicious one.)
func TestDeployRunsOnlyMainsCode(t *testing.T) {
	t.Parallel()
	w := workflows(t)["deploy.yml"]
	n := 0
	for id, j := range w.Jobs {
		if !strings.HasSuffix(j.Uses, "/sam-deploy.yml") {
			continue
		}
		n++
		if !requiresMain(j.If) {
			t.Errorf("deploy.yml: job %s deploys from any branch (if: %q)", id, j.If)
		}
	}
	if n < 2 {
		t.Fatalf("deploy.yml calls sam-deploy.yml %d times; want dev and prod", n)
	}
}

// requiresMain reports whether a job's if holds only on main: the branch
// test must be one of the conditions joined by &&, and nothing may be
// joined by ||, which would let another branch through ("... || true").
func requiresMain(cond string) bool {
	if strings.Contains(cond, "||") {
		return false
	}
	for part := range strings.SplitSeq(cond, "&&") {
		if strings.TrimSpace(part) == "github.ref == 'refs/heads/main'" {
			return true
		}
	}
	return false
}

func TestRequiresMain(t *testing.T) {
	t.Parallel()
	for cond, want := range map[string]bool{
		"github.ref == 'refs/heads/main'":                                   true,
		"vars.AWS_DEPLOY_ROLE_ARN != '' && github.ref == 'refs/heads/main'": true,
		"github.ref == 'refs/heads/main' || true":                           false,
		"github.ref != 'refs/heads/main'":                                   false,
		"!(github.ref == 'refs/heads/main')":                                false,
		"vars.AWS_DEPLOY_ROLE_ARN != ''":                                    false,
		"":                                                                  false,
	} {
		if got := requiresMain(cond); got != want {
			t.Errorf("requiresMain(%q) = %t, want %t", cond, got, want)
		}
	}
}

// TestDeployBuildsCleanBeforeCredentials: the deploy job builds the Lambda
// binaries with no restored Go cache (the Actions cache is shared with every
// run on main, and Go does not check a cache against go.sum) and before it
// holds AWS credentials.
func TestDeployBuildsCleanBeforeCredentials(t *testing.T) {
	t.Parallel()
	j := workflows(t)["sam-deploy.yml"].Jobs["deploy"]
	build, creds, goSetup := -1, -1, -1
	for i, s := range j.Steps {
		switch {
		case strings.HasPrefix(strings.TrimSpace(s.Run), "sam build"):
			build = i
		case strings.HasPrefix(s.Uses, configureCredentials):
			creds = i
		case strings.HasPrefix(s.Uses, "actions/setup-go@"):
			goSetup = i
			if s.With["cache"] != false {
				t.Errorf("sam-deploy.yml: setup-go with cache %v; want false", s.With["cache"])
			}
		}
	}
	if build < 0 || creds < 0 || goSetup < 0 {
		t.Fatalf("sam-deploy.yml: sam build at step %d, credentials at %d, setup-go at %d", build, creds, goSetup)
	}
	if creds < build {
		t.Errorf("sam-deploy.yml: AWS credentials (step %d) before sam build (step %d)", creds+1, build+1)
	}
}
