// Package sam reads template.yaml the way the rest of the project
// needs it: the HTTP routes each function serves, the environment each
// function gets, the IAM statements it is granted, the tables it declares.
// The local stack serves Routes(), tests hold the template against the code.
//
// Parsing goes through goformation v7. Two things are done first, because
// goformation's SAM schema predates parts of SAM that the template uses:
//
//   - Intrinsic functions are resolved to readable strings instead of nil:
//     a Ref to a parameter becomes its default (or an override), a Ref to a
//     resource becomes "${LogicalId}", a GetAtt becomes "${LogicalId.Attr}",
//     and Sub keeps every variable that is not a parameter. os.Expand turns
//     such strings into local values.
//   - Properties that goformation does not model (LoggingConfig,
//     AccessLogSettings, ...) are taken out before its strict decoder sees
//     them, and listed by Unmodelled. Raw still holds every property.
package sam

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Resource types the package reads.
const (
	TypeFunction = "AWS::Serverless::Function"
	TypeHTTPAPI  = "AWS::Serverless::HttpApi"
	TypeTable    = "AWS::DynamoDB::Table"
)

// Template is a parsed SAM template.
type Template struct {
	// CFN is goformation's typed view, Globals included.
	CFN *cloudformation.Template

	raw        map[string]any // the whole template after intrinsic resolution
	params     map[string]string
	conditions map[string]bool // every condition, evaluated with params
	unmodelled []string
}

// Route is one HTTP API route a function serves.
type Route struct {
	Function string // logical ID of the function
	Event    string // name of the event in the function's Events
	API      string // logical ID of the HttpApi, "" for SAM's implicit one
	Method   string // upper case; "ANY" for any method
	Path     string // API Gateway path, e.g. /api/x/{id}; "$default" for the catch-all
	Auth     string // authorizer name; "" when the route is public
}

// Key returns the API Gateway route key, e.g. "GET /x".
func (r Route) Key() string {
	if r.Path == "$default" {
		return "$default"
	}
	return r.Method + " " + r.Path
}

// Schedule is one scheduled (EventBridge) trigger of a function.
type Schedule struct {
	Function   string
	Event      string
	Expression string // rate(...) or cron(...)
	Enabled    bool
}

// Function is a function's settings with Globals applied.
type Function struct {
	Name          string
	CodeURI       string
	Handler       string
	Runtime       string
	Architectures []string
	Timeout       int // seconds
	MemorySize    int // MB
	BuildMethod   string
	Environment   map[string]string
	LogFormat     string // LoggingConfig.LogFormat
	LogGroup      string // LoggingConfig.LogGroup
}

// Statement is one entry of a function's Policies. Inline statements fill
// Effect, Actions and Resources; a managed policy name or ARN, or a SAM
// policy template, fills Managed instead (and Resources with the template's
// parameter values).
type Statement struct {
	Effect    string
	Actions   []string
	Resources []string
	Managed   string
}

// Table is a DynamoDB table's key schema and indexes.
type Table struct {
	Name         string
	HashKey      string
	RangeKey     string
	Attributes   map[string]string // attribute name → S, N or B
	Indexes      []Index
	BillingMode  string
	TTLAttribute string
}

// Index is a global secondary index.
type Index struct {
	Name       string
	HashKey    string
	RangeKey   string
	Projection string
}

// CORS is an HttpApi's CORS configuration.
type CORS struct {
	AllowOrigins     []string
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	AllowCredentials bool
	MaxAge           int
}

// Option changes how a template is loaded.
type Option func(*options)

type options struct {
	params map[string]string
}

// WithParameters overrides parameter defaults, as `sam deploy
// --parameter-overrides` would.
func WithParameters(p map[string]string) Option {
	return func(o *options) {
		for k, v := range p {
			o.params[k] = v
		}
	}
}

// Load reads and parses the template at path.
func Load(path string, opts ...Option) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(data, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse parses a template held in memory.
func Parse(data []byte, opts ...Option) (*Template, error) {
	o := options{params: map[string]string{}}
	for _, opt := range opts {
		opt(&o)
	}
	// First pass: long-form intrinsics, nothing resolved, to learn the
	// parameters before resolving references to them.
	plain, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(plain, &doc); err != nil {
		return nil, err
	}
	params, kinds := parameters(doc, o.params)
	conditions, err := evaluateConditions(doc, params)
	if err != nil {
		return nil, err
	}
	r := resolver{params: params, kinds: kinds, conditions: conditions}
	overrides := map[string]any{}
	for k, v := range params {
		overrides[k] = v
	}
	resolved, err := intrinsics.ProcessJSON(plain, &intrinsics.ProcessorOptions{
		ParameterOverrides: overrides,
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        r.ref,
			"Fn::GetAtt": r.getAtt,
			"Fn::Sub":    r.sub,
			"Fn::If":     r.fnIf,
		},
	})
	if err != nil {
		return nil, err
	}
	t := &Template{params: params, conditions: conditions}
	if err := json.Unmarshal(resolved, &t.raw); err != nil {
		return nil, err
	}

	// goformation decodes strictly: hand it a copy without what it does not
	// model, and decode Globals (which it mistakes for whole resources) here.
	var typed map[string]any
	if err := json.Unmarshal(resolved, &typed); err != nil {
		return nil, err
	}
	globals, _ := typed["Globals"].(map[string]any)
	delete(typed, "Globals")
	resources, _ := typed["Resources"].(map[string]any)
	for _, name := range sortedKeys(resources) {
		res, _ := resources[name].(map[string]any)
		typ, _ := res["Type"].(string)
		props, _ := res["Properties"].(map[string]any)
		if props == nil {
			continue
		}
		if proto, ok := cloudformation.AllResources()[typ]; ok {
			prune(props, reflect.TypeOf(proto), "Resources."+name+".Properties", &t.unmodelled, true)
		}
	}
	typedJSON, err := json.Marshal(typed)
	if err != nil {
		return nil, err
	}
	t.CFN, err = goformation.ParseJSONWithOptions(typedJSON, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("goformation: %w", err)
	}
	t.CFN.Globals = cloudformation.Globals{}
	for _, section := range sortedKeys(globals) {
		props, _ := globals[section].(map[string]any)
		typ := "AWS::Serverless::" + section
		proto, ok := cloudformation.AllResources()[typ]
		if !ok || props == nil {
			continue
		}
		prune(props, reflect.TypeOf(proto), "Globals."+section, &t.unmodelled, true)
		wrapped, err := json.Marshal(map[string]any{"Type": typ, "Properties": props})
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(wrapped, proto); err != nil {
			return nil, fmt.Errorf("goformation: Globals.%s: %w", section, err)
		}
		t.CFN.Globals[section] = proto
	}
	sort.Strings(t.unmodelled)
	return t, nil
}

// parameters returns every parameter's value (override, else default) and
// its type.
func parameters(doc map[string]any, overrides map[string]string) (values, kinds map[string]string) {
	values, kinds = map[string]string{}, map[string]string{}
	ps, _ := doc["Parameters"].(map[string]any)
	for name, p := range ps {
		pm, _ := p.(map[string]any)
		kinds[name], _ = pm["Type"].(string)
		switch d := pm["Default"].(type) {
		case string:
			values[name] = d
		case float64:
			values[name] = strconv.FormatFloat(d, 'f', -1, 64)
		case bool:
			values[name] = strconv.FormatBool(d)
		}
		if v, ok := overrides[name]; ok {
			values[name] = v
		}
	}
	return values, kinds
}

// resolver renders intrinsic functions as strings a reader (and os.Expand)
// understands, instead of goformation's default of nil.
type resolver struct {
	params     map[string]string
	kinds      map[string]string
	conditions map[string]bool
}

// fnIf picks the branch of Fn::If its condition selects; an unknown
// condition resolves to nothing.
func (r resolver) fnIf(_ string, input, _ any) any {
	arr, ok := input.([]any)
	if !ok || len(arr) != 3 {
		return nil
	}
	name, _ := arr[0].(string)
	holds, known := r.conditions[name]
	switch {
	case !known:
		return nil
	case holds:
		return arr[1]
	}
	return arr[2]
}

// evaluateConditions evaluates the template's Conditions section with the
// parameters' values: Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition,
// the functions CloudFormation allows there.
func evaluateConditions(doc map[string]any, params map[string]string) (map[string]bool, error) {
	defs, _ := doc["Conditions"].(map[string]any)
	out := make(map[string]bool, len(defs))
	visiting := map[string]bool{}
	var byName func(name string) (bool, error)
	var eval func(v any) (bool, error)
	byName = func(name string) (bool, error) {
		if v, ok := out[name]; ok {
			return v, nil
		}
		def, ok := defs[name]
		if !ok {
			return false, fmt.Errorf("sam: no condition %s", name)
		}
		if visiting[name] {
			return false, fmt.Errorf("sam: condition %s refers to itself", name)
		}
		visiting[name] = true
		v, err := eval(def)
		if err != nil {
			return false, fmt.Errorf("sam: condition %s: %w", name, err)
		}
		out[name] = v
		return v, nil
	}
	value := func(v any) (string, error) {
		switch x := v.(type) {
		case string:
			return x, nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		case map[string]any:
			if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
				if p, ok := params[ref]; ok {
					return p, nil
				}
				return "", fmt.Errorf("Ref %s is not a parameter", ref)
			}
		}
		return "", fmt.Errorf("unsupported value %v in Fn::Equals", v)
	}
	eval = func(v any) (bool, error) {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			if b, ok := v.(bool); ok {
				return b, nil
			}
			return false, fmt.Errorf("unsupported condition %v", v)
		}
		for fn, arg := range m {
			args, _ := arg.([]any)
			switch fn {
			case "Condition":
				name, _ := arg.(string)
				return byName(name)
			case "Fn::Equals":
				if len(args) != 2 {
					return false, fmt.Errorf("Fn::Equals takes two values")
				}
				a, err := value(args[0])
				if err != nil {
					return false, err
				}
				b, err := value(args[1])
				return a == b, err
			case "Fn::Not":
				if len(args) != 1 {
					return false, fmt.Errorf("Fn::Not takes one condition")
				}
				c, err := eval(args[0])
				return !c, err
			case "Fn::And", "Fn::Or":
				all := fn == "Fn::And"
				for _, a := range args {
					c, err := eval(a)
					if err != nil {
						return false, err
					}
					if c != all {
						return c, nil
					}
				}
				return all, nil
			}
			return false, fmt.Errorf("unsupported function %s in a condition", fn)
		}
		return false, nil
	}
	for name := range defs {
		if _, err := byName(name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r resolver) ref(_ string, input, _ any) any {
	name, ok := input.(string)
	if !ok {
		return nil
	}
	if name == "AWS::NoValue" {
		return nil
	}
	v, ok := r.params[name]
	if !ok {
		return "${" + name + "}"
	}
	kind := r.kinds[name]
	switch {
	case kind == "CommaDelimitedList" || strings.HasPrefix(kind, "List<"):
		var out []any
		for _, s := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(s))
		}
		return out
	case kind == "Number":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}

func (r resolver) getAtt(_ string, input, _ any) any {
	switch v := input.(type) {
	case string:
		return "${" + v + "}"
	case []any:
		parts := make([]string, 0, len(v))
		for _, p := range v {
			s, ok := p.(string)
			if !ok {
				return nil
			}
			parts = append(parts, s)
		}
		return "${" + strings.Join(parts, ".") + "}"
	}
	return nil
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func (r resolver) sub(_ string, input, _ any) any {
	var src string
	vars := map[string]any{}
	switch v := input.(type) {
	case string:
		src = v
	case []any:
		if len(v) == 0 {
			return nil
		}
		src, _ = v[0].(string)
		if len(v) > 1 {
			vars, _ = v[1].(map[string]any)
		}
	default:
		return nil
	}
	return subVar.ReplaceAllStringFunc(src, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := vars[name]; ok {
			if s, ok := v.(string); ok {
				return s
			}
			return m
		}
		if v, ok := r.params[name]; ok && !strings.Contains(name, ".") {
			return v
		}
		return m
	})
}

// prune deletes the keys of v that typ's JSON fields do not name, recording
// their paths. Types with their own UnmarshalJSON (goformation's unions) are
// left alone below the top level.
func prune(v any, typ reflect.Type, path string, dropped *[]string, top bool) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if !top && reflect.PointerTo(typ).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return
	}
	switch typ.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		fields := map[string]reflect.Type{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fields[name] = f.Type
		}
		for _, k := range sortedKeys(m) {
			ft, ok := fields[k]
			if !ok {
				*dropped = append(*dropped, path+"."+k)
				delete(m, k)
				continue
			}
			prune(m[k], ft, path+"."+k, dropped, false)
		}
	case reflect.Slice:
		if s, ok := v.([]any); ok {
			for i, e := range s {
				prune(e, typ.Elem(), fmt.Sprintf("%s[%d]", path, i), dropped, false)
			}
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok {
			for k, e := range m {
				prune(e, typ.Elem(), path+"."+k, dropped, false)
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Unmodelled lists the property paths goformation does not model; Raw has
// their values.
func (t *Template) Unmodelled() []string { return slices.Clone(t.unmodelled) }

// Raw returns a resource as written (intrinsics resolved), with every
// property, or nil when there is no such resource.
func (t *Template) Raw(resource string) map[string]any {
	res, _ := t.raw["Resources"].(map[string]any)
	m, _ := res[resource].(map[string]any)
	return m
}

// RawGlobals returns a Globals section (Function, HttpApi, ...) as written.
func (t *Template) RawGlobals(section string) map[string]any {
	g, _ := t.raw["Globals"].(map[string]any)
	m, _ := g[section].(map[string]any)
	return m
}

// Parameter returns a parameter's value: its override, else its default.
func (t *Template) Parameter(name string) (string, bool) {
	v, ok := t.params[name]
	return v, ok
}

// Parameters returns every parameter that has a value.
func (t *Template) Parameters() map[string]string {
	out := make(map[string]string, len(t.params))
	for k, v := range t.params {
		out[k] = v
	}
	return out
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

// ResourceType returns the Type of a resource, or "".
func (t *Template) ResourceType(resource string) string {
	typ, _ := t.Raw(resource)["Type"].(string)
	return typ
}

// Resources returns the logical IDs of the resources of type typ, sorted.
func (t *Template) Resources(typ string) []string {
	var out []string
	for name, r := range t.CFN.Resources {
		if r.AWSCloudFormationType() == typ {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Functions returns the logical IDs of the template's functions, sorted.
func (t *Template) Functions() []string { return t.Resources(TypeFunction) }

func (t *Template) function(name string) (*serverless.Function, error) {
	f, err := t.CFN.GetServerlessFunctionWithName(name)
	if err != nil {
		return nil, fmt.Errorf("sam: no function %s", name)
	}
	return f, nil
}

func (t *Template) globalFunction() *serverless.Function {
	if g, ok := t.CFN.Globals["Function"].(*serverless.Function); ok {
		return g
	}
	return &serverless.Function{}
}

// Function returns a function's settings with Globals applied.
func (t *Template) Function(name string) (Function, error) {
	f, err := t.function(name)
	if err != nil {
		return Function{}, err
	}
	g := t.globalFunction()
	str := func(a, b *string) string {
		if a != nil {
			return *a
		}
		if b != nil {
			return *b
		}
		return ""
	}
	num := func(a, b *int) int {
		if a != nil {
			return *a
		}
		if b != nil {
			return *b
		}
		return 0
	}
	out := Function{
		Name:          name,
		Handler:       str(f.Handler, g.Handler),
		Runtime:       str(f.Runtime, g.Runtime),
		Architectures: f.Architectures,
		Timeout:       num(f.Timeout, g.Timeout),
		MemorySize:    num(f.MemorySize, g.MemorySize),
		Environment:   t.Environment(name),
	}
	if out.Architectures == nil {
		out.Architectures = g.Architectures
	}
	for _, c := range []*serverless.Function_CodeUri{f.CodeUri, g.CodeUri} {
		if c != nil && c.String != nil {
			out.CodeURI = *c.String
			break
		}
	}
	out.BuildMethod, _ = f.AWSCloudFormationMetadata["BuildMethod"].(string)
	for _, lc := range []any{t.RawGlobals("Function")["LoggingConfig"], props(t.Raw(name))["LoggingConfig"]} {
		m, _ := lc.(map[string]any)
		if s, ok := m["LogFormat"].(string); ok {
			out.LogFormat = s
		}
		if s, ok := m["LogGroup"].(string); ok {
			out.LogGroup = s
		}
	}
	return out, nil
}

func props(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	return p
}

// Environment returns the variables a function gets: Globals merged with
// its own, its own winning. Unresolved references read "${LogicalId}".
func (t *Template) Environment(function string) map[string]string {
	env := map[string]string{}
	if g := t.globalFunction(); g.Environment != nil {
		for k, v := range g.Environment.Variables {
			env[k] = v
		}
	}
	if f, err := t.function(function); err == nil && f.Environment != nil {
		for k, v := range f.Environment.Variables {
			env[k] = v
		}
	}
	return env
}

// Routes returns every HttpApi route of every function, sorted by path
// then method.
func (t *Template) Routes() []Route {
	var out []Route
	for _, fn := range t.Functions() {
		f, _ := t.function(fn)
		for _, ev := range sortedKeys(f.Events) {
			src := f.Events[ev]
			if src.Type != "HttpApi" {
				continue
			}
			r := Route{Function: fn, Event: ev, Method: "ANY", Path: "$default"}
			var e *serverless.Function_HttpApiEvent
			if src.Properties != nil {
				e = src.Properties.HttpApiEvent
			}
			if e != nil {
				if e.Method != nil && *e.Method != "" {
					r.Method = strings.ToUpper(*e.Method)
				}
				if e.Path != nil && *e.Path != "" {
					r.Path = *e.Path
				}
				if e.ApiId != nil {
					r.API = strings.TrimSuffix(strings.TrimPrefix(*e.ApiId, "${"), "}")
				}
				if e.Auth != nil && e.Auth.Authorizer != nil {
					r.Auth = *e.Auth.Authorizer
				}
			}
			if r.Auth == "" {
				r.Auth = t.defaultAuthorizer(r.API)
			}
			if r.Auth == "NONE" {
				r.Auth = ""
			}
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

func (t *Template) defaultAuthorizer(api string) string {
	for _, a := range []*serverless.HttpApi{t.httpAPI(api), t.globalHTTPAPI()} {
		if a != nil && a.Auth != nil && a.Auth.DefaultAuthorizer != nil {
			return *a.Auth.DefaultAuthorizer
		}
	}
	return ""
}

func (t *Template) httpAPI(name string) *serverless.HttpApi {
	if name == "" {
		return nil
	}
	a, err := t.CFN.GetServerlessHttpApiWithName(name)
	if err != nil {
		return nil
	}
	return a
}

func (t *Template) globalHTTPAPI() *serverless.HttpApi {
	a, _ := t.CFN.Globals["HttpApi"].(*serverless.HttpApi)
	return a
}

// CORS returns the CORS configuration of an HttpApi (Globals applied), or
// false when it has none.
func (t *Template) CORS(api string) (CORS, bool) {
	for _, a := range []*serverless.HttpApi{t.httpAPI(api), t.globalHTTPAPI()} {
		if a == nil || a.CorsConfiguration == nil {
			continue
		}
		c := a.CorsConfiguration
		if c.Boolean != nil {
			if !*c.Boolean {
				return CORS{}, false
			}
			return CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}, true
		}
		if o := c.CorsConfigurationObject; o != nil {
			out := CORS{
				AllowOrigins:  o.AllowOrigins,
				AllowMethods:  o.AllowMethods,
				AllowHeaders:  o.AllowHeaders,
				ExposeHeaders: o.ExposeHeaders,
			}
			if o.AllowCredentials != nil {
				out.AllowCredentials = *o.AllowCredentials
			}
			if o.MaxAge != nil {
				out.MaxAge = *o.MaxAge
			}
			return out, true
		}
	}
	return CORS{}, false
}

// Schedules returns every Schedule event of every function.
func (t *Template) Schedules() []Schedule {
	var out []Schedule
	for _, fn := range t.Functions() {
		f, _ := t.function(fn)
		for _, ev := range sortedKeys(f.Events) {
			src := f.Events[ev]
			if src.Type != "Schedule" && src.Type != "ScheduleV2" {
				continue
			}
			s := Schedule{Function: fn, Event: ev, Enabled: true}
			// Read from Raw: goformation's union decoding cannot tell a
			// Schedule from a CloudWatchEvent, and lacks State.
			events, _ := props(t.Raw(fn))["Events"].(map[string]any)
			event, _ := events[ev].(map[string]any)
			raw := props(event)
			s.Expression, _ = raw["Schedule"].(string)
			if s.Expression == "" {
				s.Expression, _ = raw["ScheduleExpression"].(string)
			}
			if en, ok := raw["Enabled"].(bool); ok {
				s.Enabled = en
			}
			if st, ok := raw["State"].(string); ok {
				s.Enabled = st == "ENABLED"
			}
			out = append(out, s)
		}
	}
	return out
}

// Policies returns a function's policy statements. Raw is read rather than
// goformation's Function_Policies, whose union decoding drops lists that mix
// managed policy names and inline documents.
func (t *Template) Policies(function string) ([]Statement, error) {
	res := t.Raw(function)
	if res == nil {
		return nil, fmt.Errorf("sam: no function %s", function)
	}
	var out []Statement
	var walk func(p any) error
	walk = func(p any) error {
		switch v := p.(type) {
		case nil:
			return nil
		case string:
			out = append(out, Statement{Managed: v})
		case []any:
			for _, e := range v {
				if err := walk(e); err != nil {
					return err
				}
			}
		case map[string]any:
			if st, ok := v["Statement"]; ok {
				list, ok := st.([]any)
				if !ok {
					list = []any{st}
				}
				for _, s := range list {
					sm, ok := s.(map[string]any)
					if !ok {
						return fmt.Errorf("sam: %s: a policy statement is not an object", function)
					}
					effect, _ := sm["Effect"].(string)
					out = append(out, Statement{Effect: effect, Actions: stringList(sm["Action"]), Resources: stringList(sm["Resource"])})
				}
				return nil
			}
			for _, name := range sortedKeys(v) {
				s := Statement{Managed: name}
				if params, ok := v[name].(map[string]any); ok {
					for _, k := range sortedKeys(params) {
						s.Resources = append(s.Resources, stringList(params[k])...)
					}
				}
				out = append(out, s)
			}
		default:
			return errors.New("sam: " + function + ": unsupported Policies entry")
		}
		return nil
	}
	if err := walk(props(res)["Policies"]); err != nil {
		return nil, err
	}
	return out, nil
}

// stringList reads a string or a list of strings.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			} else {
				b, _ := json.Marshal(e)
				out = append(out, string(b))
			}
		}
		return out
	case nil:
		return nil
	}
	b, _ := json.Marshal(v)
	return []string{string(b)}
}

// Tables returns the logical IDs of the DynamoDB tables, sorted.
func (t *Template) Tables() []string { return t.Resources(TypeTable) }

// Table returns a DynamoDB table's key schema and indexes.
func (t *Template) Table(name string) (Table, error) {
	tb, err := t.CFN.GetDynamoDBTableWithName(name)
	if err != nil {
		return Table{}, fmt.Errorf("sam: no table %s", name)
	}
	out := Table{Name: name, Attributes: map[string]string{}}
	for _, a := range tb.AttributeDefinitions {
		out.Attributes[a.AttributeName] = a.AttributeType
	}
	out.HashKey, out.RangeKey = keys(tb.KeySchema)
	for _, g := range tb.GlobalSecondaryIndexes {
		ix := Index{Name: g.IndexName}
		ix.HashKey, ix.RangeKey = keys(g.KeySchema)
		if g.Projection != nil && g.Projection.ProjectionType != nil {
			ix.Projection = *g.Projection.ProjectionType
		}
		out.Indexes = append(out.Indexes, ix)
	}
	if tb.BillingMode != nil {
		out.BillingMode = *tb.BillingMode
	}
	if ttl := tb.TimeToLiveSpecification; ttl != nil && ttl.Enabled && ttl.AttributeName != nil {
		out.TTLAttribute = *ttl.AttributeName
	}
	return out, nil
}

func keys(ks []dynamodb.Table_KeySchema) (hash, rng string) {
	for _, k := range ks {
		switch k.KeyType {
		case "HASH":
			hash = k.AttributeName
		case "RANGE":
			rng = k.AttributeName
		}
	}
	return hash, rng
}
