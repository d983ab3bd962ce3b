package match

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/release"
)

func intp(i int) *int { return &i }

func readHashes(t testing.TB, name string) []string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// brute is the reference: every stored value within r of q, by the
// hashes package's own distance, as "value/distance" strings sorted.
func brute(t testing.TB, stored []string, q string, r int) []string {
	t.Helper()
	var out []string
	for _, s := range stored {
		d, err := hashes.HammingDistance(s, q)
		if err != nil {
			t.Fatal(err)
		}
		if d <= r {
			out = append(out, fmt.Sprintf("%s/%d", s, d))
		}
	}
	slices.Sort(out)
	return out
}

func found(t testing.TB, ix *Index, q string, r int) []string {
	t.Helper()
	res, err := ix.Lookup(Query{Algo: "pdq", Value: q, MaxDistance: &r})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, m := range res.Matches {
		out = append(out, fmt.Sprintf("%s/%d", m.Value, m.Distance))
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func addAll(t testing.TB, ix *Index, list string, vals []string) {
	t.Helper()
	ix.pdq.alwaysIndex = true
	for _, v := range vals {
		if err := ix.Add(Entry{List: list, Algo: "pdq", Value: v, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNeedlesHaystack is the reference implementation's own regression
// test: each needle's matches within 32 equal brute force's.
func TestNeedlesHaystack(t *testing.T) {
	needles, hay := readHashes(t, "needles.txt"), readHashes(t, "haystack.txt")
	if len(needles) != 100 || len(hay) != 1350 {
		t.Fatalf("testdata: %d needles, %d haystack", len(needles), len(hay))
	}
	hay = uniq(hay)
	ix := New()
	addAll(t, ix, "l", hay)
	ix.Compact()
	total := 0
	for _, n := range needles {
		want := brute(t, hay, n, 32)
		total += len(want)
		if got := found(t, ix, n, 32); !slices.Equal(got, want) {
			t.Fatalf("needle %s: index %v, brute force %v", n, got, want)
		}
	}
	if total == 0 {
		t.Fatal("no needle matched anything: the test checks nothing")
	}
	t.Logf("%d matches within 32", total)
}

func uniq(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func randHash(r *rand.Rand) pdqHash {
	return pdqHash{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()}
}

func flip(r *rand.Rand, h pdqHash, n int) pdqHash {
	for _, b := range r.Perm(256)[:n] {
		h[b/64] ^= 1 << (b % 64)
	}
	return h
}

// families returns n hashes in families: a seed and members 1 to 40 bits
// from it, as real lists hold near-duplicates of one picture.
func families(r *rand.Rand, n int) []string {
	seen := map[pdqHash]bool{}
	var out []string
	for len(out) < n {
		seed := randHash(r)
		for k := 0; k < 1+r.IntN(12) && len(out) < n; k++ {
			h := seed
			if k > 0 {
				h = flip(r, seed, 1+r.IntN(40))
			}
			if !seen[h] {
				seen[h] = true
				out = append(out, h.String())
			}
		}
	}
	return out
}

// queries returns near copies of stored hashes and some random ones.
func queries(r *rand.Rand, stored []string, n int) []string {
	var out []string
	for range n {
		if r.IntN(5) == 0 {
			out = append(out, randHash(r).String())
			continue
		}
		h, _ := parsePDQ(stored[r.IntN(len(stored))])
		out = append(out, flip(r, h, r.IntN(50)).String())
	}
	return out
}

func TestRandomFamiliesAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	stored := families(rng, 3000)
	ix := New()
	addAll(t, ix, "l", stored)
	ix.Compact()
	for _, radius := range []int{0, 1, 8, 16, 31, 32, 48, 100} {
		matched := 0
		n := 150
		if radius >= 48 {
			n = 15 // 12 × 9,000 probes a query: keep the race run short
		}
		for _, q := range queries(rng, stored, n) {
			want := brute(t, stored, q, radius)
			matched += len(want)
			if got := found(t, ix, q, radius); !slices.Equal(got, want) {
				t.Fatalf("radius %d, query %s: index %v, brute force %v", radius, q, got, want)
			}
		}
		if radius >= 8 && matched == 0 {
			t.Fatalf("radius %d: nothing matched, the queries test nothing", radius)
		}
	}
}

// TestFourByteSlotNumbers runs the brute-force comparison with slot
// numbers stored in 4 bytes, as they are from 2^24 slots on.
func TestFourByteSlotNumbers(t *testing.T) {
	defer func(n int) { slot3Limit = n }(slot3Limit)
	slot3Limit = 100
	rng := rand.New(rand.NewPCG(11, 12))
	stored := families(rng, 3000)
	ix := New()
	addAll(t, ix, "l", stored)
	ix.Compact()
	if ix.pdq.idBytes != 4 {
		t.Fatalf("slot numbers in %d bytes, want 4", ix.pdq.idBytes)
	}
	for _, q := range queries(rng, stored, 150) {
		if got, want := found(t, ix, q, 31), brute(t, stored, q, 31); !slices.Equal(got, want) {
			t.Fatalf("query %s: index %v, brute force %v", q, got, want)
		}
	}
}

func TestAddRemoveThenQueries(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	all := families(rng, 2000)
	ix := New()
	addAll(t, ix, "l", all[:1500])
	ix.Compact() // as after a bulk load: later adds must not overwrite a neighbour bucket
	// A delta: remove every third of the first 1500, add the rest.
	var changes []release.Change
	kept := map[string]bool{}
	for i, v := range all[:1500] {
		kept[v] = i%3 != 0
		if i%3 == 0 {
			changes = append(changes, release.Change{Op: release.OpRemove, Item: release.Item{Algo: "pdq", Value: v}})
		}
	}
	for _, v := range all[1500:] {
		kept[v] = true
		changes = append(changes, release.Change{Op: release.OpAdd, Item: release.Item{Algo: "pdq", Value: v, Quality: intp(90)}})
	}
	if err := ix.Apply("l", 2, changes); err != nil {
		t.Fatal(err)
	}
	var live []string
	for v, ok := range kept {
		if ok {
			live = append(live, v)
		}
	}
	if ix.Len() != len(live) {
		t.Fatalf("Len %d after the delta, want %d", ix.Len(), len(live))
	}
	for _, q := range queries(rng, all, 300) {
		if got, want := found(t, ix, q, 31), brute(t, live, q, 31); !slices.Equal(got, want) {
			t.Fatalf("query %s: index %v, brute force %v", q, got, want)
		}
	}
	// A removed entry no longer matches itself; an added one does, with
	// the version of the delta that added it.
	if got := found(t, ix, all[0], 0); got != nil {
		t.Fatalf("removed entry still matches: %v", got)
	}
	res, err := ix.Lookup(Query{Algo: "pdq", Value: all[1999], MaxDistance: intp(0)})
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Version != 2 || *res.Matches[0].Quality != 90 {
		t.Fatalf("added entry: %+v, %v", res, err)
	}
	// Removing what is not there is reported, and changes nothing.
	if ok, err := ix.Remove("l", "pdq", all[0]); ok || err != nil {
		t.Fatalf("second remove: %v, %v", ok, err)
	}
}

func TestSameHashInTwoLists(t *testing.T) {
	ix := New()
	v := families(rand.New(rand.NewPCG(5, 6)), 1)[0]
	ix.SetList(ListInfo{Name: "a", Category: "baseline"})
	for _, e := range []Entry{
		{List: "a", Algo: "pdq", Value: v, Severity: "A", Version: 3},
		{List: "b", Algo: "pdq", Value: v, Severity: "B", Version: 7},
		{List: "b", Algo: "pdq", Value: v, Severity: "C", Version: 8}, // an update
	} {
		if err := ix.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	res, err := ix.Lookup(Query{Algo: "pdq", Value: v})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(res.Matches, func(x, y Match) int { return strings.Compare(x.List, y.List) })
	want := []Match{
		{Entry: Entry{List: "a", Algo: "pdq", Value: v, Category: "baseline", Severity: "A", Version: 3}},
		{Entry: Entry{List: "b", Algo: "pdq", Value: v, Severity: "C", Version: 8}},
	}
	if fmt.Sprint(res.Matches) != fmt.Sprint(want) {
		t.Fatalf("matches %+v, want %+v", res.Matches, want)
	}
	if ok, _ := ix.Remove("a", "pdq", v); !ok {
		t.Fatal("remove from a")
	}
	res, _ = ix.Lookup(Query{Algo: "pdq", Value: v})
	if len(res.Matches) != 1 || res.Matches[0].List != "b" {
		t.Fatalf("after removing from a: %+v", res.Matches)
	}
}

func TestExactLookups(t *testing.T) {
	photo := strings.Repeat("AAEC", 48) // 144 bytes
	vals := map[string]string{
		"md5":      "d41d8cd98f00b204e9800998ecf8427e",
		"sha1":     "da39a3ee5e6b4b0d3255bfef95601890afd80709",
		"sha256":   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"photodna": photo,
	}
	ix := New()
	for algo, v := range vals {
		for _, list := range []string{"x", "y"} {
			if err := ix.Add(Entry{List: list, Algo: algo, Value: v, Severity: "B", Version: 4}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for algo, v := range vals {
		// Upper-case hex is the same hash.
		q := v
		if algo != "photodna" {
			q = strings.ToUpper(v)
		}
		res, err := ix.Lookup(Query{Algo: algo, Value: q})
		if err != nil || len(res.Matches) != 2 {
			t.Fatalf("%s: %+v %v", algo, res, err)
		}
		for _, m := range res.Matches {
			if m.Value != v || m.Distance != 0 || m.Severity != "B" || m.Version != 4 {
				t.Fatalf("%s: %+v", algo, m)
			}
		}
		if ok, _ := ix.Remove("x", algo, v); !ok {
			t.Fatalf("%s: remove", algo)
		}
		res, _ = ix.Lookup(Query{Algo: algo, Value: v})
		if len(res.Matches) != 1 || res.Matches[0].List != "y" {
			t.Fatalf("%s after remove: %+v", algo, res)
		}
	}
	// A different digest of the same algorithm matches nothing.
	res, _ := ix.Lookup(Query{Algo: "md5", Value: "d41d8cd98f00b204e9800998ecf8427f"})
	if len(res.Matches) != 0 {
		t.Fatalf("md5 off by one: %+v", res)
	}
	var digests [][16]byte
	digests = append(digests, [16]byte{0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e}, [16]byte{1})
	if n := ix.CountExactMD5(digests); n != 1 {
		t.Fatalf("CountExactMD5 = %d, want 1", n)
	}
}

func TestQualityGate(t *testing.T) {
	ix := New()
	v := families(rand.New(rand.NewPCG(7, 8)), 1)[0]
	addAll(t, ix, "l", []string{v})
	res, err := ix.Lookup(Query{Algo: "pdq", Value: v, Quality: intp(49)})
	if err != nil || !res.SkippedLowQuality || len(res.Matches) != 0 {
		t.Fatalf("quality 49: %+v %v", res, err)
	}
	res, err = ix.Lookup(Query{Algo: "pdq", Value: v, Quality: intp(49), LowQuality: true})
	if err != nil || res.SkippedLowQuality || len(res.Matches) != 1 {
		t.Fatalf("quality 49, asked: %+v %v", res, err)
	}
	for _, q := range []*int{intp(50), nil} {
		res, err = ix.Lookup(Query{Algo: "pdq", Value: v, Quality: q})
		if err != nil || res.SkippedLowQuality || len(res.Matches) != 1 {
			t.Fatalf("quality %v: %+v %v", q, res, err)
		}
	}
}

func TestBadQueries(t *testing.T) {
	ix := New()
	good := strings.Repeat("a", 64)
	for _, q := range []Query{
		{Algo: "pdq", Value: ""},
		{Algo: "pdq", Value: strings.Repeat("a", 63)},
		{Algo: "pdq", Value: strings.Repeat("g", 64)},
		{Algo: "pdq", Value: strings.Repeat("0", 64)},
		{Algo: "pdq", Value: good, Quality: intp(101)},
		{Algo: "pdq", Value: good, MaxDistance: intp(-1)},
		{Algo: "pdq", Value: good, MaxDistance: intp(257)},
		{Algo: "md5", Value: good},
		{Algo: "md5", Value: strings.Repeat("a", 32), Quality: intp(80)},
		{Algo: "sha9", Value: good},
		{Algo: "photodna", Value: "not base64!"},
	} {
		_, err := ix.Lookup(q)
		if !errors.Is(err, ErrBadQuery) {
			t.Errorf("%+v: error %v, want ErrBadQuery", q, err)
		} else if !strings.Contains(err.Error(), "bad query: ") || len(err.Error()) < 20 {
			t.Errorf("%+v: unclear error %q", q, err)
		}
	}
	if err := ix.Add(Entry{List: "l", Algo: "pdq", Value: "zz"}); !errors.Is(err, ErrBadEntry) {
		t.Fatalf("bad entry: %v", err)
	}
	if ix.Len() != 0 {
		t.Fatal("a bad entry changed the index")
	}
}

func TestLoadSnapshotAndImporter(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	vals := families(rng, 50)
	var b strings.Builder
	for _, v := range vals[:40] {
		it := release.Item{Algo: "pdq", Value: v, Quality: intp(100), Severity: "A"}
		b.Write(it.Line())
		b.WriteByte('\n')
	}
	it := release.Item{Algo: "md5", Value: "d41d8cd98f00b204e9800998ecf8427e"}
	b.Write(it.Line())
	b.WriteByte('\n')
	ix := New()
	if err := ix.LoadSnapshot("l", 5, strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 41 {
		t.Fatalf("Len %d, want 41", ix.Len())
	}
	if err := ix.LoadSnapshot("l", 5, strings.NewReader(`{"algo":"pdq","value":"x"}`+"\n")); !errors.Is(err, ErrBadEntry) {
		t.Fatalf("bad snapshot line: %v", err)
	}
}

// TestLoadSnapshotBatches loads more lines than one parse batch holds,
// in order and complete, and names a bad line in a later batch by its
// number.
func TestLoadSnapshotBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	vals := families(rng, 2*loadBatchLines+100)
	var b strings.Builder
	for _, v := range vals {
		it := release.Item{Algo: "pdq", Value: v}
		b.Write(it.Line())
		b.WriteByte('\n')
	}
	ix := New()
	if err := ix.LoadSnapshot("l", 3, strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != len(vals) {
		t.Fatalf("Len %d, want %d", ix.Len(), len(vals))
	}
	for _, q := range queries(rng, vals, 50) {
		if got, want := found(t, ix, q, 31), brute(t, vals, q, 31); !slices.Equal(got, want) {
			t.Fatalf("query %s: index %v, brute force %v", q, got, want)
		}
	}

	bad := loadBatchLines + 7
	lines := strings.SplitAfter(b.String(), "\n")
	lines[bad-1] = `{"algo":"pdq","value":"zz"}` + "\n"
	err := New().LoadSnapshot("l", 3, strings.NewReader(strings.Join(lines, "")))
	if !errors.Is(err, ErrBadEntry) || !strings.Contains(err.Error(), fmt.Sprintf("line %d:", bad)) {
		t.Fatalf("bad line %d: %v", bad, err)
	}
}

func TestImporterFollowsSteps(t *testing.T) {
	vals := families(rand.New(rand.NewPCG(11, 12)), 3)
	add := func(v string) release.Change {
		return release.Change{Op: release.OpAdd, Item: release.Item{Algo: "pdq", Value: v}}
	}
	ix := New()
	imp := ix.Importer("baseline")
	steps := []*mirror.AppliedStep{
		{List: "l", Version: 1, Changes: []release.Change{add(vals[0]), add(vals[1])}},
		{List: "l", Version: 2, Changes: []release.Change{{Op: release.OpRemove, Item: release.Item{Algo: "pdq", Value: vals[0]}}}},
		// A snapshot start replaces the list: vals[1] is gone, vals[2] in.
		{List: "l", Version: 9, Snapshot: true, Changes: []release.Change{add(vals[2])}},
	}
	want := [][]string{{vals[0], vals[1]}, {vals[1]}, {vals[2]}}
	// The version recorded is the release that added the entry.
	added := map[string]uint64{vals[0]: 1, vals[1]: 1, vals[2]: 9}
	for i, s := range steps {
		if err := imp(s); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			res, _ := ix.Lookup(Query{Algo: "pdq", Value: v, MaxDistance: intp(0)})
			in := slices.Contains(want[i], v)
			if (len(res.Matches) == 1) != in || (in && (res.Matches[0].Version != added[v] || res.Matches[0].Category != "baseline")) {
				t.Fatalf("after version %d, %s: %+v (want present: %v)", s.Version, v, res.Matches, in)
			}
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add("pdq", strings.Repeat("ab", 32), 80, 31)
	f.Add("md5", "d41d8cd98f00b204e9800998ecf8427e", -1, 0)
	f.Add("photodna", strings.Repeat("AAEC", 48), -1, 0)
	f.Add("pdq", " "+strings.Repeat("0", 63)+"1\n", 101, 300)
	ix := New()
	ix.Add(Entry{List: "l", Algo: "pdq", Value: strings.Repeat("ab", 32)})
	f.Fuzz(func(t *testing.T, algo, value string, quality, dist int) {
		q := Query{Algo: algo, Value: value, MaxDistance: &dist, LowQuality: true}
		if quality >= 0 {
			q.Quality = &quality
		}
		res, err := ix.Lookup(q)
		if err != nil {
			if !errors.Is(err, ErrBadQuery) {
				t.Fatalf("error %v does not wrap ErrBadQuery", err)
			}
			return
		}
		if dist < 0 || dist > MaxDistance {
			t.Fatalf("distance %d accepted", dist)
		}
		for _, m := range res.Matches {
			if m.Distance > dist {
				t.Fatalf("match at %d beyond %d", m.Distance, dist)
			}
		}
	})
}

// TestUpdatesAcrossCompactions adds and removes past the point where the
// tables are rebuilt, several times, checking against brute force.
func TestUpdatesAcrossCompactions(t *testing.T) {
	defer func(n int) { compactAt = n }(compactAt)
	compactAt = 300
	rng := rand.New(rand.NewPCG(13, 14))
	all := families(rng, 1200)
	ix := New()
	ix.pdq.alwaysIndex = true
	live := map[string]bool{}
	for round := range 6 {
		for _, v := range all[round*200 : round*200+200] {
			if err := ix.Add(Entry{List: "l", Algo: "pdq", Value: v}); err != nil {
				t.Fatal(err)
			}
			live[v] = true
		}
		for v := range live {
			if rng.IntN(3) == 0 {
				if ok, err := ix.Remove("l", "pdq", v); !ok || err != nil {
					t.Fatalf("remove %s: %v %v", v, ok, err)
				}
				delete(live, v)
			}
		}
		var vals []string
		for v := range live {
			vals = append(vals, v)
		}
		if ix.Len() != len(vals) {
			t.Fatalf("round %d: Len %d, want %d", round, ix.Len(), len(vals))
		}
		for _, q := range queries(rng, all, 60) {
			if got, want := found(t, ix, q, 31), brute(t, vals, q, 31); !slices.Equal(got, want) {
				t.Fatalf("round %d, query %s: index %v, brute force %v", round, q, got, want)
			}
		}
	}
	ix.background.Wait()
	if ix.pdq.indexed == 0 {
		t.Fatal("the tables were never rebuilt: the test checks nothing")
	}
}

// TestConcurrentReadersOneWriter runs lookups while deltas are applied and
// the tables are rebuilt: go test -race checks the locking.
func TestConcurrentReadersOneWriter(t *testing.T) {
	defer func(n int) { compactAt = n }(compactAt)
	compactAt = 150 // rebuilds happen while readers read
	rng := rand.New(rand.NewPCG(15, 16))
	vals := families(rng, 400)
	ix := New()
	done := make(chan struct{})
	errs := make(chan error, 4)
	for g := range 3 {
		go func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				k := (i*7 + g) % 200
				if _, err := ix.Lookup(Query{Algo: "pdq", Value: vals[2*k], MaxDistance: intp(31)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for k := range 200 {
		err := ix.Apply("l", uint64(k+1), []release.Change{
			{Op: release.OpAdd, Item: release.Item{Algo: "pdq", Value: vals[2*k]}},
			{Op: release.OpAdd, Item: release.Item{Algo: "pdq", Value: vals[2*k+1]}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ix.background.Wait() // before compactAt is put back
	if ix.Len() != 400 {
		t.Fatalf("Len %d", ix.Len())
	}
}

// TestLookupsDuringRebuilds runs lookups while deltas cross the rebuild
// point again and again, each lookup checked against brute force over
// the entries before and after the delta being applied: a rebuild in the
// background must never make a lookup miss or add an entry.
func TestLookupsDuringRebuilds(t *testing.T) {
	defer func(n int) { compactAt = n }(compactAt)
	compactAt = 150
	rng := rand.New(rand.NewPCG(17, 18))
	all := families(rng, 1600)
	ix := New()
	ix.pdq.alwaysIndex = true
	qs := queries(rng, all, 40)
	// states[k] is the list after delta k; a lookup that runs while
	// delta k+1 is applied sees states[k] or states[k+1].
	var states [][]string
	var mu sync.Mutex
	state := func(k int) ([]string, bool) {
		mu.Lock()
		defer mu.Unlock()
		if k >= len(states) {
			return nil, false
		}
		return states[k], true
	}
	states = append(states, nil)
	applied := atomic.Int32{}
	done := make(chan struct{})
	errs := make(chan error, 2)
	for g := range 2 {
		go func() {
			var err error
			// Deferred, so the test is not left waiting if found or brute
			// fails the test from this goroutine.
			defer func() { errs <- err }()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				q := qs[(i*3+g)%len(qs)]
				before := int(applied.Load())
				got := found(t, ix, q, 31)
				after := int(applied.Load())
				// The lookup saw the list after one delta from before to
				// after+1 (one being applied when it began or ended).
				ok := false
				for k := before; k <= after+1 && !ok; k++ {
					if vals, known := state(k); known {
						ok = slices.Equal(got, brute(t, vals, q, 31))
					}
				}
				if !ok {
					err = fmt.Errorf("query %s between deltas %d and %d: %v", q, before, after, got)
					return
				}
			}
		}()
	}
	live := map[string]bool{}
	for k := range 24 {
		var cs []release.Change
		for _, v := range all[k*50 : k*50+50] {
			cs = append(cs, release.Change{Op: release.OpAdd, Item: release.Item{Algo: "pdq", Value: v}})
			live[v] = true
		}
		for v := range live {
			if rng.IntN(4) == 0 {
				cs = append(cs, release.Change{Op: release.OpRemove, Item: release.Item{Algo: "pdq", Value: v}})
				delete(live, v)
			}
		}
		next := slices.Sorted(maps.Keys(live))
		mu.Lock()
		states = append(states, next)
		mu.Unlock()
		if err := ix.Apply("l", uint64(k+1), cs); err != nil {
			t.Fatal(err)
		}
		applied.Store(int32(k + 1))
	}
	close(done)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ix.background.Wait()
	if ix.pdq.indexed == 0 {
		t.Fatal("the tables were never rebuilt: the test checks nothing")
	}
	for _, q := range qs {
		if got, want := found(t, ix, q, 31), brute(t, states[len(states)-1], q, 31); !slices.Equal(got, want) {
			t.Fatalf("query %s after the deltas: index %v, brute force %v", q, got, want)
		}
	}
}

// TestLookupDuringRebuild holds a rebuild of the tables at its start and
// shows that lookups are answered, and deltas applied, while it is under
// way; the changes made meanwhile survive the swap.
func TestLookupDuringRebuild(t *testing.T) {
	defer func(n int) { compactAt = n }(compactAt)
	compactAt = 100
	rng := rand.New(rand.NewPCG(19, 20))
	all := families(rng, 600)
	ix := New()
	ix.pdq.alwaysIndex = true
	add := func(k int, vals ...string) {
		var cs []release.Change
		for _, v := range vals {
			cs = append(cs, release.Change{Op: release.OpAdd, Item: release.Item{Algo: "pdq", Value: v}})
		}
		if err := ix.Apply("l", uint64(k), cs); err != nil {
			t.Fatal(err)
		}
	}
	add(1, all[:200]...)
	ix.background.Wait() // the rebuild add started, before the hook is set
	ix.Compact()

	started, release_ := make(chan struct{}), make(chan struct{})
	rebuildHook = func() {
		close(started)
		<-release_
	}
	defer func() { rebuildHook = nil }()
	// Crosses the rebuild point: Apply returns, the rebuild waits in the hook.
	add(2, all[200:400]...)
	<-started

	live := slices.Clone(all[:400])
	check := func(when string) {
		t.Helper()
		for _, q := range queries(rng, all, 30) {
			if got, want := found(t, ix, q, 31), brute(t, live, q, 31); !slices.Equal(got, want) {
				t.Fatalf("%s, query %s: index %v, brute force %v", when, q, got, want)
			}
		}
	}
	check("during the rebuild")
	// A delta meanwhile: removes of indexed and of pending entries, an
	// update, and adds.
	var cs []release.Change
	for _, v := range append(slices.Clone(all[:50]), all[200:250]...) {
		cs = append(cs, release.Change{Op: release.OpRemove, Item: release.Item{Algo: "pdq", Value: v}})
	}
	cs = append(cs, release.Change{Op: release.OpUpdate, Item: release.Item{Algo: "pdq", Value: all[100], Severity: "A"}})
	for _, v := range all[400:450] {
		cs = append(cs, release.Change{Op: release.OpAdd, Item: release.Item{Algo: "pdq", Value: v}})
	}
	if err := ix.Apply("l", 3, cs); err != nil {
		t.Fatal(err)
	}
	live = append(append(slices.Clone(all[50:200]), all[250:400]...), all[400:450]...)
	check("after a delta during the rebuild")

	rebuildHook = nil
	close(release_)
	ix.background.Wait()
	ix.mu.RLock()
	indexed := ix.pdq.indexed
	ix.mu.RUnlock()
	if indexed < 300 {
		t.Fatalf("%d slots indexed after the rebuild, want the 400 it began with less none", indexed)
	}
	check("after the rebuild")
	if ix.Len() != len(live) {
		t.Fatalf("Len %d, want %d", ix.Len(), len(live))
	}
	res, err := ix.Lookup(Query{Algo: "pdq", Value: all[100], MaxDistance: intp(0)})
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Severity != "A" || res.Matches[0].Version != 3 {
		t.Fatalf("updated entry after the rebuild: %+v %v", res, err)
	}
	for _, v := range []string{all[0], all[200]} {
		if ok, err := ix.Remove("l", "pdq", v); ok || err != nil {
			t.Fatalf("removed entry %s still found after the rebuild: %v %v", v, ok, err)
		}
	}
}
