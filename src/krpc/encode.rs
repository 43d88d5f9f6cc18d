//! Writing a [`Message`] straight into the caller's buffer, keys in sorted order.

use super::fields::Args;
use super::{Body, ErrorMessage, Message, MutablePut, Put, Query, QueryKind, Response};
use crate::addr::{Families, Family};
use crate::bencode::{EncodeError, Encoder, RawValue, Sink, SliceSink};
use crate::id::Id;
use core::net::SocketAddr;

/// A [`Sink`] that only counts, so the exact length comes from the same code that writes.
struct Counter(usize);

impl Sink for Counter {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(bytes.len());
    }
}

struct BufSink<'b, B: bytes::BufMut>(&'b mut B);

impl<B: bytes::BufMut> Sink for BufSink<'_, B> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0.put_slice(bytes);
    }
}

impl Message<'_> {
    /// Exact length of the encoding.
    pub fn encoded_len(&self) -> usize {
        let mut c = Counter(0);
        self.write(&mut Encoder::new(&mut c));
        c.0
    }

    /// Encodes into `out` and returns the number of bytes written. Fails, without
    /// panicking, if `out` is shorter than [`Message::encoded_len`].
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let available = out.len();
        let mut sink = SliceSink::new(out);
        self.write(&mut Encoder::new(&mut sink));
        sink.written()
            .ok_or_else(|| EncodeError::new(self.encoded_len(), available))
    }

    /// Appends the encoding to a [`bytes::BufMut`]; fails if it has no room for
    /// [`Message::encoded_len`] bytes.
    pub fn encode_buf<B: bytes::BufMut>(&self, buf: &mut B) -> Result<usize, EncodeError> {
        let len = self.encoded_len();
        if buf.remaining_mut() < len {
            return Err(EncodeError::new(len, buf.remaining_mut()));
        }
        self.write(&mut Encoder::new(&mut BufSink(buf)));
        Ok(len)
    }

    /// Writes the message; top-level keys in order: a e ip q r ro t v y. The common
    /// shapes go in few pieces of fixed size (each piece is one bounds check and, with a
    /// [`SliceSink`], a fixed-size store rather than a call to `memcpy`).
    fn write<S: Sink>(&self, e: &mut Encoder<'_, S>) {
        match &self.body {
            Body::Query(q) => write_query_args(e, q),
            Body::Error(err) => {
                e.raw_array(b"d1:e");
                write_error(e, err);
            }
            // The `d` goes with `ip`, or alone.
            Body::Response(_) if self.ip.is_some() => {}
            Body::Response(_) => e.raw_array(b"d"),
        }
        match &self.body {
            Body::Query(q) => {
                // `e` closes the arguments: it leads the method's piece unless `ip`
                // comes between (an odd query, but one a message may hold).
                if let Some(ip) = &self.ip {
                    e.end();
                    write_ip(e, ip, false);
                    write_method(e, &q.kind, false);
                } else {
                    write_method(e, &q.kind, true);
                }
            }
            Body::Response(r) => {
                if let Some(ip) = &self.ip {
                    write_ip(e, ip, true);
                }
                write_response(e, r);
            }
            Body::Error(err) => {
                if let Some(ip) = &self.ip {
                    write_ip(e, ip, false);
                }
                if let Some(id) = &err.id {
                    e.raw_cat::<11, 20, 31>(b"1:rd2:id20:", id.as_bytes());
                    e.end();
                }
            }
        }
        if self.read_only {
            e.raw_array(b"2:roi1e");
        }
        let tid = self.transaction_id;
        if let Ok(t) = <&[u8; 2]>::try_from(tid) {
            e.raw_cat::<5, 2, 7>(b"1:t2:", t);
        } else if let Ok(t) = <&[u8; 4]>::try_from(tid) {
            e.raw_cat::<5, 4, 9>(b"1:t4:", t);
        } else {
            e.raw_array(b"1:t");
            e.bytes(tid);
        }
        let y = match self.body {
            Body::Query(_) => b"1:y1:qe",
            Body::Response(_) => b"1:y1:re",
            Body::Error(_) => b"1:y1:ee",
        };
        match self.version.map(<&[u8; 4]>::try_from) {
            None => e.raw_array(y),
            Some(Ok(v)) => e.raw_with::<16>(|d| {
                if let Some((head, rest)) = d.split_first_chunk_mut::<5>() {
                    *head = *b"1:v4:";
                    if let Some((version, tail)) = rest.split_first_chunk_mut::<4>() {
                        *version = *v;
                        if let Ok(tail) = <&mut [u8; 7]>::try_from(tail) {
                            *tail = *y;
                        }
                    }
                }
            }),
            Some(Err(_)) => {
                e.raw_array(b"1:v");
                e.bytes(self.version.unwrap_or_default());
                e.raw_array(y);
            }
        }
    }
}

/// `2:ip` and the compact address, in one piece; `lead`: with the message's opening `d`.
#[inline]
fn write_ip<S: Sink>(e: &mut Encoder<'_, S>, ip: &SocketAddr, lead: bool) {
    match ip {
        SocketAddr::V4(a) => {
            let put = |d: &mut [u8; 12]| {
                let [head @ .., a0, a1, a2, a3, p0, p1] = d;
                *head = *b"2:ip6:";
                [*a0, *a1, *a2, *a3] = a.ip().octets();
                [*p0, *p1] = a.port().to_be_bytes();
            };
            if lead {
                e.raw_with::<13>(|d| {
                    if let Some((first, rest)) = d.split_first_mut() {
                        *first = b'd';
                        if let Ok(rest) = <&mut [u8; 12]>::try_from(rest) {
                            put(rest);
                        }
                    }
                });
            } else {
                e.raw_with(put);
            }
        }
        SocketAddr::V6(a) => {
            if lead {
                e.raw_array(b"d");
            }
            e.raw_with::<25>(|d| {
                if let Some((head, rest)) = d.split_first_chunk_mut::<7>() {
                    *head = *b"2:ip18:";
                    if let Some((ip, port)) = rest.split_first_chunk_mut::<16>() {
                        *ip = a.ip().octets();
                        if let Ok(port) = <&mut [u8; 2]>::try_from(port) {
                            *port = a.port().to_be_bytes();
                        }
                    }
                }
            });
        }
    }
}

/// `1:q` and the method, led by `e` (closing the arguments) if `close`; each known
/// method in one fixed-size piece.
#[inline]
fn write_method<S: Sink>(e: &mut Encoder<'_, S>, kind: &QueryKind<'_>, close: bool) {
    macro_rules! piece {
        ($closed:literal, $open:literal) => {
            if close {
                e.raw_array($closed)
            } else {
                e.raw_array($open)
            }
        };
    }
    match kind {
        QueryKind::Ping => piece!(b"e1:q4:ping", b"1:q4:ping"),
        QueryKind::FindNode { .. } => piece!(b"e1:q9:find_node", b"1:q9:find_node"),
        QueryKind::GetPeers { .. } => piece!(b"e1:q9:get_peers", b"1:q9:get_peers"),
        QueryKind::AnnouncePeer { .. } => {
            piece!(b"e1:q13:announce_peer", b"1:q13:announce_peer")
        }
        QueryKind::Get { .. } => piece!(b"e1:q3:get", b"1:q3:get"),
        QueryKind::Put(_) => piece!(b"e1:q3:put", b"1:q3:put"),
        QueryKind::SampleInfohashes { .. } => {
            piece!(b"e1:q17:sample_infohashes", b"1:q17:sample_infohashes")
        }
        QueryKind::Unknown { method, .. } => {
            piece!(b"e1:q", b"1:q");
            e.bytes(method);
        }
    }
}

/// `d1:a` and the query's arguments, without the `e` that closes them. The queries a
/// node sends most (ping, find_node, get_peers, get, sample_infohashes) in fixed
/// pieces; the others through [`Args`].
#[inline]
fn write_query_args<S: Sink>(e: &mut Encoder<'_, S>, q: &Query<'_>) {
    let head = |e: &mut Encoder<'_, S>| e.raw_cat::<12, 20, 32>(b"d1:ad2:id20:", q.id.as_bytes());
    let target = |e: &mut Encoder<'_, S>, id: &Id| {
        e.raw_cat::<11, 20, 31>(b"6:target20:", id.as_bytes());
    };
    match &q.kind {
        QueryKind::Ping => head(e),
        QueryKind::FindNode { target: t } | QueryKind::SampleInfohashes { target: t } => {
            head(e);
            target(e, t);
        }
        QueryKind::GetPeers {
            info_hash,
            noseed,
            scrape,
        } => {
            head(e);
            e.raw_cat::<14, 20, 34>(b"9:info_hash20:", info_hash.as_bytes());
            if *noseed {
                e.raw_array(b"6:noseedi1e");
            }
            if *scrape {
                e.raw_array(b"6:scrapei1e");
            }
        }
        QueryKind::Get { target: t, seq } => {
            head(e);
            int_field(e, b"3:seq", *seq);
            target(e, t);
        }
        _ => {
            e.raw_array(b"d1:a");
            write_args(e, &args_of(q));
            return;
        }
    }
    if let Some(w) = q.want {
        write_want(e, w);
    }
}

/// The wire fields of a query, from its typed form.
fn args_of<'a>(q: &Query<'a>) -> Args<'a> {
    let mut a = Args {
        id: Some(q.id),
        want: q.want,
        ..Args::default()
    };
    match &q.kind {
        QueryKind::Ping => {}
        QueryKind::FindNode { target } | QueryKind::SampleInfohashes { target } => {
            a.target = Some(*target);
        }
        QueryKind::GetPeers {
            info_hash,
            noseed,
            scrape,
        } => {
            a.info_hash = Some(*info_hash);
            a.noseed = noseed.then_some(true);
            a.scrape = scrape.then_some(true);
        }
        QueryKind::AnnouncePeer {
            info_hash,
            port,
            implied_port,
            token,
            seed,
        } => {
            a.info_hash = Some(*info_hash);
            a.port = Some(*port);
            a.implied_port = implied_port.then_some(true);
            a.token = Some(token);
            a.seed = seed.then_some(true);
        }
        QueryKind::Get { target, seq } => {
            a.target = Some(*target);
            a.seq = *seq;
        }
        QueryKind::Put(Put {
            token,
            value,
            mutable,
        }) => {
            a.token = Some(token);
            a.value = Some(*value);
            if let Some(MutablePut {
                key,
                signature,
                seq,
                salt,
                cas,
            }) = mutable
            {
                a.key = Some(key);
                a.signature = Some(signature);
                a.seq = Some(*seq);
                a.salt = *salt;
                a.cas = *cas;
            }
        }
        QueryKind::Unknown {
            target, info_hash, ..
        } => {
            a.target = *target;
            a.info_hash = *info_hash;
        }
    }
    a
}

#[inline]
fn int_field<S: Sink>(e: &mut Encoder<'_, S>, key: &[u8], v: Option<i64>) {
    if let Some(n) = v {
        e.raw(key);
        e.int(n);
    }
}

#[inline]
fn bytes_field<S: Sink>(e: &mut Encoder<'_, S>, key: &[u8], v: Option<&[u8]>) {
    if let Some(b) = v {
        e.raw(key);
        e.bytes(b);
    }
}

#[inline]
fn flag_field<S: Sink>(e: &mut Encoder<'_, S>, key: &[u8], v: Option<bool>) {
    int_field(e, key, v.map(i64::from));
}

/// Query arguments, keys in ascending order (without the closing `e`).
fn write_args<S: Sink>(e: &mut Encoder<'_, S>, a: &Args<'_>) {
    e.begin_dict();
    int_field(e, b"3:cas", a.cas);
    bytes_field(e, b"2:id", a.id.as_ref().map(|i| &i.as_bytes()[..]));
    flag_field(e, b"12:implied_port", a.implied_port);
    bytes_field(
        e,
        b"9:info_hash",
        a.info_hash.as_ref().map(|i| &i.as_bytes()[..]),
    );
    bytes_field(e, b"1:k", a.key.map(|k| &k[..]));
    flag_field(e, b"6:noseed", a.noseed);
    int_field(e, b"4:port", a.port.map(i64::from));
    bytes_field(e, b"4:salt", a.salt);
    flag_field(e, b"6:scrape", a.scrape);
    flag_field(e, b"4:seed", a.seed);
    int_field(e, b"3:seq", a.seq);
    bytes_field(e, b"3:sig", a.signature.map(|s| &s[..]));
    bytes_field(e, b"6:target", a.target.as_ref().map(|i| &i.as_bytes()[..]));
    bytes_field(e, b"5:token", a.token);
    if let Some(v) = a.value {
        e.raw(b"1:v");
        e.raw(v.as_bytes());
    }
    if let Some(w) = a.want {
        write_want(e, w);
    }
}

fn write_want<S: Sink>(e: &mut Encoder<'_, S>, w: Families) {
    e.raw(b"4:wantl");
    if w.contains(Family::V4) {
        e.raw(b"2:n4");
    }
    if w.contains(Family::V6) {
        e.raw(b"2:n6");
    }
    e.end();
}

/// `1:r` and the response's fields, keys in ascending order (upper case sorts first).
fn write_response<S: Sink>(e: &mut Encoder<'_, S>, r: &Response<'_>) {
    let id = r.id.as_bytes();
    if r.bf_peers.is_none() && r.bf_seeds.is_none() {
        e.raw_cat::<11, 20, 31>(b"1:rd2:id20:", id);
    } else {
        e.raw_array(b"1:rd");
        bytes_field(e, b"4:BFpe", r.bf_peers.map(|b| &b[..]));
        bytes_field(e, b"4:BFsd", r.bf_seeds.map(|b| &b[..]));
        e.raw_cat::<7, 20, 27>(b"2:id20:", id);
    }
    int_field(e, b"8:interval", r.interval);
    bytes_field(e, b"1:k", r.key.map(|k| &k[..]));
    if let Some(nodes) = &r.nodes {
        e.raw_array(b"5:nodes");
        nodes.write(e);
    }
    if let Some(nodes6) = &r.nodes6 {
        e.raw_array(b"6:nodes6");
        nodes6.write(e);
    }
    int_field(e, b"3:num", r.num);
    if let Some(samples) = &r.samples {
        e.raw_array(b"7:samples");
        samples.write(e);
    }
    int_field(e, b"3:seq", r.seq);
    bytes_field(e, b"3:sig", r.signature.map(|s| &s[..]));
    if let Some(token) = r.token {
        e.raw_array(b"5:token");
        e.bytes_header(token.len());
        e.raw_short(token);
    }
    if let Some(v) = r.value {
        e.raw_array(b"1:v");
        e.raw(v.as_bytes());
    }
    if let Some(values) = &r.values {
        e.raw_array(b"6:values");
        values.write(e);
    }
    e.end();
}

fn write_error<S: Sink>(e: &mut Encoder<'_, S>, err: &ErrorMessage<'_>) {
    e.begin_list();
    e.int(err.code.code());
    e.bytes(err.message);
    e.end();
}

/// Writes the bytes a BEP 44 mutable item's signature covers into `buf`: `4:salt<len>:<salt>`
/// when `salt` is not empty, then `3:seqi<seq>e1:v` and the bencoded value; the length
/// written, or `None` if `buf` is too short. (The store's
/// [`signed_buffer`](crate::store::signed_buffer) checks the BEP 44 limits first.)
///
/// ```
/// use btdht::bencode::RawValue;
/// let mut buf = [0u8; 64];
/// let v = RawValue::new(b"12:Hello World!")?;
/// let n = btdht::krpc::encode_signed_buffer(b"foobar", 1, v, &mut buf).unwrap();
/// assert_eq!(&buf[..n], b"4:salt6:foobar3:seqi1e1:v12:Hello World!");
/// # Ok::<(), btdht::bencode::Error>(())
/// ```
pub fn encode_signed_buffer(
    salt: &[u8],
    seq: i64,
    value: RawValue<'_>,
    buf: &mut [u8],
) -> Option<usize> {
    let mut sink = SliceSink::new(buf);
    let mut e = Encoder::new(&mut sink);
    if !salt.is_empty() {
        e.bytes(b"salt");
        e.bytes(salt);
    }
    e.bytes(b"seq");
    e.int(seq);
    e.bytes(b"v");
    e.raw(value.as_bytes());
    sink.written()
}
