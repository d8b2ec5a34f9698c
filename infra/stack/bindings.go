package stack

import (
	"maps"
	"regexp"
	"slices"

	"github.com/techprovider/wa-onboarding/infra/sam"
)

// Resource types whose names the functions read from the environment.
const (
	typeTable  = sam.TypeTable
	typeSecret = "AWS::SecretsManager::Secret"
	typeBus    = "AWS::Events::EventBus"
)

// bindings are the environment variables the template's functions set to
// a table or a secret (NAME: !Ref Resource), so the local stack sets each to
// its local stand-in, whatever new tables and secrets the template gains.
type bindings struct {
	tables   map[string][]string // table logical ID -> variable names
	secrets  map[string][]string // secret logical ID -> variable names
	buses    map[string][]string // event bus logical ID -> variable names
	envNames map[string]bool     // every variable any function sets
}

// refRE matches what samtemplate makes of a Ref to a resource.
var refRE = regexp.MustCompile(`^\$\{([A-Za-z0-9]+)\}$`)

func bindingsOf(t *sam.Template) bindings {
	b := bindings{tables: map[string][]string{}, secrets: map[string][]string{}, buses: map[string][]string{}, envNames: map[string]bool{}}
	add := func(m map[string][]string, res, name string) {
		if !slices.Contains(m[res], name) {
			m[res] = append(m[res], name)
			slices.Sort(m[res])
		}
	}
	for _, fn := range t.Functions() {
		for name, value := range t.Environment(fn) {
			b.envNames[name] = true
			m := refRE.FindStringSubmatch(value)
			if m == nil {
				continue
			}
			switch t.ResourceType(m[1]) {
			case typeTable:
				add(b.tables, m[1], name)
			case typeSecret:
				add(b.secrets, m[1], name)
			case typeBus:
				add(b.buses, m[1], name)
			}
		}
	}
	// A table no function names still exists once deployed.
	for _, table := range t.Tables() {
		if _, ok := b.tables[table]; !ok {
			b.tables[table] = nil
		}
	}
	return b
}

// userSet splits the variables of m into those the user set and those
// left unset.
func (b bindings) userSet(m map[string][]string, get func(string) string) (set, unset []string) {
	for _, res := range slices.Sorted(maps.Keys(m)) {
		for _, name := range m[res] {
			if get(name) != "" {
				set = append(set, name)
			} else {
				unset = append(unset, name)
			}
		}
	}
	return set, unset
}

// secretEnvNames lists the variables that name secrets, sorted.
func (b bindings) secretEnvNames() []string {
	var out []string
	for _, names := range b.secrets {
		out = append(out, names...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
