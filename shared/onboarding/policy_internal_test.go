package onboarding

import (
	"testing"
	"time"
)

// TestRetryPolicyDefaults: a field left zero (or set negative) takes
// DefaultRetryPolicy's value, one that is set keeps it. A zero that stayed
// would mean no Reserve for the final saves, no pause between attempts, or
// giving up at once.
func TestRetryPolicyDefaults(t *testing.T) {
	t.Parallel()
	set := RetryPolicy{BaseDelay: time.Second, MaxDelay: time.Minute, MaxAttempts: 3, MaxAge: time.Hour, InRequestAttempts: 1,
		InRequestDelay: time.Millisecond, Reserve: 3 * time.Second, SubscribeGrace: time.Second}
	smallest := RetryPolicy{BaseDelay: 1, MaxDelay: 1, MaxAttempts: 1, MaxAge: 1, InRequestAttempts: 1,
		InRequestDelay: 1, Reserve: 1, SubscribeGrace: 1}
	negative := RetryPolicy{BaseDelay: -1, MaxDelay: -1, MaxAttempts: -1, MaxAge: -1, InRequestAttempts: -1,
		InRequestDelay: -1, Reserve: -1, SubscribeGrace: -1}
	tests := []struct {
		name     string
		in, want RetryPolicy
	}{
		{"zero", RetryPolicy{}, DefaultRetryPolicy},
		{"negative", negative, DefaultRetryPolicy},
		{"set", set, set},
		{"smallest set", smallest, smallest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.in.withDefaults(); got != tt.want {
				t.Errorf("withDefaults =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}
