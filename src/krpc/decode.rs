//! The strict decoder: reads any datagram into a [`Message`] without allocating, and
//! alone decides what is an error and where. [`Message::decode`] tries the fast path
//! (`fast`) first and comes here for everything it does not take.

use super::compact::{CompactEntry, CompactList, Values, decode_peer};
use super::error::{DecodeError, DecodeErrorKind, Field};
use super::fields::{Args, Envelope, kind_of};
use super::{
    BLOOM_LEN, Body, ErrorCode, ErrorMessage, Message, MessageKind, MutablePut, Put, Query,
    QueryKind, Response,
};
use crate::addr::{Families, Family};
use crate::bencode::{self, Decoder, DictState, ErrorKind, RawValue};
use crate::id::Id;

/// An error before the transaction id and kind are looked up.
#[derive(Clone, Copy, Debug)]
pub(super) struct Fail {
    kind: DecodeErrorKind,
    /// Kept small so `Result<_, Fail>` stays in registers.
    offset: u32,
}

impl From<bencode::Error> for Fail {
    #[cold]
    fn from(e: bencode::Error) -> Self {
        Fail {
            kind: DecodeErrorKind::Bencode(e.kind()),
            offset: u32::try_from(e.offset()).unwrap_or(u32::MAX),
        }
    }
}

#[cold]
fn fail(kind: DecodeErrorKind, offset: usize) -> Fail {
    Fail {
        kind,
        offset: u32::try_from(offset).unwrap_or(u32::MAX),
    }
}

/// Maps a typed read's type mismatch to "wrong type for this field".
#[cold]
fn typed(e: bencode::Error, field: Field) -> Fail {
    match e.kind() {
        ErrorKind::TypeMismatch { .. } => fail(DecodeErrorKind::WrongType(field), e.offset()),
        _ => e.into(),
    }
}

/// The strict decoder: every message the fast path does not take, and every error.
#[inline(never)]
pub(super) fn decode_strict(bytes: &[u8]) -> Result<Message<'_>, DecodeError<'_>> {
    // The query arguments and the response are filled in place and the message is
    // built here, in the return slot: `Message` is large, and returning it through
    // the layers would copy it at each one.
    let mut args = Args::default();
    let mut ret = Response::new(Id::default());
    let (envelope, kind) = match decode_message(bytes, &mut args, &mut ret) {
        Ok(read) => read,
        Err(f) => return Err(recover(bytes, f)),
    };
    // One `Ok(Message)` per kind, so each body is written straight into place.
    match kind {
        BodyKind::Query { method, args_at } => match build_query(method, &args, args_at) {
            Ok(query) => Ok(envelope.with_body(Body::Query(query))),
            Err(f) => Err(recover(bytes, f)),
        },
        BodyKind::Response => Ok(envelope.with_body(Body::Response(ret))),
        BodyKind::Error(e) => Ok(envelope.with_body(Body::Error(e))),
    }
}

/// Turns a failure into a [`DecodeError`], reading `t` and `y` leniently if possible.
#[cold]
#[inline(never)]
fn recover(bytes: &[u8], f: Fail) -> DecodeError<'_> {
    let mut transaction_id = None;
    let mut message_kind = None;
    let mut d = Decoder::new(bytes);
    if let Ok(mut top) = d.expect_dict() {
        while let Ok(Some(key)) = d.next_key(&mut top) {
            let ok = match key {
                b"t" => d.expect_bytes().map(|t| transaction_id = Some(t)).is_ok(),
                b"y" => d.expect_bytes().map(|y| message_kind = kind_of(y)).is_ok(),
                _ => d.skip_value().is_ok(),
            };
            if !ok {
                break;
            }
        }
    }
    DecodeError {
        kind: f.kind,
        offset: f.offset as usize,
        transaction_id,
        message_kind,
    }
}

/// The body, once the arguments or the return values are in place.
enum BodyKind<'a> {
    /// A query of this method, its arguments (starting at `args_at`) read.
    Query {
        method: &'a [u8],
        args_at: usize,
    },
    /// A response, its return values read.
    Response,
    Error(ErrorMessage<'a>),
}

/// Reads the datagram: query arguments into `args`, response values into `ret`.
#[inline(always)]
fn decode_message<'a>(
    bytes: &'a [u8],
    args: &mut Args<'a>,
    ret: &mut Response<'a>,
) -> Result<(Envelope<'a>, BodyKind<'a>), Fail> {
    let mut d = Decoder::new(bytes);
    let mut top = d.expect_dict().map_err(|e| match e.kind() {
        ErrorKind::TypeMismatch { .. } => fail(DecodeErrorKind::NotADictionary, 0),
        _ => e.into(),
    })?;
    let mut t = None;
    let mut y = None;
    let mut q = None;
    let mut version = None;
    let mut ip = None;
    let mut read_only = None;
    let mut args_at = None;
    let mut has_return = None;
    let mut err = None;
    // Each known key fills its own slot, which tells whether it came twice; only the
    // others go through the decoder's key check.
    while let Some(key) = d.next_key_unchecked(&mut top)? {
        match key {
            b"a" => once(&mut args_at, &top, || decode_args(&mut d, args))?,
            b"e" => once(&mut err, &top, || decode_error_list(&mut d))?,
            b"ip" => once(&mut ip, &top, || {
                let at = d.position();
                let b = d.expect_bytes().map_err(|e| typed(e, Field::Ip))?;
                decode_peer(b).ok_or(fail(DecodeErrorKind::InvalidValue(Field::Ip), at))
            })?,
            b"q" => once(&mut q, &top, || {
                d.expect_bytes().map_err(|e| typed(e, Field::Method))
            })?,
            b"r" => once(&mut has_return, &top, || decode_response(&mut d, ret))?,
            b"ro" => once(&mut read_only, &top, || {
                Ok(d.expect_int().map_err(|e| typed(e, Field::ReadOnly))? == 1)
            })?,
            b"t" => once(&mut t, &top, || {
                d.expect_bytes().map_err(|e| typed(e, Field::TransactionId))
            })?,
            b"v" => once(&mut version, &top, || {
                d.expect_bytes().map_err(|e| typed(e, Field::Version))
            })?,
            b"y" => once(&mut y, &top, || {
                let at = d.position();
                let b = d.expect_bytes().map_err(|e| typed(e, Field::Kind))?;
                kind_of(b).ok_or(fail(DecodeErrorKind::UnknownKind, at))
            })?,
            _ => {
                d.check_key(&mut top, key)?;
                d.skip_value()?;
            }
        }
    }
    d.finish()?;
    let end = d.position();
    let missing = |field| fail(DecodeErrorKind::MissingField(field), end);
    let transaction_id = t.ok_or_else(|| missing(Field::TransactionId))?;
    let kind = match y.ok_or_else(|| missing(Field::Kind))? {
        MessageKind::Query => BodyKind::Query {
            method: q.ok_or_else(|| missing(Field::Method))?,
            args_at: args_at.ok_or_else(|| missing(Field::Arguments))?,
        },
        MessageKind::Response if has_return.is_some() => BodyKind::Response,
        MessageKind::Response => return Err(missing(Field::Return)),
        MessageKind::Error => {
            let mut e = err.ok_or_else(|| missing(Field::Error))?;
            e.id = has_return.map(|_| ret.id);
            BodyKind::Error(e)
        }
    };
    let envelope = Envelope {
        transaction_id,
        version,
        ip,
        read_only: read_only.unwrap_or(false),
    };
    Ok((envelope, kind))
}

/// Reads a known key's value into its slot, or fails if the slot is already filled: the
/// key came twice.
#[inline(always)]
fn once<T>(
    slot: &mut Option<T>,
    dict: &DictState<'_>,
    read: impl FnOnce() -> Result<T, Fail>,
) -> Result<(), Fail> {
    if slot.is_some() {
        return Err(dict.duplicate().into());
    }
    *slot = Some(read()?);
    Ok(())
}

#[inline]
fn id_field(d: &mut Decoder<'_>, field: Field) -> Result<Id, Fail> {
    let at = d.position();
    let b = d.expect_bytes().map_err(|e| typed(e, field))?;
    Id::from_slice(b).ok_or(fail(DecodeErrorKind::InvalidValue(field), at))
}

#[inline]
fn array_field<'a, const N: usize>(d: &mut Decoder<'a>, field: Field) -> Result<&'a [u8; N], Fail> {
    let at = d.position();
    let b = d.expect_bytes().map_err(|e| typed(e, field))?;
    b.try_into()
        .map_err(|_| fail(DecodeErrorKind::InvalidValue(field), at))
}

#[inline]
fn flag(d: &mut Decoder<'_>, field: Field) -> Result<i64, Fail> {
    d.expect_int().map_err(|e| typed(e, field))
}

/// Reads `a` into `a`; returns where it started.
fn decode_args<'a>(d: &mut Decoder<'a>, a: &mut Args<'a>) -> Result<usize, Fail> {
    let at = d.position();
    let mut dict = d.expect_dict().map_err(|e| typed(e, Field::Arguments))?;
    while let Some(key) = d.next_key_unchecked(&mut dict)? {
        match key {
            b"id" => once(&mut a.id, &dict, || id_field(d, Field::Id))?,
            b"target" => once(&mut a.target, &dict, || id_field(d, Field::Target))?,
            b"info_hash" => once(&mut a.info_hash, &dict, || id_field(d, Field::InfoHash))?,
            b"token" => once(&mut a.token, &dict, || {
                d.expect_bytes().map_err(|e| typed(e, Field::Token))
            })?,
            b"port" => once(&mut a.port, &dict, || {
                let at = d.position();
                u16::try_from(flag(d, Field::Port)?)
                    .map_err(|_| fail(DecodeErrorKind::InvalidValue(Field::Port), at))
            })?,
            b"implied_port" => once(&mut a.implied_port, &dict, || {
                Ok(flag(d, Field::ImpliedPort)? != 0)
            })?,
            b"seed" => once(&mut a.seed, &dict, || Ok(flag(d, Field::Seed)? == 1))?,
            b"noseed" => once(&mut a.noseed, &dict, || Ok(flag(d, Field::Noseed)? == 1))?,
            b"scrape" => once(&mut a.scrape, &dict, || Ok(flag(d, Field::Scrape)? == 1))?,
            b"want" => once(&mut a.want, &dict, || decode_want(d))?,
            b"seq" => once(&mut a.seq, &dict, || flag(d, Field::Seq))?,
            b"cas" => once(&mut a.cas, &dict, || flag(d, Field::Cas))?,
            b"v" => once(&mut a.value, &dict, || {
                Ok(RawValue::from_checked(d.skip_value()?))
            })?,
            b"k" => once(&mut a.key, &dict, || array_field(d, Field::Key))?,
            b"sig" => once(&mut a.signature, &dict, || array_field(d, Field::Signature))?,
            b"salt" => once(&mut a.salt, &dict, || {
                d.expect_bytes().map_err(|e| typed(e, Field::Salt))
            })?,
            _ => {
                d.check_key(&mut dict, key)?;
                d.skip_value()?;
            }
        }
    }
    Ok(at)
}

fn decode_want(d: &mut Decoder<'_>) -> Result<Families, Fail> {
    d.expect_list().map_err(|e| typed(e, Field::Want))?;
    let mut want = Families::NONE;
    while d.next_item()? {
        match d.expect_bytes().map_err(|e| typed(e, Field::Want))? {
            b"n4" => want = want.with(Family::V4),
            b"n6" => want = want.with(Family::V6),
            _ => {}
        }
    }
    Ok(want)
}

#[inline(always)]
fn build_query<'a>(method: &'a [u8], a: &Args<'a>, at: usize) -> Result<Query<'a>, Fail> {
    let missing = |field| fail(DecodeErrorKind::MissingField(field), at);
    let id = a.id.ok_or_else(|| missing(Field::Id))?;
    let target = || a.target.ok_or_else(|| missing(Field::Target));
    let info_hash = || a.info_hash.ok_or_else(|| missing(Field::InfoHash));
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
            port: a.port.ok_or_else(|| missing(Field::Port))?,
            implied_port: a.implied_port.unwrap_or(false),
            token: a.token.ok_or_else(|| missing(Field::Token))?,
            seed: a.seed.unwrap_or(false),
        },
        b"get" => QueryKind::Get {
            target: target()?,
            seq: a.seq,
        },
        b"put" => QueryKind::Put(Put {
            token: a.token.ok_or_else(|| missing(Field::Token))?,
            value: a.value.ok_or_else(|| missing(Field::Value))?,
            mutable: match a.key {
                None => None,
                Some(key) => Some(MutablePut {
                    key,
                    signature: a.signature.ok_or_else(|| missing(Field::Signature))?,
                    seq: a.seq.ok_or_else(|| missing(Field::Seq))?,
                    salt: a.salt,
                    cas: a.cas,
                }),
            },
        }),
        b"sample_infohashes" => QueryKind::SampleInfohashes { target: target()? },
        _ => QueryKind::Unknown {
            method,
            target: a.target,
            info_hash: a.info_hash,
        },
    };
    Ok(Query {
        id,
        want: a.want,
        kind,
    })
}

fn compact<'a, T: CompactEntry>(
    d: &mut Decoder<'a>,
    field: Field,
) -> Result<CompactList<'a, T>, Fail> {
    let at = d.position();
    let b = d.expect_bytes().map_err(|e| typed(e, field))?;
    CompactList::from_bytes(b).ok_or(fail(DecodeErrorKind::CompactLength(field), at))
}

fn decode_values<'a>(d: &mut Decoder<'a>) -> Result<Values<'a>, Fail> {
    let start = d.position();
    d.expect_list().map_err(|e| typed(e, Field::Values))?;
    let mut count = 0usize;
    loop {
        // Nearly every entry is a 6-byte IPv4 peer: take those without the general path.
        count += d.skip_six_byte_strings();
        if !d.next_item()? {
            break;
        }
        let at = d.position();
        let peer = d.expect_bytes().map_err(|e| typed(e, Field::Values))?;
        if peer.len() != 6 && peer.len() != 18 {
            return Err(fail(DecodeErrorKind::CompactLength(Field::Values), at));
        }
        count += 1;
    }
    let list = d.input().get(start..d.position()).unwrap_or_default();
    Ok(Values::from_checked(list, count))
}

/// Reads `r` into `r` (which holds no field yet).
fn decode_response<'a>(d: &mut Decoder<'a>, r: &mut Response<'a>) -> Result<(), Fail> {
    let at = d.position();
    let mut dict: DictState<'a> = d.expect_dict().map_err(|e| typed(e, Field::Return))?;
    let mut id = None;
    while let Some(key) = d.next_key_unchecked(&mut dict)? {
        match key {
            b"id" => once(&mut id, &dict, || id_field(d, Field::Id))?,
            b"nodes" => once(&mut r.nodes, &dict, || compact(d, Field::Nodes))?,
            b"nodes6" => once(&mut r.nodes6, &dict, || compact(d, Field::Nodes6))?,
            b"values" => once(&mut r.values, &dict, || decode_values(d))?,
            b"token" => once(&mut r.token, &dict, || {
                d.expect_bytes().map_err(|e| typed(e, Field::Token))
            })?,
            b"BFsd" => once(&mut r.bf_seeds, &dict, || {
                array_field::<BLOOM_LEN>(d, Field::BloomSeeds)
            })?,
            b"BFpe" => once(&mut r.bf_peers, &dict, || {
                array_field::<BLOOM_LEN>(d, Field::BloomPeers)
            })?,
            b"samples" => once(&mut r.samples, &dict, || compact(d, Field::Samples))?,
            b"interval" => once(&mut r.interval, &dict, || flag(d, Field::Interval))?,
            b"num" => once(&mut r.num, &dict, || flag(d, Field::Num))?,
            b"v" => once(&mut r.value, &dict, || {
                Ok(RawValue::from_checked(d.skip_value()?))
            })?,
            b"k" => once(&mut r.key, &dict, || array_field(d, Field::Key))?,
            b"seq" => once(&mut r.seq, &dict, || flag(d, Field::Seq))?,
            b"sig" => once(&mut r.signature, &dict, || array_field(d, Field::Signature))?,
            _ => {
                d.check_key(&mut dict, key)?;
                d.skip_value()?;
            }
        }
    }
    r.id = id.ok_or(fail(DecodeErrorKind::MissingField(Field::Id), at))?;
    Ok(())
}

fn decode_error_list<'a>(d: &mut Decoder<'a>) -> Result<ErrorMessage<'a>, Fail> {
    let at = d.position();
    d.expect_list().map_err(|e| typed(e, Field::Error))?;
    let invalid = fail(DecodeErrorKind::InvalidValue(Field::Error), at);
    if !d.next_item()? {
        return Err(invalid);
    }
    let code = d.expect_int().map_err(|e| typed(e, Field::Error))?;
    if !d.next_item()? {
        return Err(invalid);
    }
    let message = d.expect_bytes().map_err(|e| typed(e, Field::Error))?;
    // Extra items are tolerated (and dropped), as long as they are valid bencode.
    while d.next_item()? {
        d.skip_value()?;
    }
    Ok(ErrorMessage::new(ErrorCode::from_code(code), message))
}
