package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// goBenchPackages hold the service benchmarks with in-memory fakes.
var goBenchPackages = []string{"./shared/onboarding", "./shared/apigw"}

// goBench is one line of go test -bench -benchmem.
type goBench struct {
	pkg, name            string
	iterations           int
	nsPerOp, cpuNsPerOp  float64
	bytesPerOp, allocsOp int64
}

var (
	benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)
	benchFig  = regexp.MustCompile(`([\d.]+) (\S+)`)
)

// runGoBench runs the packages' benchmarks and parses their figures.
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
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, testenv.ModulePath+"/")
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		b := goBench{pkg: pkg, name: m[1]}
		b.iterations, _ = strconv.Atoi(m[2])
		for _, f := range benchFig.FindAllStringSubmatch(m[3], -1) {
			v, _ := strconv.ParseFloat(f[1], 64)
			switch f[2] {
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
