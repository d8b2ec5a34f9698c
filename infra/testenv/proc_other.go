//go:build !linux

package testenv

import (
	"os"
	"os/exec"
	"syscall"
	"time"
)

var (
	termSignal os.Signal = os.Interrupt
	killSignal os.Signal = os.Kill
)

// sysProcAttr has no parent-death signal off Linux: a child can outlive a
// test binary that is killed hard, and must then be stopped by hand.
func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(cmd *exec.Cmd, sig os.Signal) {
	if cmd.Process != nil {
		_ = cmd.Process.Signal(sig)
	}
}

// listensOn cannot look behind the probe off Linux; the probe has to do.
func listensOn(pid, port int) bool { return true }

// ProcStat is what /proc says of a process; nothing off Linux.
type ProcStat struct {
	CPU          time.Duration
	PeakRSS, RSS int64
}

func ReadProc(int) ProcStat { return ProcStat{} }

func (r *RIE) FunctionPID() int { return 0 }
