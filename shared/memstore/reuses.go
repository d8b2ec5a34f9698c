package memstore

import (
	"context"

	"github.com/techprovider/wa-onboarding/shared/onboarding"
)

var _ onboarding.SessionReuseCounter = (*Store)(nil)

// CountReuse implements onboarding.SessionReuseCounter, and records u as
// the attempt of its code unless a retry of that code was recorded
// before; op "count_reuse" for Fail.
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
	if u.CodeHash != "" && u.Attempt != "" {
		if s.codeUses == nil {
			s.codeUses = map[string]map[string]onboarding.SessionUse{}
		}
		if s.codeUses[u.ID] == nil {
			s.codeUses[u.ID] = map[string]onboarding.SessionUse{}
		}
		if _, spent := s.codeUses[u.ID][u.CodeHash]; !spent {
			s.codeUses[u.ID][u.CodeHash] = u
		}
	}
	s.Writes++
	return nil
}
