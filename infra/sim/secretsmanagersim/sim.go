// Package secretsmanagersim is an in-memory AWS Secrets Manager speaking the
// JSON 1.1 protocol, so tests and the local stack can drive a real
// aws-sdk-go-v2 secretsmanager.Client (BaseEndpoint or
// AWS_ENDPOINT_URL_SECRETS_MANAGER) without AWS.
//
// It implements GetSecretValue, CreateSecret, PutSecretValue and
// DescribeSecret with version stages, counts calls per operation, and can
// be told to fail the next calls of an operation. Signatures are not
// checked: any credentials work.
package secretsmanagersim

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/techprovider/wa-onboarding/infra/sim/simkit"
)

// Operation names as they appear after "secretsmanager." in X-Amz-Target.
const (
	OpGetSecretValue = "GetSecretValue"
	OpCreateSecret   = "CreateSecret"
	OpPutSecretValue = "PutSecretValue"
	OpDescribeSecret = "DescribeSecret"
)

// Error types the simulator returns, named as Secrets Manager names them so
// the SDK decodes them into its typed errors.
const (
	ErrResourceNotFound  = "ResourceNotFoundException"
	ErrResourceExists    = "ResourceExistsException"
	ErrInvalidParameter  = "InvalidParameterException"
	ErrInternalService   = "InternalServiceError"
	ErrDecryptionFailure = "DecryptionFailure"
	ErrUnknownOperation  = "UnknownOperationException"
	ErrSerialization     = "SerializationException"
)

// CallsPath is a plain GET endpoint returning the call counters as JSON,
// for scripts driving the local stack.
const CallsPath = "/_sim/calls"

const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
	maxBodyBytes  = 1 << 20
)

// Fault is an error the simulator answers a whole request with, its Type
// one of the Err constants.
type Fault = simkit.AWSFault

// Server is the simulator. The zero value is not usable; call New. Its
// AWSCalls count, fail and hold requests per operation.
type Server struct {
	simkit.AWSCalls
	region, account string

	mu      sync.Mutex
	secrets map[string]*secret // by name
	now     func() time.Time
}

type secret struct {
	name, arn, description string
	created, changed       time.Time
	versions               map[string]*version
}

type version struct {
	id      string
	str     *string
	bin     []byte
	stages  []string
	created time.Time
}

// New returns an empty simulator whose ARNs name us-east-1 and account
// 000000000000.
func New() *Server {
	return &Server{
		region:  "us-east-1",
		account: "000000000000",
		secrets: map[string]*secret{},
		now:     time.Now,
	}
}

// Put stores value as the AWSCURRENT version of the secret name, creating
// the secret when needed, and returns its ARN. It is how tests seed and
// rotate secrets without going through the SDK; it counts no call.
func (s *Server) Put(name, value string) (arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, ok := s.secrets[name]
	if !ok {
		sec = s.create(name, "")
	}
	s.addVersion(sec, simkit.NewUUID(), &value, nil, []string{stageCurrent})
	return sec.arn
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == CallsPath {
		simkit.WriteJSON(w, http.StatusOK, s.CallCounts())
		return
	}
	op, ok := simkit.AWSOperation(w, r, "secretsmanager.")
	if !ok {
		return
	}
	var in request
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err == nil && len(body) > 0 {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		simkit.WriteAWSError(w, http.StatusBadRequest, ErrSerialization, "request body is not valid JSON")
		return
	}

	if f, failed := s.Begin(op); failed {
		f.Write(w)
		return
	}

	var out any
	var aerr *apiError
	s.mu.Lock()
	switch op {
	case OpGetSecretValue:
		out, aerr = s.getSecretValue(in)
	case OpCreateSecret:
		out, aerr = s.createSecret(in)
	case OpPutSecretValue:
		out, aerr = s.putSecretValue(in)
	case OpDescribeSecret:
		out, aerr = s.describeSecret(in)
	default:
		aerr = &apiError{ErrUnknownOperation, "operation " + op + " is not simulated"}
	}
	s.mu.Unlock()
	if aerr != nil {
		simkit.WriteAWSError(w, http.StatusBadRequest, aerr.typ, aerr.msg)
		return
	}
	simkit.WriteAWSJSON(w, out)
}

// request holds the input members of every simulated operation.
type request struct {
	Name               string   `json:"Name"`
	SecretID           string   `json:"SecretId"`
	SecretString       *string  `json:"SecretString"`
	SecretBinary       []byte   `json:"SecretBinary"` // base64 on the wire, as encoding/json reads []byte
	ClientRequestToken string   `json:"ClientRequestToken"`
	Description        string   `json:"Description"`
	VersionID          string   `json:"VersionId"`
	VersionStage       string   `json:"VersionStage"`
	VersionStages      []string `json:"VersionStages"`
}

type apiError struct{ typ, msg string }

func notFound() *apiError {
	return &apiError{ErrResourceNotFound, "Secrets Manager can't find the specified secret."}
}

// epoch is a timestamp as awsJson encodes it: seconds since the epoch.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (s *Server) lookup(id string) *secret {
	if id == "" {
		return nil
	}
	if sec, ok := s.secrets[id]; ok {
		return sec
	}
	for _, sec := range s.secrets {
		// A partial ARN lacks the random six-character suffix.
		if sec.arn == id || (strings.HasPrefix(id, "arn:") && strings.HasPrefix(sec.arn, id+"-") && len(sec.arn) == len(id)+7) {
			return sec
		}
	}
	return nil
}

func (s *Server) create(name, description string) *secret {
	now := s.now()
	sec := &secret{
		name:        name,
		arn:         fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-%s", s.region, s.account, name, simkit.NewUUID()[:6]),
		description: description,
		created:     now,
		changed:     now,
		versions:    map[string]*version{},
	}
	s.secrets[name] = sec
	return sec
}

// addVersion stores a version and moves its stages off other versions; the
// version losing AWSCURRENT becomes AWSPREVIOUS, as in Secrets Manager.
func (s *Server) addVersion(sec *secret, id string, str *string, bin []byte, stages []string) *version {
	now := s.now()
	for _, st := range stages {
		for _, v := range sec.versions {
			if i := slices.Index(v.stages, st); i >= 0 {
				v.stages = slices.Delete(v.stages, i, i+1)
				if st == stageCurrent {
					for _, o := range sec.versions {
						if j := slices.Index(o.stages, stagePrevious); j >= 0 {
							o.stages = slices.Delete(o.stages, j, j+1)
						}
					}
					v.stages = append(v.stages, stagePrevious)
				}
			}
		}
	}
	v := &version{id: id, str: str, bin: bin, stages: slices.Clone(stages), created: now}
	sec.versions[id] = v
	sec.changed = now
	return v
}

func (s *Server) getSecretValue(in request) (any, *apiError) {
	sec := s.lookup(in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	var v *version
	switch {
	case in.VersionID != "":
		v = sec.versions[in.VersionID]
		if v != nil && in.VersionStage != "" && !slices.Contains(v.stages, in.VersionStage) {
			v = nil
		}
	default:
		stage := cmp.Or(in.VersionStage, stageCurrent)
		for _, c := range sec.versions {
			if slices.Contains(c.stages, stage) {
				v = c
			}
		}
	}
	if v == nil {
		return nil, &apiError{ErrResourceNotFound, "Secrets Manager can't find the specified secret value for the requested version."}
	}
	out := map[string]any{
		"ARN":           sec.arn,
		"Name":          sec.name,
		"VersionId":     v.id,
		"VersionStages": v.stages,
		"CreatedDate":   epoch(v.created),
	}
	if v.str != nil {
		out["SecretString"] = *v.str
	}
	if v.bin != nil {
		out["SecretBinary"] = base64.StdEncoding.EncodeToString(v.bin)
	}
	return out, nil
}

func (s *Server) createSecret(in request) (any, *apiError) {
	if in.Name == "" {
		return nil, &apiError{ErrInvalidParameter, "Name is required."}
	}
	if in.SecretString != nil && in.SecretBinary != nil {
		return nil, &apiError{ErrInvalidParameter, "You can't specify both a binary secret value and a string secret value in the same secret."}
	}
	if s.secrets[in.Name] != nil {
		return nil, &apiError{ErrResourceExists, fmt.Sprintf("The operation failed because the secret %s already exists.", in.Name)}
	}
	sec := s.create(in.Name, in.Description)
	out := map[string]any{"ARN": sec.arn, "Name": sec.name}
	if in.SecretString != nil || in.SecretBinary != nil {
		v := s.addVersion(sec, cmp.Or(in.ClientRequestToken, simkit.NewUUID()), in.SecretString, in.SecretBinary, []string{stageCurrent})
		out["VersionId"] = v.id
	}
	return out, nil
}

func (s *Server) putSecretValue(in request) (any, *apiError) {
	sec := s.lookup(in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	if (in.SecretString == nil) == (in.SecretBinary == nil) {
		return nil, &apiError{ErrInvalidParameter, "You must provide either SecretString or SecretBinary."}
	}
	id := cmp.Or(in.ClientRequestToken, simkit.NewUUID())
	if v, ok := sec.versions[id]; ok {
		// The SDK sends the same token on retries: answer them idempotently,
		// but refuse to change the value of an existing version.
		if !sameValue(v, in) {
			return nil, &apiError{ErrResourceExists, "You can't modify an existing version, you can only create a new version."}
		}
		return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": v.stages}, nil
	}
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{stageCurrent}
	}
	v := s.addVersion(sec, id, in.SecretString, in.SecretBinary, stages)
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": v.stages}, nil
}

func (s *Server) describeSecret(in request) (any, *apiError) {
	sec := s.lookup(in.SecretID)
	if sec == nil {
		return nil, notFound()
	}
	stages := map[string][]string{}
	for id, v := range sec.versions {
		if len(v.stages) > 0 {
			stages[id] = v.stages
		}
	}
	out := map[string]any{
		"ARN":                sec.arn,
		"Name":               sec.name,
		"CreatedDate":        epoch(sec.created),
		"LastChangedDate":    epoch(sec.changed),
		"VersionIdsToStages": stages,
	}
	if sec.description != "" {
		out["Description"] = sec.description
	}
	return out, nil
}

func sameValue(v *version, in request) bool {
	if (v.str == nil) != (in.SecretString == nil) {
		return false
	}
	if v.str != nil {
		return *v.str == *in.SecretString
	}
	return string(v.bin) == string(in.SecretBinary)
}
