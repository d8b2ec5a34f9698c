package clients_test

import (
	"testing"
	"time"

	"github.com/techprovider/wa-onboarding/shared/app/clients"
	"github.com/techprovider/wa-onboarding/shared/meta"
	"github.com/techprovider/wa-onboarding/shared/plivo"
)

// TestHTTPForBoundsEachUpstreamOnItsOwn: Plivo's Embedded Signup gets its
// own, longer bound, over the same pool of connections as Graph's calls.
func TestHTTPForBoundsEachUpstreamOnItsOwn(t *testing.T) {
	t.Parallel()
	d := clients.Deps{}
	d.Defaults()
	forPlivo := d.HTTPFor(plivo.DefaultTimeout)
	if forPlivo.Timeout != plivo.DefaultTimeout || forPlivo.Transport != d.HTTP.Transport {
		t.Errorf("Plivo's client: timeout %v, shares the pool %t", forPlivo.Timeout, forPlivo.Transport == d.HTTP.Transport)
	}
	if d.HTTP.Timeout != meta.DefaultTimeout {
		t.Errorf("Graph's client bound %v, want %v", d.HTTP.Timeout, meta.DefaultTimeout)
	}
	if plivo.DefaultTimeout <= d.HTTP.Timeout || plivo.DefaultTimeout > 25*time.Second {
		t.Errorf("Plivo's bound %v must exceed Graph's and fit the signup function's 25 s", plivo.DefaultTimeout)
	}
}
