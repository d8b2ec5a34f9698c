package testenv

import (
	"fmt"
	"net"
	"sync"
)

var (
	issuedMu sync.Mutex
	issued   = map[int]bool{}
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago: the
// kernel picks it for a listener that is closed at once. Another process can
// still take it before the caller binds, so starters here retry on that. A
// port is never handed out twice by one process. It panics if the loopback
// interface cannot be listened on at all.
func FreePort() int {
	issuedMu.Lock()
	defer issuedMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(fmt.Sprintf("testenv: FreePort: %v", err))
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !issued[port] {
			issued[port] = true
			return port
		}
	}
	panic("testenv: FreePort: the kernel kept handing out ports already used")
}
