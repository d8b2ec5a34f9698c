package sam_test

// This file holds infra/ci/github-deploy-role.yaml's trust policy to the one
// audience and the subjects GitHub gives the jobs of the repository's
// environments the role serves (dev and prod, or one of them): no other
// repository, fork, branch, pull request, environment or job without one
// can exchange its token for the role.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sam"
)

const deployRoleFile = "infra/ci/github-deploy-role.yaml"

// deployRoleTrustProblems returns every way the role's trust policy admits
// more than repo's envs through GitHub's OIDC provider.
func deployRoleTrustProblems(tpl *sam.Template, repo string, envs ...string) []string {
	p, _ := tpl.Raw("DeployRole")["Properties"].(map[string]any)
	doc, _ := p["AssumeRolePolicyDocument"].(map[string]any)
	list, ok := doc["Statement"].([]any)
	if !ok && doc["Statement"] != nil {
		list = []any{doc["Statement"]}
	}
	if len(list) == 0 {
		return []string{"DeployRole: no trust policy statement"}
	}
	if len(envs) == 0 {
		envs = []string{"dev", "prod"}
	}
	var want []string
	for _, env := range envs {
		want = append(want, "repo:"+repo+":environment:"+env)
	}
	var problems []string
	for i, e := range list {
		st, _ := e.(map[string]any)
		if st["Effect"] != "Allow" {
			continue
		}
		principal, _ := st["Principal"].(map[string]any)
		if len(principal) != 1 || principal["Federated"] == nil {
			problems = append(problems, fmt.Sprintf("statement %d: principal %v, want only the OIDC provider (Federated)", i, principal))
		}
		if !slices.Equal(asStrings(st["Action"]), []string{"sts:AssumeRoleWithWebIdentity"}) {
			problems = append(problems, fmt.Sprintf("statement %d: actions %v, want only sts:AssumeRoleWithWebIdentity", i, st["Action"]))
		}
		cond, _ := st["Condition"].(map[string]any)
		// StringEquals only: StringLike (wildcards) or a ForAnyValue
		// operator would widen the subjects below.
		for op := range cond {
			if op != "StringEquals" {
				problems = append(problems, fmt.Sprintf("statement %d: condition operator %s, want only StringEquals", i, op))
			}
		}
		eq, _ := cond["StringEquals"].(map[string]any)
		if aud := asStrings(eq["token.actions.githubusercontent.com:aud"]); !slices.Equal(aud, []string{"sts.amazonaws.com"}) {
			problems = append(problems, fmt.Sprintf("statement %d: aud %v, want [sts.amazonaws.com]", i, aud))
		}
		sub := asStrings(eq["token.actions.githubusercontent.com:sub"])
		slices.Sort(sub)
		if !slices.Equal(sub, want) {
			problems = append(problems, fmt.Sprintf("statement %d: sub %v, want exactly %v", i, sub, want))
		}
	}
	return problems
}

func loadDeployRole(t *testing.T, text string, params map[string]string) *sam.Template {
	t.Helper()
	tpl, err := sam.Parse([]byte(text), sam.WithParameters(params))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestDeployRoleTrustsOnlyTheEnvironments(t *testing.T) {
	t.Parallel()
	text := repoText(t, deployRoleFile)
	for _, provider := range []string{"", "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"} {
		tpl := loadDeployRole(t, text, map[string]string{"Repository": "acme/wa-onboarding", "GitHubOIDCProviderArn": provider})
		for _, p := range deployRoleTrustProblems(tpl, "acme/wa-onboarding") {
			t.Errorf("%s (GitHubOIDCProviderArn %q): %s", deployRoleFile, provider, p)
		}
	}
	// A role in an account of one environment trusts that environment's
	// jobs only.
	for _, env := range []string{"dev", "prod"} {
		tpl := loadDeployRole(t, text, map[string]string{"Repository": "acme/wa-onboarding", "Environments": env})
		for _, p := range deployRoleTrustProblems(tpl, "acme/wa-onboarding", env) {
			t.Errorf("%s (Environments %s): %s", deployRoleFile, env, p)
		}
	}
	// The provider the template creates accepts only STS's audience.
	tpl := loadDeployRole(t, text, map[string]string{"Repository": "acme/wa-onboarding"})
	props, _ := tpl.Raw("GitHubOIDCProvider")["Properties"].(map[string]any)
	if ids := asStrings(props["ClientIdList"]); !slices.Equal(ids, []string{"sts.amazonaws.com"}) {
		t.Errorf("%s: the OIDC provider's ClientIdList is %v, want [sts.amazonaws.com]", deployRoleFile, ids)
	}
	// A repository given as a pattern would make the subjects match forks
	// or every repository of an owner: the parameter refuses it.
	spec := tpl.ParameterSpecs()["Repository"]
	pattern, err := regexp.Compile(spec.AllowedPattern)
	if err != nil || spec.AllowedPattern == "" {
		t.Fatalf("%s: Repository's AllowedPattern %q: %v", deployRoleFile, spec.AllowedPattern, err)
	}
	for _, repo := range []string{"acme/*", "*/wa-onboarding", "*", "acme/wa-onboarding:ref:refs/heads/*", "acme"} {
		if pattern.MatchString(repo) {
			t.Errorf("%s: Repository accepts %q", deployRoleFile, repo)
		}
	}
}

// TestDeployRoleTrustProblemsCatchWidening: the check above fails the ways
// a trust policy is usually widened.
func TestDeployRoleTrustProblemsCatchWidening(t *testing.T) {
	t.Parallel()
	text := repoText(t, deployRoleFile)
	for _, c := range []struct{ name, old, new, envs string }{
		{"wildcard subject", "StringEquals:\n                token.actions.githubusercontent.com:aud: sts.amazonaws.com\n                token.actions.githubusercontent.com:sub:\n" +
			"                  - !If [TrustsDev, !Sub \"repo:${Repository}:environment:dev\", !Ref AWS::NoValue]\n" +
			"                  - !If [TrustsProd, !Sub \"repo:${Repository}:environment:prod\", !Ref AWS::NoValue]",
			"StringEquals:\n                token.actions.githubusercontent.com:aud: sts.amazonaws.com\n              StringLike:\n                token.actions.githubusercontent.com:sub: !Sub repo:${Repository}:*", ""},
		{"any branch", `!Sub "repo:${Repository}:environment:prod"`, `!Sub "repo:${Repository}:ref:refs/heads/main"`, ""},
		{"prod trusted from dev's account", "!If [TrustsProd, ", "!If [CreateProvider, ", "dev"},
		{"no audience", "                token.actions.githubusercontent.com:aud: sts.amazonaws.com\n", "", ""},
	} {
		if !strings.Contains(text, c.old) {
			t.Fatalf("%s: %s no longer holds %q", c.name, deployRoleFile, c.old)
		}
		changed := strings.Replace(text, c.old, c.new, 1)
		params, envs := map[string]string{"Repository": "acme/wa-onboarding"}, []string(nil)
		if c.envs != "" {
			params["Environments"], envs = c.envs, []string{c.envs}
		}
		tpl := loadDeployRole(t, changed, params)
		if len(deployRoleTrustProblems(tpl, "acme/wa-onboarding", envs...)) == 0 {
			t.Errorf("%s: no problem found", c.name)
		}
	}
}
