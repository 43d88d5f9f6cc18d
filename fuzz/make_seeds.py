#!/usr/bin/env python3
"""Regenerates fuzz/seeds/{bencode,krpc}/ from tests/vectors/ plus hand-made messages.

Seed file names are the SHA-1 of their content. Python 3 standard library only.
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "tests", "vectors")


def enc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, (bytes, bytearray)):
        return b"%d:%s" % (len(v), bytes(v))
    if isinstance(v, list):
        return b"l" + b"".join(enc(x) for x in v) + b"e"
    if isinstance(v, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, x) for k, x in v.items())
        return b"d" + b"".join(enc(k) + enc(x) for k, x in items) + b"e"
    raise TypeError(v)


ID = b"abcdefghij0123456789"
T = b"\x01\x02\x03\x04"


def q(method, args, **top):
    m = {"t": T, "y": "q", "q": method, "a": dict({"id": ID}, **args)}
    m.update(top)
    return enc(m)


def r(ret, **top):
    m = {"t": T, "y": "r", "r": dict({"id": ID}, **ret)}
    m.update(top)
    return enc(m)


def handmade():
    node4 = ID + bytes([192, 0, 2, 1, 0x1a, 0xe1])
    node6 = ID + bytes.fromhex("20010db8000000000000000000000001") + b"\x1a\xe1"
    yield q("ping", {}, v=b"LT\x01\x20")
    yield q("find_node", {"target": ID, "want": ["n4", "n6", "xx"]})
    yield q("get_peers", {"info_hash": ID, "scrape": 1, "noseed": 1})
    yield q("announce_peer", {"info_hash": ID, "port": 6881, "implied_port": 1, "seed": 1, "token": b"tok"})
    yield q("sample_infohashes", {"target": ID})
    yield q("get", {"target": ID, "seq": 3})
    yield q("vote", {"target": ID})
    yield q("ping", {}, ro=1)
    yield r({"nodes": node4 * 8, "nodes6": node6 * 2}, ip=bytes([192, 0, 2, 9, 0, 80]))
    yield r({"token": b"12345678", "values": [bytes(6), bytes(18)], "nodes": node4})
    yield r({"BFsd": bytes(256), "BFpe": bytes([0xff]) * 256})
    yield r({"samples": ID * 3, "num": 300, "interval": 21600, "nodes": node4})
    yield enc({"t": T, "y": "e", "e": [204, "Method Unknown"]})
    yield enc({"t": T, "y": "e", "e": [301, "cas mismatch", "extra"]})
    # Unsorted keys, as some clients send them.
    yield b"d1:y1:q1:t2:aa1:q4:ping1:ad2:id20:abcdefghij0123456789ee"


def bep44():
    path = os.path.join(VECTORS, "bep44_items.json")
    with open(path) as f:
        data = json.load(f)
    found = []

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if isinstance(v, str) and (k.endswith("hex") or k == "hex"):
                    try:
                        b = bytes.fromhex(v)
                    except ValueError:
                        continue
                    if b[:1] == b"d":
                        found.append(b)
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(data)
    return found


def main():
    with open(os.path.join(VECTORS, "bep5_messages.json")) as f:
        bep5 = json.load(f)
    krpc = [bytes.fromhex(m["hex"]) for m in bep5["messages"]]
    krpc += [bytes.fromhex(c["hex"]) for c in bep5["constructed"] if c.get("kind") == "krpc"]
    krpc += list(handmade())
    krpc += bep44()
    bencode = list(krpc) + [b"i0e", b"i-9223372036854775808e", b"le", b"de", b"0:", b"l" * 40 + b"e" * 40]
    for name, seeds in (("krpc", krpc), ("bencode", bencode)):
        d = os.path.join(HERE, "seeds", name)
        os.makedirs(d, exist_ok=True)
        for old in os.listdir(d):
            os.remove(os.path.join(d, old))
        for s in seeds:
            with open(os.path.join(d, hashlib.sha1(s).hexdigest()), "wb") as f:
                f.write(s)
        print(f"{name}: {len(set(seeds))} seeds", file=sys.stderr)


if __name__ == "__main__":
    main()
