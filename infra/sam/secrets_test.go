package sam_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sam"
)

// This file holds the secrets' resource policies to the functions' grants:
// a secret may be read only by the roles of the functions granted it (and
// the operator role), so a role granted a secret that its policy leaves out
// fails at its first read, and a role the policy lets in without a grant is
// a door nobody meant to open.

// secretTypes are the resource types this file compares.
const (
	typeSecret       = "AWS::SecretsManager::Secret"
	typeSecretPolicy = "AWS::SecretsManager::ResourcePolicy"
)

// secretReaderProblems returns every way the template's secret resource
// policies disagree with its grants, for the parameters it was loaded with.
func secretReaderProblems(tpl *sam.Template) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// Who is granted GetSecretValue on each secret.
	granted := map[string][]string{}
	for _, fn := range tpl.Functions() {
		if !tpl.Deployed(fn) {
			continue
		}
		stmts, err := tpl.Policies(fn)
		if err != nil {
			add("%s: %v", fn, err)
			continue
		}
		for _, s := range stmts {
			if s.Effect != "Allow" || !slices.Contains(s.Actions, "secretsmanager:GetSecretValue") {
				continue
			}
			for _, r := range s.Resources {
				granted[resourceRef(r)] = append(granted[resourceRef(r)], "${"+fn+"Role.Arn}")
			}
		}
	}
	operator, _ := tpl.Parameter("SecretsOperatorRoleArn")

	policies := map[string][]string{}
	for _, id := range tpl.Resources(typeSecretPolicy) {
		props, _ := tpl.Raw(id)["Properties"].(map[string]any)
		secret := resourceRef(fmt.Sprint(props["SecretId"]))
		policies[secret] = append(policies[secret], id)
		if props["BlockPublicPolicy"] != true {
			add("%s: BlockPublicPolicy is not true", id)
		}
		var readers []string
		denies := 0
		walkStatements(props["ResourcePolicy"], func(st map[string]any) {
			if st["Effect"] != "Deny" || !slices.Contains(asStrings(st["Action"]), "secretsmanager:GetSecretValue") {
				return
			}
			denies++
			if st["Principal"] != "*" || st["Resource"] != "*" {
				add("%s: the deny does not cover every principal", id)
			}
			cond, _ := st["Condition"].(map[string]any)
			not, _ := cond["ArnNotEquals"].(map[string]any)
			for _, v := range asList(not["aws:PrincipalArn"]) {
				if v != nil {
					readers = append(readers, fmt.Sprint(v))
				}
			}
		})
		if denies != 1 {
			add("%s: %d statements deny GetSecretValue, want one", id, denies)
			continue
		}
		want := slices.Clone(granted[secret])
		if operator != "" {
			want = append(want, operator)
		}
		sort.Strings(want)
		sort.Strings(readers)
		for _, r := range readers {
			if !slices.Contains(want, r) {
				add("%s: lets %s read %s, which is not granted it", id, r, secret)
			}
		}
		for _, r := range want {
			if !slices.Contains(readers, r) {
				add("%s: denies %s to %s, which is granted it", id, secret, r)
			}
		}
	}
	for _, secret := range tpl.Resources(typeSecret) {
		if n := len(policies[secret]); n != 1 {
			add("%s: %d resource policies, want one", secret, n)
		}
	}
	sort.Strings(problems)
	return problems
}

// asList is v as a list: a single value is a list of one.
func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func loadWith(t *testing.T, text string, params map[string]string) *sam.Template {
	t.Helper()
	all := map[string]string{}
	for k, v := range testParams {
		all[k] = v
	}
	for k, v := range params {
		all[k] = v
	}
	tpl, err := sam.Parse([]byte(text), sam.WithParameters(all))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func templateText(t *testing.T) string {
	t.Helper()
	return repoText(t, "template.yaml")
}

// repoText is a file of the repository, by its path from the root.
func repoText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSecretsReadOnlyByTheirGrantees(t *testing.T) {
	t.Parallel()
	text := templateText(t)
	tests := []struct {
		name   string
		params map[string]string
		demo   bool
	}{
		{name: "defaults: no demo, no operator"},
		{name: "demo routes and an operator role", params: map[string]string{"DemoRoutes": "enabled",
			"SecretsOperatorRoleArn": "arn:aws:iam::123456789012:role/wa-onboarding-operator"}, demo: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl := loadWith(t, text, tt.params)
			if got := tpl.Deployed("DemoFunction"); got != tt.demo {
				t.Errorf("DemoFunction deployed = %v, want %v", got, tt.demo)
			}
			if len(tpl.Resources(typeSecret)) < 4 {
				t.Fatalf("secrets %v: the template was not read", tpl.Resources(typeSecret))
			}
			for _, p := range secretReaderProblems(tpl) {
				t.Error(p)
			}
		})
	}
}

// Each way the policies and the grants can drift apart is reported.
func TestSecretReaderProblemsCatchDrift(t *testing.T) {
	t.Parallel()
	text := templateText(t)
	edit := func(old, new string) {
		if !strings.Contains(text, old) {
			t.Fatalf("the template no longer holds %q", old)
		}
		text = strings.Replace(text, old, new, 1)
	}
	// The signup role is left out of the Meta app secret's readers; the
	// status role is let into Plivo's; the verify token loses its policy.
	edit("              ArnNotEquals:\n                aws:PrincipalArn:\n                  - !GetAtt SignupFunctionRole.Arn\n                  - !GetAtt DoctorFunctionRole.Arn",
		"              ArnNotEquals:\n                aws:PrincipalArn:\n                  - !GetAtt DoctorFunctionRole.Arn")
	edit("                  - !GetAtt ResumeFunctionRole.Arn\n", "                  - !GetAtt ResumeFunctionRole.Arn\n                  - !GetAtt StatusFunctionRole.Arn\n")
	edit("      SecretId: !Ref MetaWebhookVerifyTokenSecret", "      SecretId: !Ref MetaAppSecret")
	got := strings.Join(secretReaderProblems(loadWith(t, text, nil)), "\n")
	for _, want := range []string{
		"MetaAppSecretPolicy: denies MetaAppSecret to ${SignupFunctionRole.Arn}, which is granted it",
		"PlivoCredentialsSecretPolicy: lets ${StatusFunctionRole.Arn} read PlivoCredentialsSecret, which is not granted it",
		"MetaWebhookVerifyTokenSecret: 0 resource policies, want one",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems do not report %q:\n%s", want, got)
		}
	}
}
