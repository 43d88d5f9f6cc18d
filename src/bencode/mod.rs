//! Strict, zero-copy bencode.
//!
//! Two levels of API:
//!
//! - [`Decoder`]: a non-allocating cursor that reads one [`Token`] at a time, with typed
//!   helpers (`expect_dict`, `next_key`, `expect_bytes`, …). [`krpc`](crate::krpc) decodes
//!   whole datagrams with it and builds no tree. [`Encoder`] is its writing twin.
//! - [`Value::decode`]: any bencode (such as BEP 44 values or torrents) into a
//!   [`Document`], the whole tree in one arena (allocated once however many lists and
//!   dictionaries it holds, at most four times on the densest input), read through [`ValueRef`], [`ListRef`] and [`DictRef`]:
//!   lookups by key, iteration, each kind's reader. [`Value`] is the owned tree to build,
//!   edit and encode ([`Document::to_value`] gives one).
//!
//! # Strictness
//!
//! Decoding accepts exactly one value and rejects, with the byte offset of the problem:
//! integers with leading zeros or `-0`, integers outside `i64`, string lengths that run past
//! the input, nesting deeper than [`DecodeOptions::max_depth`], dictionary keys that are not
//! byte strings, duplicate keys, and trailing bytes. Keys may arrive in any order
//! ([`KeyOrder::Any`], the default, because some DHT clients send unsorted dictionaries) or
//! must be strictly ascending ([`KeyOrder::Sorted`], canonical bencode, as BEP 44 requires of
//! signed values). Encoding always writes keys in ascending byte order.
//!
//! ```
//! use btdht::bencode::{ErrorKind, Value};
//!
//! let v = Value::decode(b"d3:cow3:moo4:spaml1:a1:bee")?;
//! assert_eq!(v.get(b"cow").and_then(|v| v.as_bytes()), Some(&b"moo"[..]));
//! assert_eq!(v.get(b"spam").and_then(|v| v.as_list()).map(|l| l.len()), Some(2));
//!
//! let err = Value::decode(b"i03e").unwrap_err();
//! assert_eq!((err.kind(), err.offset()), (ErrorKind::LeadingZero, 1));
//! # Ok::<(), btdht::bencode::Error>(())
//! ```

mod decode;
mod document;
mod encode;
mod value;

pub use decode::{Decoder, DictState, Token};
pub use document::{DictRef, Document, Entries, Items, ListRef, ValueRef};
pub use encode::{EncodeError, Encoder, Sink, SliceSink, bytes_len, int_len};
pub use value::{Dict, Value};

use core::fmt;

/// Default nesting limit.
///
/// KRPC itself nests three levels deep (message, arguments, `want` list); BEP 44 values
/// are at most 1000 bytes and real ones nest a handful of levels. 32 leaves ample room
/// while bounding the recursion of [`Value::decode`] and of the validating skip to 32
/// stack frames, which matters on small embedded stacks and against "depth bombs" such as
/// `llllllll…`.
pub const DEFAULT_MAX_DEPTH: usize = 32;

/// A dictionary whose keys arrive out of order is checked for duplicates when it closes,
/// without allocating; such a dictionary may hold at most this many keys
/// ([`ErrorKind::TooManyKeys`] otherwise). Sorted dictionaries have no such limit, and
/// [`Value::decode`] (which allocates anyway) has none either.
pub const MAX_UNSORTED_KEYS: usize = 64;

/// Which order dictionary keys must come in when decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum KeyOrder {
    /// Any order, but each key at most once (what DHT clients actually send).
    #[default]
    Any,
    /// Strictly ascending raw byte order: canonical bencode.
    Sorted,
}

/// Limits and rules for decoding.
///
/// ```
/// use btdht::bencode::{DecodeOptions, KeyOrder, Value};
///
/// let strict = DecodeOptions::new().key_order(KeyOrder::Sorted).max_depth(4);
/// assert!(Value::decode_with(b"d1:bi1e1:ai2ee", strict).is_err());
/// assert!(Value::decode(b"d1:bi1e1:ai2ee").is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecodeOptions {
    max_depth: usize,
    key_order: KeyOrder,
}

impl DecodeOptions {
    /// Depth [`DEFAULT_MAX_DEPTH`], keys in any order.
    pub const fn new() -> Self {
        DecodeOptions {
            max_depth: DEFAULT_MAX_DEPTH,
            key_order: KeyOrder::Any,
        }
    }

    /// Sets how many lists and dictionaries may be open at once (at least 1 is needed
    /// to decode any container). Each level costs one stack frame in [`Value::decode`]
    /// and [`Decoder::skip_value`] (a few dozen bytes), so keep it modest on small stacks.
    pub const fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets the rule for dictionary key order.
    pub const fn key_order(mut self, order: KeyOrder) -> Self {
        self.key_order = order;
        self
    }

    /// The nesting limit.
    pub const fn depth_limit(&self) -> usize {
        self.max_depth
    }

    /// The key order rule.
    pub const fn order(&self) -> KeyOrder {
        self.key_order
    }
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// The four kinds of bencode value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `i…e`
    Int,
    /// `<len>:<bytes>`
    Bytes,
    /// `l…e`
    List,
    /// `d…e`
    Dict,
}

/// What went wrong while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended inside a value.
    UnexpectedEof,
    /// A byte that cannot start a value (nor close a container here).
    InvalidByte,
    /// `e` where a value was required (a dictionary key without a value, or a stray `e`).
    UnexpectedEnd,
    /// An integer or a string length with a superfluous leading zero (`i03e`, `03:abc`).
    LeadingZero,
    /// The integer `-0`.
    NegativeZero,
    /// An integer outside the `i64` range.
    IntegerOverflow,
    /// An integer that is not `i`, an optional `-`, digits and `e`.
    InvalidInteger,
    /// A string length that is not digits followed by `:`, or does not fit in `usize`.
    InvalidLength,
    /// A string whose length runs past the end of the input.
    LengthPastEnd,
    /// More nested lists and dictionaries than [`DecodeOptions::max_depth`].
    DepthExceeded,
    /// A dictionary key that is not a byte string.
    NonStringKey,
    /// The same key twice in one dictionary.
    DuplicateKey,
    /// A key out of ascending order while [`KeyOrder::Sorted`] was required.
    UnsortedKey,
    /// An unsorted dictionary with more than [`MAX_UNSORTED_KEYS`] keys.
    TooManyKeys,
    /// Bytes after the one complete value.
    TrailingBytes,
    /// Input of 4 GiB or more given to [`Value::decode`], whose document indexes it
    /// with 32 bits.
    InputTooLong,
    /// A value of another kind than the one a typed reader expected.
    TypeMismatch {
        /// What the reader expected.
        expected: Kind,
    },
}

/// A decoding error: what went wrong, and at which byte offset of the input.
///
/// Eight bytes, so results carrying it stay in registers on the hot path. Offsets past
/// 4 GiB read as `u32::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Error {
    kind: ErrorKind,
    offset: u32,
}

impl Error {
    #[inline]
    pub(crate) const fn new(kind: ErrorKind, offset: usize) -> Self {
        let offset = if offset > u32::MAX as usize {
            u32::MAX
        } else {
            offset as u32
        };
        Error { kind, offset }
    }

    /// What went wrong.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Byte offset in the input where the problem was found.
    pub const fn offset(&self) -> usize {
        self.offset as usize
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ErrorKind::UnexpectedEof => "input ends inside a value",
            ErrorKind::InvalidByte => "byte cannot start a value",
            ErrorKind::UnexpectedEnd => "'e' where a value is required",
            ErrorKind::LeadingZero => "number with a leading zero",
            ErrorKind::NegativeZero => "integer -0",
            ErrorKind::IntegerOverflow => "integer outside the i64 range",
            ErrorKind::InvalidInteger => "malformed integer",
            ErrorKind::InvalidLength => "malformed string length",
            ErrorKind::LengthPastEnd => "string length runs past the end of the input",
            ErrorKind::DepthExceeded => "nesting deeper than the limit",
            ErrorKind::NonStringKey => "dictionary key is not a byte string",
            ErrorKind::DuplicateKey => "duplicate dictionary key",
            ErrorKind::UnsortedKey => "dictionary keys out of order",
            ErrorKind::TooManyKeys => "too many keys in an unsorted dictionary",
            ErrorKind::TrailingBytes => "trailing bytes after the value",
            ErrorKind::InputTooLong => "input of 4 GiB or more",
            ErrorKind::TypeMismatch { expected } => {
                return write!(f, "expected {}", kind_name(*expected));
            }
        };
        f.write_str(s)
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Int => "an integer",
        Kind::Bytes => "a byte string",
        Kind::List => "a list",
        Kind::Dict => "a dictionary",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bencode: {} at byte {}", self.kind, self.offset)
    }
}

impl core::error::Error for Error {}

/// One complete, checked bencoded value kept as its raw bytes (e.g. a BEP 44 `v`), so it
/// can be hashed, signed and forwarded exactly as it arrived.
///
/// ```
/// use btdht::bencode::RawValue;
///
/// let v = RawValue::new(b"12:Hello World!")?;
/// assert_eq!(v.as_bytes(), b"12:Hello World!");
/// assert!(RawValue::new(b"12:Hello").is_err());
/// # Ok::<(), btdht::bencode::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawValue<'a>(&'a [u8]);

impl<'a> RawValue<'a> {
    /// Checks that `bytes` is exactly one bencoded value (default [`DecodeOptions`]).
    pub fn new(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut d = Decoder::new(bytes);
        d.skip_value()?;
        d.finish()?;
        Ok(RawValue(bytes))
    }

    /// Wraps bytes a [`Decoder`] has already checked.
    pub(crate) const fn from_checked(bytes: &'a [u8]) -> Self {
        RawValue(bytes)
    }

    /// The encoded bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// Whether the value is canonical bencode (every dictionary's keys strictly ascending),
    /// as BEP 44 requires of stored and signed values.
    pub fn is_canonical(&self) -> bool {
        let mut d = Decoder::with_options(self.0, DecodeOptions::new().key_order(KeyOrder::Sorted));
        d.skip_value().is_ok() && d.finish().is_ok()
    }

    /// Decodes the value into a [`Document`].
    pub fn decode(&self) -> Result<Document<'a>, Error> {
        Value::decode(self.0)
    }
}

impl fmt::Debug for RawValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawValue(")?;
        for &b in self.0 {
            if b.is_ascii_graphic() || b == b' ' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str(")")
    }
}
