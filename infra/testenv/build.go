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
	return bin, GoBuild(ctx, bin, pkg)
}

// GoBuild builds the packages (paths relative to the repository root) as
// BuildFunction does, to out: a file for one package, a directory ending in
// a separator for several.
func GoBuild(ctx context.Context, out string, pkgs ...string) error {
	return GoBuildFor(ctx, runtime.GOOS, runtime.GOARCH, out, pkgs...)
}

// GoBuildFor is GoBuild for another platform: linux/arm64 is Lambda's.
func GoBuildFor(ctx context.Context, goos, goarch, out string, pkgs ...string) error {
	// go test and go run put the toolchain's go first on PATH.
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	args := append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", out}, pkgs...)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testenv: go build %s: %w\n%s", strings.Join(pkgs, " "), err, b)
	}
	return nil
}
