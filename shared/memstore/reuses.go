package memstore

import (
	"context"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

var _ onboarding.SessionReuseCounter = (*Store)(nil)

// CountReuse implements onboarding.SessionReuseCounter; op "count_reuse"
// for Fail.
func (s *Store) CountReuse(_ context.Context, u onboarding.SessionUse, max int) error {
	if err := s.fail("count_reuse", nil); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, spent := s.uses[u.ID]; !spent || s.reuses[u.ID] >= max {
		return onboarding.ErrSessionUsed
	}
	if s.reuses == nil {
		s.reuses = map[string]int{}
	}
	s.reuses[u.ID]++
	s.Writes++
	return nil
}
