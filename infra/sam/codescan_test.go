package sam_test

// This file reads the functions' Go source, not a list kept by hand beside
// it, for what they emit: the EMF metrics (name and dimension keys of every
// call) and the JSON log lines (messages and attribute keys). The alarms,
// the dashboard and the saved Logs Insights queries are checked against it,
// so a renamed metric, dimension or log key fails here, not silently in
// CloudWatch.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

const modulePath = "github.com/techprovider/wa-onboarding/"

// codeFile is one parsed non-test source file.
type codeFile struct {
	dir     string            // package directory, relative to the repository
	file    *ast.File         // parsed source
	imports map[string]string // local name -> package directory, for the module's own packages
	stdlib  map[string]bool   // local names of every other import
}

// emission is what the code writes for one metric name.
type emission struct {
	// keySets are the dimension keys of each call, sorted.
	keySets [][]string
	// dirs are the packages that write it.
	dirs map[string]bool
	// literal holds, per dimension key, the values written as literals; a
	// key in dynamic is also written from a variable somewhere.
	literal map[string]map[string]bool
	dynamic map[string]bool
	// filter marks a metric filter's metric, held under its own
	// dimensions only.
	filter bool
}

// scan is what the code emits, read once.
type scan struct {
	files   []codeFile
	consts  map[string]map[string]string // dir -> const name -> string value
	strings map[string]map[string]bool   // dir -> every string constant value and literal in it
	metrics map[string]*emission
	// logKeys are the attribute keys of the log lines; messages their
	// messages, both as literals.
	logKeys  map[string]bool
	messages map[string]bool
	problems []string
}

var (
	scanOnce sync.Once
	scanned  *scan
)

// codeScan parses shared/ and functions/ (without tests) once per test
// binary.
func codeScan(t *testing.T) *scan {
	t.Helper()
	scanOnce.Do(func() { scanned = readCode(testenv.RepoRoot()) })
	if len(scanned.problems) > 0 {
		t.Fatalf("reading the code:\n%s", strings.Join(scanned.problems, "\n"))
	}
	return scanned
}

func readCode(root string) *scan {
	s := &scan{consts: map[string]map[string]string{}, strings: map[string]map[string]bool{}, metrics: map[string]*emission{},
		logKeys: map[string]bool{}, messages: map[string]bool{}}
	fset := token.NewFileSet()
	for _, top := range []string{"shared", "functions"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			cf := codeFile{dir: filepath.ToSlash(rel), file: f, imports: map[string]string{}, stdlib: map[string]bool{}}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				name := p[strings.LastIndex(p, "/")+1:]
				if imp.Name != nil {
					name = imp.Name.Name
				}
				if dir, ok := strings.CutPrefix(p, modulePath); ok {
					cf.imports[name] = dir
				} else {
					cf.stdlib[name] = true
				}
			}
			s.files = append(s.files, cf)
			return nil
		})
		if err != nil {
			s.problems = append(s.problems, err.Error())
			return s
		}
	}
	for _, f := range s.files {
		s.readConsts(f)
	}
	for _, f := range s.files {
		s.readCalls(fset, f)
	}
	return s
}

func (s *scan) readConsts(f codeFile) {
	if s.consts[f.dir] == nil {
		s.consts[f.dir], s.strings[f.dir] = map[string]string{}, map[string]bool{}
	}
	ast.Inspect(f.file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GenDecl:
			if n.Tok != token.CONST {
				return true
			}
			for _, spec := range n.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := stringLit(vs.Values[i]); ok {
							s.consts[f.dir][name.Name] = v
						}
					}
				}
			}
		case *ast.BasicLit:
			if v, ok := stringLit(n); ok {
				s.strings[f.dir][v] = true
			}
		}
		return true
	})
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}

// metricArgs are the positions of the metric names and of the dimensions
// in each onboarding.Metrics method.
var metricArgs = map[string]struct {
	names []int
	dims  int
}{
	"Count":            {[]int{0}, 1},
	"Latency":          {[]int{0}, 2},
	"CountWithLatency": {[]int{0, 1}, 3},
}

// logArgs is where the message and the first key/value pair of each
// slog.Logger method are (-1: no message).
var logArgs = map[string]struct{ msg, pairs int }{
	"Debug": {0, 1}, "Info": {0, 1}, "Warn": {0, 1}, "Error": {0, 1},
	"DebugContext": {1, 2}, "InfoContext": {1, 2}, "WarnContext": {1, 2}, "ErrorContext": {1, 2},
	"Log": {2, 3}, "With": {-1, 0},
}

func (s *scan) readCalls(fset *token.FileSet, f codeFile) {
	for _, decl := range f.file.Decls {
		fn, _ := decl.(*ast.FuncDecl)
		ast.Inspect(decl, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				// A package function (strings.Count, http.Error) is
				// no logger or metrics call; slog's own functions are.
				if x, ok := sel.X.(*ast.Ident); ok && (f.stdlib[x.Name] || f.imports[x.Name] != "") && x.Name != "slog" {
					return true
				}
				if m, ok := metricArgs[sel.Sel.Name]; ok && len(n.Args) == m.dims+1 {
					s.readMetric(fset, f, fn, n, m.names, n.Args[m.dims])
				}
				if l, ok := logArgs[sel.Sel.Name]; ok {
					s.readLog(f, n, l.msg, l.pairs)
				}
			case *ast.CompositeLit:
				// Attributes gathered in a []any before the call.
				if arr, ok := n.Type.(*ast.ArrayType); ok && isAny(arr.Elt) {
					s.readPairs(n.Elts)
				}
			}
			return true
		})
	}
}

func isAny(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "any"
}

func (s *scan) readLog(f codeFile, call *ast.CallExpr, msg, pairs int) {
	if msg >= 0 {
		if msg >= len(call.Args) {
			return
		}
		m, ok := stringLit(call.Args[msg])
		if !ok {
			// A message chosen by the caller (a helper's parameter) is
			// read at the helper's call sites only by hand; its keys are
			// still the logger's.
			if _, isIdent := call.Args[msg].(*ast.Ident); !isIdent {
				return
			}
		} else {
			s.messages[m] = true
		}
	}
	if pairs <= len(call.Args) {
		s.readPairs(call.Args[pairs:])
	}
}

// readPairs reads slog's alternating key/value arguments, and slog.Attr
// constructors (slog.String("key", v)) that take one position.
func (s *scan) readPairs(args []ast.Expr) {
	for i := 0; i < len(args); {
		if c, ok := args[i].(*ast.CallExpr); ok {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "slog" && len(c.Args) > 0 {
					if k, ok := stringLit(c.Args[0]); ok {
						s.logKeys[k] = true
					}
					i++
					continue
				}
			}
		}
		k, ok := stringLit(args[i])
		if !ok {
			return
		}
		s.logKeys[k] = true
		i += 2
	}
}

func (s *scan) readMetric(fset *token.FileSet, f codeFile, fn *ast.FuncDecl, call *ast.CallExpr, names []int, dimsArg ast.Expr) {
	at := fset.Position(call.Pos()).String()
	keys, values, dynamic, ok := readDims(dimsArg)
	if !ok {
		s.problems = append(s.problems, at+": dimensions are neither nil nor a Dims literal with literal keys")
		return
	}
	for _, i := range names {
		metrics := s.resolve(f, fn, call.Args[i])
		if len(metrics) == 0 {
			s.problems = append(s.problems, at+": metric name is not a constant, a literal or a local variable set from them")
			continue
		}
		for _, name := range metrics {
			e := s.metrics[name]
			if e == nil {
				e = &emission{dirs: map[string]bool{}, literal: map[string]map[string]bool{}, dynamic: map[string]bool{}}
				s.metrics[name] = e
			}
			e.dirs[f.dir] = true
			if !slices.ContainsFunc(e.keySets, func(k []string) bool { return slices.Equal(k, keys) }) {
				e.keySets = append(e.keySets, keys)
			}
			for k, v := range values {
				if e.literal[k] == nil {
					e.literal[k] = map[string]bool{}
				}
				e.literal[k][v] = true
			}
			for k := range dynamic {
				e.dynamic[k] = true
			}
		}
	}
}

// readDims reads a nil or a Dims{...} literal: its keys, sorted, the values
// written as literals and the keys whose value is computed.
func readDims(e ast.Expr) (keys []string, literal map[string]string, dynamic map[string]bool, ok bool) {
	literal, dynamic = map[string]string{}, map[string]bool{}
	if id, isIdent := e.(*ast.Ident); isIdent && id.Name == "nil" {
		return []string{}, literal, dynamic, true
	}
	lit, isLit := e.(*ast.CompositeLit)
	if !isLit {
		return nil, nil, nil, false
	}
	for _, elt := range lit.Elts {
		kv, isKV := elt.(*ast.KeyValueExpr)
		if !isKV {
			return nil, nil, nil, false
		}
		k, isStr := stringLit(kv.Key)
		if !isStr {
			return nil, nil, nil, false
		}
		keys = append(keys, k)
		if v, isStr := stringLit(kv.Value); isStr {
			literal[k] = v
		} else {
			dynamic[k] = true
		}
	}
	slices.Sort(keys)
	return keys, literal, dynamic, true
}

// resolve returns the metric names e can hold: a literal, a constant of
// this or another of the module's packages, or a variable of the enclosing
// function assigned only from those.
func (s *scan) resolve(f codeFile, fn *ast.FuncDecl, e ast.Expr) []string {
	if v, ok := stringLit(e); ok {
		return []string{v}
	}
	switch e := e.(type) {
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if v, ok := s.consts[f.imports[x.Name]][e.Sel.Name]; ok {
				return []string{v}
			}
		}
	case *ast.Ident:
		if v, ok := s.consts[f.dir][e.Name]; ok {
			return []string{v}
		}
		if fn == nil {
			return nil
		}
		var out []string
		bad := false
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok || len(as.Lhs) != len(as.Rhs) {
				return true
			}
			for i, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name == e.Name {
					if _, isIdent := as.Rhs[i].(*ast.Ident); isIdent && as.Rhs[i].(*ast.Ident).Name == e.Name {
						bad = true
						continue
					}
					vs := s.resolve(f, nil, as.Rhs[i])
					if len(vs) == 0 {
						bad = true
					}
					out = append(out, vs...)
				}
			}
			return true
		})
		if !bad {
			slices.Sort(out)
			return slices.Compact(out)
		}
	}
	return nil
}

// emittedSets are the dimension sets CloudWatch holds a metric under: the
// EMF writer (shared/metrics) puts every data point in the set without
// dimensions, in the set of its call's keys and in that set with Function.
func (e *emission) emittedSets() [][]string {
	if e.filter {
		return e.keySets
	}
	sets := [][]string{{}}
	for _, keys := range e.keySets {
		for _, set := range [][]string{keys, append([]string{"Function"}, keys...)} {
			set = slices.Sorted(slices.Values(set))
			if !slices.ContainsFunc(sets, func(s []string) bool { return slices.Equal(s, set) }) {
				sets = append(sets, set)
			}
		}
	}
	return sets
}

// canWrite reports whether the code can write value under key for the
// metric: a literal value of some call, or, where a call computes it, a
// string the emitting packages hold.
func (s *scan) canWrite(e *emission, key, value string) bool {
	if e.literal[key][value] {
		return true
	}
	if !e.dynamic[key] {
		return false
	}
	for _, dir := range slices.Sorted(maps.Keys(e.dirs)) {
		if s.strings[dir][value] {
			return true
		}
	}
	return false
}
