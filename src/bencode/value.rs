//! The owned bencode tree, to build and edit.

use super::document::{self, Document};
use super::encode::{BufSink, EncodeError, Encoder, Sink, SliceSink, bytes_len, int_len};
use super::{DecodeOptions, Error};
use alloc::vec::Vec;

/// Any bencode value, borrowing its byte strings: the tree to build, edit and encode.
///
/// Decoding gives a [`Document`] instead (one arena for the whole tree), which compares
/// equal to the `Value` it holds and turns into one with [`Document::to_value`].
///
/// ```
/// use btdht::bencode::{Dict, Value};
///
/// let mut info = Dict::new();
/// info.insert(b"name", Value::Bytes(b"ubuntu.iso"));
/// info.insert(b"length", Value::Int(3_654_957_056));
/// let v = Value::Dict(info);
///
/// let bytes = v.to_vec();
/// assert_eq!(bytes, b"d6:lengthi3654957056e4:name10:ubuntu.isoe");
/// assert_eq!(Value::decode(&bytes)?, v);
/// # Ok::<(), btdht::bencode::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value<'a> {
    /// `i…e`
    Int(i64),
    /// `<len>:<bytes>`
    Bytes(&'a [u8]),
    /// `l…e`
    List(Vec<Value<'a>>),
    /// `d…e`
    Dict(Dict<'a>),
}

/// A dictionary: entries kept sorted by key, each key once, so it always encodes
/// canonically.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Dict<'a> {
    entries: Vec<(&'a [u8], Value<'a>)>,
}

impl<'a> Dict<'a> {
    /// An empty dictionary.
    pub const fn new() -> Self {
        Dict {
            entries: Vec::new(),
        }
    }

    /// Inserts `value` under `key`, returning the value it replaces.
    pub fn insert(&mut self, key: &'a [u8], value: Value<'a>) -> Option<Value<'a>> {
        match self.entries.binary_search_by(|(k, _)| (*k).cmp(key)) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|slot| core::mem::replace(&mut slot.1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// The value under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        let i = self.entries.binary_search_by(|(k, _)| (*k).cmp(key)).ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    /// Removes and returns the value under `key`.
    pub fn remove(&mut self, key: &[u8]) -> Option<Value<'a>> {
        let i = self.entries.binary_search_by(|(k, _)| (*k).cmp(key)).ok()?;
        Some(self.entries.remove(i).1)
    }

    /// Entries in ascending key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'a [u8], &Value<'a>)> + '_ {
        self.entries.iter().map(|(k, v)| (*k, v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries already sorted by key, each key once.
    pub(super) fn from_sorted(entries: Vec<(&'a [u8], Value<'a>)>) -> Self {
        Dict { entries }
    }

    /// The entries, sorted by key.
    pub fn into_entries(self) -> Vec<(&'a [u8], Value<'a>)> {
        self.entries
    }
}

impl<'a> FromIterator<(&'a [u8], Value<'a>)> for Dict<'a> {
    /// Collects entries; a later duplicate key replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = (&'a [u8], Value<'a>)>>(iter: I) -> Self {
        let mut d = Dict::new();
        for (k, v) in iter {
            d.insert(k, v);
        }
        d
    }
}

impl<'a> Value<'a> {
    /// Decodes exactly one value with the default [`DecodeOptions`] (keys in any order but
    /// unique, depth at most [`DEFAULT_MAX_DEPTH`](super::DEFAULT_MAX_DEPTH)) into a
    /// [`Document`]: the whole tree in one arena, allocated once whatever its nesting (up
    /// to four times on the densest input, see [`Document`]).
    /// [`Document::to_value`] turns it into a `Value` to edit.
    pub fn decode(input: &'a [u8]) -> Result<Document<'a>, Error> {
        Self::decode_with(input, DecodeOptions::new())
    }

    /// Decodes exactly one value under the given options (see [`Value::decode`]).
    pub fn decode_with(input: &'a [u8], options: DecodeOptions) -> Result<Document<'a>, Error> {
        document::decode(input, options)
    }

    /// Exact length of the encoding.
    pub fn encoded_len(&self) -> usize {
        match self {
            Value::Int(n) => int_len(*n),
            Value::Bytes(b) => bytes_len(b.len()),
            Value::List(items) => 2 + items.iter().map(Value::encoded_len).sum::<usize>(),
            Value::Dict(d) => {
                2 + d
                    .entries
                    .iter()
                    .map(|(k, v)| bytes_len(k.len()) + v.encoded_len())
                    .sum::<usize>()
            }
        }
    }

    /// Encodes into `out` and returns the number of bytes written; fails (writing nothing
    /// useful) if `out` is too small.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let available = out.len();
        let mut sink = SliceSink::new(out);
        self.encode_to(&mut Encoder::new(&mut sink));
        sink.written()
            .ok_or_else(|| EncodeError::new(self.encoded_len(), available))
    }

    /// Appends the encoding to a [`bytes::BufMut`] (e.g. `Vec<u8>` or `BytesMut`); fails
    /// if it does not have room for [`Value::encoded_len`] bytes.
    pub fn encode_buf<B: bytes::BufMut>(&self, buf: &mut B) -> Result<usize, EncodeError> {
        let len = self.encoded_len();
        if buf.remaining_mut() < len {
            return Err(EncodeError::new(len, buf.remaining_mut()));
        }
        self.encode_to(&mut Encoder::new(&mut BufSink(buf)));
        Ok(len)
    }

    /// The encoding in a new `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.encode_to(&mut Encoder::new(&mut BufSink(&mut v)));
        v
    }

    /// Writes the encoding through an [`Encoder`].
    pub fn encode_to<S: Sink>(&self, e: &mut Encoder<'_, S>) {
        match self {
            Value::Int(n) => e.int(*n),
            Value::Bytes(b) => e.bytes(b),
            Value::List(items) => {
                e.begin_list();
                for v in items {
                    v.encode_to(e);
                }
                e.end();
            }
            Value::Dict(d) => {
                e.begin_dict();
                for (k, v) in &d.entries {
                    e.bytes(k);
                    v.encode_to(e);
                }
                e.end();
            }
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The byte string, if this is one.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The list items, if this is a list.
    pub fn as_list(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The dictionary, if this is one.
    pub fn as_dict(&self) -> Option<&Dict<'a>> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// `self[key]` if this is a dictionary holding `key`.
    pub fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        self.as_dict()?.get(key)
    }
}
