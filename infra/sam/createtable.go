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
	// CloudFormation spells these properties as the DynamoDB API does, so
	// they decode straight into the SDK's types.
	var p struct {
		dynamodb.CreateTableInput
		GlobalSecondaryIndexes []struct {
			types.GlobalSecondaryIndex
			ContributorInsightsSpecification any // changes nothing DynamoDB Local does
		}
		TimeToLiveSpecification *TTL
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, nil, fmt.Errorf("sam: %s.Properties: %w; if the template is right, teach infra/sam's createtable.go this property", logicalID, err)
	}
	in := &p.CreateTableInput
	if len(in.KeySchema) == 0 {
		return nil, nil, fmt.Errorf("sam: %s has no KeySchema", logicalID)
	}
	if !strings.Contains(name, "${") && name != "" {
		in.TableName = aws.String(name)
	}
	// CloudFormation's default billing mode is PROVISIONED, which then needs
	// throughput on the table and on every GSI.
	in.BillingMode = cmp.Or(in.BillingMode, types.BillingModeProvisioned)
	provisioned := in.BillingMode == types.BillingModeProvisioned
	if provisioned && in.ProvisionedThroughput == nil {
		return nil, nil, fmt.Errorf("sam: %s is PROVISIONED but has no ProvisionedThroughput", logicalID)
	} else if !provisioned {
		in.ProvisionedThroughput = nil
	}
	for _, g := range p.GlobalSecondaryIndexes {
		if provisioned && g.ProvisionedThroughput == nil {
			return nil, nil, fmt.Errorf("sam: %s index %s is PROVISIONED but has no ProvisionedThroughput", logicalID, aws.ToString(g.IndexName))
		} else if !provisioned {
			g.ProvisionedThroughput = nil
		}
		g.OnDemandThroughput, g.WarmThroughput = nil, nil
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, g.GlobalSecondaryIndex)
	}
	if s := in.StreamSpecification; s != nil {
		s.StreamEnabled = aws.Bool(true)
	}
	if ttl := p.TimeToLiveSpecification; ttl != nil && ttl.Enabled && ttl.AttributeName == "" {
		return nil, nil, fmt.Errorf("sam: %s enables TTL without an AttributeName", logicalID)
	}
	return in, p.TimeToLiveSpecification, nil
}

// ignoredTableProps are table properties that change nothing DynamoDB Local
// does: backups, encryption, tags, throughput warming and the like. Anything
// not here and not a CreateTable input field is an error, so a new property in the
// template is either taught to this package or listed here on purpose.
var ignoredTableProps = []string{
	"TableName", // read separately: it usually names the stack
	"PointInTimeRecoverySpecification", "SSESpecification", "Tags", "ContributorInsightsSpecification",
	"DeletionProtectionEnabled", "KinesisStreamSpecification", "ResourcePolicy", "TableClass",
	"ImportSourceSpecification", "OnDemandThroughput", "WarmThroughput",
}
