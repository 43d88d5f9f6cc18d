#!/usr/bin/env python3
"""Prints the comparison tables and goal ratios from the last `cargo bench` run.

Reads target/criterion/<input>_<operation>/<impl>/new/estimates.json (codec, bench
`compare`) and target/criterion/routing_<operation>/<impl>/<inserts>/new/estimates.json
(routing table, bench `routing`), taking the mean. Prints the tables whose results exist.
Python 3 standard library only.
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "target", "criterion")
INPUTS = ["ping_query", "find_node_response", "get_peers_response", "torrent_like"]
OPS = ["typed_decode", "encode", "value_decode", "value_encode"]
# `encode_typed` holds btdht's typed build and the hand-written floor; its own table.
TYPED = "encode_typed"
OP_LABELS = {"encode": "encode (view copy)"}
GOALS = [("typed_decode", "Message::decode vs fastest peer typed borrowed decode", 2.0),
         ("encode", "Message::encode (view copy) vs fastest peer encode (fresh Vec)", 8.0),
         ("value_decode", "Value::decode vs fastest peer value decode", 2.0)]
SIZES = {"ping_query": "ping query, 67 B",
         "find_node_response": "find_node response: 8 nodes, 289 B",
         "get_peers_response": "get_peers response: 50 peers, 8 nodes, token, 716 B"}
ROUTING_OPS = [("closest", "closest-8 query"), ("insert", "one insert")]
ROUTING_PEERS = ["mainline"]


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


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def codec_tables(t):
    impls = sorted({k[2] for k in t if k[2] != "btdht" and k[1] in OPS})
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
        for inp in INPUTS[:3]:
            ours = t.get((inp, op, "btdht"))
            peers = {k[2]: v for k, v in t.items() if k[0] == inp and k[1] == op and k[2] != "btdht"}
            if ours is None or not peers:
                continue
            best = min(peers, key=peers.get)
            ratio = peers[best] / ours
            print(f"| {label} | {inp} | {best} ({fmt(peers[best])}) | {ratio:.1f}× | ≥ {goal:.0f}× | {'yes' if ratio >= goal else 'NO'} |")
    for inp in INPUTS[:3]:
        ours, floor = t.get((inp, TYPED, "btdht")), t.get((inp, TYPED, "floor"))
        if ours is None or floor is None:
            continue
        ratio = ours / floor
        print(f"| Message::encode (typed build) vs floor, both into a reused buffer | {inp} | floor ({fmt(floor)}) | {ratio:.2f}× | ≤ 1.0× | {'yes' if ratio <= 1.0 else 'NO'} |")


def encode_table(t):
    """Each encode row of one input, saying what it measures, as a ratio to the floor."""
    rows = [("encode", "btdht", "btdht `Message::encode`, view copy: re-encodes a decoded message (lists are borrowed bytes), reused buffer"),
            (TYPED, "btdht", "btdht `Message::encode`, typed build: a `Message` from `SocketAddr`s and `NodeV4 {id, addr}`, reused buffer"),
            (TYPED, "floor", "floor: hand-written writer, reused buffer (`Vec` cleared, `extend_from_slice` per piece)")]
    print("| input | what the row measures | time | / floor |")
    print("|---|---|---|---|")
    for inp in INPUTS[:3]:
        floor = t.get((inp, TYPED, "floor"))
        if floor is None:
            continue
        for op, impl, label in rows:
            v = t.get((inp, op, impl))
            if v is not None:
                print(f"| {SIZES[inp]} | {label} | {fmt(v)} | {v / floor:.2f}× |")
        peers = {k[2]: v for k, v in t.items() if k[0] == inp and k[1] == "encode" and k[2] != "btdht"}
        if peers:
            best = min(peers, key=peers.get)
            print(f"| {SIZES[inp]} | fastest peer, {best}: serde struct of borrowed bytes into a fresh `Vec` per call | {fmt(peers[best])} | {peers[best] / floor:.2f}× |")


def routing_table(t):
    print("| operation | inserts attempted | btdht | " + " | ".join(ROUTING_PEERS) + " | "
          + " | ".join(f"{p}/btdht" for p in ROUTING_PEERS) + " |")
    print("|---|---|---|" + "---|" * (2 * len(ROUTING_PEERS)))
    for op, label in ROUTING_OPS:
        for size in sorted({k[2] for k in t if k[0] == op}):
            ours = t.get((op, "btdht", size))
            peers = [t.get((op, p, size)) for p in ROUTING_PEERS]
            times = ["—" if v is None else fmt(v) for v in peers]
            ratios = ["—" if v is None or ours is None else f"{v / ours:.2f}×" for v in peers]
            print(f"| {label} | {size:,} | {'—' if ours is None else fmt(ours)} | "
                  + " | ".join(times) + " | " + " | ".join(ratios) + " |")


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
        routing_table(routing)


if __name__ == "__main__":
    main()
