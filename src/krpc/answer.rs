//! The node's common answers, written straight into the caller's buffer.

use super::compact::{value_v4_of, value_v6};
use crate::bencode::{Encoder, SliceSink};
use crate::id::Id;
use core::net::SocketAddr;

/// Writes the node's own answers straight into a buffer, without building a [`Message`]:
/// a response (`y` = `r`) with `ip` and `id`, and optionally `BFpe`/`BFsd`, `nodes`,
/// `nodes6`, `token` and `values`. The caller adds the fields in that (sorted) order; the
/// bytes are then exactly those [`Message::encode`] writes for the same message. Every
/// write returns `None`, without panicking, once the buffer is too short.
pub(crate) struct AnswerWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

/// Writes `addr` in compact form into `dst`, which is exactly 6 (IPv4) or 18 (IPv6)
/// bytes long.
#[inline(always)]
fn write_peer(dst: &mut [u8], addr: &SocketAddr) -> Option<()> {
    match addr {
        SocketAddr::V4(a) => {
            let [p0, p1] = a.port().to_be_bytes();
            let [a0, a1, a2, a3] = a.ip().octets();
            let dst: &mut [u8; 6] = dst.try_into().ok()?;
            *dst = [a0, a1, a2, a3, p0, p1];
        }
        SocketAddr::V6(a) => {
            let dst: &mut [u8; 18] = dst.try_into().ok()?;
            let (ip, port) = dst.split_at_mut(16);
            ip.copy_from_slice(&a.ip().octets());
            port.copy_from_slice(&a.port().to_be_bytes());
        }
    }
    Some(())
}

/// Where [`AnswerWriter::values_with`] takes the peers of `values`: each one in place,
/// in one fixed-size piece (`6:` or `18:`, the compact address).
pub(crate) struct PeerValues<'b> {
    /// The room left.
    rest: &'b mut [u8],
    /// A peer did not fit: the answer fails.
    full: bool,
}

impl PeerValues<'_> {
    /// One peer.
    #[inline(always)]
    pub(crate) fn push(&mut self, p: &SocketAddr) {
        match p {
            SocketAddr::V4(a) => self.put(value_v4_of(a)),
            SocketAddr::V6(_) => self.put(value_v6(p)),
        }
    }

    #[inline(always)]
    fn put<const N: usize>(&mut self, bytes: [u8; N]) {
        match core::mem::take(&mut self.rest).split_first_chunk_mut::<N>() {
            Some((dst, rest)) => {
                *dst = bytes;
                self.rest = rest;
            }
            None => self.full = true,
        }
    }
}

impl<'b> AnswerWriter<'b> {
    /// Writes `d2:ip<addr>1:rd[4:BFpe<peers>4:BFsd<seeds>]2:id20:<id>`.
    #[inline(always)]
    pub(crate) fn begin(
        buf: &'b mut [u8],
        ip: &SocketAddr,
        filters: Option<(&[u8], &[u8])>,
        id: &Id,
    ) -> Option<Self> {
        let mut w = AnswerWriter { buf, len: 0 };
        // The envelope, the address and `1:rd` (IPv4: one piece).
        match ip {
            SocketAddr::V4(a) => {
                let [a0, a1, a2, a3] = a.ip().octets();
                let [p0, p1] = a.port().to_be_bytes();
                w.put(&[
                    b'd', b'2', b':', b'i', b'p', b'6', b':', a0, a1, a2, a3, p0, p1, b'1', b':',
                    b'r', b'd',
                ])?;
            }
            SocketAddr::V6(_) => {
                w.put(b"d2:ip18:")?;
                w.peer(ip, 18)?;
                w.put(b"1:rd")?;
            }
        }
        if let Some((peers, seeds)) = filters {
            w.put(b"4:BFpe")?;
            w.bytes(peers)?;
            w.put(b"4:BFsd")?;
            w.bytes(seeds)?;
        }
        w.put(b"2:id20:")?;
        w.put(id.as_bytes())?;
        Some(w)
    }

    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len())?;
        self.buf.get_mut(self.len..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(())
    }

    /// Like [`AnswerWriter::put`] for a fixed size: a copy of known length, which the
    /// compiler cannot merge with a copy of another length into a call to `memcpy`.
    #[inline(always)]
    fn put_array<const N: usize>(&mut self, bytes: &[u8; N]) -> Option<()> {
        let end = self.len.checked_add(N)?;
        let dst: &mut [u8; N] = self.buf.get_mut(self.len..end)?.try_into().ok()?;
        *dst = *bytes;
        self.len = end;
        Some(())
    }

    /// Like [`AnswerWriter::put`]; a slice of up to 8 bytes (the usual 2- to 4-byte
    /// transaction ids) goes as one 8-byte store when the buffer has room for it, which
    /// is cheaper than a call to `memcpy`. The store may write past the slice's end;
    /// what follows overwrites it, or it lies past the message's length.
    #[inline(always)]
    fn put_short(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len())?;
        let wide = self.len.checked_add(8)?;
        let dst: Option<&mut [u8; 8]> = self
            .buf
            .get_mut(self.len..wide)
            .and_then(|d| d.try_into().ok());
        match dst {
            Some(dst) if bytes.len() <= 8 => {
                // Little-endian assembly: no loop the compiler turns back into `memcpy`.
                let word = bytes
                    .iter()
                    .rev()
                    .fold(0u64, |w, b| (w << 8) | u64::from(*b));
                *dst = word.to_le_bytes();
                self.len = end;
                Some(())
            }
            _ => self.put(bytes),
        }
    }

    /// Reserves the next `len` bytes for the caller to fill.
    #[inline(always)]
    fn reserve(&mut self, len: usize) -> Option<&mut [u8]> {
        let start = self.len;
        let end = start.checked_add(len)?;
        let dst = self.buf.get_mut(start..end)?;
        self.len = end;
        Some(dst)
    }

    /// A compact address of `len` (6 or 18) bytes.
    #[inline(always)]
    fn peer(&mut self, addr: &SocketAddr, len: usize) -> Option<()> {
        write_peer(self.reserve(len)?, addr)
    }

    /// `<len>:`
    #[inline]
    fn header(&mut self, len: usize) -> Option<()> {
        if len < 10 {
            // A single digit: the cast is exact.
            return self.put(&[b'0' + len as u8, b':']);
        }
        if len < 100 {
            return self.put(&[b'0' + (len / 10) as u8, b'0' + (len % 10) as u8, b':']);
        }
        let mut sink = SliceSink::new(self.buf.get_mut(self.len..)?);
        Encoder::new(&mut sink).bytes_header(len);
        self.len = self.len.checked_add(sink.written()?)?;
        Some(())
    }

    #[inline]
    fn bytes(&mut self, bytes: &[u8]) -> Option<()> {
        self.header(bytes.len())?;
        self.put(bytes)
    }

    /// Starts `nodes` (`v6` false) or `nodes6` holding `count` nodes, which the caller
    /// writes next with [`AnswerWriter::node`], all of that family.
    #[inline]
    pub(crate) fn nodes(&mut self, v6: bool, count: usize) -> Option<()> {
        if v6 {
            self.put(b"6:nodes6")?;
            self.header(count.checked_mul(38)?)
        } else {
            self.put(b"5:nodes")?;
            self.header(count.checked_mul(26)?)
        }
    }

    /// One compact node info: the id, then the address.
    #[inline]
    pub(crate) fn node(&mut self, id: &Id, addr: &SocketAddr) -> Option<()> {
        if let SocketAddr::V4(a) = addr {
            // The common case in fixed-size pieces.
            let dst: &mut [u8; 26] = self.reserve(26)?.try_into().ok()?;
            let [head @ .., a0, a1, a2, a3, p0, p1] = dst;
            *head = *id.as_bytes();
            [*a0, *a1, *a2, *a3] = a.ip().octets();
            [*p0, *p1] = a.port().to_be_bytes();
            return Some(());
        }
        let (head, tail) = self.reserve(38)?.split_at_mut_checked(20)?;
        head.copy_from_slice(id.as_bytes());
        write_peer(tail, addr)
    }

    /// `5:token<token>`.
    #[inline]
    pub(crate) fn token(&mut self, token: &[u8]) -> Option<()> {
        self.put(b"5:token")?;
        self.bytes(token)
    }

    /// `6:valuesl<peer>...e` with the peers `fill` pushes into a [`PeerValues`] as it
    /// draws them; nothing at all if it pushes none.
    #[inline(always)] // Left to the compiler, it stays a call on the get_peers path (benches/node.rs).
    pub(crate) fn values_with(&mut self, fill: impl FnOnce(&mut PeerValues<'_>)) -> Option<()> {
        const KEY: &[u8; 9] = b"6:valuesl";
        let at = self.len.checked_add(KEY.len())?;
        let mut v = PeerValues {
            rest: self.buf.get_mut(at..).unwrap_or_default(),
            full: false,
        };
        let room = v.rest.len();
        fill(&mut v);
        // What the peers took of the room: the room left can only have shrunk.
        let (len, full) = (room.saturating_sub(v.rest.len()), v.full);
        if full {
            return None;
        }
        if len == 0 {
            return Some(());
        }
        // The peers are in place after the key's room: the key, then skip them.
        self.put_array(KEY)?;
        self.len = self.len.checked_add(len)?;
        self.put_array(b"e")
    }

    /// Closes the answer with `e1:t<tid>[1:v4:<version>]1:y1:re`; the length written.
    /// Written in as few pieces as the shapes allow (each piece is a bounds check).
    #[inline]
    pub(crate) fn finish(mut self, tid: &[u8], version: Option<[u8; 4]>) -> Option<usize> {
        match tid.len() {
            // A single digit: the cast is exact.
            len @ 0..10 => self.put_array(&[b'e', b'1', b':', b't', b'0' + len as u8, b':'])?,
            _ => {
                self.put(b"e1:t")?;
                self.header(tid.len())?;
            }
        }
        self.put_short(tid)?;
        match version {
            Some([a, b, c, d]) => self.put_array(&[
                b'1', b':', b'v', b'4', b':', a, b, c, d, b'1', b':', b'y', b'1', b':', b'r', b'e',
            ])?,
            None => self.put_array(b"1:y1:re")?,
        }
        Some(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::krpc::{Body, CompactList, Message, NodeV4, NodeV6, Response, Values};
    use alloc::vec::Vec;
    use core::net::{Ipv6Addr, SocketAddrV6};

    fn v4(i: u8, port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 1, i], port))
    }

    fn v6(i: u16, port: u16) -> SocketAddr {
        SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 7, i),
            port,
            0,
            0,
        ))
    }

    /// `AnswerWriter` against `Message::encode` for the same response.
    #[allow(clippy::too_many_arguments)]
    fn check(
        ip: SocketAddr,
        filters: Option<(&[u8; 256], &[u8; 256])>,
        nodes: Option<&[NodeV4]>,
        nodes6: Option<&[NodeV6]>,
        token: Option<&[u8]>,
        values: Option<&[SocketAddr]>,
        tid: &[u8],
        version: Option<[u8; 4]>,
    ) {
        let id = Id::from_bytes([0xab; 20]);
        let mut r = Response::new(id);
        r.nodes = nodes.map(CompactList::from_items);
        r.nodes6 = nodes6.map(CompactList::from_items);
        r.token = token;
        r.values = values.map(Values::from_peers);
        r.bf_peers = filters.map(|f| f.0);
        r.bf_seeds = filters.map(|f| f.1);
        let msg = Message {
            transaction_id: tid,
            version: version.as_ref().map(|v| &v[..]),
            ip: Some(ip),
            read_only: false,
            body: Body::Response(r),
        };
        let mut expected = [0u8; 2048];
        let n = msg.encode(&mut expected).unwrap();
        let expected = &expected[..n];

        let write = |buf: &mut [u8]| -> Option<usize> {
            let bf = filters.map(|(p, s)| (&p[..], &s[..]));
            let mut w = AnswerWriter::begin(buf, &ip, bf, &id)?;
            if let Some(nodes) = nodes {
                w.nodes(false, nodes.len())?;
                for n in nodes {
                    w.node(&n.id, &SocketAddr::V4(n.addr))?;
                }
            }
            if let Some(nodes6) = nodes6 {
                w.nodes(true, nodes6.len())?;
                for n in nodes6 {
                    w.node(&n.id, &SocketAddr::V6(n.addr))?;
                }
            }
            if let Some(token) = token {
                w.token(token)?;
            }
            if let Some(values) = values {
                w.values_with(|v| values.iter().for_each(|p| v.push(p)))?;
            }
            w.finish(tid, version)
        };
        let mut buf = [0u8; 2048];
        let m = write(&mut buf).expect("fits");
        assert_eq!(&buf[..m], expected);
        // Every shorter buffer fails cleanly (checked for some shapes only, for time).
        let truncate = tid.len() == 2 && version.is_some();
        for short in (0..n).filter(|_| truncate) {
            assert_eq!(write(&mut buf[..short]), None, "{short} of {n}");
        }
    }

    #[test]
    fn answer_writer_writes_what_message_encode_writes() {
        let nodes: Vec<NodeV4> = (0..8u8)
            .map(|i| NodeV4 {
                id: Id::from_bytes([i; 20]),
                addr: match v4(i, 6881 + u16::from(i)) {
                    SocketAddr::V4(a) => a,
                    SocketAddr::V6(_) => unreachable!(),
                },
            })
            .collect();
        let nodes6: Vec<NodeV6> = (0..8u16)
            .map(|i| NodeV6 {
                id: Id::from_bytes([0x40 + i as u8; 20]),
                addr: match v6(i, 7000 + i) {
                    SocketAddr::V6(a) => a,
                    SocketAddr::V4(_) => unreachable!(),
                },
            })
            .collect();
        let values4: Vec<SocketAddr> = (0..50u8).map(|i| v4(i, 1000 + u16::from(i))).collect();
        let values6: Vec<SocketAddr> = (0..20u16).map(|i| v6(i, 2000 + i)).collect();
        let mixed = [v4(1, 1), v6(2, 2), v4(3, 65535)];
        let (peers, seeds) = ([0x5a; 256], [0xa5; 256]);
        let long_tid = [7u8; 64];
        for ip in [v4(200, 6881), v6(300, 51413)] {
            for version in [None, Some(*b"BD\x00\x01"), Some(*b"LT\x01\x02")] {
                for tid in [&b""[..], b"aa", b"0123456789", &long_tid] {
                    // ping, announce_peer, put
                    check(ip, None, None, None, None, None, tid, version);
                    for n4 in [None, Some(&nodes[..0]), Some(&nodes[..1]), Some(&nodes[..])] {
                        for n6 in [
                            None,
                            Some(&nodes6[..0]),
                            Some(&nodes6[..3]),
                            Some(&nodes6[..]),
                        ] {
                            // find_node
                            check(ip, None, n4, n6, None, None, tid, version);
                            // get_peers
                            for values in [
                                None,
                                Some(&values4[..]),
                                Some(&values6[..]),
                                Some(&mixed[..]),
                            ] {
                                for token in [&b"0123"[..], &[0u8; 20], &[1u8; 200]] {
                                    check(ip, None, n4, n6, Some(token), values, tid, version);
                                }
                                check(
                                    ip,
                                    Some((&peers, &seeds)),
                                    n4,
                                    n6,
                                    Some(b"tok"),
                                    values,
                                    tid,
                                    version,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
