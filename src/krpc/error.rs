//! Why a datagram is not a valid KRPC message.

use super::MessageKind;
use crate::bencode;
use core::fmt;

/// A KRPC field, named by its key on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `t`
    TransactionId,
    /// `y`
    Kind,
    /// `q`
    Method,
    /// `a`
    Arguments,
    /// `r`
    Return,
    /// `e`
    Error,
    /// top-level `v`
    Version,
    /// `ip`
    Ip,
    /// `ro`
    ReadOnly,
    /// `id`
    Id,
    /// `target`
    Target,
    /// `info_hash`
    InfoHash,
    /// `port`
    Port,
    /// `implied_port`
    ImpliedPort,
    /// `token`
    Token,
    /// `seed`
    Seed,
    /// `noseed`
    Noseed,
    /// `scrape`
    Scrape,
    /// `want`
    Want,
    /// `nodes`
    Nodes,
    /// `nodes6`
    Nodes6,
    /// `values`
    Values,
    /// `BFsd`
    BloomSeeds,
    /// `BFpe`
    BloomPeers,
    /// `samples`
    Samples,
    /// `interval`
    Interval,
    /// `num`
    Num,
    /// BEP 44 `v`
    Value,
    /// `k`
    Key,
    /// `seq`
    Seq,
    /// `sig`
    Signature,
    /// `salt`
    Salt,
    /// `cas`
    Cas,
}

impl Field {
    /// The key as it appears on the wire.
    pub const fn key(self) -> &'static str {
        match self {
            Field::TransactionId => "t",
            Field::Kind => "y",
            Field::Method => "q",
            Field::Arguments => "a",
            Field::Return => "r",
            Field::Error => "e",
            Field::Version | Field::Value => "v",
            Field::Ip => "ip",
            Field::ReadOnly => "ro",
            Field::Id => "id",
            Field::Target => "target",
            Field::InfoHash => "info_hash",
            Field::Port => "port",
            Field::ImpliedPort => "implied_port",
            Field::Token => "token",
            Field::Seed => "seed",
            Field::Noseed => "noseed",
            Field::Scrape => "scrape",
            Field::Want => "want",
            Field::Nodes => "nodes",
            Field::Nodes6 => "nodes6",
            Field::Values => "values",
            Field::BloomSeeds => "BFsd",
            Field::BloomPeers => "BFpe",
            Field::Samples => "samples",
            Field::Interval => "interval",
            Field::Num => "num",
            Field::Key => "k",
            Field::Seq => "seq",
            Field::Signature => "sig",
            Field::Salt => "salt",
            Field::Cas => "cas",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// What made a datagram invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The bytes are not valid bencode.
    Bencode(bencode::ErrorKind),
    /// The top level is not a dictionary.
    NotADictionary,
    /// A required key is missing.
    MissingField(Field),
    /// A known key holds a value of the wrong bencode type.
    WrongType(Field),
    /// A known key holds a value of the right type but a wrong length or range.
    InvalidValue(Field),
    /// A compact list (`nodes`, `nodes6`, `samples`) whose length is not a multiple of
    /// its entry size, or a `values` entry that is neither 6 nor 18 bytes.
    CompactLength(Field),
    /// `y` is not `q`, `r` or `e`.
    UnknownKind,
}

/// A datagram that is not a valid KRPC message.
///
/// It keeps what could still be read, so a node can answer a malformed query with error
/// 203 and the querier's transaction id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecodeError<'a> {
    pub(crate) kind: DecodeErrorKind,
    pub(crate) offset: usize,
    pub(crate) transaction_id: Option<&'a [u8]>,
    pub(crate) message_kind: Option<MessageKind>,
}

impl<'a> DecodeError<'a> {
    /// What was wrong.
    pub const fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// Byte offset in the datagram where the problem was found.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The message's `t`, if it could be read.
    pub const fn transaction_id(&self) -> Option<&'a [u8]> {
        self.transaction_id
    }

    /// The message's `y`, if it could be read.
    pub const fn message_kind(&self) -> Option<MessageKind> {
        self.message_kind
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeErrorKind::Bencode(k) => write!(f, "{k}"),
            DecodeErrorKind::NotADictionary => f.write_str("message is not a dictionary"),
            DecodeErrorKind::MissingField(k) => write!(f, "missing key '{k}'"),
            DecodeErrorKind::WrongType(k) => write!(f, "key '{k}' has the wrong type"),
            DecodeErrorKind::InvalidValue(k) => write!(f, "key '{k}' has an invalid value"),
            DecodeErrorKind::CompactLength(k) => {
                write!(
                    f,
                    "key '{k}' has a length that is not a whole number of entries"
                )
            }
            DecodeErrorKind::UnknownKind => f.write_str("'y' is not q, r or e"),
        }
    }
}

impl fmt::Display for DecodeError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "krpc: {} at byte {}", self.kind, self.offset)
    }
}

impl core::error::Error for DecodeError<'_> {}

impl core::error::Error for DecodeErrorKind {}
