#!/usr/bin/env python3
"""Prints the comparison tables and goal ratios from the last `cargo bench` run.

Reads target/criterion/<input>_<operation>/<impl>/new/estimates.json (codec, bench
`compare`) and target/criterion/routing_<operation>/<impl>/<inserts>/new/estimates.json
(routing table, bench `routing`), taking the mean, and the paired insert ratios the routing
bench saves in target/criterion/routing_paired/<group>.json. Prints the tables whose
results exist.
Python 3 standard library only.
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "target", "criterion")
INPUTS = ["ping_query", "find_node_response", "get_peers_response", "torrent_like",
          "torrent_heavy"]
# Not peers: reference rows that the "fastest peer" never picks.
FLOORS = ["floor_walk"]
OPS = ["typed_decode", "encode", "value_decode", "value_encode"]
# `encode_typed` holds btdht's typed build and the hand-written floor; its own table.
TYPED = "encode_typed"
OP_LABELS = {"encode": "encode (view copy)"}
GOALS = [("typed_decode", "Message::decode vs fastest peer typed borrowed decode", 2.0),
         ("encode", "Message::encode (view copy) vs fastest peer encode (fresh Vec)", 8.0),
         ("value_decode", "Value::decode vs fastest peer value decode", 2.0)]
ENCODE_SIZES = {"ping_query": "ping query, 67 B",
         "find_node_response": "find_node response: 8 nodes, 289 B",
         "get_peers_response": "get_peers response: 50 peers, 8 nodes, token, 716 B"}
# (group, what a row measures; docs/BENCHMARKS.md says how)
ROUTING_OPS = [("closest", "one closest-8 query"),
               ("fill", "one insert while filling a fresh table"),
               ("insert", "one insert of a new node into the filled table")]
# Goal 3 of issue 21: an insert costs at most 1.5× mainline's.
ROUTING_GOALS = [("fill", 1.5), ("insert", 1.5)]
ROUTING_PEERS = ["mainline"]


SIZES = {}  # input -> bytes, from the throughput criterion records with a result


def load():
    times = {}
    if not os.path.isdir(ROOT):
        sys.exit(f"no results in {ROOT}: run `cargo bench` first")
    for group in os.listdir(ROOT):
        for inp in INPUTS:
            for op in OPS + [TYPED]:
                if group == f"{inp}_{op}":
                    gdir = os.path.join(ROOT, group)
                    for impl in os.listdir(gdir):
                        est = os.path.join(gdir, impl, "new", "estimates.json")
                        if os.path.exists(est):
                            with open(est) as f:
                                times[(inp, op, impl)] = json.load(f)["mean"]["point_estimate"]
                        bench = os.path.join(gdir, impl, "new", "benchmark.json")
                        if os.path.exists(bench):
                            with open(bench) as f:
                                tp = json.load(f).get("throughput") or {}
                            if "Bytes" in tp:
                                SIZES[inp] = tp["Bytes"]
    return times


def load_routing():
    """{(operation, impl, inserts): mean ns} from routing_<operation>/<impl>/<inserts>."""
    times = {}
    for op, _ in ROUTING_OPS:
        gdir = os.path.join(ROOT, f"routing_{op}")
        if not os.path.isdir(gdir):
            continue
        for impl in os.listdir(gdir):
            idir = os.path.join(gdir, impl)
            if not os.path.isdir(idir):
                continue
            for size in os.listdir(idir):
                est = os.path.join(idir, size, "new", "estimates.json")
                if size.isdigit() and os.path.exists(est):
                    with open(est) as f:
                        times[(op, impl, int(size))] = json.load(f)["mean"]["point_estimate"]
    return times


def load_paired():
    """{group: (median, p10, p90)} of mainline/btdht, from the routing bench's paired rounds."""
    out = {}
    pdir = os.path.join(ROOT, "routing_paired")
    for op, _ in ROUTING_OPS:
        path = os.path.join(pdir, f"routing_{op}.json")
        if os.path.exists(path):
            with open(path) as f:
                d = json.load(f)
            out[op] = (d["median"], d["p10"], d["p90"])
    return out


def load_encode_paired():
    """{input: (median, p10, p90)} of btdht/floor for the typed build, from the compare
    bench's paired rounds."""
    out = {}
    pdir = os.path.join(ROOT, "encode_paired")
    for inp in INPUTS:
        path = os.path.join(pdir, f"{inp}.json")
        if os.path.exists(path):
            with open(path) as f:
                d = json.load(f)
            out[inp] = (d["median"], d["p10"], d["p90"])
    return out


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def size(inp):
    n = SIZES.get(inp)
    return "?" if n is None else f"{n:,} B"


def gbps(inp, ns):
    n = SIZES.get(inp)
    return "?" if n is None else f"{n / ns:.2f} GB/s"


def codec_tables(t):
    impls = sorted({k[2] for k in t if k[2] != "btdht" and k[2] not in FLOORS and k[1] in OPS})
    print("| input | operation | btdht | " + " | ".join(impls) + " |")
    print("|---|---|---|" + "---|" * len(impls))
    for inp in INPUTS:
        for op in OPS:
            ours = t.get((inp, op, "btdht"))
            if ours is None:
                continue
            cells = []
            for impl in impls:
                peer = t.get((inp, op, impl))
                cells.append("—" if peer is None else f"{fmt(peer)} ({peer / ours:.1f}×)")
            print(f"| {inp} | {OP_LABELS.get(op, op)} | {fmt(ours)} | " + " | ".join(cells) + " |")
    print()
    print("| goal | input | fastest peer | ratio | goal | met |")
    print("|---|---|---|---|---|---|")
    for op, label, goal in GOALS:
        for inp in INPUTS:
            ours = t.get((inp, op, "btdht"))
            peers = {k[2]: v for k, v in t.items()
                     if k[0] == inp and k[1] == op and k[2] != "btdht" and k[2] not in FLOORS}
            if ours is None or not peers:
                continue
            best = min(peers, key=peers.get)
            ratio = peers[best] / ours
            print(f"| {label} | {inp} | {best} ({fmt(peers[best])}) | {ratio:.2f}× | ≥ {goal:.0f}× "
                  f"| {'yes' if ratio >= goal else 'NO'} |")
    paired = load_encode_paired()
    for inp in INPUTS[:3]:
        ours, floor = t.get((inp, TYPED, "btdht")), t.get((inp, TYPED, "floor"))
        if ours is None or floor is None:
            continue
        # The paired median when the bench saved one (criterion's separate windows
        # drift by more than the margin on a 17 ns encode), else the criterion ratio.
        ratio, how = (paired[inp][0], "paired median") if inp in paired else (ours / floor, "criterion")
        print(f"| Message::encode (typed build) vs floor, both into a reused buffer ({how}) | {inp} | floor ({fmt(floor)}) | {ratio:.2f}× | ≤ 1.0× | {'yes' if ratio <= 1.0 else 'NO'} |")
    floor_table(t)


def encode_table(t):
    """Each encode row of one input, saying what it measures, as a ratio to the floor."""
    rows = [("encode", "btdht", "btdht `Message::encode`, view copy: re-encodes a decoded message (lists are borrowed bytes), reused buffer"),
            (TYPED, "btdht", "btdht `Message::encode`, typed build: a `Message` from `SocketAddr`s and `NodeV4 {id, addr}`, reused buffer"),
            (TYPED, "floor", "floor: hand-written writer, reused buffer (`Vec` cleared, `extend_from_slice` per piece)")]
    paired = load_encode_paired()
    print("| input | what the row measures | time | / floor | / floor, paired (p10–p90) |")
    print("|---|---|---|---|---|")
    for inp in INPUTS[:3]:
        floor = t.get((inp, TYPED, "floor"))
        if floor is None:
            continue
        for op, impl, label in rows:
            v = t.get((inp, op, impl))
            if v is not None:
                p = paired.get(inp) if (op, impl) == (TYPED, "btdht") else None
                pcell = f"{p[0]:.2f}× ({p[1]:.2f}–{p[2]:.2f})" if p else "—"
                print(f"| {ENCODE_SIZES[inp]} | {label} | {fmt(v)} | {v / floor:.2f}× | {pcell} |")
        peers = {k[2]: v for k, v in t.items() if k[0] == inp and k[1] == "encode" and k[2] != "btdht"}
        if peers:
            best = min(peers, key=peers.get)
            print(f"| {ENCODE_SIZES[inp]} | fastest peer, {best}: serde struct of borrowed bytes into a fresh `Vec` per call | {fmt(peers[best])} | {peers[best] / floor:.2f}× | — |")


def floor_table(t):
    """Value decode per input, with its size and GB/s, next to the fastest peer and the
    floor (a hand-written walk that checks the structure and builds nothing)."""
    rows = [inp for inp in INPUTS if (inp, "value_decode", "floor_walk") in t
            and (inp, "value_decode", "btdht") in t]
    if not rows:
        return
    print()
    print("| input | size | btdht `Value::decode` | fastest peer | peer / btdht | floor walk | btdht / floor |")
    print("|---|---|---|---|---|---|---|")
    for inp in rows:
        floor = t[(inp, "value_decode", "floor_walk")]
        ours = t[(inp, "value_decode", "btdht")]
        peers = {k[2]: v for k, v in t.items() if k[0] == inp and k[1] == "value_decode"
                 and k[2] != "btdht" and k[2] not in FLOORS}
        best = min(peers, key=peers.get) if peers else None
        peer = "—" if best is None else f"{best} {fmt(peers[best])} ({gbps(inp, peers[best])})"
        ratio = "—" if best is None else f"{peers[best] / ours:.2f}×"
        print(f"| {inp} | {size(inp)} | {fmt(ours)} ({gbps(inp, ours)}) | {peer} | {ratio} | "
              f"{fmt(floor)} ({gbps(inp, floor)}) | {ours / floor:.2f}× |")


def ratio(r):
    return f"{r:.0f}×" if r >= 10 else f"{r:.2f}×"


def routing_table(t, paired):
    print("| operation | inserts attempted | btdht | " + " | ".join(ROUTING_PEERS) + " | "
          + " | ".join(f"{p}/btdht" for p in ROUTING_PEERS)
          + " | mainline/btdht, paired (p10–p90) |")
    print("|---|---|---|" + "---|" * (2 * len(ROUTING_PEERS)) + "---|")
    for op, label in ROUTING_OPS:
        for size in sorted({k[2] for k in t if k[0] == op}):
            ours = t.get((op, "btdht", size))
            peers = [t.get((op, p, size)) for p in ROUTING_PEERS]
            times = ["—" if v is None else fmt(v) for v in peers]
            ratios = ["—" if v is None or ours is None else ratio(v / ours) for v in peers]
            p = paired.get(op)
            pair = "—" if p is None else f"{p[0]:.2f}× ({p[1]:.2f}–{p[2]:.2f})"
            print(f"| {label} | {size:,} | {'—' if ours is None else fmt(ours)} | "
                  + " | ".join(times) + " | " + " | ".join(ratios) + f" | {pair} |")
    goals = [(op, g) for op, g in ROUTING_GOALS if op in paired]
    if goals:
        print()
        print("| goal (issue 21) | btdht/mainline, paired median | goal | met |")
        print("|---|---|---|---|")
        for op, goal in goals:
            label = dict(ROUTING_OPS)[op]
            cost = 1 / paired[op][0]
            print(f"| {label}, 10,000 inserts | {cost:.2f}× | ≤ {goal}× | {'yes' if cost <= goal else 'NO'} |")


def main():
    if not os.path.isdir(ROOT):
        sys.exit(f"no results in {ROOT}: run `cargo bench` first")
    codec, routing = load(), load_routing()
    if not codec and not routing:
        sys.exit(f"no results in {ROOT}: run `cargo bench` first")
    if codec:
        codec_tables(codec)
        print()
        encode_table(codec)
    if routing:
        if codec:
            print()
        routing_table(routing, load_paired())


if __name__ == "__main__":
    main()
