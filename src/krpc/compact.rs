//! Compact node, peer and info-hash lists (BEP 5, BEP 32, BEP 51), read lazily.

use crate::bencode::{Decoder, Encoder, Sink};
use crate::id::{ID_LEN, Id};
use core::fmt;
use core::marker::PhantomData;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A fixed-size entry of a compact list.
pub trait CompactEntry: Copy {
    /// Bytes per entry.
    const LEN: usize;
    /// Reads one entry from exactly [`Self::LEN`] bytes.
    fn read(bytes: &[u8]) -> Option<Self>;
    /// Writes the entry's [`Self::LEN`] bytes.
    fn write<S: Sink>(&self, e: &mut Encoder<'_, S>);
    /// Writes the entries one after the other; an entry type may write them all at once.
    #[inline]
    fn write_all<S: Sink>(items: &[Self], e: &mut Encoder<'_, S>) {
        for item in items {
            item.write(e);
        }
    }
}

/// An IPv4 node: compact node info, 26 bytes (`id ‖ ip ‖ port`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeV4 {
    /// The node's id.
    pub id: Id,
    /// Its UDP address.
    pub addr: SocketAddrV4,
}

/// An IPv6 node (BEP 32): compact node info, 38 bytes (`id ‖ ip ‖ port`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeV6 {
    /// The node's id.
    pub id: Id,
    /// Its UDP address.
    pub addr: SocketAddrV6,
}

fn v4(bytes: &[u8]) -> Option<SocketAddrV4> {
    let b: [u8; 6] = bytes.try_into().ok()?;
    let [a, b_, c, d, p0, p1] = b;
    Some(SocketAddrV4::new(
        Ipv4Addr::new(a, b_, c, d),
        u16::from_be_bytes([p0, p1]),
    ))
}

fn v6(bytes: &[u8]) -> Option<SocketAddrV6> {
    let ip: [u8; 16] = bytes.get(..16)?.try_into().ok()?;
    let port: [u8; 2] = bytes.get(16..)?.try_into().ok()?;
    Some(SocketAddrV6::new(
        Ipv6Addr::from(ip),
        u16::from_be_bytes(port),
        0,
        0,
    ))
}

impl CompactEntry for NodeV4 {
    const LEN: usize = 26;
    #[inline]
    fn read(bytes: &[u8]) -> Option<Self> {
        Some(NodeV4 {
            id: Id::from_slice(bytes.get(..ID_LEN)?)?,
            addr: v4(bytes.get(ID_LEN..)?)?,
        })
    }
    #[inline]
    fn write<S: Sink>(&self, e: &mut Encoder<'_, S>) {
        e.raw_with(|d| self.compact(d));
    }
    #[inline]
    fn write_all<S: Sink>(items: &[Self], e: &mut Encoder<'_, S>) {
        e.raw_each(items, NodeV4::compact);
    }
}

impl NodeV4 {
    /// Writes the 26 bytes: the id, then the address.
    #[inline]
    fn compact(&self, b: &mut [u8; 26]) {
        let [head @ .., a0, a1, a2, a3, p0, p1] = b;
        *head = *self.id.as_bytes();
        [*a0, *a1, *a2, *a3] = self.addr.ip().octets();
        [*p0, *p1] = self.addr.port().to_be_bytes();
    }
}

impl CompactEntry for NodeV6 {
    const LEN: usize = 38;
    #[inline]
    fn read(bytes: &[u8]) -> Option<Self> {
        Some(NodeV6 {
            id: Id::from_slice(bytes.get(..ID_LEN)?)?,
            addr: v6(bytes.get(ID_LEN..)?)?,
        })
    }
    #[inline]
    fn write<S: Sink>(&self, e: &mut Encoder<'_, S>) {
        e.raw_with(|d| self.compact(d));
    }
    #[inline]
    fn write_all<S: Sink>(items: &[Self], e: &mut Encoder<'_, S>) {
        e.raw_each(items, NodeV6::compact);
    }
}

impl NodeV6 {
    /// Writes the 38 bytes: the id, the address, the port.
    #[inline]
    fn compact(&self, b: &mut [u8; 38]) {
        let [head @ .., p0, p1] = b;
        if let Some((id, ip)) = head.split_first_chunk_mut::<ID_LEN>() {
            *id = *self.id.as_bytes();
            if let Ok(ip) = <&mut [u8; 16]>::try_from(ip) {
                *ip = self.addr.ip().octets();
            }
        }
        [*p0, *p1] = self.addr.port().to_be_bytes();
    }
}

impl CompactEntry for Id {
    const LEN: usize = ID_LEN;
    #[inline]
    fn read(bytes: &[u8]) -> Option<Self> {
        Id::from_slice(bytes)
    }
    #[inline]
    fn write<S: Sink>(&self, e: &mut Encoder<'_, S>) {
        e.raw_array(self.as_bytes());
    }
    #[inline]
    fn write_all<S: Sink>(items: &[Self], e: &mut Encoder<'_, S>) {
        e.raw_each(items, |id, d| *d = *id.as_bytes());
    }
}

/// Reads a compact peer: 6 bytes (IPv4 ‖ port) or 18 bytes (IPv6 ‖ port).
///
/// ```
/// use btdht::krpc::decode_peer;
/// assert_eq!(decode_peer(b"axje.u").unwrap().to_string(), "97.120.106.101:11893");
/// assert_eq!(decode_peer(b"short"), None);
/// ```
pub fn decode_peer(bytes: &[u8]) -> Option<SocketAddr> {
    match bytes.len() {
        6 => v4(bytes).map(SocketAddr::V4),
        18 => v6(bytes).map(SocketAddr::V6),
        _ => None,
    }
}

/// Writes a compact peer (6 or 18 bytes) into `out`; returns the length used, or `None`
/// if `out` is too small.
pub fn encode_peer(addr: &SocketAddr, out: &mut [u8]) -> Option<usize> {
    match addr {
        SocketAddr::V4(a) => {
            let dst = out.get_mut(..6)?;
            let [p0, p1] = a.port().to_be_bytes();
            let [a0, a1, a2, a3] = a.ip().octets();
            dst.copy_from_slice(&[a0, a1, a2, a3, p0, p1]);
            Some(6)
        }
        SocketAddr::V6(a) => {
            out.get_mut(..16)?.copy_from_slice(&a.ip().octets());
            out.get_mut(16..18)?
                .copy_from_slice(&a.port().to_be_bytes());
            Some(18)
        }
    }
}

#[derive(Clone, Copy)]
enum Repr<'a, T> {
    Raw(&'a [u8]),
    Items(&'a [T]),
}

/// A list of fixed-size entries: either the borrowed bytes of a received message,
/// checked to be a whole number of entries and decoded lazily, or a slice of entries to
/// encode.
#[derive(Clone, Copy)]
pub struct CompactList<'a, T> {
    repr: Repr<'a, T>,
}

/// `nodes`: compact IPv4 node infos.
pub type Nodes4<'a> = CompactList<'a, NodeV4>;
/// `nodes6`: compact IPv6 node infos.
pub type Nodes6<'a> = CompactList<'a, NodeV6>;
/// `samples` (BEP 51): concatenated info-hashes.
pub type Samples<'a> = CompactList<'a, Id>;

impl<'a, T: CompactEntry> CompactList<'a, T> {
    /// The list in `bytes`, or `None` if its length is not a multiple of `T::LEN`.
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len() % T::LEN == 0 {
            Some(CompactList {
                repr: Repr::Raw(bytes),
            })
        } else {
            None
        }
    }

    /// A list of the given entries, for encoding.
    pub const fn from_items(items: &'a [T]) -> Self {
        CompactList {
            repr: Repr::Items(items),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self.repr {
            Repr::Raw(b) => b.len() / T::LEN,
            Repr::Items(i) => i.len(),
        }
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Length of the list's bytes on the wire (without the bencode length prefix).
    pub fn byte_len(&self) -> usize {
        self.len().saturating_mul(T::LEN)
    }

    /// The entries, decoded as they are read.
    pub fn iter(&self) -> CompactIter<'a, T> {
        CompactIter {
            repr: self.repr,
            pos: 0,
            _t: PhantomData,
        }
    }

    pub(crate) fn write<S: Sink>(&self, e: &mut Encoder<'_, S>) {
        e.bytes_header(self.byte_len());
        match self.repr {
            Repr::Raw(b) => e.raw(b),
            Repr::Items(items) => T::write_all(items, e),
        }
    }
}

impl<'a, T: CompactEntry> IntoIterator for CompactList<'a, T> {
    type Item = T;
    type IntoIter = CompactIter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: CompactEntry + PartialEq> PartialEq for CompactList<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: CompactEntry + Eq> Eq for CompactList<'_, T> {}

impl<T: CompactEntry + fmt::Debug> fmt::Debug for CompactList<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over a [`CompactList`].
#[derive(Clone, Debug)]
pub struct CompactIter<'a, T> {
    repr: Repr<'a, T>,
    pos: usize,
    _t: PhantomData<T>,
}

impl<T: fmt::Debug> fmt::Debug for Repr<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Repr::Raw(b) => write!(f, "Raw({} bytes)", b.len()),
            Repr::Items(i) => write!(f, "Items({i:?})"),
        }
    }
}

impl<T: CompactEntry> Iterator for CompactIter<'_, T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        match self.repr {
            Repr::Raw(b) => {
                let end = self.pos.checked_add(T::LEN)?;
                let item = T::read(b.get(self.pos..end)?)?;
                self.pos = end;
                Some(item)
            }
            Repr::Items(items) => {
                let item = *items.get(self.pos)?;
                self.pos += 1;
                Some(item)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = match self.repr {
            Repr::Raw(b) => b.len().saturating_sub(self.pos) / T::LEN,
            Repr::Items(i) => i.len().saturating_sub(self.pos),
        };
        (left, Some(left))
    }
}

impl<T: CompactEntry> ExactSizeIterator for CompactIter<'_, T> {}

#[derive(Clone, Copy)]
enum ValuesRepr<'a> {
    /// A checked bencoded list (`l…e`) of 6- or 18-byte strings.
    Raw {
        list: &'a [u8],
        count: usize,
    },
    Items(&'a [SocketAddr]),
}

/// `values`: the peers of a `get_peers` response, a bencoded list of compact peers (6 or
/// 18 bytes each; BEP 32 lets one list mix them).
#[derive(Clone, Copy)]
pub struct Values<'a> {
    repr: ValuesRepr<'a>,
}

impl<'a> Values<'a> {
    /// Peers to encode.
    pub const fn from_peers(peers: &'a [SocketAddr]) -> Self {
        Values {
            repr: ValuesRepr::Items(peers),
        }
    }

    /// A list that a decoder has checked: `list` is its whole bencoding.
    pub(crate) const fn from_checked(list: &'a [u8], count: usize) -> Self {
        Values {
            repr: ValuesRepr::Raw { list, count },
        }
    }

    /// Number of peers.
    pub fn len(&self) -> usize {
        match self.repr {
            ValuesRepr::Raw { count, .. } => count,
            ValuesRepr::Items(p) => p.len(),
        }
    }

    /// Whether there are no peers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The peers, decoded as they are read.
    pub fn iter(&self) -> ValuesIter<'a> {
        match self.repr {
            ValuesRepr::Raw { list, .. } => {
                let mut d = Decoder::new(list);
                // The list was checked when decoded; if opening fails, the iterator is empty.
                let open = d.expect_list().is_ok();
                ValuesIter {
                    inner: ValuesIterInner::Raw(d, open),
                }
            }
            ValuesRepr::Items(p) => ValuesIter {
                inner: ValuesIterInner::Items(p.iter()),
            },
        }
    }

    /// Exact length of the bencoded list.
    pub fn encoded_len(&self) -> usize {
        match self.repr {
            ValuesRepr::Raw { list, .. } => list.len(),
            ValuesRepr::Items(p) => {
                2 + p
                    .iter()
                    .map(|a| if a.is_ipv4() { 8 } else { 21 })
                    .sum::<usize>()
            }
        }
    }

    pub(crate) fn write<S: Sink>(&self, e: &mut Encoder<'_, S>) {
        match self.repr {
            ValuesRepr::Raw { list, .. } => e.raw(list),
            ValuesRepr::Items(peers) => {
                e.begin_list();
                // Runs of one family, each value of a run in one fixed-size piece
                // (`6:` or `18:` and the address), the room for a run checked once.
                let mut rest = peers;
                while let Some(first) = rest.first() {
                    let v6 = first.is_ipv6();
                    let run = rest
                        .iter()
                        .position(|p| p.is_ipv6() != v6)
                        .unwrap_or(rest.len());
                    let (now, later) = rest.split_at_checked(run).unwrap_or((rest, &[]));
                    if v6 {
                        e.raw_each(now, write_value_v6);
                    } else {
                        e.raw_each(now, |p, d| *d = value_v4(p));
                    }
                    rest = later;
                }
                e.end();
            }
        }
    }
}

/// `6:` and a compact IPv4 peer (an IPv6 one never comes here: zeros).
#[inline]
pub(crate) fn value_v4(p: &SocketAddr) -> [u8; 8] {
    match p {
        SocketAddr::V4(a) => value_v4_of(a),
        SocketAddr::V6(_) => [0; 8],
    }
}

/// `6:` and a compact IPv4 peer, assembled in one word (cheaper than byte by byte).
#[inline]
pub(crate) fn value_v4_of(a: &SocketAddrV4) -> [u8; 8] {
    // Little-endian: `6`, `:`, the address's octets in order, the port big-endian.
    let word = u64::from(u16::from_le_bytes(*b"6:"))
        | u64::from(u32::from_le_bytes(a.ip().octets())) << 16
        | u64::from(u16::from_le_bytes(a.port().to_be_bytes())) << 48;
    word.to_le_bytes()
}

/// `18:` and a compact IPv6 peer (an IPv4 one never comes here: zeros).
#[inline]
pub(crate) fn value_v6(p: &SocketAddr) -> [u8; 21] {
    let mut b = [0u8; 21];
    write_value_v6(p, &mut b);
    b
}

/// Writes `18:` and a compact IPv6 peer into `b` (an IPv4 one never comes here).
#[inline]
fn write_value_v6(p: &SocketAddr, b: &mut [u8; 21]) {
    if let SocketAddr::V6(a) = p {
        let [head @ .., p0, p1] = b;
        if let Some((prefix, ip)) = head.split_first_chunk_mut::<3>() {
            *prefix = *b"18:";
            if let Ok(ip) = <&mut [u8; 16]>::try_from(ip) {
                *ip = a.ip().octets();
            }
        }
        [*p0, *p1] = a.port().to_be_bytes();
    }
}

impl<'a> IntoIterator for Values<'a> {
    type Item = SocketAddr;
    type IntoIter = ValuesIter<'a>;
    fn into_iter(self) -> ValuesIter<'a> {
        self.iter()
    }
}

impl PartialEq for Values<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Values<'_> {}

impl fmt::Debug for Values<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over [`Values`].
#[derive(Clone, Debug)]
pub struct ValuesIter<'a> {
    inner: ValuesIterInner<'a>,
}

#[derive(Clone, Debug)]
enum ValuesIterInner<'a> {
    Raw(Decoder<'a>, bool),
    Items(core::slice::Iter<'a, SocketAddr>),
}

impl Iterator for ValuesIter<'_> {
    type Item = SocketAddr;
    fn next(&mut self) -> Option<SocketAddr> {
        match &mut self.inner {
            ValuesIterInner::Raw(d, open) => {
                if !*open || !d.next_item().ok()? {
                    *open = false;
                    return None;
                }
                decode_peer(d.expect_bytes().ok()?)
            }
            ValuesIterInner::Items(it) => it.next().copied(),
        }
    }
}
