//! The node's own answers, written straight into the caller's buffer.

use crate::bencode::{Encoder, SliceSink};
use crate::id::Id;
use core::net::SocketAddr;

/// Writes the node's own answers straight into a buffer, without building a [`Message`]:
/// a response (`y` = `r`) with `ip` and `id`, and optionally `BFpe`/`BFsd`, `nodes`,
/// `nodes6`, `token` and `values`. The caller adds the fields in that (sorted) order; the
/// bytes are then exactly those [`Message::encode`] writes for the same message. Every
/// write returns `None`, without panicking, once the buffer is too short.
pub(crate) struct ReplyWriter<'b> {
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

impl<'b> ReplyWriter<'b> {
    /// Writes `d2:ip<addr>1:rd[4:BFpe<peers>4:BFsd<seeds>]2:id20:<id>`.
    #[inline(always)]
    pub(crate) fn begin(
        buf: &'b mut [u8],
        ip: &SocketAddr,
        filters: Option<(&[u8], &[u8])>,
        id: &Id,
    ) -> Option<Self> {
        let mut w = ReplyWriter { buf, len: 0 };
        let (header, len): (&[u8], usize) = match ip {
            SocketAddr::V4(_) => (b"d2:ip6:", 6),
            SocketAddr::V6(_) => (b"d2:ip18:", 18),
        };
        w.put(header)?;
        w.peer(ip, len)?;
        w.put(b"1:rd")?;
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
    /// writes next with [`ReplyWriter::node`], all of that family.
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
        let len = if addr.is_ipv4() { 26 } else { 38 };
        let (head, tail) = self.reserve(len)?.split_at_mut_checked(20)?;
        head.copy_from_slice(id.as_bytes());
        write_peer(tail, addr)
    }

    /// `5:token<token>`.
    #[inline]
    pub(crate) fn token(&mut self, token: &[u8]) -> Option<()> {
        self.put(b"5:token")?;
        self.bytes(token)
    }

    /// `6:valuesl<peer>...e`.
    #[inline(always)] // Measured: left to the compiler, it stays a call on the get_peers path.
    pub(crate) fn values(&mut self, peers: &[SocketAddr]) -> Option<()> {
        self.put(b"6:valuesl")?;
        for p in peers {
            // Each value is `6:` or `18:` and the compact address.
            let (prefix, len): (&[u8], usize) = match p {
                SocketAddr::V4(_) => (b"6:", 8),
                SocketAddr::V6(_) => (b"18:", 21),
            };
            let (head, tail) = self.reserve(len)?.split_at_mut_checked(prefix.len())?;
            head.copy_from_slice(prefix);
            write_peer(tail, p)?;
        }
        self.put(b"e")
    }

    /// Closes the answer with `e1:t<tid>[1:v<version>]1:y1:re`; the length written.
    #[inline]
    pub(crate) fn finish(mut self, tid: &[u8], version: Option<&[u8]>) -> Option<usize> {
        self.put(b"e1:t")?;
        self.bytes(tid)?;
        if let Some(v) = version {
            self.put(b"1:v")?;
            self.bytes(v)?;
        }
        self.put(b"1:y1:re")?;
        Some(self.len)
    }
}
