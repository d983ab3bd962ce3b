package federation_test

import (
	"sync"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/release"
)

// setRoot is the set root of a list's latest release on a node.
func (f *fedNode) setRoot(t *testing.T, list string) (uint64, string) {
	t.Helper()
	lr, err := f.admin.LatestRelease(bg, list)
	if err != nil {
		return 0, ""
	}
	raw, err := f.admin.Manifest(bg, list, lr.Latest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := release.ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m.Entries, m.SetRoot
}

// After a burst of releases on two hotline nodes that pull each other, and
// a third node that pulls both, every node's list holds the same entries
// (the same set root).
func TestConvergenceAfterBurst(t *testing.T) {
	a, b, c := startFed(t, "hub-a", "NL"), startFed(t, "hub-b", "GB"), startFed(t, "hub-c", "IE")
	for _, n := range []*fedNode{a, b, c} {
		n.createList(t, "shared", 1)
	}
	a.register(t, b, []string{"shared"})
	b.register(t, a, []string{"shared"})
	c.pulls(t, a, "shared")
	c.pulls(t, b, "shared")
	const rounds, per = 10, 3
	var wg sync.WaitGroup
	for _, n := range []*fedNode{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// t.Fatal may not be called here: errors are reported with
			// t.Error and end the burst.
			for range rounds {
				for range per {
					if _, _, err := n.analyst.Submit(bg, client.SubmitRequest{Algo: "sha256", Value: randomHash()}); err != nil {
						t.Error(err)
						return
					}
				}
				if _, err := n.admin.BuildRelease(bg, "shared"); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	want := uint64(2 * rounds * per)
	var roots [3]string
	eventually(t, "every node to converge", 30*time.Second, func() bool {
		for i, n := range []*fedNode{a, b, c} {
			count, root := n.setRoot(t, "shared")
			if count != want {
				return false
			}
			roots[i] = root
		}
		return roots[0] == roots[1] && roots[1] == roots[2]
	})
}
