#!/usr/bin/python3
"""Interop cases: btdht-tokio's examples (the driver crate, as a user runs it) against
libtorrent-rasterbar's DHT, on IPv4 loopback.

Run by ci/interop.sh inside a private network namespace; every socket is on 127.0.0.x.
Needs Debian's python3-libtorrent (2.0.x), hence /usr/bin/python3.

    /usr/bin/python3 tokio_libtorrent_cases.py --examples target/release/examples \
        --logs DIR --results FILE

Topology: three libtorrent sessions, L1 (no bootstrap nodes) and L2, L3 (bootstrapping
off L1), on 127.0.0.21-23. Each of our processes is a fresh btdht-tokio node whose only
bootstrap address is L1, run once, as `btdht-tokio/examples/*.rs` document:

    get_peers X            L1 announced X: we must print `peer L1`, then `done N`
    announce Y 7003        `announced Y N`, N >= 1; libtorrent stored it, and a
                           dht_get_peers(Y) by L2 or L3 finds 127.0.0.32:7003
    put_get put STRING     `put TARGET N`; a dht_get_immutable_item by L2 or L3 finds it
    put_get get TARGET     L1 put LT_ITEM: we must print `item TARGET VALUE_HEX`

Each case prints one line `RESULT<TAB>impl<TAB>case<TAB>PASS|FAIL<TAB>detail`, and the
same lines go to --results.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

import libtorrent as lt

from libtorrent_cases import LT_ITEM, X, Y, Lt, Ours, fmt_addr, log

IMPL = "btdht-tokio, libtorrent IPv4"
CASES = ["their_peer", "our_peer", "announce", "our_item", "their_item"]
OUR_PORT = 7003
OUR_STRING = "put by btdht-tokio"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", required=True, help="folder of btdht-tokio's example binaries")
    ap.add_argument("--logs", required=True)
    ap.add_argument("--results", required=True)
    a = ap.parse_args()
    os.makedirs(a.logs, exist_ok=True)
    results = []

    def result(case, ok, detail):
        line = f"RESULT\t{IMPL}\t{case}\t{'PASS' if ok else 'FAIL'}\t{detail}"
        results.append(line)
        print(line, flush=True)

    nodes = []
    ours = []

    def pump_all():
        for s in nodes:
            s.pump()

    def until(cond, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pump_all()
            if cond():
                return True
            time.sleep(0.05)
        pump_all()
        log(f"timed out after {timeout}s waiting for {what}")
        return False

    def run_ours(name, ip, port, words):
        """One example process, bootstrapping off L1 only; waits for its end (bounded)."""
        binary = os.path.join(a.examples, name.split("-")[0])
        args = ["--bootstrap", L1.addr, "--bind", fmt_addr(ip, port), "--allow-local"] + words
        o = Ours(name, binary, args, a.logs)
        ours.append(o)
        until(lambda: o.proc.poll() is not None, 25, f"{name} to exit")
        return o

    save = tempfile.mkdtemp(prefix="lt-save-")
    try:
        L1 = Lt("lt1", "127.0.0.21", 27061, "", a.logs)
        nodes.append(L1)
        joiners = [Lt(f"lt{i}", f"127.0.0.2{i}", 27060 + i, L1.addr, a.logs) for i in (2, 3)]
        nodes.extend(joiners)
        until(lambda: all(s.of("bootstrap") for s in joiners), 12, "L2, L3 to bootstrap off L1")

        # L1 announces X (a magnet-only torrent: libtorrent's own DHT announce, implied
        # port, so the peer is L1's address) and puts an immutable item.
        atp = lt.add_torrent_params()
        atp.info_hashes = lt.info_hash_t(lt.sha1_hash(bytes.fromhex(X)))
        atp.save_path = save
        atp.name = "interop-tokio-x"
        atp.flags = atp.flags & ~lt.torrent_flags.paused & ~lt.torrent_flags.auto_managed
        handle = L1.ses.add_torrent(atp)
        until(
            lambda: any(any(h == X for h, _, _ in s.of("announce")) for s in joiners),
            15,
            "L1's announce of X to reach L2 or L3",
        )
        L1.ses.remove_torrent(handle)
        lt_target = str(L1.ses.dht_put_immutable_item(LT_ITEM))
        until(lambda: L1.of("put"), 10, "L1's dht_put_alert")

        # Our four runs, one fresh node each.
        gp = run_ours("get_peers", "127.0.0.31", 27071, [X])
        an = run_ours("announce", "127.0.0.32", 27072, [Y, str(OUR_PORT)])
        put = run_ours("put_get-put", "127.0.0.33", 27073, ["put", OUR_STRING])
        get = run_ours("put_get-get", "127.0.0.34", 27074, ["get", lt_target])

        # Their lookups of what we stored.
        our_peer = fmt_addr("127.0.0.32", OUR_PORT)
        m = put.has(r"^put ([0-9a-f]{40}) (\d+)$")
        our_target = m[0].group(1) if m else None
        for s in joiners:
            s.ses.dht_get_peers(lt.sha1_hash(bytes.fromhex(Y)))
            if our_target:
                s.ses.dht_get_immutable_item(lt.sha1_hash(bytes.fromhex(our_target)))

        def found_y(s):
            return our_peer in {p for h, peers in s.of("peers") if h == Y for p in peers}

        def got_item(s):
            return [v for t, v in s.of("item") if t == our_target]

        until(
            lambda: any(found_y(s) for s in joiners) and (not our_target or any(got_item(s) for s in joiners)),
            12,
            "a lookup of Y and a get of our item, by L2 or L3",
        )

        # ---- verdicts -------------------------------------------------------------
        peer_x = L1.addr
        ok = bool(gp.has(rf"^peer {peer_x}$")) and bool(gp.has(r"^done [1-9]\d*$")) and gp.proc.returncode == 0
        result("their_peer", ok, f"get_peers printed {gp.lines[-3:]} (exit {gp.proc.returncode})")

        finders = [s.name for s in joiners if found_y(s)]
        result("our_peer", bool(finders), f"libtorrent lookups that found {our_peer}: {finders}")

        m = an.has(rf"^announced {Y} (\d+)$")
        accepted = int(m[0].group(1)) if m else 0
        stored = [s.name for s in nodes if (Y, "127.0.0.32", OUR_PORT) in s.of("announce")]
        result(
            "announce",
            accepted >= 1 and bool(stored) and an.proc.returncode == 0,
            f"we print {accepted} accepted (exit {an.proc.returncode}); libtorrent stored it on {stored}",
        )

        count = int(m[0].group(2)) if (m := put.has(r"^put ([0-9a-f]{40}) (\d+)$")) else 0
        finders = [s.name for s in joiners if OUR_STRING.encode() in got_item(s)]
        result(
            "our_item",
            count >= 1 and bool(finders),
            f"we print {count} stored at {our_target}; their gets found it on {finders}",
        )

        want = f"{len(LT_ITEM)}:".encode().hex() + LT_ITEM.hex()
        got = get.has(rf"^item {lt_target} ([0-9a-f]+)$")
        result(
            "their_item",
            bool(got) and got[0].group(1) == want and get.proc.returncode == 0,
            f"our get printed {got[0].group(1) if got else 'nothing'} (exit {get.proc.returncode})",
        )
    except Exception as e:  # a harness error fails every case not yet decided
        import traceback

        traceback.print_exc()
        decided = {r.split("\t")[2] for r in results}
        for case in CASES:
            if case not in decided:
                result(case, False, f"harness error: {e!r}")
    finally:
        for o in ours:
            o.stop()
        for s in nodes:
            s.pump()
            s.close()
        shutil.rmtree(save, ignore_errors=True)
        with open(a.results, "a") as f:
            for r in results:
                f.write(r + "\n")
        log(f"logs in {a.logs}")
    return 0 if all("\tPASS\t" in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
