//! What a hostile node answers: made-up nodes a hair away from the target, at
//! addresses where nobody answers, a wrong token, and for a BEP 44 `get` a forged item.

use super::Rng;
use super::{PORT, SimNode};
use crate::bencode::RawValue;
use crate::krpc::{self, Body, Message, Nodes4, Nodes6, QueryKind, Response};
use alloc::vec::Vec;
use core::net::Ipv6Addr;

/// Made-up nodes that hostile nodes hand out live at 11.x.x.x, where nobody answers.
const PHANTOM_NET: u32 = 0x0b00_0000;
/// Made-up IPv6 nodes that hostile nodes hand out live in 2001:db9::/32.
const PHANTOM_NET6: [u16; 2] = [0x2001, 0x0db9];

/// A hostile node's answer to `bytes`, if it lies about this kind of message (`v6`: the
/// query came over IPv6, so the made-up nodes go in `nodes6`).
pub(super) fn lie(rng: &mut Rng, node: &SimNode, bytes: &[u8], v6: bool) -> Option<Vec<u8>> {
    let msg = Message::decode(bytes).ok()?;
    let Body::Query(q) = &msg.body else {
        return None;
    };
    let (target, item) = match q.kind {
        QueryKind::FindNode { target, .. } => (target, false),
        QueryKind::GetPeers { info_hash, .. } => (info_hash, false),
        QueryKind::Get { target, .. } => (target, true),
        _ => return None,
    };
    // Eight made-up nodes a hair away from the target, where nobody answers.
    let mut compact = [0u8; 8 * 26];
    for entry in compact.chunks_mut(26) {
        let mut id = *target.as_bytes();
        let noise = rng.next_u64().to_be_bytes();
        for (b, n) in id.iter_mut().skip(12).zip(noise) {
            *b ^= n;
        }
        entry[..20].copy_from_slice(&id);
        let ip = PHANTOM_NET | (rng.next_u64() as u32 & 0x00ff_ffff);
        entry[20..24].copy_from_slice(&ip.to_be_bytes());
        entry[24..].copy_from_slice(&PORT.to_be_bytes());
    }
    let mut compact6 = [0u8; 8 * 38];
    if v6 {
        for (entry, v4) in compact6.chunks_mut(38).zip(compact.chunks(26)) {
            entry[..20].copy_from_slice(&v4[..20]);
            let [p0, p1] = PHANTOM_NET6;
            let ip = Ipv6Addr::new(p0, p1, 0, 0, 0, 0, 0, rng.next_u64() as u16);
            entry[20..36].copy_from_slice(&ip.octets());
            entry[36..].copy_from_slice(&PORT.to_be_bytes());
        }
    }
    let mut r = Response::new(*node.dht.id());
    if v6 {
        r.nodes6 = Nodes6::from_bytes(&compact6);
    } else {
        r.nodes = Nodes4::from_bytes(&compact);
    }
    r.token = Some(b"not a token");
    if item {
        r.value = RawValue::new(b"6:forged").ok();
        r.key = Some(&[0x66; 32]);
        r.signature = Some(&[0x66; 64]);
        r.seq = Some(i64::MAX);
    }
    let answer = Message {
        transaction_id: msg.transaction_id,
        version: None,
        ip: None,
        read_only: false,
        body: Body::Response(r),
    };
    let mut out = alloc::vec![0u8; krpc::MAX_DATAGRAM_LEN];
    let n = answer.encode(&mut out).ok()?;
    out.truncate(n);
    Some(out)
}
