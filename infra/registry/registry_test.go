package registry

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestBinariesWireWhatTheRegistryBuilds checks that each function's
// main.go imports the wiring package the registry builds it with, so the
// local stack and the template tests run what Lambda runs.
func TestBinariesWireWhatTheRegistryBuilds(t *testing.T) {
	t.Parallel()
	builders := map[string]any{}
	for id, b := range HTTP {
		builders[id] = b
	}
	for id, b := range Scheduled {
		builders[id] = b
	}
	for id, b := range builders {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			fn := runtime.FuncForPC(reflect.ValueOf(b).Pointer()).Name()
			pkg, name, _ := strings.Cut(fn[strings.LastIndex(fn, "/")+1:], ".")
			pkg = fn[:strings.LastIndex(fn, "/")+1] + pkg
			if name != "New" {
				t.Fatalf("%s is built by %s; wiring packages export New", id, fn)
			}
			// SignupFunction -> functions/signup, as the Makefile builds it.
			main := filepath.Join("..", "..", "functions", strings.ToLower(strings.TrimSuffix(id, "Function")), "main.go")
			f, err := parser.ParseFile(token.NewFileSet(), main, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == pkg {
					return
				}
			}
			t.Errorf("%s does not import %s, which the registry builds %s with", main, pkg, id)
		})
	}
}

// TestNoBinaryImportsTheRegistry keeps the registry out of the functions:
// it would link every function into each binary.
func TestNoBinaryImportsTheRegistry(t *testing.T) {
	t.Parallel()
	mains, _ := filepath.Glob(filepath.Join("..", "..", "functions", "*", "*.go"))
	if len(mains) == 0 {
		t.Fatal("no functions/*/*.go")
	}
	for _, m := range mains {
		f, err := parser.ParseFile(token.NewFileSet(), m, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if strings.HasSuffix(imp.Path.Value, `/infra/registry"`) {
				t.Errorf("%s imports the registry", m)
			}
		}
	}
}
