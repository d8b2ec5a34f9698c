package page

import (
	"io/fs"
	"path"
	"strings"
	"testing"
)

// TestEveryAssetHasAContentType keeps contentTypes in step with assets/: a
// new kind of file would otherwise be served as application/octet-stream.
func TestEveryAssetHasAContentType(t *testing.T) {
	t.Parallel()
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".tmpl") {
			return err
		}
		if _, ok := contentTypes[path.Ext(p)]; !ok {
			t.Errorf("%s: no content type for %q in contentTypes", p, path.Ext(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
