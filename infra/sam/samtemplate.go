// Package sam reads template.yaml the way the rest of the project
// needs it: the HTTP routes each function serves, the environment each
// function gets, the IAM statements it is granted, the tables it declares.
// The local stack serves Routes(), tests hold the template against the code.
//
// The template is read with yaml.v3 into plain values (maps, lists,
// strings, float64, bool), short-form intrinsics (!Ref, !Sub, ...) turned
// into their long form, then every intrinsic is resolved to a value a
// reader, and os.Expand, understands:
//
//   - a Ref to a parameter becomes its value (an override, else its
//     default; a list for list types, a number for Number);
//   - a Ref to a resource becomes "${LogicalId}", a GetAtt
//     "${LogicalId.Attr}", and Sub keeps every variable that is not a
//     parameter as it is;
//   - Fn::If takes the branch its condition selects, the Conditions being
//     evaluated with the parameters, and AWS::NoValue removes the property;
//   - Fn::Join joins a list of strings; other functions stay in long form.
//
// A Ref, GetAtt or Sub variable naming nothing the template declares (nor
// a pseudo parameter, nor a resource SAM generates from a declared one, such
// as FunctionRole) is an error, as is an unknown tag: both would fail
// a deploy. What the package reads of functions, APIs and tables is decoded
// from these values; Raw gives the rest.
package sam

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Resource types the package reads.
const (
	TypeFunction = "AWS::Serverless::Function"
	TypeHTTPAPI  = "AWS::Serverless::HttpApi"
	TypeTable    = "AWS::DynamoDB::Table"
)

// Template is a parsed SAM template.
type Template struct {
	raw        map[string]any // the whole template, intrinsics resolved
	specs      map[string]ParameterSpec
	params     map[string]string
	conditions map[string]bool
	functions  map[string]functionProps
	apis       map[string]httpAPIProps // "" for SAM's implicit API
}

// ParameterSpec is a parameter as the template declares it.
type ParameterSpec struct {
	Type           string   `yaml:"Type"`
	Default        *string  `yaml:"Default"` // nil when the parameter has none
	AllowedPattern string   `yaml:"AllowedPattern"`
	AllowedValues  []string `yaml:"AllowedValues"`
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
	// Negated names the NotAction, NotResource or NotPrincipal keys the
	// statement has: each grants everything but what it lists.
	Negated []string
	Managed string
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

// functionProps is what the package reads of a function's Properties,
// Globals merged in. Field names are the template's.
type functionProps struct {
	CodeURI       any `json:"CodeUri"` // a path, or a {Bucket, Key} object
	Handler       string
	Runtime       string
	Architectures []string
	Timeout       int
	MemorySize    int
	Environment   struct{ Variables map[string]string }
	LoggingConfig struct{ LogFormat, LogGroup string }
	Events        map[string]event
}

// event is one entry of a function's Events, with the properties of the
// event types the package reads: HttpApi, Schedule and ScheduleV2.
type event struct {
	Type       string
	Properties struct {
		APIID              string `json:"ApiId"`
		Method             string
		Path               string
		Auth               struct{ Authorizer string }
		Schedule           string
		ScheduleExpression string
		Enabled            *bool
		State              string
	}
}

// httpAPIProps is what the package reads of an HttpApi, Globals merged in.
type httpAPIProps struct {
	Auth              struct{ DefaultAuthorizer string }
	CorsConfiguration any // true, false or a CORS object
}

// Option changes how a template is loaded.
type Option func(*options)

type options struct {
	params map[string]string
}

// WithParameters overrides parameter defaults, as `sam deploy
// --parameter-overrides` would.
func WithParameters(p map[string]string) Option {
	return func(o *options) { maps.Copy(o.params, p) }
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
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("sam: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("sam: the template is not a YAML mapping")
	}
	root := doc.Content[0]
	t := &Template{specs: map[string]ParameterSpec{}, params: map[string]string{}, raw: map[string]any{}}
	if p := mapValue(root, "Parameters"); p != nil {
		if err := p.Decode(&t.specs); err != nil {
			return nil, fmt.Errorf("sam: Parameters: %w", err)
		}
	}
	for name, spec := range t.specs {
		if spec.Default != nil {
			t.params[name] = *spec.Default
		}
		if v, ok := o.params[name]; ok {
			t.params[name] = v
		}
	}
	r := &reader{specs: t.specs, params: t.params, resources: map[string]bool{},
		definitions: map[string]*yaml.Node{}, conditions: map[string]bool{}, visiting: map[string]bool{}}
	for id := range entries(mapValue(root, "Resources")) {
		r.resources[id] = true
	}
	maps.Insert(r.definitions, entries(mapValue(root, "Conditions")))
	for name := range r.definitions {
		if _, err := r.condition(name, 0); err != nil {
			return nil, fmt.Errorf("sam: Conditions: %w", err)
		}
	}
	t.conditions = r.conditions
	for section, n := range entries(root) {
		if section == "Conditions" {
			continue
		}
		var err error
		if t.raw[section], err = r.value(n); err != nil {
			return nil, fmt.Errorf("sam: %s: %w", section, err)
		}
	}
	for _, id := range t.Resources() {
		if t.ResourceType(id) == "" {
			return nil, fmt.Errorf("sam: resource %s has no Type", id)
		}
	}
	t.functions = map[string]functionProps{}
	for _, fn := range t.Functions() {
		var f functionProps
		if err := decode(merge(t.RawGlobals("Function"), props(t.Raw(fn))), &f); err != nil {
			return nil, fmt.Errorf("sam: %s: %w", fn, err)
		}
		t.functions[fn] = f
	}
	t.apis = map[string]httpAPIProps{}
	for _, api := range append(t.Resources(TypeHTTPAPI), "") {
		var a httpAPIProps
		if err := decode(merge(t.RawGlobals("HttpApi"), props(t.Raw(api))), &a); err != nil {
			return nil, fmt.Errorf("sam: HttpApi %s: %w", api, err)
		}
		t.apis[api] = a
	}
	return t, nil
}

// reader turns YAML nodes into the values encoding/json would give,
// intrinsics evaluated (see the package doc).
type reader struct {
	specs       map[string]ParameterSpec
	params      map[string]string
	resources   map[string]bool
	definitions map[string]*yaml.Node // the Conditions section
	conditions  map[string]bool       // those evaluated so far
	visiting    map[string]bool
}

// noValue is what Ref AWS::NoValue resolves to: the mapping or list
// holding it leaves the entry out, as CloudFormation does.
var noValue = &struct{}{}

// shortForms maps CloudFormation's YAML tags to the functions they stand for.
var shortForms = map[string]string{"!Ref": "Ref", "!Condition": "Condition"}

func init() {
	for _, fn := range []string{"And", "Base64", "Cidr", "Equals", "FindInMap", "GetAtt", "GetAZs", "If",
		"ImportValue", "Join", "Length", "Not", "Or", "Select", "Split", "Sub", "ToJsonString", "Transform"} {
		shortForms["!"+fn] = "Fn::" + fn
	}
}

func (r *reader) value(n *yaml.Node) (any, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind == yaml.AliasNode {
		return r.value(n.Alias)
	}
	if fn, ok := shortForms[n.Tag]; ok {
		untagged := *n
		untagged.Tag = ""
		arg, err := r.arg(&untagged)
		if err != nil {
			return nil, err
		}
		return r.call(fn, arg, n.Line)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
	}
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 2 {
			k, v := n.Content[0].Value, n.Content[1]
			if k == "Ref" || strings.HasPrefix(k, "Fn::") || k == "Condition" && v.Kind == yaml.ScalarNode {
				arg, err := r.arg(v)
				if err != nil {
					return nil, err
				}
				return r.call(k, arg, n.Line)
			}
		}
		m := make(map[string]any, len(n.Content)/2)
		for k, c := range entries(n) {
			v, err := r.value(c)
			if err != nil {
				return nil, err
			}
			if v != noValue {
				m[k] = v
			}
		}
		return m, nil
	case yaml.SequenceNode:
		list, err := r.items(n)
		return slices.DeleteFunc(list, func(v any) bool { return v == noValue }), err
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		var f float64
		err := n.Decode(&f)
		return f, err
	case "!!bool":
		var b bool
		err := n.Decode(&b)
		return b, err
	case "!!null":
		return nil, nil
	}
	return n.Value, nil
}

// mapValue returns the value of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for k, v := range entries(m) {
		if k == key {
			return v
		}
	}
	return nil
}

// entries yields the keys and values of a mapping node, and nothing for
// any other node.
func entries(m *yaml.Node) iter.Seq2[string, *yaml.Node] {
	return func(yield func(string, *yaml.Node) bool) {
		if m == nil || m.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if !yield(m.Content[i].Value, m.Content[i+1]) {
				return
			}
		}
	}
}

// arg reads an intrinsic's argument: a list keeps its AWS::NoValue
// entries, which Fn::If chooses between.
func (r *reader) arg(n *yaml.Node) (any, error) {
	if n.Kind == yaml.SequenceNode {
		return r.items(n)
	}
	return r.value(n)
}

func (r *reader) items(n *yaml.Node) ([]any, error) {
	out := make([]any, 0, len(n.Content))
	for _, c := range n.Content {
		v, err := r.value(c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// call evaluates the intrinsic fn on its (already read) argument.
func (r *reader) call(fn string, arg any, line int) (any, error) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("line %d: Ref takes a name", line)
		}
		return r.ref(name, line)
	case "Fn::GetAtt":
		path, _ := arg.(string)
		if len(args) == 2 {
			res, _ := args[0].(string)
			attr, _ := args[1].(string)
			path = res + "." + attr
		}
		res, _, ok := strings.Cut(path, ".")
		if !ok || !r.resource(res) {
			return nil, fmt.Errorf("line %d: GetAtt %v names no resource's attribute", line, arg)
		}
		return "${" + path + "}", nil
	case "Fn::Sub":
		return r.sub(arg, line)
	case "Condition":
		name, _ := arg.(string)
		return r.condition(name, line)
	case "Fn::If":
		if len(args) != 3 {
			return nil, fmt.Errorf("line %d: Fn::If takes a condition, a value if true and one if false", line)
		}
		name, _ := args[0].(string)
		holds, err := r.condition(name, line)
		if err != nil || !holds {
			return args[2], err
		}
		return args[1], nil
	case "Fn::Equals":
		if len(args) != 2 {
			return nil, fmt.Errorf("line %d: Fn::Equals takes two values", line)
		}
		return fmt.Sprint(args[0]) == fmt.Sprint(args[1]), nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		conds := make([]bool, len(args))
		for i, a := range args {
			b, ok := a.(bool)
			if !ok {
				return nil, fmt.Errorf("line %d: %s takes conditions, not %v", line, fn, a)
			}
			conds[i] = b
		}
		switch {
		case fn == "Fn::Not" && len(conds) == 1:
			return !conds[0], nil
		case fn == "Fn::Not":
			return nil, fmt.Errorf("line %d: Fn::Not takes one condition", line)
		case fn == "Fn::And":
			return !slices.Contains(conds, false), nil
		}
		return slices.Contains(conds, true), nil
	case "Fn::Join":
		if len(args) == 2 {
			sep, ok := args[0].(string)
			list, _ := args[1].([]any)
			parts := make([]string, 0, len(list))
			for _, p := range list {
				if s, isString := p.(string); isString {
					parts = append(parts, s)
				}
			}
			if ok && len(parts) == len(list) {
				return strings.Join(parts, sep), nil
			}
		}
	}
	return map[string]any{fn: arg}, nil
}

// condition evaluates a condition of the template, once.
func (r *reader) condition(name string, line int) (bool, error) {
	if v, ok := r.conditions[name]; ok {
		return v, nil
	}
	def, ok := r.definitions[name]
	switch {
	case !ok:
		return false, fmt.Errorf("line %d: no condition %s", line, name)
	case r.visiting[name]:
		return false, fmt.Errorf("line %d: condition %s refers to itself", def.Line, name)
	}
	r.visiting[name] = true
	v, err := r.value(def)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	holds, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("line %d: condition %s is not a condition function", def.Line, name)
	}
	r.conditions[name] = holds
	return holds, nil
}

func (r *reader) ref(name string, line int) (any, error) {
	if name == "AWS::NoValue" {
		return noValue, nil
	}
	if spec, declared := r.specs[name]; declared {
		v, ok := r.params[name]
		switch {
		case !ok:
			return "${" + name + "}", nil
		case spec.Type == "CommaDelimitedList" || strings.HasPrefix(spec.Type, "List<"):
			var out []any
			for _, s := range strings.Split(v, ",") {
				out = append(out, strings.TrimSpace(s))
			}
			return out, nil
		case spec.Type == "Number":
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f, nil
			}
		}
		return v, nil
	}
	if !r.resource(name) {
		return nil, fmt.Errorf("line %d: Ref %s names no parameter or resource", line, name)
	}
	return "${" + name + "}", nil
}

// resource reports whether name is a pseudo parameter, a resource of the
// template, or one SAM generates from one (its logical ID and a suffix,
// e.g. SignupFunctionRole, ResumeFunctionSchedule, or the implicit APIs).
func (r *reader) resource(name string) bool {
	if r.resources[name] || strings.HasPrefix(name, "AWS::") || name == "ServerlessHttpApi" || name == "ServerlessRestApi" {
		return true
	}
	for id := range r.resources {
		if strings.HasPrefix(name, id) {
			return true
		}
	}
	return false
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func (r *reader) sub(arg any, line int) (any, error) {
	src, _ := arg.(string)
	vars := map[string]any{}
	if args, ok := arg.([]any); ok && len(args) > 0 {
		src, _ = args[0].(string)
		if len(args) > 1 {
			vars, _ = args[1].(map[string]any)
		}
	}
	var err error
	out := subVar.ReplaceAllStringFunc(src, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := vars[name]; ok {
			if s, ok := v.(string); ok {
				return s
			}
			return m
		}
		if v, ok := r.params[name]; ok {
			return v
		}
		res, _, _ := strings.Cut(name, ".")
		if _, declared := r.specs[name]; !declared && !r.resource(res) && err == nil {
			err = fmt.Errorf("line %d: Sub variable ${%s} names no parameter or resource", line, name)
		}
		return m
	})
	return out, err
}

// merge lays own over global the way SAM applies Globals: mappings merge
// key by key, anything else in own replaces global. SAM appends lists
// instead; the one list read here, Architectures, is replaced, since an
// appended one would name two architectures, which Lambda refuses.
func merge(global, own any) any {
	g, gok := global.(map[string]any)
	o, ook := own.(map[string]any)
	switch {
	case own == nil:
		return global
	case !gok || !ook:
		return own
	}
	out := make(map[string]any, len(g)+len(o))
	maps.Copy(out, g)
	for k, v := range o {
		out[k] = merge(g[k], v)
	}
	return out
}

// decode fills out, a struct named like the template, from a resolved value.
func decode(v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

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

// ResourceType returns the Type of a resource, or "".
func (t *Template) ResourceType(resource string) string {
	typ, _ := t.Raw(resource)["Type"].(string)
	return typ
}

// Resources returns the logical IDs of the resources of the given types,
// or of every resource when no type is given, sorted.
func (t *Template) Resources(types ...string) []string {
	res, _ := t.raw["Resources"].(map[string]any)
	var out []string
	for _, id := range slices.Sorted(maps.Keys(res)) {
		if len(types) == 0 || slices.Contains(types, t.ResourceType(id)) {
			out = append(out, id)
		}
	}
	return out
}

// Functions returns the logical IDs of the template's functions, sorted.
func (t *Template) Functions() []string { return t.Resources(TypeFunction) }

// Function returns a function's settings with Globals applied.
func (t *Template) Function(name string) (Function, error) {
	f, ok := t.functions[name]
	if !ok {
		return Function{}, fmt.Errorf("sam: no function %s", name)
	}
	out := Function{
		Name:          name,
		Handler:       f.Handler,
		Runtime:       f.Runtime,
		Architectures: f.Architectures,
		Timeout:       f.Timeout,
		MemorySize:    f.MemorySize,
		Environment:   t.Environment(name),
		LogFormat:     f.LoggingConfig.LogFormat,
		LogGroup:      f.LoggingConfig.LogGroup,
	}
	out.CodeURI, _ = f.CodeURI.(string)
	meta, _ := t.Raw(name)["Metadata"].(map[string]any)
	out.BuildMethod, _ = meta["BuildMethod"].(string)
	return out, nil
}

func props(res map[string]any) map[string]any {
	p, _ := res["Properties"].(map[string]any)
	return p
}

// Environment returns the variables a function gets: Globals merged with
// its own, its own winning. Unresolved references read "${LogicalId}".
func (t *Template) Environment(function string) map[string]string {
	env := maps.Clone(t.functions[function].Environment.Variables)
	if env == nil {
		env = map[string]string{}
	}
	return env
}

// Routes returns every HttpApi route of every function, sorted by path
// then method.
func (t *Template) Routes() []Route {
	var out []Route
	for _, fn := range t.Functions() {
		events := t.functions[fn].Events
		for _, name := range slices.Sorted(maps.Keys(events)) {
			e := events[name]
			if e.Type != "HttpApi" {
				continue
			}
			p := e.Properties
			r := Route{
				Function: fn, Event: name, Auth: p.Auth.Authorizer,
				Method: cmp.Or(strings.ToUpper(p.Method), "ANY"), Path: cmp.Or(p.Path, "$default"),
			}
			r.API = strings.TrimSuffix(strings.TrimPrefix(p.APIID, "${"), "}")
			r.Auth = cmp.Or(r.Auth, t.httpAPI(r.API).Auth.DefaultAuthorizer)
			if r.Auth == "NONE" {
				r.Auth = ""
			}
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return out
}

// httpAPI returns an HttpApi's properties with Globals applied: those of
// SAM's implicit API for "", or for a name that is no HttpApi.
func (t *Template) httpAPI(name string) httpAPIProps {
	if a, ok := t.apis[name]; ok {
		return a
	}
	return t.apis[""]
}

// CORS returns the CORS configuration of an HttpApi (Globals applied), or
// false when it has none.
func (t *Template) CORS(api string) (CORS, bool) {
	switch c := t.httpAPI(api).CorsConfiguration.(type) {
	case bool:
		if c {
			return CORS{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}, true
		}
	case map[string]any:
		var out CORS
		return out, decode(c, &out) == nil
	}
	return CORS{}, false
}

// Schedules returns every Schedule event of every function.
func (t *Template) Schedules() []Schedule {
	var out []Schedule
	for _, fn := range t.Functions() {
		events := t.functions[fn].Events
		for _, name := range slices.Sorted(maps.Keys(events)) {
			e := events[name]
			if e.Type != "Schedule" && e.Type != "ScheduleV2" {
				continue
			}
			p := e.Properties
			s := Schedule{Function: fn, Event: name, Expression: p.Schedule, Enabled: true}
			s.Expression = cmp.Or(s.Expression, p.ScheduleExpression)
			if p.Enabled != nil {
				s.Enabled = *p.Enabled
			}
			if p.State != "" {
				s.Enabled = p.State == "ENABLED"
			}
			out = append(out, s)
		}
	}
	return out
}

// Policies returns a function's policy statements: those of its Policies,
// or, when it names a role of the template as its Role, the role's inline
// policies and managed policy ARNs (SAM then grants nothing of its own).
func (t *Template) Policies(function string) ([]Statement, error) {
	if role, ok := t.Role(function); ok {
		return t.rolePolicies(function, role)
	}
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
					out = append(out, statement(sm))
				}
				return nil
			}
			for _, name := range slices.Sorted(maps.Keys(v)) {
				s := Statement{Managed: name}
				if params, ok := v[name].(map[string]any); ok {
					for _, k := range slices.Sorted(maps.Keys(params)) {
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

// Role returns the logical ID of the AWS::IAM::Role a function names as its
// Role ("${X.Arn}"), and whether it names one.
func (t *Template) Role(function string) (string, bool) {
	ref, _ := props(t.Raw(function))["Role"].(string)
	id, found := strings.CutSuffix(strings.TrimPrefix(ref, "${"), ".Arn}")
	if !found || t.ResourceType(id) != "AWS::IAM::Role" {
		return "", false
	}
	return id, true
}

func (t *Template) rolePolicies(function, role string) ([]Statement, error) {
	p := props(t.Raw(role))
	out := make([]Statement, 0, 8)
	for _, arn := range stringList(p["ManagedPolicyArns"]) {
		out = append(out, Statement{Managed: arn})
	}
	policies, _ := p["Policies"].([]any)
	for _, entry := range policies {
		doc, _ := entry.(map[string]any)["PolicyDocument"].(map[string]any)
		list, ok := doc["Statement"].([]any)
		if !ok {
			return nil, fmt.Errorf("sam: %s: role %s has a policy without a Statement list", function, role)
		}
		for _, st := range list {
			sm, ok := st.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("sam: %s: role %s: a policy statement is not an object", function, role)
			}
			out = append(out, statement(sm))
		}
	}
	return out, nil
}

func statement(sm map[string]any) Statement {
	effect, _ := sm["Effect"].(string)
	st := Statement{Effect: effect, Actions: stringList(sm["Action"]), Resources: stringList(sm["Resource"])}
	for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
		if _, ok := sm[k]; ok {
			st.Negated = append(st.Negated, k)
		}
	}
	return st
}

// stringList reads a string or a list of strings; anything else is shown
// as JSON, so that a test comparing it to a resource fails legibly.
func stringList(v any) []string {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []string
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		} else if e != nil {
			b, _ := json.Marshal(e)
			out = append(out, string(b))
		}
	}
	return out
}

// Tables returns the logical IDs of the DynamoDB tables, sorted.
func (t *Template) Tables() []string { return t.Resources(TypeTable) }
