package scripts

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/internal/needtool"
)

// freeRun finds n consecutive free loopback ports.
func freeRun(t *testing.T, n int) int {
	t.Helper()
	for base := 20000 + os.Getpid()%20000; base < 65000-n; base += 97 {
		ok := true
		for i := 0; i < n && ok; i++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				continue
			}
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free ports")
	return 0
}

// TestDemo runs scripts/demo.sh: three real nodes sync each other's lists,
// an entry qualifies on the third after hotlines of two jurisdictions
// assessed it on two others, and a platform pulls a witnessed list.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "demo.sh")
	cmd.Env = append(os.Environ(), fmt.Sprintf("HASHHUB_DEMO_PORT=%d", freeRun(t, 3)), "HASHHUB_DEMO_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Operator of hub-gb", "Operator of hub-platform", "Operator of hub-nl",
		"Released shared version 1",
		"sync shared", "ok, version 1 applied",
		"Operator of hub-nl@hub-nl", "Operator of hub-gb@hub-gb",
		"checkpoint: cosigned by", "hashhub/hub-gb/witness", "hashhub/hub-nl/witness",
		"(node hub-platform): OK",
		`{"algo":"md5","value":"00112233445566778899aabbccddeeff","severity":"A"}`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestDemoStopsWhenPortIsTaken holds hub-gb's port with a server that
// answers /readyz as another node: the demo must stop at the start with
// hub-gb's log, not wait forever or take the other server for hub-gb.
func TestDemoStopsWhenPortIsTaken(t *testing.T) {
	base := freeRun(t, 3)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+1))
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"node":"someone-else","status":"ready"}`)
	}))
	other.Listener.Close()
	other.Listener = ln
	other.Start()
	defer other.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "demo.sh")
	cmd.Env = append(os.Environ(), fmt.Sprintf("HASHHUB_DEMO_PORT=%d", base), "HASHHUB_DEMO_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("demo.sh went on with another server on hub-gb's port:\n%s", out)
	}
	if !strings.Contains(string(out), "hub-gb exited:") || !strings.Contains(string(out), "address already in use") {
		t.Errorf("demo.sh did not stop with hub-gb's log:\n%s", out)
	}
	if strings.Contains(string(out), "each node publishes its keys") {
		t.Errorf("demo.sh went past the start:\n%s", out)
	}
}

// TestComposeFile validates docker-compose.yml with Debian's docker-compose
// (no Docker engine is needed for `config`).
func TestComposeFile(t *testing.T) {
	cmd := exec.Command(needtool.Command(t, "docker-compose"), "-f", "../docker-compose.yml", "config")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	for _, svc := range []string{"hub-nl:", "hub-gb:", "hub-platform:", "federate:"} {
		if !strings.Contains(string(out), svc) {
			t.Errorf("compose config lacks service %s", svc)
		}
	}
}
