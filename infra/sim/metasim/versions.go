package metasim

import (
	"time"

	"github.com/techprovider/wa-onboarding/shared/doctor"
)

// retired reports whether Graph version v is past its end of life at the
// simulator's now, by the same table the doctor checks (doctor.GraphVersions).
func (s *Server) retired(v string) (time.Time, bool) {
	for _, gv := range doctor.GraphVersions {
		if gv.Version == v {
			return gv.Until, !gv.Until.IsZero() && !s.cfg.Now().Before(gv.Until)
		}
	}
	return time.Time{}, false
}
