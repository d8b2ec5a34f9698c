package testenv

import (
	"syscall"
	"testing"
)

// StartCPU returns a func that reports the process's CPU time per
// iteration since the call as cpu-ns/op. On a machine shared with other
// work, ns/op is wall time and grows with the wait for a core; cpu-ns/op
// does not. GC and other background work of the process are included.
func StartCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
