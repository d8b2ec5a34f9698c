package sam_test

// This file holds the later deploys against template.yaml: a deploy over a
// live stack must not swap a table, a secret, the event bus, the API, the
// failure queue or the stream's reader for a new one, which CloudFormation
// does without asking when a create-only property changes (docs/sam.md,
// "Upgrading a live stack").

import (
	"cmp"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sam"
)

// stackPolicyFile is what make stack-policy sets on every deploy.
const stackPolicyFile = "infra/ci/stack-policy.json"

// statefulTypes are the resource types whose replacement or deletion loses
// data (tables, secrets, queued failures) or breaks what others hold (the
// API's URL at Meta and Plivo, the bus the Tech Provider's rules are on).
var statefulTypes = []string{
	sam.TypeTable,
	"AWS::SecretsManager::Secret",
	"AWS::Events::EventBus",
	sam.TypeHTTPAPI,
	"AWS::SQS::Queue",
}

type policyStatement struct {
	Effect    string
	Principal string
	Action    any // a string or a list
	Resource  any
}

// streamMappings are the logical IDs SAM gives the event source mappings of
// DynamoDB stream events (function ID + event name): a new one starts
// reading the stream afresh, replaying or skipping lifecycle events.
func streamMappings(t *testing.T, tpl *sam.Template) []string {
	t.Helper()
	var out []string
	for _, fn := range tpl.Functions() {
		props, _ := tpl.Raw(fn)["Properties"].(map[string]any)
		events, _ := props["Events"].(map[string]any)
		for name, ev := range events {
			if e, _ := ev.(map[string]any); e["Type"] == "DynamoDB" {
				out = append(out, fn+name)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no DynamoDB stream event in the template")
	}
	return out
}

func TestStackPolicyProtectsStatefulResources(t *testing.T) {
	t.Parallel()
	tpl := load(t)
	var policy struct{ Statement []policyStatement }
	if err := json.Unmarshal([]byte(repoText(t, stackPolicyFile)), &policy); err != nil {
		t.Fatalf("%s: %v", stackPolicyFile, err)
	}
	// A stack policy denies every update it does not allow: without the
	// Allow, no deploy could change anything at all.
	if len(policy.Statement) == 0 || !reflect.DeepEqual(policy.Statement[0], policyStatement{Effect: "Allow", Principal: "*", Action: "Update:*", Resource: "*"}) {
		t.Errorf("%s: the first statement must allow Update:* on every resource; got %+v", stackPolicyFile, policy.Statement)
	}
	var protected []string
	for _, st := range policy.Statement[1:] {
		actions := asList(st.Action)
		if st.Effect != "Deny" || st.Principal != "*" || !slices.Contains(actions, any("Update:Replace")) || !slices.Contains(actions, any("Update:Delete")) {
			t.Errorf("%s: statement %+v: want a Deny of Update:Replace and Update:Delete", stackPolicyFile, st)
			continue
		}
		for _, r := range asList(st.Resource) {
			ref, _ := r.(string)
			id, ok := strings.CutPrefix(ref, "LogicalResourceId/")
			if !ok {
				t.Errorf("%s: resource %q is not a LogicalResourceId/...", stackPolicyFile, r)
			}
			protected = append(protected, id)
		}
	}
	want := append(tpl.Resources(statefulTypes...), streamMappings(t, tpl)...)
	for _, id := range want {
		if !slices.Contains(protected, id) {
			t.Errorf("%s does not protect %s (%s): a deploy could replace or delete it", stackPolicyFile, id, cmp.Or(tpl.ResourceType(id), "stream mapping"))
		}
	}
	for _, id := range protected {
		if !slices.Contains(want, id) {
			t.Errorf("%s protects %s, which template.yaml does not hold (renamed? the new name is unprotected)", stackPolicyFile, id)
		}
	}
}

// TestReplacementSensitiveSettingsArePinned: settings a deploy would
// apply by generating a new value or a new reader without any stack
// policy seeing a replacement. Changing one is a migration, not an edit.
func TestReplacementSensitiveSettingsArePinned(t *testing.T) {
	t.Parallel()
	tpl := load(t)
	for _, c := range []struct {
		resource string
		path     []string
		want     any
		why      string
	}{
		{"SessionKeysSecret", []string{"Properties", "GenerateSecretString"},
			map[string]any{"SecretStringTemplate": `{"id":"initial","primary":true}`, "GenerateStringKey": "secret", "PasswordLength": 64, "ExcludePunctuation": true},
			"any change makes CloudFormation generate a new value: the rotated keys go and every onboarding link out there stops working"},
		{"MetaWebhookVerifyTokenSecret", []string{"Properties", "GenerateSecretString"},
			map[string]any{"SecretStringTemplate": `{}`, "GenerateStringKey": "verify_token", "PasswordLength": 40, "ExcludePunctuation": true},
			"any change makes CloudFormation generate a new token, and Meta's webhook handshake fails until someone copies it to Meta again"},
		{"LifecycleFunction", []string{"Properties", "Events", "Stream", "Properties", "StartingPosition"}, "TRIM_HORIZON",
			"a new starting position is a new event source mapping, which reads the stream afresh (the stack policy refuses it)"},
	} {
		got := any(tpl.Raw(c.resource))
		for _, key := range c.path {
			m, _ := got.(map[string]any)
			got = m[key]
		}
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(c.want)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("%s.%s = %s, want %s: %s (docs/sam.md, \"Upgrading a live stack\")", c.resource, strings.Join(c.path, "."), gotJSON, wantJSON, c.why)
		}
	}
}
