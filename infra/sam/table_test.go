package sam

import (
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Table is a DynamoDB table's key schema and indexes, as the tests compare
// them with the code's constants.
type Table struct {
	Name, HashKey, RangeKey string
	Attributes              map[string]string // attribute name → S, N or B
	Indexes                 []Index
	BillingMode             string
	TTLAttribute            string
}

// Index is a global secondary index.
type Index struct{ Name, HashKey, RangeKey, Projection string }

// Table reads a table through CreateTable.
func (t *Template) Table(name string) (Table, error) {
	in, ttl, err := t.CreateTable(name)
	if err != nil {
		return Table{}, err
	}
	out := Table{Name: name, Attributes: map[string]string{}, BillingMode: string(in.BillingMode)}
	for _, a := range in.AttributeDefinitions {
		out.Attributes[aws.ToString(a.AttributeName)] = string(a.AttributeType)
	}
	out.HashKey, out.RangeKey = keys(in.KeySchema)
	for _, g := range in.GlobalSecondaryIndexes {
		ix := Index{Name: aws.ToString(g.IndexName), Projection: string(g.Projection.ProjectionType)}
		ix.HashKey, ix.RangeKey = keys(g.KeySchema)
		out.Indexes = append(out.Indexes, ix)
	}
	if ttl != nil && ttl.Enabled {
		out.TTLAttribute = ttl.AttributeName
	}
	return out, nil
}

func keys(ks []types.KeySchemaElement) (hash, rng string) {
	for _, k := range ks {
		switch k.KeyType {
		case types.KeyTypeHash:
			hash = aws.ToString(k.AttributeName)
		case types.KeyTypeRange:
			rng = aws.ToString(k.AttributeName)
		}
	}
	return hash, rng
}

// ParameterSpecs returns every parameter the template declares.
func (t *Template) ParameterSpecs() map[string]ParameterSpec { return maps.Clone(t.specs) }

// Outputs returns the names of the template's outputs, sorted.
func (t *Template) Outputs() []string {
	out, _ := t.raw["Outputs"].(map[string]any)
	return slices.Sorted(maps.Keys(out))
}

// Condition reports whether a condition of the template holds with its
// parameters; false for an unknown one.
func (t *Template) Condition(name string) bool { return t.conditions[name] }

// Deployed reports whether a deploy with these parameters creates the
// resource: it exists and has no Condition, or its Condition holds.
func (t *Template) Deployed(resource string) bool {
	res := t.Raw(resource)
	if res == nil {
		return false
	}
	name, ok := res["Condition"].(string)
	return !ok || t.Condition(name)
}
