//! The standard inputs of the codec benchmarks, shared by the tests (as `common::inputs`),
//! `benches/` and `benches/compare/` (which include this file with `#[path]`).
//! Deterministic: a fixed-seed xorshift, no dependencies.
#![allow(dead_code)]

/// A fixed-seed xorshift (also the flood test's source of junk).
pub struct Rng(pub u64);

impl Rng {
    // An RNG step, not an iterator: it never ends.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Fills `out` with the next values' little-endian bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let r = self.next().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(s.len().to_string().as_bytes());
    out.push(b':');
    out.extend(s);
}

fn int(out: &mut Vec<u8>, n: i64) {
    out.push(b'i');
    out.extend(n.to_string().as_bytes());
    out.push(b'e');
}

/// A ping query as real clients send it: 4-byte `t`, 4-byte `v` (67 bytes).
pub fn ping_query() -> Vec<u8> {
    let mut r = Rng(1);
    let mut v = b"d1:ad2:id20:".to_vec();
    v.extend(r.bytes(20));
    v.extend(b"e1:q4:ping1:t4:");
    v.extend(r.bytes(4));
    v.extend(b"1:v4:LT\x01\x201:y1:qe");
    v
}

/// A find_node response with 8 IPv4 nodes and the BEP 42 `ip` field.
pub fn find_node_response() -> Vec<u8> {
    let mut r = Rng(2);
    let mut v = b"d2:ip6:".to_vec();
    v.extend([203, 0, 113, 7, 0x1a, 0xe1]);
    v.extend(b"1:rd2:id20:");
    v.extend(r.bytes(20));
    v.extend(b"5:nodes208:");
    v.extend(r.bytes(208));
    v.extend(b"e1:t4:");
    v.extend(r.bytes(4));
    v.extend(b"1:v4:LT\x01\x201:y1:re");
    v
}

/// A get_peers response with 50 IPv4 peers in `values`, 8 `nodes` and a token, as
/// libtorrent sends them.
pub fn get_peers_response() -> Vec<u8> {
    let mut r = Rng(3);
    let mut v = b"d2:ip6:".to_vec();
    v.extend([203, 0, 113, 7, 0x1a, 0xe1]);
    v.extend(b"1:rd2:id20:");
    v.extend(r.bytes(20));
    v.extend(b"5:nodes208:");
    v.extend(r.bytes(208));
    v.extend(b"5:token8:");
    v.extend(r.bytes(8));
    v.extend(b"6:valuesl");
    for _ in 0..50 {
        v.extend(b"6:");
        v.extend(r.bytes(6));
    }
    v.extend(b"ee1:t4:");
    v.extend(r.bytes(4));
    v.extend(b"1:v4:LT\x01\x201:y1:re");
    v
}

/// A torrent-like dictionary of about 1 MB: metadata, a file list of 400 entries and a
/// long `pieces` string.
pub fn torrent_like() -> Vec<u8> {
    let mut r = Rng(4);
    let mut v = Vec::with_capacity(1 << 20);
    v.push(b'd');
    string(&mut v, b"announce");
    string(&mut v, b"udp://tracker.example.org:6969/announce");
    string(&mut v, b"announce-list");
    v.push(b'l');
    for i in 0..8 {
        v.push(b'l');
        string(
            &mut v,
            format!("udp://tracker{i}.example.org:1337/announce").as_bytes(),
        );
        v.push(b'e');
    }
    v.push(b'e');
    string(&mut v, b"comment");
    string(
        &mut v,
        b"A benchmark input shaped like a multi-file torrent",
    );
    string(&mut v, b"created by");
    string(&mut v, b"btdht benches");
    string(&mut v, b"creation date");
    int(&mut v, 1_700_000_000);
    string(&mut v, b"info");
    v.push(b'd');
    string(&mut v, b"files");
    v.push(b'l');
    for i in 0..400 {
        v.push(b'd');
        string(&mut v, b"length");
        int(&mut v, (r.next() % 1_000_000_000) as i64);
        string(&mut v, b"path");
        v.push(b'l');
        string(&mut v, format!("directory-{}", i / 20).as_bytes());
        string(
            &mut v,
            format!("file-{i:04}-{:08x}.dat", r.next() as u32).as_bytes(),
        );
        v.push(b'e');
        v.push(b'e');
    }
    v.push(b'e');
    string(&mut v, b"name");
    string(&mut v, b"benchmark-torrent");
    string(&mut v, b"piece length");
    int(&mut v, 262_144);
    string(&mut v, b"pieces");
    let pieces = 20 * 50_000;
    string(&mut v, &r.bytes(pieces));
    v.push(b'e');
    v.push(b'e');
    v
}

/// A heavy torrent-like dictionary of about 1 MB: the same metadata as [`torrent_like`],
/// a file list of 2 500 entries whose paths are one to three directories deep, and a
/// `pieces` string for the rest. Where `torrent_like` is mostly one long string, this
/// one has ~20 000 values to build (~250 KB of file list), the shape of a large
/// multi-file torrent.
pub fn torrent_heavy() -> Vec<u8> {
    let mut r = Rng(5);
    let mut v = Vec::with_capacity(1 << 20);
    v.push(b'd');
    string(&mut v, b"announce");
    string(&mut v, b"udp://tracker.example.org:6969/announce");
    string(&mut v, b"comment");
    string(
        &mut v,
        b"A benchmark input shaped like a large multi-file torrent",
    );
    string(&mut v, b"creation date");
    int(&mut v, 1_700_000_000);
    string(&mut v, b"info");
    v.push(b'd');
    string(&mut v, b"files");
    v.push(b'l');
    for i in 0..2_500 {
        v.push(b'd');
        string(&mut v, b"length");
        int(&mut v, (r.next() % 4_000_000_000) as i64);
        string(&mut v, b"path");
        v.push(b'l');
        let depth = 1 + r.next() % 3;
        for level in 0..depth {
            string(&mut v, format!("dir-{level}-{}", r.next() % 40).as_bytes());
        }
        string(
            &mut v,
            format!("file-{i:04}-{:08x}.bin", r.next() as u32).as_bytes(),
        );
        v.push(b'e');
        v.push(b'e');
    }
    v.push(b'e');
    string(&mut v, b"name");
    string(&mut v, b"benchmark-torrent-heavy");
    string(&mut v, b"piece length");
    int(&mut v, 65_536);
    let pieces_at = v.len() + b"6:pieces".len();
    // Pieces fill the input up to ~1 MB (a whole number of 20-byte hashes).
    let pieces = ((1 << 20) - pieces_at - 16) / 20 * 20;
    string(&mut v, b"pieces");
    string(&mut v, &r.bytes(pieces));
    v.push(b'e');
    v.push(b'e');
    v
}
