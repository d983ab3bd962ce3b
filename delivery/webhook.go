package delivery

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Permanent marks a failure that retrying cannot mend (the receiver
// refused the request itself); the outbox makes it a dead letter at once.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return p.Err.Error() }
func (p *Permanent) Unwrap() error { return p.Err }

// IsPermanent reports whether err is a Permanent failure.
func IsPermanent(err error) bool {
	var p *Permanent
	return errors.As(err, &p)
}

// Poster sends signed JSON webhooks.
type Poster struct {
	Key    ed25519.PrivateKey
	NodeID string
	Client *http.Client
	Now    func() time.Time
}

// DefaultWebhookTimeout bounds one delivery attempt.
const DefaultWebhookTimeout = 30 * time.Second

// Post delivers body to url, signed, with the idempotency key. A 2xx
// answer is success; 408, 425, 429 and 5xx are worth retrying; any other
// answer is permanent.
func (p *Poster) Post(ctx context.Context, url, idemKey string, body []byte) error {
	hc := p.Client
	if hc == nil {
		hc = &http.Client{Timeout: DefaultWebhookTimeout}
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &Permanent{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hashhub/"+p.NodeID)
	Sign(req.Header, p.Key, p.NodeID, idemKey, body, now())
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooEarly || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("webhook answered %d", c)
	default:
		return &Permanent{fmt.Errorf("webhook refused the delivery: %d", c)}
	}
}
