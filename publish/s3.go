package publish

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/hashhub/hashhub/client"
)

// S3 is a bucket target (s3://bucket/prefix) on any S3-compatible
// service: Amazon S3, MinIO, SeaweedFS, Ceph, Garage. An S3 PUT is atomic
// per object (a reader gets the old object or the new one, never a part),
// which is all the Publisher's order needs: the immutable files first,
// the pointers last. Each object carries the Cache-Control of its kind,
// so a CDN in front of the bucket keeps the immutable files for a year
// and the pointers for a minute.
type S3 struct {
	c   *minio.Client
	loc client.S3Location
}

// s3PartSize bounds the memory of a streamed upload (a delta or a
// snapshot, whose size is not known in advance): minio-go buffers one
// part at a time.
const s3PartSize = 16 << 20

// OpenS3 returns the bucket target an s3:// URL names, with the
// endpoint, region and credentials of the environment (see
// client.S3EndpointFromEnv and client.S3Credentials). Nothing is asked of
// the service yet: the first publish reads the list's pointer, and a
// missing bucket or a refused key fails it.
func OpenS3(to string) (*S3, error) {
	loc, err := client.ParseS3URL(to)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	ep, err := client.S3EndpointFromEnv()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	c, err := minio.New(ep.URL.Host, &minio.Options{
		Creds:  client.S3Credentials(),
		Secure: ep.URL.Scheme == "https",
		Region: ep.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTarget, to, err)
	}
	return &S3{c: c, loc: loc}, nil
}

func (s *S3) String() string { return s.loc.String() }

func (s *S3) key(p string) (string, error) {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
		return "", fmt.Errorf("%w: path %q", ErrTarget, p)
	}
	return s.loc.Key(p), nil
}

// notFound tells a missing object from every other failure (a missing
// bucket is a failure: the target is misnamed).
func notFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || (r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket")
}

func (s *S3) fail(op, p string, err error) error {
	return fmt.Errorf("%s %s/%s: %w", op, s.loc, p, err)
}

func (s *S3) Stat(ctx context.Context, p string) (bool, int64, error) {
	k, err := s.key(p)
	if err != nil {
		return false, 0, err
	}
	info, err := s.c.StatObject(ctx, s.loc.Bucket, k, minio.StatObjectOptions{})
	if notFound(err) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, s.fail("stat", p, err)
	}
	return true, info.Size, nil
}

func (s *S3) Get(ctx context.Context, p string, limit int64) ([]byte, error) {
	k, err := s.key(p)
	if err != nil {
		return nil, err
	}
	obj, err := s.c.GetObject(ctx, s.loc.Bucket, k, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.fail("get", p, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, limit+1))
	if notFound(err) {
		return nil, fmt.Errorf("%w: %s", ErrNotExist, p)
	}
	if err != nil {
		return nil, s.fail("get", p, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s/%s: larger than %d bytes", s.loc, p, limit)
	}
	return b, nil
}

// Put uploads r as one object: a single PUT when its length is known (a
// small file), else a multipart upload, which the service makes visible
// only when it completes. A killed upload leaves at most an incomplete
// multipart upload, which no reader sees (a bucket lifecycle rule that
// aborts incomplete uploads after a day cleans them up).
func (s *S3) Put(ctx context.Context, p string, r io.Reader, cache string) error {
	k, err := s.key(p)
	if err != nil {
		return err
	}
	size := int64(-1)
	if l, ok := r.(interface{ Len() int }); ok {
		size = int64(l.Len())
	}
	_, err = s.c.PutObject(ctx, s.loc.Bucket, k, r, size, minio.PutObjectOptions{
		CacheControl: cache,
		ContentType:  contentType(p),
		PartSize:     s3PartSize,
	})
	if err != nil {
		return s.fail("put", p, err)
	}
	return nil
}

// contentType is the Content-Type of a tree's file, the one
// docs/publishing.md asks a web server to send.
func contentType(p string) string {
	switch {
	case strings.HasSuffix(p, ".ndjson"):
		return "application/x-ndjson"
	case strings.HasSuffix(p, ".json"):
		return "application/json"
	case strings.HasSuffix(p, ".sig"), strings.HasSuffix(p, ".pem"), p == client.StaticCheckpoint:
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}
