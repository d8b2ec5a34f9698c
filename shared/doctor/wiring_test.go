package doctor_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/config"
	"github.com/techprovider/wa-onboarding/shared/doctor"
)

func TestDoctorPageURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, pageURL, apiID, region, want string
	}{
		{"custom page", "https://app.example.com/onboard", "abc123", "us-east-1", "https://app.example.com/onboard"},
		{"the API's root", "", "abc123", "eu-west-1", "https://abc123.execute-api.eu-west-1.amazonaws.com/"},
		{"china", "", "abc123", "cn-north-1", "https://abc123.execute-api.cn-north-1.amazonaws.com.cn/"},
		{"neither", "", "", "us-east-1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{config.EnvPageURL: tt.pageURL, config.EnvAPIID: tt.apiID, config.EnvAllowedOrigins: "https://a.example, https://b.example"}
			d := doctor.FromConfig(config.LoadDoctor(func(k string) string { return env[k] }), clients.Deps{AWS: aws.Config{Region: tt.region}})
			if d.PageURL != tt.want || len(d.AllowedOrigins) != 2 || d.GraphVersion != config.DefaultGraphVersion {
				t.Fatalf("settings = %+v, want page %q", d.Settings, tt.want)
			}
		})
	}
}
