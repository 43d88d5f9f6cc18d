//! The fast path of [`Message::decode`].
//!
//! Nearly every datagram a node receives is a ping, find_node, get_peers or announce_peer
//! query, a response to one, or an error, with its keys in sorted order as bencode
//! requires. The fast path reads exactly those: it looks for each known key once, where
//! it sorts, so it keeps no record of which keys came (a repeated or misplaced key is
//! simply not found); it checks values with shortcuts (a key is compared together with its
//! length prefix as one constant, an id is `20:` and 20 bytes, an integer has at most 18
//! digits and cannot overflow); and it builds the message once, at the end, straight into
//! the return slot. Anything else (an unknown or out-of-order key, a BEP 44 value, any
//! error) makes it give up, and the strict path decodes the datagram from the start: it
//! alone decides what is an error and where, and it alone reads unsorted dictionaries,
//! unknown keys and BEP 44 values. The fast path thus accepts a subset of what the strict
//! path accepts and reads it the same way; the tests at the end check this on thousands of
//! edited messages.

use super::compact::{CompactList, Nodes4, Nodes6, Samples, Values, decode_peer};
use super::error::DecodeError;
use super::fields::{Envelope, kind_of};
use super::{
    BLOOM_LEN, Body, ErrorCode, ErrorMessage, Message, MessageKind, Query, QueryKind, Response,
};
use crate::addr::{Families, Family};
use crate::id::{ID_LEN, Id};
use core::net::SocketAddr;

/// Decodes `bytes` on the fast path if it takes them, else returns `otherwise(bytes)`.
#[inline(always)]
pub(super) fn decode_fast<'a>(
    bytes: &'a [u8],
    otherwise: impl FnOnce(&'a [u8]) -> Result<Message<'a>, DecodeError<'a>>,
) -> Result<Message<'a>, DecodeError<'a>> {
    let Some(s) = scan(bytes) else {
        return otherwise(bytes);
    };
    let (Some(transaction_id), Some(kind)) = (s.t, s.y) else {
        return otherwise(bytes);
    };
    let envelope = Envelope {
        transaction_id,
        version: s.version,
        ip: s.ip,
        read_only: s.ro.unwrap_or(false),
    };
    // One `Ok(Message)` per kind (and one for ping, the most common query, which then
    // writes no method arguments), built from the slots straight into the return slot.
    match kind {
        MessageKind::Query => {
            if let (Some(method), Some(a)) = (s.q, s.a) {
                // Ping, the commonest query, gets its own return: cheaper than going
                // through `fast_query`'s general construction (benches/codec.rs).
                if let (b"ping", Some(id)) = (method, a.id) {
                    return Ok(envelope.with_body(Body::Query(Query {
                        id: Id::from_bytes(*id),
                        want: a.want,
                        kind: QueryKind::Ping,
                    })));
                }
                if let Some(query) = fast_query(method, &a) {
                    return Ok(envelope.with_body(Body::Query(query)));
                }
            }
        }
        MessageKind::Response => {
            if let Some(r) = s.r {
                return Ok(envelope.with_body(Body::Response(Response {
                    id: Id::from_bytes(*r.id),
                    nodes: r.nodes,
                    nodes6: r.nodes6,
                    values: r.values,
                    token: r.token,
                    bf_seeds: r.bf_seeds,
                    bf_peers: r.bf_peers,
                    samples: r.samples,
                    interval: r.interval,
                    num: r.num,
                    value: None,
                    key: None,
                    seq: None,
                    signature: None,
                })));
            }
        }
        MessageKind::Error => {
            if let Some(mut e) = s.e {
                e.id = s.r.map(|r| Id::from_bytes(*r.id));
                return Ok(envelope.with_body(Body::Error(e)));
            }
        }
    }
    otherwise(bytes)
}

/// The slots [`scan`] fills, none checked for presence yet.
struct Scan<'a> {
    t: Option<&'a [u8]>,
    y: Option<MessageKind>,
    q: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    ip: Option<SocketAddr>,
    ro: Option<bool>,
    a: Option<FastArgs<'a>>,
    r: Option<Ret<'a>>,
    e: Option<ErrorMessage<'a>>,
}

/// `r` as the fast path reads it. The id stays a reference until the message is built,
/// so that its bytes are copied once.
struct Ret<'a> {
    id: &'a [u8; ID_LEN],
    nodes: Option<Nodes4<'a>>,
    nodes6: Option<Nodes6<'a>>,
    values: Option<Values<'a>>,
    token: Option<&'a [u8]>,
    bf_seeds: Option<&'a [u8; BLOOM_LEN]>,
    bf_peers: Option<&'a [u8; BLOOM_LEN]>,
    samples: Option<Samples<'a>>,
    interval: Option<i64>,
    num: Option<i64>,
}

/// `Some(read)` if the dictionary's next key is `name` (with its length prefix, which
/// is consumed before `read` runs), else `None`. A macro rather than a function taking a
/// closure, so that `read` (and its `?`) is inlined in place.
///
/// With a `next` argument, `next` holds the next 8 bytes of input (see [`peek8`]),
/// refreshed after each value: telling that a key is absent then costs one masked
/// comparison with a constant instead of a byte-wise one, which adds up in dictionaries
/// read in sorted order, where most of the keys looked for are absent.
macro_rules! field {
    ($rest:ident, $next:ident, $name:literal, $read:expr) => {
        if starts($next, $name) && ($name.len() <= 8 || $rest.starts_with($name)) {
            *$rest = $rest.get($name.len()..)?;
            let value = $read;
            $next = peek8($rest);
            Some(value)
        } else {
            None
        }
    };
    ($rest:ident, $name:literal, $read:expr) => {
        if key($rest, $name) { Some($read) } else { None }
    };
}

/// The next 8 bytes of input as a little-endian number, or 0 if fewer are left (then no
/// key matches, and the dictionary must end there). Used for the nested dictionaries,
/// which are always followed by at least 8 bytes (the keys after them and the end).
#[inline(always)]
fn peek8(rest: &[u8]) -> u64 {
    rest.first_chunk().map_or(0, |b| u64::from_le_bytes(*b))
}

/// Whether `next` (from [`peek8`]) starts with `name`, or with its first 8 bytes if
/// longer. Folds to a mask and a comparison with constants.
#[inline(always)]
fn starts(next: u64, name: &[u8]) -> bool {
    let (mut bytes, mut mask) = ([0u8; 8], [0u8; 8]);
    for ((b, m), n) in bytes.iter_mut().zip(&mut mask).zip(name) {
        *b = *n;
        *m = 0xff;
    }
    next & u64::from_le_bytes(mask) == u64::from_le_bytes(bytes)
}

/// Consumes `key` (with its length prefix) if the input starts with it.
#[inline(always)]
fn key(rest: &mut &[u8], key: &[u8]) -> bool {
    match rest.strip_prefix(key) {
        Some(tail) => {
            *rest = tail;
            true
        }
        None => false,
    }
}

/// Consumes a dictionary's or list's closing `e`.
#[inline(always)]
fn end(rest: &mut &[u8]) -> bool {
    key(rest, b"e")
}

/// A byte string of at most 999 bytes (longer ones do not fit a datagram anyway).
#[inline(always)]
fn string<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, body) = match *rest {
        [d @ b'0'..=b'9', b':', body @ ..] => (usize::from(d - b'0'), body),
        [d1 @ b'1'..=b'9', d0 @ b'0'..=b'9', b':', body @ ..] => {
            (usize::from(d1 - b'0') * 10 + usize::from(d0 - b'0'), body)
        }
        [
            d2 @ b'1'..=b'9',
            d1 @ b'0'..=b'9',
            d0 @ b'0'..=b'9',
            b':',
            body @ ..,
        ] => (
            usize::from(d2 - b'0') * 100 + usize::from(d1 - b'0') * 10 + usize::from(d0 - b'0'),
            body,
        ),
        _ => return None,
    };
    let (s, tail) = body.split_at_checked(len)?;
    *rest = tail;
    Some(s)
}

/// A 20-byte string: `20:` is the only way to write its length.
#[inline(always)]
fn id<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8; ID_LEN]> {
    let (id, tail) = rest.strip_prefix(b"20:")?.split_first_chunk()?;
    *rest = tail;
    Some(id)
}

/// An integer of at most 18 digits, which cannot overflow.
#[inline(always)]
fn int(rest: &mut &[u8]) -> Option<i64> {
    let r = rest.strip_prefix(b"i")?;
    let (negative, r) = match r {
        [b'-', tail @ ..] => (true, tail),
        _ => (false, r),
    };
    let len = r.iter().take(19).position(|&b| b == b'e')?;
    let (digits, tail) = r.split_at_checked(len)?;
    match digits {
        [] | [b'0', _, ..] => return None,
        [b'0'] if negative => return None,
        _ => {}
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        // At most 18 digits: below 10^18, far from overflowing.
        n = n * 10 + i64::from(d - b'0');
    }
    *rest = tail.get(1..)?;
    Some(if negative { -n } else { n })
}

/// The top-level dictionary, which must be the whole input.
///
/// Keys are expected in sorted order, as bencode requires and DHT nodes send them: each
/// known key is looked for once, where it sorts, so no state tracks which keys came
/// (a repeated or misplaced key is simply not found, and the strict path takes over).
/// Its keys are compared byte-wise: the last one (`1:y1:qe`) is followed by too few bytes
/// for [`peek8`], and a 4-byte window was slower here (benches/codec.rs).
#[inline(always)]
fn scan(bytes: &[u8]) -> Option<Scan<'_>> {
    let r = &mut bytes.strip_prefix(b"d")?;
    let a = field!(r, b"1:a", scan_args(r)?);
    let e = field!(r, b"1:e", scan_error(r)?);
    let ip = field!(r, b"2:ip", decode_peer(string(r)?)?);
    let q = field!(r, b"1:q", string(r)?);
    let ret = field!(r, b"1:r", scan_ret(r)?);
    let ro = field!(r, b"2:ro", int(r)?);
    let t = field!(r, b"1:t", string(r)?);
    let version = field!(r, b"1:v", string(r)?);
    let y = field!(r, b"1:y", kind_of(string(r)?)?);
    // The closing `e`, and nothing after it.
    if *r != b"e" {
        return None;
    }
    Some(Scan {
        t,
        y,
        q,
        version,
        ip,
        ro: ro.map(|ro| ro == 1),
        a,
        r: ret,
        e,
    })
}

/// `a` as the fast path reads it: the ids stay references until the message is built.
#[derive(Default)]
struct FastArgs<'a> {
    id: Option<&'a [u8; ID_LEN]>,
    target: Option<&'a [u8; ID_LEN]>,
    info_hash: Option<&'a [u8; ID_LEN]>,
    token: Option<&'a [u8]>,
    port: Option<u16>,
    implied_port: Option<bool>,
    want: Option<Families>,
    seed: Option<bool>,
    noseed: Option<bool>,
    scrape: Option<bool>,
    seq: Option<i64>,
}

/// `a`, its keys in sorted order.
#[inline(always)]
#[allow(unused_assignments)] // `field!` refreshes `w` after the last key too
fn scan_args<'a>(rest: &mut &'a [u8]) -> Option<FastArgs<'a>> {
    let r = rest;
    *r = r.strip_prefix(b"d")?;
    let mut a = FastArgs {
        id: field!(r, b"2:id", id(r)?),
        ..FastArgs::default()
    };
    // A ping has nothing else.
    if end(r) {
        return Some(a);
    }
    let mut w = peek8(r);
    a.implied_port = field!(r, w, b"12:implied_port", int(r)?).map(|p| p != 0);
    a.info_hash = field!(r, w, b"9:info_hash", id(r)?);
    a.noseed = field!(r, w, b"6:noseed", int(r)?).map(|n| n == 1);
    a.port = match field!(r, w, b"4:port", int(r)?) {
        Some(port) => Some(u16::try_from(port).ok()?),
        None => None,
    };
    a.scrape = field!(r, w, b"6:scrape", int(r)?).map(|s| s == 1);
    a.seed = field!(r, w, b"4:seed", int(r)?).map(|s| s == 1);
    a.seq = field!(r, w, b"3:seq", int(r)?);
    a.target = field!(r, w, b"6:target", id(r)?);
    a.token = field!(r, w, b"5:token", string(r)?);
    a.want = field!(r, w, b"4:want", scan_want(r)?);
    end(r).then_some(a)
}

/// The query, as `decode::build_query` makes it (`put`, which needs a `v`, is left to the
/// strict path). A copy of `build_query`'s table rather than a call to it: the strict
/// one reports which field is missing, this one only gives up, and sharing it cost
/// every message more work (benches/codec.rs).
#[inline(always)]
fn fast_query<'a>(method: &'a [u8], a: &FastArgs<'a>) -> Option<Query<'a>> {
    let id = Id::from_bytes(*a.id?);
    let target = || a.target.map(|t| Id::from_bytes(*t));
    let info_hash = || a.info_hash.map(|t| Id::from_bytes(*t));
    let kind = match method {
        b"ping" => QueryKind::Ping,
        b"find_node" => QueryKind::FindNode { target: target()? },
        b"get_peers" => QueryKind::GetPeers {
            info_hash: info_hash()?,
            noseed: a.noseed.unwrap_or(false),
            scrape: a.scrape.unwrap_or(false),
        },
        b"announce_peer" => QueryKind::AnnouncePeer {
            info_hash: info_hash()?,
            port: a.port?,
            implied_port: a.implied_port.unwrap_or(false),
            token: a.token?,
            seed: a.seed.unwrap_or(false),
        },
        b"get" => QueryKind::Get {
            target: target()?,
            seq: a.seq,
        },
        b"put" => return None,
        b"sample_infohashes" => QueryKind::SampleInfohashes { target: target()? },
        _ => QueryKind::Unknown {
            method,
            target: target(),
            info_hash: info_hash(),
        },
    };
    Some(Query {
        id,
        want: a.want,
        kind,
    })
}

#[inline(always)]
fn scan_want(rest: &mut &[u8]) -> Option<Families> {
    *rest = rest.strip_prefix(b"l")?;
    let mut want = Families::NONE;
    while !end(rest) {
        match string(rest)? {
            b"n4" => want = want.with(Family::V4),
            b"n6" => want = want.with(Family::V6),
            _ => {}
        }
    }
    Some(want)
}

/// `r`, its keys in sorted order.
#[inline(always)]
#[allow(unused_assignments)] // `field!` refreshes `w` after the last key too
fn scan_ret<'a>(rest: &mut &'a [u8]) -> Option<Ret<'a>> {
    let r = rest;
    *r = r.strip_prefix(b"d")?;
    let mut w = peek8(r);
    let bf_peers = field!(r, w, b"4:BFpe", string(r)?.try_into().ok()?);
    let bf_seeds = field!(r, w, b"4:BFsd", string(r)?.try_into().ok()?);
    let id = field!(r, w, b"2:id", id(r)?)?;
    let interval = field!(r, w, b"8:interval", int(r)?);
    let nodes = field!(r, w, b"5:nodes", CompactList::from_bytes(string(r)?)?);
    let nodes6 = field!(r, w, b"6:nodes6", CompactList::from_bytes(string(r)?)?);
    let num = field!(r, w, b"3:num", int(r)?);
    let samples = field!(r, w, b"7:samples", CompactList::from_bytes(string(r)?)?);
    let token = field!(r, w, b"5:token", string(r)?);
    let values = field!(r, w, b"6:values", scan_values(r)?);
    end(r).then_some(Ret {
        id,
        nodes,
        nodes6,
        values,
        token,
        bf_seeds,
        bf_peers,
        samples,
        interval,
        num,
    })
}

/// `values`: 6- and 18-byte strings.
#[inline(always)]
fn scan_values<'a>(rest: &mut &'a [u8]) -> Option<Values<'a>> {
    let list = *rest;
    let mut r = list.strip_prefix(b"l")?;
    let mut count = 0usize;
    loop {
        // Nearly every entry is `6:` and a 6-byte IPv4 peer: count a run of them by
        // 8-byte chunks, and take its length once.
        let run = r
            .chunks_exact(8)
            .take_while(|entry| entry.starts_with(b"6:"))
            .count();
        r = r.get(run.saturating_mul(8)..)?;
        count = count.saturating_add(run);
        match r {
            [b'1', b'8', b':', tail @ ..] => r = tail.get(18..)?,
            [b'e', tail @ ..] => {
                r = tail;
                break;
            }
            _ => return None,
        }
        count = count.saturating_add(1);
    }
    // `r` is the end of `list`.
    let list = list.get(..list.len().saturating_sub(r.len()))?;
    *rest = r;
    Some(Values::from_checked(list, count))
}

/// `e`: exactly a code and a message.
#[inline(always)]
fn scan_error<'a>(rest: &mut &'a [u8]) -> Option<ErrorMessage<'a>> {
    *rest = rest.strip_prefix(b"l")?;
    let code = int(rest)?;
    let message = string(rest)?;
    if !end(rest) {
        return None;
    }
    Some(ErrorMessage::new(ErrorCode::from_code(code), message))
}

#[cfg(test)]
mod tests {
    use super::super::decode::decode_strict;
    use super::super::error::DecodeErrorKind;
    use super::*;
    use alloc::format;
    use alloc::vec::Vec;

    /// What [`decode_fast`] returns when it declines: no real error has this offset.
    const DECLINED: DecodeError<'static> = DecodeError {
        kind: DecodeErrorKind::NotADictionary,
        offset: usize::MAX,
        transaction_id: None,
        message_kind: None,
    };

    /// Checks that the fast path, if it takes `bytes`, reads them exactly as the strict
    /// path does; returns whether it took them.
    fn agrees(bytes: &[u8]) -> bool {
        let fast = decode_fast(bytes, |_| Err(DECLINED));
        if fast == Err(DECLINED) {
            return false;
        }
        let strict = decode_strict(bytes);
        assert_eq!(fast, strict, "{}", bytes.escape_ascii());
        let (Ok(fast), Ok(strict)) = (fast, strict) else {
            panic!(
                "the fast path returned an error for {}",
                bytes.escape_ascii()
            );
        };
        // Equal as values; also equal in every borrowed byte (raw lists included).
        assert_eq!(format!("{fast:?}"), format!("{strict:?}"));
        let (mut a, mut b) = ([0u8; 4096], [0u8; 4096]);
        assert_eq!(fast.encode(&mut a), strict.encode(&mut b));
        assert_eq!(a, b);
        true
    }

    const ID: &str = "abcdefghij0123456789";
    const TARGET: &str = "mnopqrstuvwxyz012345";

    fn seeds() -> Vec<(Vec<u8>, bool)> {
        let mut peers = Vec::new();
        for i in 0..5u8 {
            peers.extend(b"6:");
            peers.extend([10, 0, 0, i, 0x1a, 0xe1]);
        }
        peers.extend(b"18:");
        peers.extend([0x20; 18]);
        peers.extend(b"6:");
        peers.extend([1, 2, 3, 4, 5, 6]);
        let mut values = b"6:valuesl".to_vec();
        values.extend(&peers);
        values.push(b'e');
        let nodes = [b'n'; 52];
        let nodes6 = [b'6'; 38];
        let bloom = [b'b'; 256];
        let mut gp = b"d2:ip6:\x01\x02\x03\x04\x05\x061:rd4:BFpe256:".to_vec();
        gp.extend(bloom);
        gp.extend(b"4:BFsd256:");
        gp.extend(bloom);
        gp.extend(format!("2:id20:{ID}5:nodes52:").as_bytes());
        gp.extend(nodes);
        gp.extend(b"6:nodes638:");
        gp.extend(nodes6);
        gp.extend(b"5:token8:tokentok");
        gp.extend(&values);
        gp.extend(b"e1:t2:aa1:v4:LT\x01\x201:y1:re");
        let mut fnr =
            format!("d2:ip18:0123456789abcdef\x1a\x7f1:rd2:id20:{ID}5:nodes52:").into_bytes();
        fnr.extend(nodes);
        fnr.extend(b"e2:roi1e1:t4:\x00\x01\x02\x031:y1:re");
        let q = |args: &str, method: &str| {
            format!(
                "d1:ad2:id20:{ID}{args}e1:q{}:{method}1:t2:aa1:y1:qe",
                method.len()
            )
            .into_bytes()
        };
        let mut seeds = Vec::from([
            (q("", "ping"), true),
            (
                format!("d1:ad2:id20:{ID}e1:q4:ping1:t4:abcd1:v4:LT\x01\x201:y1:qe").into_bytes(),
                true,
            ),
            (
                q(&format!("6:target20:{TARGET}4:wantl2:n42:n62:n9e"), "find_node"),
                true,
            ),
            (
                q(
                    &format!("9:info_hash20:{TARGET}6:noseedi1e6:scrapei0e"),
                    "get_peers",
                ),
                true,
            ),
            (
                q(
                    &format!(
                        "12:implied_porti1e9:info_hash20:{TARGET}4:porti6881e4:seedi1e5:token8:tokentok"
                    ),
                    "announce_peer",
                ),
                true,
            ),
            (q(&format!("3:seqi-12e6:target20:{TARGET}"), "get"), true),
            (q(&format!("6:target20:{TARGET}"), "sample_infohashes"), true),
            (q(&format!("6:target20:{TARGET}"), "vote"), true),
            (q("5:token2:tk1:vi5e", "put"), false),
            (q("1:xi1e", "ping"), false),
            (gp, true),
            (fnr, true),
            (
                format!("d1:rd2:id20:{ID}8:intervali21600e3:numi1234567e7:samples40:{ID}{TARGET}e1:t2:aa1:y1:re")
                    .into_bytes(),
                true,
            ),
            // Keys out of order are left to the strict path.
            (
                format!("d1:rd2:id20:{ID}7:samples40:{ID}{TARGET}8:intervali21600e3:numi1234567ee1:t2:aa1:y1:re")
                    .into_bytes(),
                false,
            ),
            (q(&format!("6:target20:{TARGET}4:wantl2:n4e"), "find_node"), true),
            (q(&format!("4:wantl2:n4e6:target20:{TARGET}"), "find_node"), false),
            (b"d1:eli201e5:Errore1:t2:aa1:y1:ee".to_vec(), true),
            (b"d1:eli-203e0:e1:t0:1:y1:ee".to_vec(), true),
            (b"d1:eli201e5:Errori5ee1:t2:aa1:y1:ee".to_vec(), false),
            (
                format!("d1:y1:q1:t2:aa1:q4:ping1:ad2:id20:{ID}ee").into_bytes(),
                false,
            ),
            (
                format!("d1:ad2:id20:{ID}e1:q4:ping1:rd2:id20:{ID}e1:t2:aa1:y1:qe").into_bytes(),
                true,
            ),
            (
                format!("d1:ad2:id20:{ID}e1:eli1e1:xe1:q4:ping1:t2:aa1:y1:re").into_bytes(),
                false,
            ),
        ]);
        // Integers at the fast path's limit (18 digits) and past it.
        for (n, taken) in [
            ("999999999999999999", true),
            ("-999999999999999999", true),
            ("0", true),
            ("1234567890123456789", false),
            ("-9223372036854775808", false),
        ] {
            seeds.push((
                format!("d1:rd2:id20:{ID}8:intervali{n}ee1:t2:aa1:y1:re").into_bytes(),
                taken,
            ));
        }
        // Required fields missing.
        seeds.extend([
            (b"d1:rd5:nodes0:e1:t2:aa1:y1:re".to_vec(), false),
            (
                format!("d1:ad6:target20:{TARGET}e1:q9:find_node1:t2:aa1:y1:qe").into_bytes(),
                false,
            ),
            (
                format!("d1:ad2:id20:{ID}e1:q4:ping1:rd1:xi1ee1:t2:aa1:y1:qe").into_bytes(),
                false,
            ),
            (q("", "find_node"), false),
            (q("", "announce_peer"), false),
            (
                format!("d1:ad2:id20:{ID}e1:t2:aa1:y1:qe").into_bytes(),
                false,
            ),
            (format!("d1:rd2:id20:{ID}e1:y1:re").into_bytes(), false),
            (
                format!("d1:rd2:id20:{ID}e1:t2:aa1:y1:qe").into_bytes(),
                false,
            ),
        ]);
        // The standard benchmark shapes, with their long strings.
        let mut long = format!("d1:rd2:id20:{ID}5:nodes208:").into_bytes();
        long.extend([7u8; 208]);
        long.extend(b"e1:t4:abcd1:y1:re");
        seeds.push((long, true));
        seeds
    }

    #[test]
    fn the_fast_path_takes_the_usual_messages_and_reads_them_as_the_strict_path_does() {
        for (bytes, taken) in seeds() {
            assert_eq!(agrees(&bytes), taken, "{}", bytes.escape_ascii());
        }
    }

    /// Every message one edit away from a seed: the fast path takes it only if the strict
    /// path reads it the same.
    #[test]
    fn the_fast_path_agrees_with_the_strict_path_one_edit_away() {
        const BYTES: &[u8] = b"0123456789:-deilqrtvy\x00\xff";
        let mut taken = 0usize;
        let mut tried = 0usize;
        for (seed, _) in seeds() {
            for at in 0..=seed.len() {
                let mut edits = Vec::new();
                edits.push(seed.get(..at).unwrap_or_default().to_vec());
                if at < seed.len() {
                    let mut deleted = seed.clone();
                    deleted.remove(at);
                    edits.push(deleted);
                }
                for &b in BYTES {
                    let mut inserted = seed.clone();
                    inserted.insert(at, b);
                    edits.push(inserted);
                    if at < seed.len() {
                        let mut replaced = seed.clone();
                        replaced[at] = b;
                        edits.push(replaced);
                    }
                }
                if let Some(&b) = seed.get(at) {
                    // The same byte with its high bit flipped, and its neighbours.
                    for b in [b ^ 0x80, b.wrapping_add(1), b.wrapping_sub(1)] {
                        let mut replaced = seed.clone();
                        replaced[at] = b;
                        edits.push(replaced);
                    }
                }
                for edit in edits {
                    tried += 1;
                    taken += usize::from(agrees(&edit));
                }
            }
        }
        // Some edits keep the message valid (a different digit in an id, ...).
        assert!(taken > tried / 20, "{taken} of {tried}");
    }

    /// Random edits, several at a time.
    #[test]
    fn the_fast_path_agrees_with_the_strict_path_on_random_edits() {
        const BYTES: &[u8] = b"0123456789:-deilqrtvy\x00\xff";
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for (seed, _) in seeds() {
            for _ in 0..2000 {
                let mut m = seed.clone();
                for _ in 0..1 + next(4) {
                    let at = next(m.len() + 1);
                    let b = BYTES[next(BYTES.len())];
                    match next(3) {
                        0 if at < m.len() => m[at] = b,
                        1 if at < m.len() => {
                            m.remove(at);
                        }
                        _ => m.insert(at, b),
                    }
                }
                agrees(&m);
            }
        }
    }
}
