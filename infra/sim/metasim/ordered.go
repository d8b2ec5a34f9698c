package metasim

import (
	"bytes"
	"encoding/json"
)

// field is one member of an orderedObject.
type field struct {
	Key   string
	Value any
}

// orderedObject marshals as a JSON object with its members in slice order.
// Graph answers requested fields in the order asked for; a Go map would
// sort them, and a client that (wrongly) depends on order would then pass
// here and fail against Meta.
type orderedObject []field

// MarshalJSON implements json.Marshaler.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
