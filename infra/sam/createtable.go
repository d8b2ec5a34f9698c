// This file builds the CreateTable call for an AWS::DynamoDB::Table of the
// template, so tests run DynamoDB Local with the keys and indexes that
// deploy. It reads the template as yaml.v3 nodes, which keep short-form
// intrinsics (!Ref, !Sub, !GetAtt) as tags instead of failing on them; only
// the table's own properties must be literal, and an intrinsic there is
// reported with its line.

package sam

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"
)

// TTL is a table's TimeToLiveSpecification, applied with UpdateTimeToLive
// after CreateTable since CreateTable has no field for it.
type TTL struct {
	AttributeName string
	Enabled       bool
}

// LoadCreateTable reads the template at path and returns the CreateTable input
// for the table resource logicalID, and its TTL (nil when the template sets
// none). TableName is set only when the template gives a literal one; callers
// normally set their own.
func LoadCreateTable(path, logicalID string) (*dynamodb.CreateTableInput, *TTL, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("sam: %w", err)
	}
	in, ttl, err := ParseCreateTable(b, logicalID)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return in, ttl, nil
}

// Parse is LoadCreateTable on a template already in memory.
func ParseCreateTable(template []byte, logicalID string) (*dynamodb.CreateTableInput, *TTL, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(template, &doc); err != nil {
		return nil, nil, fmt.Errorf("sam: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, nil, errors.New("sam: empty template")
	}
	resources := mapValue(doc.Content[0], "Resources")
	if resources == nil {
		return nil, nil, errors.New("sam: template has no Resources")
	}
	res := mapValue(resources, logicalID)
	if res == nil {
		return nil, nil, fmt.Errorf("sam: no resource %q in Resources", logicalID)
	}
	if typ := mapValue(res, "Type"); typ == nil || typ.Value != TypeTable {
		got := "<none>"
		if typ != nil {
			got = typ.Value
		}
		return nil, nil, fmt.Errorf("sam: resource %s has Type %s, want %s", logicalID, got, TypeTable)
	}
	props := mapValue(res, "Properties")
	if props == nil || props.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("sam: resource %s has no Properties mapping", logicalID)
	}
	var p tableProps
	if err := decodeProps(props, logicalID+".Properties", &p); err != nil {
		return nil, nil, err
	}
	return p.createTableInput(logicalID)
}

// ignored are table properties that change nothing DynamoDB Local does:
// backups, encryption, tags, throughput warming and the like. Anything not
// here and not in tableProps is an error, so a new property in the template
// is either taught to this package or listed here on purpose.
var ignored = map[string]bool{
	"TableName":                        true, // read separately: it is often an intrinsic
	"PointInTimeRecoverySpecification": true,
	"SSESpecification":                 true,
	"Tags":                             true,
	"ContributorInsightsSpecification": true,
	"DeletionProtectionEnabled":        true,
	"KinesisStreamSpecification":       true,
	"ResourcePolicy":                   true,
	"TableClass":                       true,
	"ImportSourceSpecification":        true,
	"OnDemandThroughput":               true,
	"WarmThroughput":                   true,
}

// ignoredIndex plays the part of ignored for a global secondary index.
var ignoredIndex = map[string]bool{
	"ContributorInsightsSpecification": true,
	"OnDemandThroughput":               true,
	"WarmThroughput":                   true,
}

type tableProps struct {
	TableName               string      `yaml:"-" json:"-"`
	AttributeDefinitions    []attrDef   `yaml:"AttributeDefinitions"`
	KeySchema               []keyElem   `yaml:"KeySchema"`
	BillingMode             string      `yaml:"BillingMode"`
	ProvisionedThroughput   *throughput `yaml:"ProvisionedThroughput"`
	GlobalSecondaryIndexes  []index     `yaml:"GlobalSecondaryIndexes"`
	LocalSecondaryIndexes   []index     `yaml:"LocalSecondaryIndexes"`
	StreamSpecification     *streamSpec `yaml:"StreamSpecification"`
	TimeToLiveSpecification *ttlSpec    `yaml:"TimeToLiveSpecification"`
}

type attrDef struct {
	AttributeName string `yaml:"AttributeName"`
	AttributeType string `yaml:"AttributeType"`
}

type keyElem struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

type throughput struct {
	ReadCapacityUnits  int64 `yaml:"ReadCapacityUnits"`
	WriteCapacityUnits int64 `yaml:"WriteCapacityUnits"`
}

type projection struct {
	ProjectionType   string   `yaml:"ProjectionType"`
	NonKeyAttributes []string `yaml:"NonKeyAttributes"`
}

type index struct {
	IndexName             string      `yaml:"IndexName"`
	KeySchema             []keyElem   `yaml:"KeySchema"`
	Projection            projection  `yaml:"Projection"`
	ProvisionedThroughput *throughput `yaml:"ProvisionedThroughput"`
}

type streamSpec struct {
	StreamViewType string `yaml:"StreamViewType"`
}

type ttlSpec struct {
	AttributeName string `yaml:"AttributeName"`
	Enabled       bool   `yaml:"Enabled"`
}

// decodeProps checks that every property the table uses is a literal and
// known, then decodes them into p.
func decodeProps(props *yaml.Node, path string, p *tableProps) error {
	used := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(props.Content); i += 2 {
		k, v := props.Content[i], props.Content[i+1]
		switch {
		case k.Value == "TableName":
			// A generated or !Sub name is fine: callers name their own tables.
			if isLiteral(v) && v.Kind == yaml.ScalarNode {
				p.TableName = v.Value
			}
			continue
		case ignored[k.Value]:
			continue
		}
		if k.Value == "GlobalSecondaryIndexes" {
			v = withoutIgnoredIndexKeys(v)
		}
		if err := checkLiteral(v, path+"."+k.Value); err != nil {
			return err
		}
		used.Content = append(used.Content, k, v)
	}
	// Re-encode the checked subset so the strict decoder can reject unknown
	// fields; yaml.Node.Decode has no such switch.
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(used); err != nil {
		return fmt.Errorf("sam: %s: %w", path, err)
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil {
		return fmt.Errorf("sam: %s (near line %d): %w; if the template is right, teach infra/sam's createtable.go this property", path, props.Line, err)
	}
	return nil
}

func withoutIgnoredIndexKeys(seq *yaml.Node) *yaml.Node {
	if seq.Kind != yaml.SequenceNode {
		return seq
	}
	out := *seq
	out.Content = nil
	for _, idx := range seq.Content {
		if idx.Kind != yaml.MappingNode {
			out.Content = append(out.Content, idx)
			continue
		}
		m := *idx
		m.Content = nil
		for i := 0; i+1 < len(idx.Content); i += 2 {
			if !ignoredIndex[idx.Content[i].Value] {
				m.Content = append(m.Content, idx.Content[i], idx.Content[i+1])
			}
		}
		out.Content = append(out.Content, &m)
	}
	return &out
}

// isLiteral reports whether n is plain YAML rather than a CloudFormation
// intrinsic, in either its short (!Ref x) or long ({Ref: x}) form.
func isLiteral(n *yaml.Node) bool {
	return intrinsicName(n) == ""
}

func intrinsicName(n *yaml.Node) string {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return n.Tag
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		if k := n.Content[0].Value; k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k
		}
	}
	return ""
}

func checkLiteral(n *yaml.Node, path string) error {
	if name := intrinsicName(n); name != "" {
		return fmt.Errorf("sam: %s (line %d) uses %s; DynamoDB Local needs a literal value here", path, n.Line, name)
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkLiteral(n.Content[i+1], path+"."+n.Content[i].Value); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := checkLiteral(c, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case yaml.AliasNode:
		return checkLiteral(n.Alias, path)
	}
	return nil
}

// mapValue returns the value of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func (p *tableProps) createTableInput(logicalID string) (*dynamodb.CreateTableInput, *TTL, error) {
	if len(p.KeySchema) == 0 {
		return nil, nil, fmt.Errorf("sam: %s has no KeySchema", logicalID)
	}
	in := &dynamodb.CreateTableInput{
		AttributeDefinitions: make([]types.AttributeDefinition, 0, len(p.AttributeDefinitions)),
		KeySchema:            keySchema(p.KeySchema),
	}
	if p.TableName != "" {
		in.TableName = aws.String(p.TableName)
	}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
	}

	// CloudFormation's default billing mode is PROVISIONED, which then needs
	// throughput on the table and on every GSI.
	mode := types.BillingMode(p.BillingMode)
	if mode == "" {
		mode = types.BillingModeProvisioned
	}
	in.BillingMode = mode
	provisioned := mode == types.BillingModeProvisioned
	if provisioned {
		if p.ProvisionedThroughput == nil {
			return nil, nil, fmt.Errorf("sam: %s is PROVISIONED but has no ProvisionedThroughput", logicalID)
		}
		in.ProvisionedThroughput = p.ProvisionedThroughput.sdk()
	}

	for _, g := range p.GlobalSecondaryIndexes {
		gsi := types.GlobalSecondaryIndex{
			IndexName:  aws.String(g.IndexName),
			KeySchema:  keySchema(g.KeySchema),
			Projection: g.Projection.sdk(),
		}
		if provisioned {
			if g.ProvisionedThroughput == nil {
				return nil, nil, fmt.Errorf("sam: %s index %s is PROVISIONED but has no ProvisionedThroughput", logicalID, g.IndexName)
			}
			gsi.ProvisionedThroughput = g.ProvisionedThroughput.sdk()
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, gsi)
	}
	for _, l := range p.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName:  aws.String(l.IndexName),
			KeySchema:  keySchema(l.KeySchema),
			Projection: l.Projection.sdk(),
		})
	}
	if s := p.StreamSpecification; s != nil {
		in.StreamSpecification = &types.StreamSpecification{
			StreamEnabled:  aws.Bool(true),
			StreamViewType: types.StreamViewType(s.StreamViewType),
		}
	}

	var ttl *TTL
	if t := p.TimeToLiveSpecification; t != nil {
		if t.Enabled && t.AttributeName == "" {
			return nil, nil, fmt.Errorf("sam: %s enables TTL without an AttributeName", logicalID)
		}
		ttl = &TTL{AttributeName: t.AttributeName, Enabled: t.Enabled}
	}
	return in, ttl, nil
}

func keySchema(ks []keyElem) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, types.KeySchemaElement{
			AttributeName: aws.String(k.AttributeName),
			KeyType:       types.KeyType(k.KeyType),
		})
	}
	return out
}

func (t *throughput) sdk() *types.ProvisionedThroughput {
	return &types.ProvisionedThroughput{
		ReadCapacityUnits:  aws.Int64(t.ReadCapacityUnits),
		WriteCapacityUnits: aws.Int64(t.WriteCapacityUnits),
	}
}

func (p projection) sdk() *types.Projection {
	out := &types.Projection{ProjectionType: types.ProjectionType(p.ProjectionType)}
	if len(p.NonKeyAttributes) > 0 {
		out.NonKeyAttributes = append([]string(nil), p.NonKeyAttributes...)
	}
	return out
}
