package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/publish"
)

// cmdPublish writes a stopped node's releases to a static tree once (a
// running node publishes with serve --publish-to).
func cmdPublish(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hashhub publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	to := fs.String("to", "", "the `TARGET` to publish to: a directory (a path or file:///path) for any web server to serve, or an S3 bucket (s3://bucket/prefix; endpoint, region and credentials from AWS_ENDPOINT_URL_S3, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY…, see docs/publishing.md)")
	var names listFlag
	fs.Var(&names, "list", "publish only this `NAME` (repeatable); default every list with a release that the target may hold")
	private := fs.Bool("private", false, "the target's readers are access-controlled (per-reader credentials or presigned URLs): publish lists with restricted readers and the log's entry bundles to it too")
	every := fs.Uint64("snapshot-every", publish.DefaultSnapshotEvery, "publish a list's snapshot when the newest published is this many versions old")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("--to TARGET is required")
	}
	if *every == 0 {
		return errors.New("--snapshot-every must be positive")
	}
	if !node.Initialised(*data) {
		return fmt.Errorf("%q holds no node (no %s)", *data, node.ConfigFile)
	}
	t, err := publish.Open(*to)
	if err != nil {
		return err
	}
	n, err := node.Open(*data, nil)
	if err != nil {
		return fmt.Errorf("%w (a running node publishes with hashhub serve --publish-to)", err)
	}
	defer n.Close()
	p := n.Publisher(t, *private)
	p.SnapshotEvery = *every
	p.Progress = func(s string) { fmt.Fprintf(stderr, "  %s\n", s) }
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	fmt.Fprintf(stderr, "publishing %s to %s\n", *data, t)
	sum, err := p.Publish(ctx, names...)
	if sum != nil {
		for _, l := range sum.Lists {
			switch {
			case l.Skipped != "":
				fmt.Fprintf(stderr, "  %s: not published (%s)\n", l.List, l.Skipped)
			case l.From == l.Version:
				fmt.Fprintf(stderr, "  %s: version %d, already published\n", l.List, l.Version)
			default:
				fmt.Fprintf(stderr, "  %s: version %d → %d\n", l.List, l.From, l.Version)
			}
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "published to %s: %d files written (%s), %d already there; log size %d; %s\n",
		sum.Target, sum.FilesWritten, byteSize(sum.BytesWritten), sum.FilesSkipped, sum.LogSize, sum.Duration.Round(time.Millisecond))
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint([]string(*l)) }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
