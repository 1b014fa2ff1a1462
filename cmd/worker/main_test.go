package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMainExitsWithOneLine runs the binary's main with a bad environment:
// one line on stderr names the variable, and the exit status is 1.
func TestMainExitsWithOneLine(t *testing.T) {
	t.Parallel()
	if os.Getenv("WORKER_TEST_MAIN") == "1" {
		main()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainExitsWithOneLine$")
	cmd.Env = []string{"WORKER_TEST_MAIN=1", "MEND_URL=http://127.0.0.1:1", "MEND_USER_KEY=k"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1", err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "MEND_ORG_TOKEN") {
		t.Errorf("stderr %q, want one line naming MEND_ORG_TOKEN", stderr.String())
	}
}
