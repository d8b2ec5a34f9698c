package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// goBenchPackages hold the service benchmarks with in-memory fakes.
var goBenchPackages = []string{"./shared/onboarding", "./shared/apigw"}

// goBench is one line of go test -bench -benchmem.
type goBench struct {
	pkg, name            string
	nsPerOp, cpuNsPerOp  float64
	bytesPerOp, allocsOp int64
}

// runGoBench runs the packages' benchmarks and parses their figures:
// "BenchmarkX-2  1000  12 ns/op  9 cpu-ns/op  40 B/op  1 allocs/op".
func runGoBench(ctx context.Context, benchtime string) ([]goBench, error) {
	args := append([]string{"test", "-run=^$", "-bench=.", "-benchmem", "-count=1", "-benchtime=" + benchtime}, goBenchPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	var res []goBench
	pkg := ""
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, testenv.ModulePath+"/")
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		b := goBench{pkg: pkg, name: f[0]}
		if i := strings.LastIndexByte(f[0], '-'); i > 0 && strings.Trim(f[0][i+1:], "0123456789") == "" {
			b.name = f[0][:i] // the GOMAXPROCS suffix
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseFloat(f[i], 64)
			switch f[i+1] {
			case "ns/op":
				b.nsPerOp = v
			case "cpu-ns/op":
				b.cpuNsPerOp = v
			case "B/op":
				b.bytesPerOp = int64(v)
			case "allocs/op":
				b.allocsOp = int64(v)
			}
		}
		res = append(res, b)
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("go %s printed no benchmark figures:\n%s", strings.Join(args, " "), out)
	}
	return res, nil
}
