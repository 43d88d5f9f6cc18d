//! Writing bencode straight into a caller's buffer.

use core::fmt;

/// Where encoded bytes go: a fixed slice ([`SliceSink`]) or any [`bytes::BufMut`].
pub trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);

    /// Appends `N` bytes known at compile time. The same as [`Sink::put`] unless a sink
    /// overrides it: [`SliceSink`] copies them as one fixed-size store (no call to
    /// `memcpy`), which is what makes the KRPC encoders' many short pieces cheap.
    #[inline]
    fn put_array<const N: usize>(&mut self, bytes: &[u8; N])
    where
        Self: Sized,
    {
        self.put(bytes);
    }

    /// Appends `N` bytes that `fill` writes. The same as [`Sink::put_array`] of what
    /// `fill` writes into a zeroed array unless a sink overrides it: [`SliceSink`] has
    /// `fill` write straight into the buffer, so a piece put together from parts is not
    /// assembled on the stack first.
    #[inline]
    fn put_with<const N: usize>(&mut self, fill: impl FnOnce(&mut [u8; N]))
    where
        Self: Sized,
    {
        let mut piece = [0u8; N];
        fill(&mut piece);
        self.put_array(&piece);
    }

    /// Appends `N` bytes for each of `items`, as `fill` writes them (compact node and
    /// peer lists). The same as one [`Sink::put_with`] per item unless a sink overrides
    /// it: [`SliceSink`] checks the room for all of them once.
    #[inline]
    fn put_each<T, const N: usize>(&mut self, items: &[T], fill: impl Fn(&T, &mut [u8; N]))
    where
        Self: Sized,
    {
        for item in items {
            self.put_with(|d| fill(item, d));
        }
    }
}

/// A [`Sink`] over a fixed `&mut [u8]` that never panics: once a write does not fit, it
/// records the overflow and ignores the rest.
#[derive(Debug)]
pub struct SliceSink<'b> {
    buf: &'b mut [u8],
    len: usize,
    overflow: bool,
}

impl<'b> SliceSink<'b> {
    /// A sink writing from the start of `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        SliceSink {
            buf,
            len: 0,
            overflow: false,
        }
    }

    /// Bytes written so far, or `None` if something did not fit.
    pub fn written(&self) -> Option<usize> {
        if self.overflow { None } else { Some(self.len) }
    }
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len = end;
            }
            None => self.overflow = true,
        }
    }

    #[inline]
    fn put_array<const N: usize>(&mut self, bytes: &[u8; N]) {
        // One comparison: the room left against `N`.
        match self
            .buf
            .get_mut(self.len..)
            .and_then(|rest| rest.first_chunk_mut::<N>())
        {
            Some(dst) => {
                *dst = *bytes;
                // `len + N` fits: those bytes were in `buf`.
                self.len = self.len.wrapping_add(N);
            }
            None => self.overflow = true,
        }
    }

    #[inline]
    fn put_with<const N: usize>(&mut self, fill: impl FnOnce(&mut [u8; N])) {
        match self
            .buf
            .get_mut(self.len..)
            .and_then(|rest| rest.first_chunk_mut::<N>())
        {
            Some(dst) => {
                fill(dst);
                // `len + N` fits: those bytes were in `buf`.
                self.len = self.len.wrapping_add(N);
            }
            None => self.overflow = true,
        }
    }

    #[inline]
    fn put_each<T, const N: usize>(&mut self, items: &[T], fill: impl Fn(&T, &mut [u8; N])) {
        let room = items
            .len()
            .checked_mul(N)
            .and_then(|total| Some((total, self.len.checked_add(total)?)))
            .and_then(|(total, end)| Some((total, self.buf.get_mut(self.len..end)?)));
        match room {
            Some((total, dst)) => {
                for (chunk, item) in dst.chunks_exact_mut(N).zip(items) {
                    if let Ok(chunk) = <&mut [u8; N]>::try_from(chunk) {
                        fill(item, chunk);
                    }
                }
                // `len + total` fits: those bytes were in `buf`.
                self.len = self.len.wrapping_add(total);
            }
            None => self.overflow = true,
        }
    }
}

/// Adapter that lets any [`bytes::BufMut`] be a [`Sink`]. Callers check
/// `remaining_mut()` against the exact encoded length first, as `BufMut` panics on
/// overflow.
pub(crate) struct BufSink<'b, B: bytes::BufMut>(pub(crate) &'b mut B);

impl<B: bytes::BufMut> Sink for BufSink<'_, B> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0.put_slice(bytes);
    }
}

/// The caller's buffer was too small for the encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EncodeError {
    needed: usize,
    available: usize,
}

impl EncodeError {
    pub(crate) const fn new(needed: usize, available: usize) -> Self {
        EncodeError { needed, available }
    }

    /// Bytes the encoding needs.
    pub const fn needed(&self) -> usize {
        self.needed
    }

    /// Bytes the buffer had.
    pub const fn available(&self) -> usize {
        self.available
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "buffer too small: encoding needs {} bytes, buffer has {}",
            self.needed, self.available
        )
    }
}

impl core::error::Error for EncodeError {}

/// Number of decimal digits of `n`.
#[inline]
const fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// Encoded length of the integer `n` (`i…e`).
#[inline]
pub const fn int_len(n: i64) -> usize {
    2 + (n < 0) as usize + digits(n.unsigned_abs())
}

/// Encoded length of a byte string of `len` bytes (`<len>:<bytes>`).
#[inline]
pub const fn bytes_len(len: usize) -> usize {
    digits(len as u64) + 1 + len
}

/// Writes the decimal digits of `n` into the end of `buf`; returns where they start.
#[inline]
fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        // n % 10 < 10, so the cast is exact; i stays >= 0 because u64 has <= 20 digits.
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return i;
        }
    }
}

/// Writes bencode tokens into a [`Sink`]. It writes what it is told: callers write
/// dictionary keys in ascending order themselves.
///
/// ```
/// use btdht::bencode::{Encoder, SliceSink};
///
/// let mut buf = [0u8; 32];
/// let mut sink = SliceSink::new(&mut buf);
/// let mut e = Encoder::new(&mut sink);
/// e.begin_dict();
/// e.bytes(b"n");
/// e.int(-7);
/// e.end();
/// let n = sink.written().unwrap();
/// assert_eq!(&buf[..n], b"d1:ni-7ee");
/// ```
#[derive(Debug)]
pub struct Encoder<'s, S: Sink> {
    sink: &'s mut S,
}

impl<'s, S: Sink> Encoder<'s, S> {
    /// An encoder appending to `sink`.
    pub fn new(sink: &'s mut S) -> Self {
        Encoder { sink }
    }

    /// Writes `i<n>e`.
    #[inline]
    pub fn int(&mut self, n: i64) {
        if (0..10).contains(&n) {
            // A single digit: the cast is exact.
            self.sink.put(&[b'i', b'0' + n as u8, b'e']);
            return;
        }
        let mut buf = [0u8; 22];
        let mut digits = [0u8; 20];
        let start = format_u64(n.unsigned_abs(), &mut digits);
        let src = digits.get(start..).unwrap_or_default();
        let mut len = 0;
        for &b in [b'i']
            .iter()
            .chain(if n < 0 { &b"-"[..] } else { &[] })
            .chain(src)
            .chain(b"e")
        {
            if let Some(slot) = buf.get_mut(len) {
                *slot = b;
                len += 1;
            }
        }
        self.sink.put(buf.get(..len).unwrap_or_default());
    }

    /// Writes `<len>:<bytes>`.
    #[inline]
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.bytes_header(bytes.len());
        self.sink.put(bytes);
    }

    /// Writes the `<len>:` prefix of a byte string whose `len` bytes the caller writes
    /// next with [`Encoder::raw`].
    #[inline]
    pub fn bytes_header(&mut self, len: usize) {
        // The casts below take single decimal digits (< 10), so they are exact.
        if len < 10 {
            self.sink.put(&[b'0' + len as u8, b':']);
        } else if len < 100 {
            self.sink
                .put(&[b'0' + (len / 10) as u8, b'0' + (len % 10) as u8, b':']);
        } else if len < 1000 {
            self.sink.put(&[
                b'0' + (len / 100) as u8,
                b'0' + (len / 10 % 10) as u8,
                b'0' + (len % 10) as u8,
                b':',
            ]);
        } else {
            let mut digits = [0u8; 20];
            let start = format_u64(len as u64, &mut digits);
            self.sink.put(digits.get(start..).unwrap_or_default());
            self.sink.put(b":");
        }
    }

    /// Writes `l`.
    #[inline]
    pub fn begin_list(&mut self) {
        self.sink.put(b"l");
    }

    /// Writes `d`.
    #[inline]
    pub fn begin_dict(&mut self) {
        self.sink.put(b"d");
    }

    /// Writes `e`.
    #[inline]
    pub fn end(&mut self) {
        self.sink.put(b"e");
    }

    /// Writes `bytes` verbatim (already-encoded bencode, or string content).
    #[inline]
    pub fn raw(&mut self, bytes: &[u8]) {
        self.sink.put(bytes);
    }

    /// [`Encoder::raw`] for a piece whose length is known at compile time: with a
    /// [`SliceSink`], one fixed-size store instead of a call to `memcpy`.
    #[inline]
    pub fn raw_array<const N: usize>(&mut self, bytes: &[u8; N]) {
        self.sink.put_array(bytes);
    }

    /// `N` bytes that `fill` writes in place (see [`Sink::put_with`]).
    #[inline]
    pub fn raw_with<const N: usize>(&mut self, fill: impl FnOnce(&mut [u8; N])) {
        self.sink.put_with(fill);
    }

    /// `head` then `tail` as one piece of `N` = `H + T` bytes, written in place.
    #[inline]
    pub(crate) fn raw_cat<const H: usize, const T: usize, const N: usize>(
        &mut self,
        head: &[u8; H],
        tail: &[u8; T],
    ) {
        const { assert!(H + T == N) };
        self.sink.put_with::<N>(|d| {
            if let Some((h, rest)) = d.split_first_chunk_mut::<H>() {
                *h = *head;
                if let Some(t) = rest.first_chunk_mut::<T>() {
                    *t = *tail;
                }
            }
        });
    }

    /// `N` bytes for each of `items`, as `fill` writes them: a compact list's entries,
    /// with one bounds check for all of them when the sink is a [`SliceSink`].
    #[inline]
    pub fn raw_each<T, const N: usize>(&mut self, items: &[T], fill: impl Fn(&T, &mut [u8; N])) {
        self.sink.put_each(items, fill);
    }

    /// [`Encoder::raw`] for short pieces of a length known only at run time (transaction
    /// ids, versions, tokens): the usual lengths go as fixed-size stores.
    #[inline]
    pub(crate) fn raw_short(&mut self, bytes: &[u8]) {
        if let Ok(b) = <&[u8; 2]>::try_from(bytes) {
            self.sink.put_array(b);
        } else if let Ok(b) = <&[u8; 4]>::try_from(bytes) {
            self.sink.put_array(b);
        } else if let Ok(b) = <&[u8; 8]>::try_from(bytes) {
            self.sink.put_array(b);
        } else if let Ok(b) = <&[u8; 20]>::try_from(bytes) {
            self.sink.put_array(b);
        } else {
            self.sink.put(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_len_matches_written_length_at_the_extremes() {
        for n in [0, 9, 10, -1, -10, i64::MAX, i64::MIN, 1_000_000] {
            let mut buf = [0u8; 32];
            let mut sink = SliceSink::new(&mut buf);
            Encoder::new(&mut sink).int(n);
            assert_eq!(sink.written(), Some(int_len(n)), "{n}");
        }
    }

    #[test]
    fn slice_sink_reports_overflow_instead_of_panicking() {
        let mut buf = [0u8; 3];
        let mut sink = SliceSink::new(&mut buf);
        Encoder::new(&mut sink).bytes(b"abcdef");
        assert_eq!(sink.written(), None);
    }
}
