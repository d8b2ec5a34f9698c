package testenv

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	termSignal = syscall.SIGTERM
	killSignal = syscall.SIGKILL
)

// sysProcAttr puts the child in its own process group, so stop reaches its
// children too, and has the kernel kill it when the test binary dies, even
// by SIGKILL or a test timeout, so no DynamoDB Local outlives its test.
//
// Pdeathsig fires when the OS thread that started the child exits, not the
// process; the Go runtime only ends threads that a goroutine left locked,
// and nothing here locks one.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup signals the child's process group and the groups of the
// child's own children: aws-lambda-rie starts the function in a group of its
// own, which a signal to ours would miss.
func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process == nil {
		return
	}
	pid := cmd.Process.Pid
	for _, c := range childPIDs(pid) {
		_ = syscall.Kill(-c, sig)
		_ = syscall.Kill(c, sig)
	}
	// Negative pid: the group that Setpgid made, led by the child.
	if err := syscall.Kill(-pid, sig); err != nil {
		_ = cmd.Process.Signal(sig)
	}
}

// childPIDs lists pid's direct children from /proc/<pid>/task/*/children.
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// listensOn reports whether process pid itself holds the listening socket on
// port. A readiness probe alone cannot tell: when two starters race for one
// port, the loser's probe is answered by the winner.
func listensOn(pid, port int) bool {
	fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
	if err != nil {
		return false
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", fd.Name()))
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	wantPort := strings.ToUpper(strconv.FormatInt(int64(port), 16))
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if listedListener(table, wantPort, inodes) {
			return true
		}
	}
	return false
}

// listedListener scans a /proc/net/tcp table for a LISTEN row (state 0A) on
// port (hex) whose socket inode is one of inodes.
func listedListener(table, port string, inodes map[string]bool) bool {
	f, err := os.Open(table)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" {
			continue
		}
		_, p, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		if strings.TrimLeft(p, "0") == strings.TrimLeft(port, "0") && inodes[fields[9]] {
			return true
		}
	}
	return false
}

// ProcStat is what /proc/<pid> says of a process's CPU and memory.
type ProcStat struct {
	CPU          time.Duration // user + system
	PeakRSS, RSS int64         // VmHWM and VmRSS, bytes
}

// ReadProc reads pid's CPU time and memory; zero when pid is not running.
func ReadProc(pid int) ProcStat {
	var st ProcStat
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if pid <= 0 || err != nil {
		return st
	}
	// Fields after the command, which is in parentheses and may hold
	// spaces; times are in USER_HZ, 100 on every Linux here.
	if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:])); len(f) > 12 {
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		st.CPU = time.Duration(utime+stime) * 10 * time.Millisecond
	}
	status, _ := os.ReadFile(filepath.Join(dir, "status"))
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch {
		case err != nil:
		case k == "VmHWM":
			st.PeakRSS = kb << 10
		case k == "VmRSS":
			st.RSS = kb << 10
		}
	}
	return st
}

// FunctionPID is the PID of the function process the emulator started
// (its child), or 0 before the first Invoke.
func (r *RIE) FunctionPID() int {
	if c := childPIDs(r.proc.cmd.Process.Pid); len(c) > 0 {
		return c[0]
	}
	return 0
}
