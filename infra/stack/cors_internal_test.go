package stack

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/techprovider/wa-onboarding/infra/sam"
	"github.com/techprovider/wa-onboarding/infra/testenv"
)

func TestCORSConfig(t *testing.T) {
	tmpl, err := sam.Load(filepath.Join(testenv.RepoRoot(), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	def, _ := tmpl.Parameter("AllowedOrigins")
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"the parameter's default", nil, []string{def}},
		{"ALLOWED_ORIGINS", map[string]string{EnvAllowedOrigins: " https://app.example.com , http://localhost:5173 "}, []string{"https://app.example.com", "http://localhost:5173"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, ok := corsConfig(tmpl, tmpl.Routes(), func(k string) string { return tt.env[k] })
			if !ok || !slices.Equal(c.AllowOrigins, tt.want) || !slices.Equal(c.AllowMethods, []string{"GET", "POST"}) || c.MaxAge != 600 {
				t.Fatalf("corsConfig = %+v, %t; want origins %v", c, ok, tt.want)
			}
		})
	}
}
