package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPortTaken has another process's socket hold DynamoDB Local's port: a
// plain listener, which makes java fail to bind, and a fake that answers like
// DynamoDB, which the readiness probe alone would take for ours. No probe
// may reach the fake: in a test that fake is a recording endpoint, and a
// stray ListTables in its record fails that test.
func TestPortTaken(t *testing.T) {
	t.Parallel()
	dir := cachePath("dynamodb-local")
	tests := []struct {
		name  string
		serve func(l net.Listener, requests *atomic.Int32)
	}{
		{"silent listener", func(l net.Listener, _ *atomic.Int32) {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}},
		{"answers like DynamoDB", func(l net.Listener, requests *atomic.Int32) {
			_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				fmt.Fprint(w, `{"TableNames":[]}`)
			}))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The wildcard address, as java binds it.
			l, err := net.Listen("tcp", ":0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var requests atomic.Int32
			go tt.serve(l, &requests)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			db, err := startDynamoDBOn(ctx, dir, l.Addr().(*net.TCPAddr).Port)
			if err == nil {
				db.Stop()
				t.Fatal("started on a taken port")
			}
			if !errors.Is(err, errPortTaken) {
				t.Fatalf("err = %v, want errPortTaken", err)
			}
			if n := requests.Load(); n > 0 {
				t.Fatalf("the readiness probe sent %d requests to another process's server", n)
			}
		})
	}
}

func TestListedListener(t *testing.T) {
	t.Parallel()
	table := filepath.Join(t.TempDir(), "tcp6")
	// Rows as /proc/net/tcp6 has them: one LISTEN on 0x1F90 (8080), one
	// established connection on the same port.
	rows := `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1
`
	if err := os.WriteFile(table, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	port := strings.ToUpper(strconv.FormatInt(8080, 16))
	tests := []struct {
		name   string
		port   string
		inodes []string
		want   bool
	}{
		{"own listener", port, []string{"4242"}, true},
		{"someone else's listener", port, []string{"9999"}, false},
		{"own connection, not a listener", port, []string{"4343"}, false},
		{"other port", "1F91", []string{"4242"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inodes := map[string]bool{}
			for _, i := range tt.inodes {
				inodes[i] = true
			}
			if got := listedListener(table, tt.port, inodes); got != tt.want {
				t.Errorf("listedListener = %v, want %v", got, tt.want)
			}
		})
	}
}
