// Package s3test runs a real S3 server for the bucket tests: SeaweedFS's
// weed (internal/needtool.Weed), on loopback ports and a temporary
// directory, with an identity configuration so that its buckets are
// authenticated like any S3 service's.
package s3test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/hashhub/hashhub/internal/needtool"
)

// The buckets a Server has: Private is read only with a key (Reader's
// or Publisher's), Public also anonymously, as over plain HTTP.
const (
	Private = "lists"
	Public  = "open"
)

// Key is an access key and its secret.
type Key struct{ ID, Secret string }

// Server is a running weed S3 gateway.
type Server struct {
	// Endpoint is the S3 endpoint's URL (http://127.0.0.1:port).
	Endpoint string
	// Publisher may read, list and write every bucket; Reader may only
	// read Private (a per-reader key with a read-only policy).
	Publisher, Reader Key
	// Admin is a client with Publisher's key, for a test to break objects.
	Admin *minio.Client
}

// Env is the environment that makes hashhub and hashctl use the server
// with key (empty: anonymous), as an operator would set it.
func (s *Server) Env(key Key) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_S3":   s.Endpoint,
		"AWS_ENDPOINT_URL":      "",
		"AWS_REGION":            "us-east-1",
		"AWS_ACCESS_KEY_ID":     key.ID,
		"AWS_SECRET_ACCESS_KEY": key.Secret,
		"AWS_SESSION_TOKEN":     "",
		// Nothing from the developer's own configuration.
		"MINIO_ACCESS_KEY":            "",
		"MINIO_SECRET_KEY":            "",
		"MINIO_ROOT_USER":             "",
		"MINIO_ROOT_PASSWORD":         "",
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_CONFIG_FILE":             os.DevNull,
	}
}

// Setenv sets Env(key) for the rest of the test.
func (s *Server) Setenv(t testing.TB, key Key) {
	for k, v := range s.Env(key) {
		t.Setenv(k, v)
	}
}

var (
	once   sync.Once
	shared *Server
	err0   error
	stop   func()
)

// Start returns the test binary's weed server, starting it on first use
// (a few seconds); it stops when Stop is called or the binary exits (the
// kernel kills it then, on Linux). A test that needs it calls Start, and
// the package's TestMain calls Stop (or, in a package with one such test,
// the test itself).
// Without weed the test is skipped, or failed on CI (needtool.Weed).
func Start(t testing.TB) *Server {
	t.Helper()
	bin := needtool.Weed(t)
	once.Do(func() { shared, err0 = start(bin) })
	if err0 != nil {
		t.Fatal(err0)
	}
	return shared
}

// Stop ends the weed server if one was started; the next Start starts
// another. Not safe to call while a test uses the server.
func Stop() {
	if stop != nil {
		stop()
	}
	once, shared, err0, stop = sync.Once{}, nil, nil, nil
}

func freePorts(n int) ([]int, error) {
	var out []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for len(out) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

func start(bin string) (*Server, error) {
	dir, err := os.MkdirTemp("", "hashhub-weed-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		Publisher: Key{ID: "hashhub-publisher", Secret: "publisher-secret-0123456789abcdef"},
		Reader:    Key{ID: "hashhub-reader", Secret: "reader-secret-0123456789abcdef"},
	}
	type cred struct {
		AccessKey string `json:"accessKey"`
		SecretKey string `json:"secretKey"`
	}
	type identity struct {
		Name        string   `json:"name"`
		Credentials []cred   `json:"credentials,omitempty"`
		Actions     []string `json:"actions"`
	}
	conf, _ := json.Marshal(map[string]any{"identities": []identity{
		{Name: "publisher", Credentials: []cred{{s.Publisher.ID, s.Publisher.Secret}}, Actions: []string{"Admin", "Read", "List", "Write"}},
		{Name: "reader", Credentials: []cred{{s.Reader.ID, s.Reader.Secret}}, Actions: []string{"Read:" + Private}},
		{Name: "anonymous", Actions: []string{"Read:" + Public}},
	}})
	confFile := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(confFile, conf, 0o600); err != nil {
		return nil, err
	}
	ports, err := freePorts(8)
	if err != nil {
		return nil, err
	}
	p := func(i int) string { return strconv.Itoa(ports[i]) }
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir="+data,
		"-master.port="+p(0), "-master.port.grpc="+p(1), "-master.volumeSizeLimitMB=32", "-master.telemetry=false",
		"-volume.port="+p(2), "-volume.port.grpc="+p(3), "-volume.max=16",
		"-filer", "-filer.port="+p(4), "-filer.port.grpc="+p(5),
		"-s3", "-s3.port="+p(6), "-s3.port.grpc="+p(7), "-s3.port.iceberg=0", "-s3.port.lance=0",
		"-s3.config="+confFile)
	logf, err := os.Create(filepath.Join(dir, "weed.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		cmd.Process.Kill()
		<-exited
		logf.Close()
		os.RemoveAll(dir)
	}
	fail := func(err error) (*Server, error) {
		log, _ := os.ReadFile(logf.Name())
		stop()
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		return nil, fmt.Errorf("weed server: %w\n%s", err, log)
	}
	s.Endpoint = "http://127.0.0.1:" + p(6)
	s.Admin, err = minio.New("127.0.0.1:"+p(6), &minio.Options{
		Creds: credentials.NewStaticV4(s.Publisher.ID, s.Publisher.Secret, ""), Region: "us-east-1"})
	if err != nil {
		return fail(err)
	}
	// The gateway answers once the master, volume server and filer are
	// up: until then, making the buckets fails.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, b := range []string{Private, Public} {
		for {
			err := s.Admin.MakeBucket(ctx, b, minio.MakeBucketOptions{})
			if err == nil || strings.Contains(err.Error(), "already") {
				break
			}
			select {
			case e := <-exited:
				return fail(fmt.Errorf("exited: %v", e))
			case <-ctx.Done():
				return fail(fmt.Errorf("no bucket %s within a minute: %v", b, err))
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	// SeaweedFS grows a bucket's first volumes on its first write, which
	// takes seconds: done here, so that no test's figures include it.
	for _, b := range []string{Private, Public} {
		if _, err := s.Admin.PutObject(ctx, b, ".warm", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			return fail(fmt.Errorf("first write to %s: %v", b, err))
		}
		if err := s.Admin.RemoveObject(ctx, b, ".warm", minio.RemoveObjectOptions{}); err != nil {
			return fail(err)
		}
	}
	return s, nil
}
