package dynamo

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

// healthAttributes are written only by SetHealth, from Meta's webhooks
// about the number and the WABA. A signup's saves leave them alone: Meta
// can report a number's quality while the signup of its WABA still holds
// the lock, and the signup's copy of the record never saw that report.
var healthAttributes = []string{"quality_event", "messaging_limit", "name_status", "requested_name", "review_decision", "health_updated_at"}

// itemAttributes lists every attribute item can hold, so that a save can
// remove the ones the record no longer has (omitempty leaves them out).
var itemAttributes = attributesOf(reflect.TypeFor[item]())

func attributesOf(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			names = append(names, attributesOf(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("dynamodbav"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// wabaHealth are the health attributes about the whole WABA, not its
// number: Meta's review of the WABA, and the messaging limit, which is the
// business portfolio's. Meta sends them around the WABA's creation, often
// before the signup's lock is taken, so taking the lock keeps them.
var wabaHealth = []string{"review_decision", "messaging_limit", "health_updated_at"}

// fieldsUpdate is an update expression that gives the item rec's
// attributes, as a whole-item put would, but for the key and the health
// attributes: each attribute of rec is set and each one it lacks removed.
// Health attributes are never set (healthAttributes: a copy of the record
// read earlier, as a reconnect or a resume run holds, would put back what
// a webhook has changed since); those about the number are removed when
// dropNumberHealth, with Meta's times that ordered them, and the rest left
// alone.
func fieldsUpdate(rec *onboarding.Record, dropNumberHealth bool) (string, map[string]string, map[string]types.AttributeValue, error) {
	av, err := attributevalue.MarshalMap(toItem(rec))
	if err != nil {
		return "", nil, nil, fmt.Errorf("encode record: %w", err)
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var set, remove []string
	for i, attr := range itemAttributes {
		v, present := av[attr]
		switch health := slices.Contains(healthAttributes, attr); {
		case attr == KeyAttribute:
			continue
		case !health:
		case dropNumberHealth && !slices.Contains(wabaHealth, attr):
			present = false
		default:
			continue
		}
		ref := "#a" + strconv.Itoa(i)
		names[ref] = attr
		if present {
			values[":a"+strconv.Itoa(i)] = v
			set = append(set, ref+" = :a"+strconv.Itoa(i))
		} else {
			remove = append(remove, ref)
		}
	}
	if dropNumberHealth {
		remove = append(remove, qualitySentAttr, nameSentAttr)
	}
	update := "SET " + strings.Join(set, ", ")
	if len(remove) > 0 {
		update += " REMOVE " + strings.Join(remove, ", ")
	}
	return update, names, values, nil
}

// saveUpdate is Save as one UpdateItem: every attribute of rec is set and
// every one it lacks removed, as a whole-item put would, except the health
// attributes; the condition is still that the writer owns the lock.
func (s *Store) saveUpdate(rec *onboarding.Record) (*dynamodb.UpdateItemInput, error) {
	update, names, values, err := fieldsUpdate(rec, false)
	if err != nil {
		return nil, err
	}
	names["#lock_owner"] = "lock_owner"
	values[":owner"] = str(rec.LockOwner)
	return &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.Table),
		Key:                                 wabaKey(rec.WABAID),
		ConditionExpression:                 aws.String("#lock_owner = :owner"),
		UpdateExpression:                    aws.String(update),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, nil
}
