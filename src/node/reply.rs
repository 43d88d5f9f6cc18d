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

    /// Like [`ReplyWriter::put`] for a fixed size: a copy of known length, which the
    /// compiler cannot merge with a copy of another length into a call to `memcpy`.
    #[inline(always)]
    fn put_array<const N: usize>(&mut self, bytes: &[u8; N]) -> Option<()> {
        let end = self.len.checked_add(N)?;
        let dst: &mut [u8; N] = self.buf.get_mut(self.len..end)?.try_into().ok()?;
        *dst = *bytes;
        self.len = end;
        Some(())
    }

    /// Like [`ReplyWriter::put`]; a slice of up to 8 bytes (the usual 2- to 4-byte
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
