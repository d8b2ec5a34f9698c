package sam_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/shared/config"
)

// TestSolutionIDIsRequired: without the Multi-Partner Solution ID no
// customer can be onboarded at Plivo, so the template gives it no empty
// default and the production samconfig shows where it goes.
func TestSolutionIDIsRequired(t *testing.T) {
	tpl := load(t)
	bare, err := sam.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := bare.ParameterSpecs()["PlivoSolutionId"]
	if !ok {
		t.Fatal("no PlivoSolutionId parameter")
	}
	if p.Default != nil {
		t.Errorf("PlivoSolutionId has default %q; it must have none", *p.Default)
	}
	if p.AllowedPattern == "" || regexp.MustCompile(p.AllowedPattern).MatchString("") {
		t.Errorf("PlivoSolutionId's AllowedPattern admits an empty value")
	}
	if v, _ := tpl.Parameter("MetaEsVersion"); v != config.DefaultESVersion {
		t.Errorf("MetaEsVersion default %q, want config.DefaultESVersion %q", v, config.DefaultESVersion)
	}
	if env := tpl.Environment("PageFunction"); env[config.EnvMetaESVersion] == "" || env[config.EnvPlivoSolutionID] == "" {
		t.Errorf("PageFunction environment lacks %s or %s: %v", config.EnvMetaESVersion, config.EnvPlivoSolutionID, env)
	}
	sam, err := os.ReadFile(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	prod := regexp.MustCompile(`(?s)\[prod\.deploy\.parameters\].*?parameter_overrides = \[(.*?)\]`).FindSubmatch(sam)
	if prod == nil || !regexp.MustCompile(`"PlivoSolutionId=[^"]+"`).Match(prod[1]) {
		t.Errorf("samconfig.toml's prod parameter_overrides do not show PlivoSolutionId")
	}
}
