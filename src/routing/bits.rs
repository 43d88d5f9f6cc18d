//! Prefix and bit math on ids: how many leading bits two ids share (which bucket an id
//! falls in), single bits, and the two parts of a XOR distance that
//! [`RoutingTable::closest`](super::RoutingTable::closest) compares.

use crate::id::Id;

/// Shared leading bits of two ids (160 when equal).
pub(super) fn common_prefix(a: &Id, b: &Id) -> usize {
    // Eight bytes at a time: one xor and one leading_zeros per word.
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let word = |x: &[u8; 20], at: usize| {
        let mut w = [0u8; 8];
        if let Some(src) = x.get(at..at + 8) {
            w.copy_from_slice(src);
        }
        u64::from_be_bytes(w)
    };
    for at in [0, 8] {
        let diff = word(a, at) ^ word(b, at);
        if diff != 0 {
            return at * 8 + diff.leading_zeros() as usize;
        }
    }
    let tail = |x: &[u8; 20]| {
        let [.., p, q, r, s] = *x;
        u32::from_be_bytes([p, q, r, s])
    };
    128 + (tail(a) ^ tail(b)).leading_zeros() as usize
}

/// Bit `i` of an id, 0 = most significant; false past the end.
pub(super) fn bit(id: &Id, i: usize) -> bool {
    id.as_bytes()
        .get(i / 8)
        .is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
}

/// The first 64 bits of an id, big-endian: XOR-ing two of these gives the top of their
/// XOR distance, which orders almost every pair of distances on its own.
#[inline]
pub(super) fn prefix(id: &Id) -> u64 {
    id.as_bytes()
        .first_chunk::<8>()
        .map_or(0, |h| u64::from_be_bytes(*h))
}

/// The last 96 bits of the XOR distance of `a` and `b`, big-endian: what decides between
/// two distances whose first 64 bits are equal.
#[inline]
pub(super) fn distance_rest(a: &Id, b: &Id) -> (u64, u32) {
    let tail = |id: &Id| {
        let b = id.as_bytes();
        let mid = b.get(8..16).and_then(|m| m.first_chunk::<8>());
        let lo = b.last_chunk::<4>();
        (
            mid.map_or(0, |m| u64::from_be_bytes(*m)),
            lo.map_or(0, |l| u32::from_be_bytes(*l)),
        )
    };
    let ((am, al), (bm, bl)) = (tail(a), tail(b));
    (am ^ bm, al ^ bl)
}
