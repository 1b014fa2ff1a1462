// Package servicetest is what the tests of mendflow's services share about
// running one through its realMain: an address to give it, waiting until it
// serves, and stopping it.
package servicetest

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// FreeAddr is a loopback address (host:port) nothing listens on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// WaitServing waits until the service at addr answers GET /healthz,
// failing the test if it returns on done first or is not serving within
// 10 seconds.
func WaitServing(t testing.TB, addr string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("realMain returned before serving: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop cancels a service (stop) and expects it to return nil on done within
// 5 seconds, as on SIGTERM, and to serve addr no more.
func Stop(t testing.TB, stop func(), done <-chan error, addr string) {
	t.Helper()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("realMain = %v, want nil after a stop", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("realMain did not return within 5s of the stop")
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("still serving after the stop")
	}
}
