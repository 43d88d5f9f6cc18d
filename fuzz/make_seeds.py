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


def sha1(s):
    return hashlib.sha1(s.encode()).digest()


def addr4(a, b, c, d, port):
    return bytes([a, b, c, d]) + port.to_bytes(2, "big")


def addr6(hexip, port):
    return bytes.fromhex(hexip) + port.to_bytes(2, "big")


def real_world():
    """Datagrams shaped like what nodes on the network send: libtorrent (`LT`, 2-byte
    binary `t`, 4-byte tokens, `n` in announce_peer), Transmission's dht (`gp`/`fn`/`ap`
    transaction ids), uTorrent (`UT`), errors that carry an `r` dict, unsorted keys, and a
    few malformed ones that both decoders must refuse the same way."""
    me, you, ih = sha1("querier"), sha1("responder"), sha1("info-hash")
    nodes = b"".join(sha1("n%d" % i) + addr4(198, 51, 100, i + 1, 6881 + i) for i in range(8))
    nodes6 = b"".join(sha1("m%d" % i) + addr6("2001db8000000000000000000000%04x" % (i + 1), 6881) for i in range(2))
    peers = [addr4(203, 0, 113, i + 1, 50000 + i) for i in range(5)]
    lt, ut, tr = b"LT\x01\x02", b"UT\xb5\x5a", b"TR\x40\x00"
    # Queries.
    yield enc({"a": {"id": me}, "q": "ping", "t": b"\x8c\x1f", "v": lt, "y": "q"})
    yield enc({"a": {"id": me, "target": you}, "q": "find_node", "t": b"fn\x00\x07", "v": tr, "y": "q"})
    yield enc({"a": {"id": me, "info_hash": ih}, "q": "get_peers", "t": b"\x01\xa4", "v": lt, "y": "q"})
    yield enc({"a": {"id": me, "info_hash": ih, "want": ["n4", "n6"]}, "q": "get_peers", "t": b"gp\x00\x02", "v": tr, "y": "q"})
    yield enc({"a": {"id": me, "implied_port": 1, "info_hash": ih, "n": "ubuntu-24.04-desktop-amd64.iso",
                     "port": 6881, "token": b"\x9e\x11\x5a\x03"}, "q": "announce_peer", "t": b"\x01\xa5", "v": lt, "y": "q"})
    yield enc({"a": {"id": me, "info_hash": ih, "port": 51413, "token": b"\x00" * 8}, "q": "announce_peer",
               "t": b"ap\x00\x03", "v": tr, "y": "q"})
    # Responses.
    yield enc({"ip": addr4(192, 0, 2, 33, 51413), "r": {"id": you}, "t": b"\x8c\x1f", "v": lt, "y": "r"})
    yield enc({"ip": addr4(192, 0, 2, 33, 51413), "r": {"id": you, "nodes": nodes}, "t": b"fn\x00\x07", "v": ut, "y": "r"})
    yield enc({"ip": addr4(192, 0, 2, 33, 6881), "r": {"id": you, "nodes": nodes[:26 * 3], "token": b"\x9e\x11\x5a\x03",
               "values": peers}, "t": b"\x01\xa4", "v": lt, "y": "r"})
    yield enc({"ip": addr6("20010db8000000000000000000000099", 6881), "r": {"id": you, "nodes": nodes[:26 * 2],
               "nodes6": nodes6, "token": b"\x12\x34\x56\x78\x9a\xbc\xde\xf0",
               "values": [addr6("20010db8000000000000000000000042", 51413)]}, "t": b"gp\x00\x02", "v": tr, "y": "r"})
    yield enc({"r": {"id": you}, "t": b"\x01\xa5", "v": lt, "y": "r"})
    # Errors, some with the responder's id in an `r` dict.
    yield enc({"e": [203, "Incorrect token in announce_peer"], "r": {"id": you}, "t": b"\x01\xa5", "v": lt, "y": "e"})
    yield enc({"e": [204, "unknown method"], "ip": addr4(192, 0, 2, 33, 51413), "r": {"id": you}, "t": b"\x00\x09", "y": "e"})
    yield enc({"e": [202, "Server Error"], "t": b"ap\x00\x03", "v": ut, "y": "e"})
    # Unsorted keys, at the top and inside `a` and `r`.
    yield b"d1:t2:\x8c\x201:y1:q1:q9:find_node1:ad6:target20:" + you + b"2:id20:" + me + b"e1:v4:" + lt + b"e"
    yield b"d1:t2:\x8c\x201:y1:r1:rd5:nodes52:" + nodes[:52] + b"2:id20:" + you + b"e2:ip6:" + addr4(192, 0, 2, 33, 6881) + b"e"
    yield b"d1:y1:e1:t2:\x8c\x211:eli201e13:Generic Errore1:rd2:id20:" + you + b"ee"
    # Malformed: a repeated key, bytes after the message, a `nodes` of 27 bytes.
    yield b"d1:ad2:id20:" + me + b"e1:q4:ping1:t2:aa1:t2:bb1:y1:qe"
    yield enc({"a": {"id": me}, "q": "ping", "t": b"aa", "y": "q"}) + b"\x00"
    yield enc({"r": {"id": you, "nodes": nodes[:27]}, "t": b"aa", "y": "r"})


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
    krpc += list(real_world())
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
