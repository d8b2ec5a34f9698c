package secrets_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/techprovider/wa-onboarding/shared/secrets"
)

// barrierSM answers no GetSecretValue before want calls are in flight at
// once, so a sequential caller times out.
type barrierSM struct {
	want    int
	mu      sync.Mutex
	arrived int
	calls   map[string]int
	all     chan struct{}
}

func (b *barrierSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	b.mu.Lock()
	b.calls[*in.SecretId]++
	b.arrived++
	if b.arrived == b.want {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
		return &secretsmanager.GetSecretValueOutput{SecretString: aws.String("value of " + *in.SecretId)}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func TestPreloadFetchesTogether(t *testing.T) {
	t.Parallel()
	sm := &barrierSM{want: 2, calls: map[string]int{}, all: make(chan struct{})}
	c := secrets.NewCache(sm, time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	c.Preload(ctx, "meta", "", "plivo")
	if ctx.Err() != nil {
		t.Fatalf("Preload fetched one secret at a time (waited %s)", time.Since(start))
	}
	for _, id := range []string{"meta", "plivo"} {
		v, err := c.Get(ctx, id)
		if err != nil || v != "value of "+id {
			t.Fatalf("Get(%s) = %q, %v after Preload", id, v, err)
		}
	}
	// Cached secrets are not fetched again, and nothing else is fetched.
	c.Preload(ctx, "meta", "plivo")
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if len(sm.calls) != 2 || sm.calls["meta"] != 1 || sm.calls["plivo"] != 1 {
		t.Fatalf("calls %v, want one per secret", sm.calls)
	}
}
