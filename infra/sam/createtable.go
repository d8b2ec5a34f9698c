// This file builds the CreateTable call for an AWS::DynamoDB::Table of the
// template, so tests run DynamoDB Local with the keys and indexes that
// deploy. It reads the table as Parse resolved it: a property DynamoDB Local
// needs may use parameters and conditions, not another resource.

package sam

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TTL is a table's TimeToLiveSpecification, applied with UpdateTimeToLive
// after CreateTable since CreateTable has no field for it.
type TTL struct {
	AttributeName string
	Enabled       bool
}

// CreateTable returns the CreateTable input for the table resource
// logicalID, and its TTL (nil when the template sets none). TableName is set
// only when the template gives one that names no other resource (not the
// usual ${AWS::StackName}-...); callers normally set their own.
func (t *Template) CreateTable(logicalID string) (*dynamodb.CreateTableInput, *TTL, error) {
	if t.Raw(logicalID) == nil {
		return nil, nil, fmt.Errorf("sam: no resource %q in Resources", logicalID)
	}
	if typ := t.ResourceType(logicalID); typ != TypeTable {
		return nil, nil, fmt.Errorf("sam: resource %s has Type %s, want %s", logicalID, typ, TypeTable)
	}
	used := maps.Clone(props(t.Raw(logicalID)))
	name, _ := used["TableName"].(string)
	for _, k := range ignoredTableProps {
		delete(used, k)
	}
	b, err := json.Marshal(used)
	if err != nil {
		return nil, nil, fmt.Errorf("sam: %s: %w", logicalID, err)
	}
	if bytes.Contains(b, []byte("${")) {
		return nil, nil, fmt.Errorf("sam: %s refers to another resource where DynamoDB Local needs a literal value: %s", logicalID, b)
	}
	var p tableProps
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, nil, fmt.Errorf("sam: %s.Properties: %w; if the template is right, teach infra/sam's createtable.go this property", logicalID, err)
	}
	if strings.Contains(name, "${") {
		name = ""
	}
	return p.createTableInput(logicalID, name)
}

// ignoredTableProps are table properties that change nothing DynamoDB Local
// does: backups, encryption, tags, throughput warming and the like. Anything
// not here and not in tableProps is an error, so a new property in the
// template is either taught to this package or listed here on purpose.
var ignoredTableProps = []string{
	"TableName", // read separately: it usually names the stack
	"PointInTimeRecoverySpecification", "SSESpecification", "Tags", "ContributorInsightsSpecification",
	"DeletionProtectionEnabled", "KinesisStreamSpecification", "ResourcePolicy", "TableClass",
	"ImportSourceSpecification", "OnDemandThroughput", "WarmThroughput",
}

type tableProps struct {
	AttributeDefinitions    []attrDef
	KeySchema               []keyElem
	BillingMode             string
	ProvisionedThroughput   *throughput
	GlobalSecondaryIndexes  []index
	LocalSecondaryIndexes   []index
	StreamSpecification     *struct{ StreamViewType string }
	TimeToLiveSpecification *ttlSpec
}

type attrDef struct{ AttributeName, AttributeType string }

type keyElem struct{ AttributeName, KeyType string }

type throughput struct{ ReadCapacityUnits, WriteCapacityUnits int64 }

type projection struct {
	ProjectionType   string
	NonKeyAttributes []string
}

type index struct {
	IndexName             string
	KeySchema             []keyElem
	Projection            projection
	ProvisionedThroughput *throughput
	// Ignored: they change nothing DynamoDB Local does.
	ContributorInsightsSpecification, OnDemandThroughput, WarmThroughput any
}

type ttlSpec struct {
	AttributeName string
	Enabled       bool
}

func (p *tableProps) createTableInput(logicalID, name string) (*dynamodb.CreateTableInput, *TTL, error) {
	if len(p.KeySchema) == 0 {
		return nil, nil, fmt.Errorf("sam: %s has no KeySchema", logicalID)
	}
	in := &dynamodb.CreateTableInput{
		AttributeDefinitions: make([]types.AttributeDefinition, 0, len(p.AttributeDefinitions)),
		KeySchema:            keySchema(p.KeySchema),
	}
	if name != "" {
		in.TableName = aws.String(name)
	}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: types.ScalarAttributeType(a.AttributeType),
		})
	}

	// CloudFormation's default billing mode is PROVISIONED, which then needs
	// throughput on the table and on every GSI.
	mode := cmp.Or(types.BillingMode(p.BillingMode), types.BillingModeProvisioned)
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
