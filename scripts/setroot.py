#!/usr/bin/env python3
"""Recompute a hashhub list's set root from a snapshot.

    python3 scripts/setroot.py SNAPSHOT.ndjson

The snapshot has one JSON object per line, each with "algo" and "value".
The script prints the entry count and the set root, to compare with the
release manifest. It is the auditor's reference for the construction in
docs/release-format.md ("Set root"); it uses only Python's standard library
and favours being easy to check over being fast (about 5 s per million
entries).
"""

import hashlib
import json
import sys

BUCKETS = 65536  # 2**16 buckets, chosen by the first two bytes of SHA-256(key)


def sha256(data):
    return hashlib.sha256(data).digest()


def main(path):
    buckets = [[] for _ in range(BUCKETS)]  # leaf hashes of each bucket
    seen = set()  # SHA-256 of every key, to refuse a snapshot that is not a set

    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            # The leaf is the line's bytes exactly as in the file, without
            # the newline. Nothing else is stripped: not spaces, not "\r".
            line = raw[:-1] if raw.endswith(b"\n") else raw
            try:
                entry = json.loads(line.decode("utf-8"))
                key = (entry["algo"] + ":" + entry["value"]).encode("utf-8")
            except (ValueError, KeyError, TypeError) as e:
                sys.exit(f"{path}:{number}: not a snapshot line: {e!r}")

            key_hash = sha256(key)
            if key_hash in seen:
                sys.exit(f"{path}:{number}: key repeats an earlier line's")
            seen.add(key_hash)

            bucket = int.from_bytes(key_hash[:2], "big")
            buckets[bucket].append(sha256(line))

    # Bucket digest: SHA-256 of the bucket's leaf hashes, sorted, concatenated
    # (an empty bucket gives SHA-256 of nothing). Then the RFC 6962 Merkle
    # tree over the 65536 digests in bucket order: leaf = SHA-256(0x00 || d),
    # node = SHA-256(0x01 || left || right). 65536 is a power of two, so
    # every level pairs up exactly.
    level = [sha256(b"\x00" + sha256(b"".join(sorted(leaves)))) for leaves in buckets]
    while len(level) > 1:
        level = [sha256(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level), 2)]

    print(f"entries={len(seen)}")
    print(f"set_root={level[0].hex()}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: setroot.py SNAPSHOT.ndjson")
    main(sys.argv[1])
