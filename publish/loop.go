package publish

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultInterval is how often the continuous publisher publishes even
// without a release: witnesses' cosignatures of a checkpoint arrive after
// the release that grew the log.
const DefaultInterval = time.Minute

// Loop publishes after each release and every Interval, for hashhub
// serve --publish-to. A failed publish is logged and counted and retried
// at the next kick; it never holds up a release, which only signals the
// loop.
type Loop struct {
	Publisher *Publisher
	Interval  time.Duration
	Log       *slog.Logger

	version  *prometheus.GaugeVec
	failures prometheus.Counter
	last     prometheus.Gauge
}

// NewLoop returns a loop with its metrics (register them with Collectors).
func NewLoop(p *Publisher, interval time.Duration, log *slog.Logger) *Loop {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Loop{Publisher: p, Interval: interval, Log: log,
		version: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hashhub_publish_version", Help: "The version of each list last published to the --publish-to target.",
		}, []string{"list"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hashhub_publish_failures_total", Help: "Publishes to the --publish-to target that failed (retried at the next release or interval).",
		}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hashhub_publish_last_success_timestamp_seconds", Help: "When a publish to the --publish-to target last succeeded.",
		}),
	}
}

// Collectors are the loop's metrics.
func (l *Loop) Collectors() []prometheus.Collector {
	return []prometheus.Collector{l.version, l.failures, l.last}
}

// Run publishes at once, then on each kick and every Interval, until ctx
// ends.
func (l *Loop) Run(ctx context.Context, kick <-chan struct{}) {
	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		l.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-t.C:
		}
	}
}

// Once publishes once and records the outcome in the metrics.
func (l *Loop) Once(ctx context.Context) error {
	sum, err := l.Publisher.Publish(ctx)
	for _, s := range sum.Lists {
		if s.Skipped == "" && err == nil {
			l.version.WithLabelValues(s.List).Set(float64(s.Version))
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			l.failures.Inc()
			l.Log.Warn("publish failed; retrying at the next release", slog.String("target", l.Publisher.Target.String()), slog.Any("err", err))
		}
		return err
	}
	l.last.SetToCurrentTime()
	if sum.FilesWritten > 0 {
		l.Log.Info("published", slog.String("target", sum.Target), slog.Int("files", sum.FilesWritten),
			slog.Int64("bytes", sum.BytesWritten), slog.Int64("log_size", sum.LogSize))
	}
	return nil
}
