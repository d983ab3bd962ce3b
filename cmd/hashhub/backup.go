package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/store"
)

func cmdBackup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hashhub backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	to := fs.String("to", "", "the archive to write (a tar file; - for standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" {
		return errors.New("--to FILE is required (- writes the archive to standard output)")
	}
	if !node.Initialised(*data) {
		return fmt.Errorf("%q holds no node (no %s)", *data, node.ConfigFile)
	}
	src, err := backupSource(*data)
	if err != nil {
		return err
	}
	defer src.Close()

	// The archive is checked as it is written (digests, completeness): a
	// backup cut short by a failing node or disk is reported, not kept.
	var out io.Writer = stdout
	var tmp *os.File
	if *to != "-" {
		tmp, err = os.CreateTemp(filepath.Dir(*to), "."+filepath.Base(*to)+".tmp-")
		if err != nil {
			return err
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		out = tmp
	}
	sum, err := node.ScanBackup(io.TeeReader(src, out), nil)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil { // the archive's end padding
		return err
	}
	report := stdout
	if tmp != nil {
		if err := tmp.Sync(); err != nil {
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), *to); err != nil {
			return err
		}
		tmp = nil
	} else {
		report = stderr
	}
	fmt.Fprintf(report, "backup of node %s (%s) written to %s: %d files, store %d bytes\n",
		sum.NodeID, sum.Jurisdiction, *to, sum.Files, sum.StoreBytes)
	fmt.Fprintf(report, "it holds the node's private keys: keep it as safe as the data directory.\n")
	return nil
}

// backupSource streams a backup archive of the node in dir: from the
// running node through its socket, or, with no node running, from the
// store opened here (read-only).
func backupSource(dir string) (io.ReadCloser, error) {
	rc, err := node.RequestBackup(context.Background(), dir)
	if err == nil {
		return rc, nil
	}
	if !errors.Is(err, node.ErrNoBackupSocket) {
		return nil, err
	}
	db, err := store.Open(dir, store.Options{ReadOnly: true, Timeout: time.Second})
	if errors.Is(err, store.ErrInUse) {
		return nil, fmt.Errorf("%w; no node answers on %s either (a node too old to serve backups? stop it and back up again)",
			err, filepath.Join(dir, node.BackupSocket))
	}
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		err := node.WriteBackup(pw, dir, db)
		db.Close()
		pw.CloseWithError(err)
	}()
	return pr, nil
}

func cmdRestore(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hashhub restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "the data directory to restore into: new or empty (required)")
	from := fs.String("from", "", "the backup archive (- for standard input)")
	force := fs.Bool("force", false, "replace the node in --data (it must be stopped)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *data == "" {
		return errors.New("--from FILE and --data DIR are required")
	}
	var in io.Reader = os.Stdin
	if *from != "-" {
		f, err := os.Open(*from)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	sum, err := node.Restore(in, *data, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored node %s (%s) into %s: %d files, store %d bytes, audit chain intact\n",
		sum.NodeID, sum.Jurisdiction, *data, sum.Files, sum.StoreBytes)
	fmt.Fprintf(stdout, "start it with: hashhub serve --data %s (it pulls each peer's lists again from a snapshot)\n", *data)
	return nil
}
