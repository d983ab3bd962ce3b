package match

// exact indexes one exact algorithm: a map from the decoded digest (a
// fixed-size array, so no string per entry) to the first of its entries;
// entries of the same digest in other lists chain through next. Slots
// freed by a remove are reused.
type exact[K comparable] struct {
	head map[K]uint32
	meta []meta
	next []uint32 // next slot of the same digest, or none
	keys []K      // the digest of each slot, for dropList
	free []uint32
	live int
}

const none = ^uint32(0)

func newExact[K comparable]() *exact[K] { return &exact[K]{head: map[K]uint32{}} }

func (x *exact[K]) len() int { return x.live }

// put adds or replaces list's entry for k.
func (x *exact[K]) put(k K, m meta) {
	h, ok := x.head[k]
	if ok {
		for s := h; s != none; s = x.next[s] {
			if x.meta[s].list == m.list {
				x.meta[s] = m
				return
			}
		}
	} else {
		h = none
	}
	var s uint32
	if n := len(x.free); n > 0 {
		s = x.free[n-1]
		x.free = x.free[:n-1]
		x.meta[s], x.next[s], x.keys[s] = m, h, k
	} else {
		s = uint32(len(x.meta))
		x.meta = append(x.meta, m)
		x.next = append(x.next, h)
		x.keys = append(x.keys, k)
	}
	x.head[k] = s
	x.live++
}

// del removes list's entry for k, reporting whether there was one.
func (x *exact[K]) del(k K, list uint16) bool {
	h, ok := x.head[k]
	if !ok {
		return false
	}
	prev := none
	for s := h; s != none; prev, s = s, x.next[s] {
		if x.meta[s].list != list {
			continue
		}
		switch {
		case prev != none:
			x.next[prev] = x.next[s]
		case x.next[s] == none:
			delete(x.head, k)
		default:
			x.head[k] = x.next[s]
		}
		var zero K
		x.meta[s], x.next[s], x.keys[s] = meta{}, none, zero
		x.free = append(x.free, s)
		x.live--
		return true
	}
	return false
}

func (x *exact[K]) get(k K, fn func(meta)) {
	h, ok := x.head[k]
	if !ok {
		return
	}
	for s := h; s != none; s = x.next[s] {
		fn(x.meta[s])
	}
}

func (x *exact[K]) dropList(list uint16) {
	for s := range x.meta {
		if m := x.meta[s]; m.live() && m.list == list {
			x.del(x.keys[s], list)
		}
	}
}
