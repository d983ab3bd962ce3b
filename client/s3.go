package client

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// S3Location is the bucket and key prefix an s3://bucket/prefix URL
// names: a published tree's files are the objects prefix/<path>.
type S3Location struct {
	Bucket string
	Prefix string // no leading or trailing slash; "" for the bucket's root
}

// bucketName is S3's rule for bucket names (3 to 63 lowercase letters,
// digits, dots and hyphens, starting and ending with a letter or digit).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseS3URL parses s3://bucket/prefix. Everything that would make the
// keys ambiguous (empty, "." or ".." segments) or that S3 has no place for
// (a port, credentials, a query) is refused with a message that says what.
func ParseS3URL(s string) (S3Location, error) {
	bad := func(why string) (S3Location, error) {
		return S3Location{}, fmt.Errorf("%q: %s (want s3://bucket/prefix)", s, why)
	}
	if !strings.HasPrefix(s, "s3://") {
		return bad("not an s3:// URL")
	}
	u, err := url.Parse(s)
	if err != nil {
		return bad(err.Error())
	}
	switch {
	case u.User != nil:
		return bad("credentials do not go in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	case u.Port() != "":
		return bad("no port: the endpoint comes from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL")
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#"):
		return bad("no query or fragment")
	case u.Host == "":
		return bad("no bucket")
	case !bucketName.MatchString(u.Host) || strings.Contains(u.Host, ".."):
		return bad("the bucket name must be 3 to 63 lowercase letters, digits, dots and hyphens")
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		for _, seg := range strings.Split(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return bad("the prefix has an empty, . or .. segment")
			}
		}
	}
	if strings.ContainsFunc(prefix, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return bad("the prefix has a control character or a backslash")
	}
	return S3Location{Bucket: u.Host, Prefix: prefix}, nil
}

// Key is the object key of a tree's path.
func (l S3Location) Key(p string) string {
	if l.Prefix == "" {
		return p
	}
	return l.Prefix + "/" + p
}

func (l S3Location) String() string {
	return "s3://" + l.Bucket + "/" + l.Prefix
}

// S3Endpoint is the S3 service the environment names, as the AWS tools
// read it: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else Amazon S3
// (https://s3.amazonaws.com); the region from AWS_REGION, else
// AWS_DEFAULT_REGION ("" when neither is set).
type S3Endpoint struct {
	URL    *url.URL // scheme and host only
	Region string
}

// S3EndpointFromEnv reads the endpoint and region from the environment.
func S3EndpointFromEnv() (S3Endpoint, error) {
	ep := S3Endpoint{Region: os.Getenv("AWS_REGION")}
	if ep.Region == "" {
		ep.Region = os.Getenv("AWS_DEFAULT_REGION")
	}
	raw, name := os.Getenv("AWS_ENDPOINT_URL_S3"), "AWS_ENDPOINT_URL_S3"
	if raw == "" {
		raw, name = os.Getenv("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"
	}
	if raw == "" {
		ep.URL = &url.URL{Scheme: "https", Host: "s3.amazonaws.com"}
		return ep, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.User != nil || u.RawQuery != "" {
		return ep, fmt.Errorf("%s=%q: want the URL of an S3 endpoint, such as https://s3.example.org or http://127.0.0.1:8333", name, raw)
	}
	ep.URL = &url.URL{Scheme: u.Scheme, Host: u.Host}
	return ep, nil
}

// amazon reports whether the endpoint is Amazon S3's, where a bucket is
// addressed as a host name; other S3 servers take it as the path's first
// segment.
func (ep S3Endpoint) amazon() bool {
	return strings.HasSuffix(ep.URL.Hostname(), ".amazonaws.com")
}

// ObjectURL is the URL of the location's root (prefix included) on the
// endpoint, for plain GETs.
func (ep S3Endpoint) ObjectURL(l S3Location) *url.URL {
	u := *ep.URL
	if ep.amazon() && !strings.Contains(l.Bucket, ".") {
		host := u.Host
		if host == "s3.amazonaws.com" && ep.Region != "" {
			host = "s3." + ep.Region + ".amazonaws.com"
		}
		u.Host = l.Bucket + "." + host
		u.Path = "/" + l.Prefix
	} else {
		u.Path = "/" + l.Bucket + "/" + l.Prefix
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return &u
}

// S3Credentials are the credentials the environment gives, tried in
// the order of the AWS tools: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN; minio's MINIO_ACCESS_KEY and MINIO_SECRET_KEY; the
// AWS credentials file (AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials, profile AWS_PROFILE); the minio client's
// configuration. None of them: anonymous requests, which a public bucket
// answers. (The EC2 instance metadata service is not asked: a puller on
// a laptop would wait for it.)
func S3Credentials() *credentials.Credentials {
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.EnvMinio{},
		&credentials.FileAWSCredentials{},
		&credentials.FileMinioClient{},
	})
}

// emptySHA256 is the SHA-256 of an empty body, every GET's payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// s3Signer signs each request with AWS Signature Version 4, so that a
// tree in a private bucket is read with the reader's own credentials
// through the same client as any other mirror.
type s3Signer struct {
	next   http.RoundTripper
	creds  *credentials.Credentials
	region string
}

func (s *s3Signer) RoundTrip(req *http.Request) (*http.Response, error) {
	v, err := s.creds.Get()
	if err != nil {
		return nil, fmt.Errorf("S3 credentials: %w", err)
	}
	if v.SignerType.IsAnonymous() || v.AccessKeyID == "" {
		return s.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	region := s.region
	if region == "" {
		region = "us-east-1"
	}
	return s.next.RoundTrip(signer.SignV4(*r, v.AccessKeyID, v.SecretAccessKey, v.SessionToken, region))
}
