package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// BuildFunction builds a function the way the Makefile does for Lambda
// (CGO_ENABLED=0, -tags lambda.norpc, -trimpath, -ldflags '-s -w') but for
// this machine's OS and architecture, to <outDir>/<name>/bootstrap, and
// returns that path. pkgPath is a function's folder name ("signup"), taken
// as ./functions/<name>, or a package path relative to the repository root
// ("./functions/signup", "./infra/testenv/testdata/echo").
func BuildFunction(ctx context.Context, pkgPath, outDir string) (string, error) {
	pkg := filepath.ToSlash(pkgPath)
	if !strings.Contains(pkg, "/") {
		pkg = "functions/" + pkg
	}
	pkg = "./" + strings.TrimPrefix(path.Clean(pkg), "./")
	name := path.Base(pkg)

	outDir, err := filepath.Abs(outDir)
	if err != nil {
		return "", fmt.Errorf("testenv: %w", err)
	}
	bin := filepath.Join(outDir, name, "bootstrap")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.CommandContext(ctx, goBin, "build",
		"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w",
		"-o", bin, pkg)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("testenv: go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}
