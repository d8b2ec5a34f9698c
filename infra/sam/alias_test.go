package sam_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var subParameter = regexp.MustCompile(`\$\{([A-Za-z0-9]+)\}`)

// parameterRefs are the parameters n refers to, in short or long form
// (!Ref, !Sub, Ref, Fn::Sub, nested in !If or !Join).
func parameterRefs(n *yaml.Node, params map[string]bool) []string {
	var refs []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		switch {
		case n.Kind == yaml.ScalarNode && n.Tag == "!Ref" && params[n.Value]:
			refs = append(refs, n.Value)
		case n.Kind == yaml.ScalarNode && n.Tag == "!Sub":
			for _, m := range subParameter.FindAllStringSubmatch(n.Value, -1) {
				if params[m[1]] {
					refs = append(refs, m[1])
				}
			}
		case n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i].Value; (k == "Ref" || k == "Fn::Sub") && n.Content[i+1].Kind == yaml.ScalarNode {
					walk(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!" + strings.TrimPrefix(k, "Fn::"), Value: n.Content[i+1].Value})
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	slices.Sort(refs)
	return slices.Compact(refs)
}

// aliasOverParameterProblems names the functions that would serve an
// alias (AutoPublishAlias, in Globals or their own) while their settings
// come from parameters.
//
// SAM publishes a new version behind an alias only when the function's
// properties as written change: the version's hash covers `!Ref Param`,
// never the parameter's value, even with AutoPublishAliasAllProperties
// (aws/serverless-application-model issues 1640 and 3820; the
// samtranslator 1.110 that cfn-lint brings here does the same). A deploy
// that changes only a parameter, such as step 7 of docs/deploy.md setting
// CallbackPublicUrl on the same code, would update $LATEST while every
// route, the schedule and the stream kept invoking the old version with
// the old setting, and the deploy would say it succeeded. Gradual
// deploys (DeploymentPreference) need that alias, so they wait for the
// settings to leave the parameters or for SAM to hash their values.
func aliasOverParameterProblems(doc *yaml.Node) []string {
	params := map[string]bool{}
	if p := child(doc, "Parameters"); p != nil {
		for i := 0; i < len(p.Content); i += 2 {
			params[p.Content[i].Value] = true
		}
	}
	global := child(child(doc, "Globals"), "Function")
	globalAlias := child(global, "AutoPublishAlias") != nil
	globalRefs := parameterRefs(child(global, "Environment"), params)
	var problems []string
	resources := child(doc, "Resources")
	for i := 0; resources != nil && i+1 < len(resources.Content); i += 2 {
		name, res := resources.Content[i].Value, resources.Content[i+1]
		if t := child(res, "Type"); t == nil || t.Value != "AWS::Serverless::Function" {
			continue
		}
		props := child(res, "Properties")
		if !globalAlias && child(props, "AutoPublishAlias") == nil {
			continue
		}
		refs := append(parameterRefs(child(props, "Environment"), params), globalRefs...)
		if len(refs) > 0 {
			slices.Sort(refs)
			problems = append(problems, name+" serves an alias, but its environment comes from the parameters "+
				strings.Join(slices.Compact(refs), ", ")+": a deploy changing only those would leave the alias on the old version")
		}
	}
	return problems
}

func TestNoAliasOverParameterSettings(t *testing.T) {
	t.Parallel()
	for _, p := range aliasOverParameterProblems(templateNode(t)) {
		t.Error(p)
	}
}

// TestAliasOverParameterProblemsCatchAnAlias: the check must see an alias
// added in Globals or on one function, in short or long form.
func TestAliasOverParameterProblemsCatchAnAlias(t *testing.T) {
	t.Parallel()
	text := templateText(t)
	tests := []struct {
		name, old, new, want string
	}{
		{"globals", "  Function:\n    CodeUri: .\n", "  Function:\n    CodeUri: .\n    AutoPublishAlias: live\n", "CallbacksFunction serves an alias"},
		{"one function", "    Properties:\n      Description: POST /api/whatsapp/embedded-signup",
			"    Properties:\n      AutoPublishAlias: live\n      Description: POST /api/whatsapp/embedded-signup", "SignupFunction serves an alias, but its environment comes from the parameters"},
		{"long-form reference", "    Properties:\n      Description: POST /api/whatsapp/embedded-signup",
			"    Properties:\n      AutoPublishAlias: live\n      Description: POST /api/whatsapp/embedded-signup", "MetaGraphVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(text, tt.old) {
				t.Fatalf("template.yaml no longer holds %q", tt.old)
			}
			changed := strings.Replace(text, tt.old, tt.new, 1)
			if tt.name == "long-form reference" {
				changed = strings.Replace(changed, "META_GRAPH_VERSION: !Ref MetaGraphVersion", "META_GRAPH_VERSION: {Ref: MetaGraphVersion}", 1)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(changed), &doc); err != nil {
				t.Fatal(err)
			}
			problems := aliasOverParameterProblems(doc.Content[0])
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q: want one with %q", problems, tt.want)
			}
		})
	}
}
