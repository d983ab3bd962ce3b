package node

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/keys"
	"github.com/hashhub/hashhub/store"
)

// A backup is a tar archive of everything a node needs to start again:
// node.json, admin.json, reports.json (if any), the keys directory, a
// consistent copy of the store, and last SHA256SUMS, the digests of all
// of them in sha256sum's format (so `sha256sum -c` checks an unpacked
// backup). Left out are what the node rebuilds: peers/ (the mirrors of
// peers' lists; a restored node pulls a full snapshot from each peer) and
// tmp/.
const (
	// BackupSocket is the Unix socket in the data directory through which
	// `hashhub backup` asks a running node for a backup. A running node
	// holds the store's lock, so only it can read the store; the socket
	// (mode 0600 in a 0700 directory) lets only the node's own user in,
	// who can read the data directory anyway, while a backup over the
	// HTTP API would hand the node's private keys to anyone holding an
	// admin token.
	BackupSocket = "backup.sock"
	// BackupSums names the digest file, the archive's last entry.
	BackupSums = "SHA256SUMS"
)

// Errors of backups and restores.
var (
	// ErrInvalidBackup: the archive is damaged, incomplete or not a
	// hashhub backup.
	ErrInvalidBackup = errors.New("not a valid hashhub backup")
	// ErrNotEmpty: the target directory holds files (and no node that a
	// forced restore could replace).
	ErrNotEmpty = errors.New("directory is not empty")
)

// BackupSummary describes a backup archive.
type BackupSummary struct {
	NodeID       string
	Jurisdiction string
	Files        int
	StoreBytes   int64
}

// WriteBackup writes the backup archive of the node in dir, whose store db
// is open, to w. The store is copied in one read transaction while the
// node goes on serving; the other files change only with the node stopped
// (init, keys rotate) or by hand.
func WriteBackup(w io.Writer, dir string, db *store.DB) error {
	tw := tar.NewWriter(w)
	now := time.Now().UTC().Truncate(time.Second)
	var sums strings.Builder
	add := func(name string, size int64, write func(io.Writer) error) error {
		hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		d := sha256.New()
		if err := write(io.MultiWriter(tw, d)); err != nil {
			return fmt.Errorf("back up %s: %w", name, err)
		}
		fmt.Fprintf(&sums, "%x  %s\n", d.Sum(nil), name)
		return nil
	}
	files, err := backupFiles(dir)
	if err != nil {
		return err
	}
	for _, name := range files {
		raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		if err := add(name, int64(len(raw)), func(w io.Writer) error { _, err := w.Write(raw); return err }); err != nil {
			return err
		}
	}
	// The store goes in from one read transaction: the header takes the
	// size that transaction sees, then its pages follow.
	d := sha256.New()
	err = db.Snapshot(io.MultiWriter(tw, d), func(size int64) error {
		return tw.WriteHeader(&tar.Header{Name: store.FileName, Mode: 0o600, Size: size, ModTime: now, Typeflag: tar.TypeReg})
	})
	if err != nil {
		return fmt.Errorf("back up the store: %w", err)
	}
	fmt.Fprintf(&sums, "%x  %s\n", d.Sum(nil), store.FileName)
	s := sums.String()
	if err := add(BackupSums, int64(len(s)), func(w io.Writer) error { _, err := io.WriteString(w, s); return err }); err != nil {
		return err
	}
	return tw.Close()
}

// readErr remembers its reader's first error other than io.EOF.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// backupFiles lists the files of dir that a backup holds besides the
// store, slash-separated: the regular files at the top (node.json,
// admin.json, reports.json ...) and those of the keys directory.
func backupFiles(dir string) ([]string, error) {
	var out []string
	for _, sub := range []string{".", keys.Dir} {
		des, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, fmt.Errorf("back up: %w", err)
		}
		for _, de := range des {
			name := path.Join(sub, de.Name())
			if !de.Type().IsRegular() || !backupName(name) || name == store.FileName || name == BackupSums {
				continue
			}
			out = append(out, name)
		}
	}
	if !slices.Contains(out, ConfigFile) {
		return nil, fmt.Errorf("back up: %q holds no %s", dir, ConfigFile)
	}
	return out, nil
}

// backupName says whether name may be a file of a backup: a plain name at
// the top or one level down in keys/, neither hidden nor temporary. A
// restore writes nothing else, whatever the archive holds.
func backupName(name string) bool {
	dir, base := path.Split(name)
	if dir != "" && dir != keys.Dir+"/" {
		return false
	}
	return base != "" && base != "." && base != ".." && !strings.HasPrefix(base, ".") &&
		!strings.HasSuffix(base, ".tmp") && !strings.ContainsAny(base, "\\\x00")
}

// ScanBackup reads a backup archive to its end and checks it: every file
// has a name a backup may hold, the store, node.json and SHA256SUMS are
// there, and every digest matches. Each file is handed to fn (if not nil)
// as it is read; what fn wrote is to be trusted only when ScanBackup
// returns no error.
func ScanBackup(r io.Reader, fn func(name string, r io.Reader) error) (*BackupSummary, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidBackup, fmt.Sprintf(format, a...))
	}
	tr := tar.NewReader(r)
	got := map[string]string{}
	var sums []byte
	var sum BackupSummary
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bad("%v", err)
		}
		name := hdr.Name
		switch {
		case hdr.Typeflag != tar.TypeReg:
			return nil, bad("%q is not a regular file", name)
		case !backupName(name) && name != store.FileName:
			return nil, bad("unexpected file %q", name)
		case got[name] != "" || (name == BackupSums && sums != nil):
			return nil, bad("%q twice", name)
		case sums != nil:
			return nil, bad("%q after %s", name, BackupSums)
		}
		if name == BackupSums {
			if sums, err = io.ReadAll(io.LimitReader(tr, 1<<20)); err != nil {
				return nil, bad("%v", err)
			}
			continue
		}
		d := sha256.New()
		src := &readErr{r: tr}
		tee := io.TeeReader(src, d)
		var body io.Reader = tee
		if name == ConfigFile {
			cfg, err := io.ReadAll(io.LimitReader(tee, 1<<20))
			if err != nil {
				return nil, bad("%v", err)
			}
			var c Config
			if err := json.Unmarshal(cfg, &c); err != nil || c.NodeID == "" {
				return nil, bad("%s does not name a node", ConfigFile)
			}
			sum.NodeID, sum.Jurisdiction = c.NodeID, c.Jurisdiction
			body = bytes.NewReader(cfg)
		}
		if fn != nil {
			if err := fn(name, body); err != nil {
				if src.err != nil { // the archive, not fn, failed
					return nil, bad("%s: %v", name, src.err)
				}
				return nil, err
			}
		}
		// Whatever was left unread still counts towards the digest.
		if _, err := io.Copy(io.Discard, tee); err != nil {
			return nil, bad("%v", err)
		}
		got[name] = hex.EncodeToString(d.Sum(nil))
		sum.Files++
		if name == store.FileName {
			sum.StoreBytes = hdr.Size
		}
	}
	if sums == nil {
		return nil, bad("no %s (the archive is cut short?)", BackupSums)
	}
	listed := 0
	sc := bufio.NewScanner(strings.NewReader(string(sums)))
	for sc.Scan() {
		digest, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			return nil, bad("%s: malformed line %q", BackupSums, sc.Text())
		}
		if got[name] != digest {
			return nil, bad("%s: the digest of %q does not match", BackupSums, name)
		}
		listed++
	}
	if listed != len(got) {
		return nil, bad("%s lists %d files, the archive holds %d", BackupSums, listed, len(got))
	}
	for _, need := range []string{ConfigFile, store.FileName} {
		if got[need] == "" {
			return nil, bad("no %s", need)
		}
	}
	return &sum, nil
}

// Restore unpacks a backup archive into dir, which must be empty or
// absent unless force is set; force replaces a node's data directory
// (one with node.json or a store) whose node is stopped, never a
// directory of other files. Nothing in dir changes until the archive has
// been read to its end and checked: digests, keys, the store page by page
// and its audit chain.
func Restore(r io.Reader, dir string, force bool) (*BackupSummary, error) {
	entries, err := dirEntries(dir)
	if err != nil {
		return nil, err
	}
	if len(entries) > 0 {
		if !force {
			return nil, fmt.Errorf("%w: %q holds %d files (restore into a new directory, or --force to replace the node there)",
				ErrNotEmpty, dir, len(entries))
		}
		if !slices.Contains(entries, ConfigFile) && !slices.Contains(entries, store.FileName) {
			return nil, fmt.Errorf("%w: %q holds no node to replace", ErrNotEmpty, dir)
		}
		if slices.Contains(entries, store.FileName) {
			// Holding the store's lock proves no node runs on it.
			db, err := store.Open(dir, store.Options{Timeout: time.Second})
			if err != nil {
				return nil, fmt.Errorf("%w (stop the node first)", err)
			}
			defer db.Close()
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// Unpack into a hidden directory inside dir, on the same file system
	// (dir may be a mount point), and move the files in once all is well.
	stage, err := os.MkdirTemp(dir, ".restore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	if err := os.Mkdir(filepath.Join(stage, keys.Dir), 0o700); err != nil {
		return nil, err
	}
	sum, err := ScanBackup(r, func(name string, r io.Reader) error {
		f, err := os.OpenFile(filepath.Join(stage, filepath.FromSlash(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
	if err != nil {
		return nil, err
	}
	if err := checkRestored(stage); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e)); err != nil {
			return nil, err
		}
	}
	des, err := os.ReadDir(stage)
	if err != nil {
		return nil, err
	}
	for _, de := range des {
		if err := os.Rename(filepath.Join(stage, de.Name()), filepath.Join(dir, de.Name())); err != nil {
			return nil, err
		}
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return sum, nil
}

// checkRestored checks an unpacked backup as the node would use it.
func checkRestored(dir string) error {
	bad := func(err error) error { return fmt.Errorf("%w: %w", ErrInvalidBackup, err) }
	if _, err := ReadConfig(dir); err != nil {
		return bad(err)
	}
	if _, err := keys.Load(dir); err != nil {
		return bad(err)
	}
	if err := store.Check(dir); err != nil {
		return bad(err)
	}
	db, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		return bad(err)
	}
	defer db.Close()
	if _, err := hub.VerifyAudit(db); err != nil {
		return bad(err)
	}
	return nil
}

// dirEntries lists dir's entries (none if dir is absent); lost+found, which
// a freshly made file system has at its root, does not count, nor do
// unfinished restores.
func dirEntries(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		if de.Name() == "lost+found" || strings.HasPrefix(de.Name(), ".restore-") {
			continue
		}
		out = append(out, de.Name())
	}
	return out, nil
}

// serveBackups answers GET /backup on the data directory's Unix socket
// until ctx ends. A node that cannot make the socket (a path too long for
// one, a read-only directory) serves on without it and says so.
func (n *Node) serveBackups(ctx context.Context) {
	sock := filepath.Join(n.dir, BackupSocket)
	// A socket left by a node that was killed: this process holds the
	// store's lock, so no other node uses it.
	os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		n.Log.Warn("no backup socket: hashhub backup cannot reach this node", slog.Any("err", err))
		return
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		n.Log.Warn("no backup socket", slog.Any("err", err))
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-tar")
		start := time.Now()
		if err := WriteBackup(w, n.dir, n.DB); err != nil {
			// The archive is cut short: the client's check fails on it.
			n.Log.Error("backup", slog.Any("err", err))
			return
		}
		n.Log.Info("backup written", slog.Duration("took", time.Since(start)))
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	<-ctx.Done()
	hs.Close()
}

// RequestBackup asks the node running on dir for a backup through its
// socket and returns the archive as it streams. An error that wraps
// ErrNoBackupSocket means no node answers there.
func RequestBackup(ctx context.Context, dir string) (io.ReadCloser, error) {
	sock := filepath.Join(dir, BackupSocket)
	cl := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://node/backup", nil)
	if err != nil {
		return nil, err
	}
	resp, err := cl.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, fmt.Errorf("%w: %w", ErrNoBackupSocket, err)
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("backup socket %q: %s", sock, resp.Status)
	}
	return resp.Body, nil
}

// ErrNoBackupSocket: no node answers on the data directory's backup
// socket.
var ErrNoBackupSocket = errors.New("no node answers on the backup socket")
