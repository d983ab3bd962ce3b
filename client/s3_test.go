package client

import (
	"strings"
	"testing"
)

func TestParseS3URL(t *testing.T) {
	for _, c := range []struct {
		in             string
		bucket, prefix string
	}{
		{"s3://lists", "lists", ""},
		{"s3://lists/", "lists", ""},
		{"s3://lists/hashhub/tree", "lists", "hashhub/tree"},
		{"s3://my.bucket-1/a/", "my.bucket-1", "a"},
	} {
		l, err := ParseS3URL(c.in)
		if err != nil || l.Bucket != c.bucket || l.Prefix != c.prefix {
			t.Errorf("%s: %+v %v", c.in, l, err)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"s3:lists/x", "not an s3:// URL"},
		{"S3://lists", "not an s3:// URL"},
		{"s3://", "no bucket"},
		{"s3:///prefix", "no bucket"},
		{"s3://ab", "bucket name"},
		{"s3://Lists", "bucket name"},
		{"s3://lists_x", "bucket name"},
		{"s3://-lists", "bucket name"},
		{"s3://a..b", "bucket name"},
		{"s3://" + strings.Repeat("a", 64), "bucket name"},
		{"s3://key:secret@lists/x", "credentials do not go in the URL"},
		{"s3://lists:9000/x", "no port"},
		{"s3://lists/x?versionId=1", "no query"},
		{"s3://lists/x#y", "no query"},
		{"s3://lists/a//b", "empty, . or .. segment"},
		{"s3://lists/a/../b", "empty, . or .. segment"},
		{"s3://lists/./b", "empty, . or .. segment"},
		{"s3://lists/a%0ab", "control character"},
		{"s3://lists/a\\b", "control character or a backslash"},
		{"s3://lists/%zz", "invalid URL escape"},
	} {
		_, err := ParseS3URL(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "s3://bucket/prefix") {
			t.Errorf("%q: want an error saying %q, got %v", c.in, c.want, err)
		}
	}
}

// FuzzParseS3URL: whatever is accepted names a valid bucket and a prefix
// whose keys cannot climb out of it, and reads back the same.
func FuzzParseS3URL(f *testing.F) {
	for _, s := range []string{"s3://lists/a/b", "s3://a..b/", "s3://lists/../x", "s3://x:1@y/z", "s3://lists/%2e%2e/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseS3URL(s)
		if err != nil {
			return
		}
		if !bucketName.MatchString(l.Bucket) {
			t.Fatalf("%q: bucket %q", s, l.Bucket)
		}
		for _, seg := range strings.Split(l.Prefix, "/") {
			if l.Prefix != "" && (seg == "" || seg == "." || seg == "..") {
				t.Fatalf("%q: prefix %q", s, l.Prefix)
			}
		}
		again, err := ParseS3URL(l.String())
		if err != nil || again != l {
			t.Fatalf("%q → %q → %+v %v", s, l.String(), again, err)
		}
	})
}

func TestS3EndpointFromEnv(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "eu-west-1")
	ep, err := S3EndpointFromEnv()
	if err != nil || ep.URL.String() != "https://s3.amazonaws.com" || ep.Region != "eu-west-1" {
		t.Fatalf("default: %+v %v", ep, err)
	}
	loc := S3Location{Bucket: "lists", Prefix: "tree"}
	if u := ep.ObjectURL(loc).String(); u != "https://lists.s3.eu-west-1.amazonaws.com/tree" {
		t.Errorf("Amazon S3 object URL: %s", u)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:8333/")
	ep, err = S3EndpointFromEnv()
	if err != nil || ep.URL.String() != "http://127.0.0.1:8333" {
		t.Fatalf("AWS_ENDPOINT_URL: %+v %v", ep, err)
	}
	if u := ep.ObjectURL(loc).String(); u != "http://127.0.0.1:8333/lists/tree" {
		t.Errorf("path-style object URL: %s", u)
	}
	if u := ep.ObjectURL(S3Location{Bucket: "lists"}).String(); u != "http://127.0.0.1:8333/lists" {
		t.Errorf("object URL of a bucket's root: %s", u)
	}
	// The S3-specific variable wins.
	t.Setenv("AWS_ENDPOINT_URL_S3", "https://s3.example.org")
	if ep, err = S3EndpointFromEnv(); err != nil || ep.URL.Host != "s3.example.org" {
		t.Fatalf("AWS_ENDPOINT_URL_S3: %+v %v", ep, err)
	}
	for _, bad := range []string{"s3.example.org", "ftp://x", "http://", "http://x/bucket", "http://u:p@x", "http://x?a=1"} {
		t.Setenv("AWS_ENDPOINT_URL_S3", bad)
		if _, err := S3EndpointFromEnv(); err == nil || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL_S3") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// And a mirror URL names what is wrong.
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	if _, err := NewStatic("s3://Bad_Bucket/x", "test"); err == nil || !strings.Contains(err.Error(), "bucket name") {
		t.Errorf("NewStatic of a bad s3 URL: %v", err)
	}
}
