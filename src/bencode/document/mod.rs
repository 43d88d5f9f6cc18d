//! The decoded tree: one arena per decode.

use super::Kind;
use super::encode::{BufSink, EncodeError, Encoder, Sink, SliceSink, bytes_len, int_len};
use super::value::{Dict, Value};
use alloc::vec::Vec;
use core::fmt;

mod build;
mod eq;

pub(super) use build::decode;

/// One decoded value. Byte strings name where they are in the input, lists and
/// dictionaries a run of slots in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Int(i64),
    Bytes(Str),
    List(Span),
    Dict(Span),
}

/// A byte string: `len` bytes of the input from `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Str {
    at: u32,
    len: u32,
}

/// Where a container's items are in the arena: `len` slots from `start`. While its
/// parent is still open, `from` is where everything the container wrote begins (its
/// items, and its own children's before them).
///
/// `u32` offsets keep a slot at 24 bytes; decoding refuses input of 4 GiB or more, so
/// every index fits (a value takes at least two bytes, and the arena holds each at most
/// twice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Span {
    start: u32,
    len: u32,
    from: u32,
}

/// A list item (empty key) or a dictionary entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Slot {
    key: Str,
    node: Node,
}

// What the arena's size (and the capacity it reserves) is counted in.
const _: () = assert!(core::mem::size_of::<Slot>() == 24);

/// The bytes `s` names in `input` (empty if it names none, which decoding never makes).
#[inline]
fn bytes_of(input: &[u8], s: Str) -> &[u8] {
    let at = s.at as usize;
    at.checked_add(s.len as usize)
        .and_then(|end| input.get(at..end))
        .unwrap_or_default()
}

/// What every reference into a document carries: its slots and its input.
#[derive(Clone, Copy)]
struct Arena<'d, 'a> {
    slots: &'d [Slot],
    input: &'a [u8],
}

impl<'d, 'a> Arena<'d, 'a> {
    /// The bytes a string names (empty if it names none, which decoding never makes).
    #[inline]
    fn bytes(self, s: Str) -> &'a [u8] {
        bytes_of(self.input, s)
    }

    /// The key of an entry.
    #[inline]
    fn key(self, slot: &Slot) -> &'a [u8] {
        self.bytes(slot.key)
    }

    /// The slots a span names (empty if it names none, which decoding never makes).
    #[inline]
    fn run(self, span: Span) -> &'d [Slot] {
        let start = span.start as usize;
        start
            .checked_add(span.len as usize)
            .and_then(|end| self.slots.get(start..end))
            .unwrap_or_default()
    }
}

/// A decoded bencode value, as [`Value::decode`] returns it: the whole tree in one arena
/// that the document owns, byte strings borrowed from the input.
///
/// Decoding allocates once, whatever the nesting: one buffer, sized from the input for
/// up to one value per 8 bytes (more than KRPC messages and torrents hold), serves as
/// the stack while decoding and becomes the arena. Only denser input (such as a long
/// list of small integers) makes it grow, by doubling: at most three times, as no input
/// needs more slots than it has bytes, so four allocations at most on any input. A lone
/// integer or string allocates nothing. The arena keeps that capacity (24 bytes a slot, up to three times
/// the input's length); [`Document::shrink_to_fit`] gives back what a document kept for
/// long does not use.
///
/// Read it with the same accessors as a [`ValueRef`] (the document's [`root`]), which
/// hands out [`ListRef`]s and [`DictRef`]s: lookups by key, iteration, each kind's
/// reader. Dictionaries iterate in ascending key order, so a document re-encodes
/// canonically. [`Document::to_value`] gives an owned [`Value`] to edit.
///
/// ```
/// use btdht::bencode::Value;
///
/// let doc = Value::decode(b"d4:infod5:filesld6:lengthi7e4:pathl1:a1:beee4:name1:xee")?;
/// let info = doc.get(b"info").and_then(|v| v.as_dict()).expect("an info dict");
/// assert_eq!(info.get(b"name").and_then(|v| v.as_bytes()), Some(&b"x"[..]));
/// for file in info.get(b"files").and_then(|v| v.as_list()).into_iter().flatten() {
///     assert_eq!(file.get(b"length").and_then(|v| v.as_int()), Some(7));
///     let path: Vec<&[u8]> = file
///         .get(b"path")
///         .and_then(|v| v.as_list())
///         .into_iter()
///         .flatten()
///         .filter_map(|part| part.as_bytes())
///         .collect();
///     assert_eq!(path, [&b"a"[..], b"b"]);
/// }
/// # Ok::<(), btdht::bencode::Error>(())
/// ```
///
/// [`root`]: Document::root
#[derive(Clone)]
pub struct Document<'a> {
    root: Node,
    slots: Vec<Slot>,
    input: &'a [u8],
}

/// A value inside a [`Document`]: an integer, a byte string, a [`ListRef`] or a
/// [`DictRef`]. Cheap to copy.
#[derive(Clone, Copy)]
pub struct ValueRef<'d, 'a> {
    arena: Arena<'d, 'a>,
    node: &'d Node,
}

/// A list inside a [`Document`].
#[derive(Clone, Copy)]
pub struct ListRef<'d, 'a> {
    arena: Arena<'d, 'a>,
    items: &'d [Slot],
}

/// A dictionary inside a [`Document`], its entries in ascending key order, each key once.
#[derive(Clone, Copy)]
pub struct DictRef<'d, 'a> {
    arena: Arena<'d, 'a>,
    entries: &'d [Slot],
}

/// The items of a [`ListRef`], in order.
#[derive(Clone)]
pub struct Items<'d, 'a> {
    arena: Arena<'d, 'a>,
    iter: core::slice::Iter<'d, Slot>,
}

/// The entries of a [`DictRef`], in ascending key order.
#[derive(Clone)]
pub struct Entries<'d, 'a> {
    arena: Arena<'d, 'a>,
    iter: core::slice::Iter<'d, Slot>,
}

impl<'a> Document<'a> {
    /// The top-level value.
    pub fn root(&self) -> ValueRef<'_, 'a> {
        ValueRef {
            arena: Arena {
                slots: &self.slots,
                input: self.input,
            },
            node: &self.root,
        }
    }

    /// Gives back the arena's unused capacity (one reallocation), for a document kept
    /// for long.
    pub fn shrink_to_fit(&mut self) {
        self.slots.shrink_to_fit();
    }

    /// The kind of the top-level value.
    pub fn kind(&self) -> Kind {
        self.root().kind()
    }

    /// The top-level integer, if it is one.
    pub fn as_int(&self) -> Option<i64> {
        self.root().as_int()
    }

    /// The top-level byte string, if it is one.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        self.root().as_bytes()
    }

    /// The top-level list, if it is one.
    pub fn as_list(&self) -> Option<ListRef<'_, 'a>> {
        self.root().as_list()
    }

    /// The top-level dictionary, if it is one.
    pub fn as_dict(&self) -> Option<DictRef<'_, 'a>> {
        self.root().as_dict()
    }

    /// `root[key]` if the top-level value is a dictionary holding `key`.
    pub fn get(&self, key: &[u8]) -> Option<ValueRef<'_, 'a>> {
        self.root().get(key)
    }

    /// An owned copy of the tree, to edit (one allocation per list and dictionary).
    pub fn to_value(&self) -> Value<'a> {
        self.root().to_value()
    }

    /// Exact length of the (canonical) encoding.
    pub fn encoded_len(&self) -> usize {
        self.root().encoded_len()
    }

    /// Encodes into `out` and returns the number of bytes written; fails if `out` is
    /// too small.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        self.root().encode(out)
    }

    /// Appends the encoding to a [`bytes::BufMut`]; fails if it does not have room.
    pub fn encode_buf<B: bytes::BufMut>(&self, buf: &mut B) -> Result<usize, EncodeError> {
        self.root().encode_buf(buf)
    }

    /// The encoding in a new `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        self.root().to_vec()
    }

    /// Writes the encoding through an [`Encoder`].
    pub fn encode_to<S: Sink>(&self, e: &mut Encoder<'_, S>) {
        self.root().encode_to(e)
    }
}

impl<'d, 'a> ValueRef<'d, 'a> {
    fn at(arena: Arena<'d, 'a>, node: &'d Node) -> Self {
        ValueRef { arena, node }
    }

    /// Which kind of value this is.
    pub fn kind(&self) -> Kind {
        match self.node {
            Node::Int(_) => Kind::Int,
            Node::Bytes(_) => Kind::Bytes,
            Node::List(_) => Kind::List,
            Node::Dict(_) => Kind::Dict,
        }
    }

    /// The integer, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self.node {
            Node::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The byte string, if this is one.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.node {
            Node::Bytes(b) => Some(self.arena.bytes(*b)),
            _ => None,
        }
    }

    /// The list, if this is one.
    pub fn as_list(&self) -> Option<ListRef<'d, 'a>> {
        match self.node {
            Node::List(span) => Some(ListRef {
                arena: self.arena,
                items: self.arena.run(*span),
            }),
            _ => None,
        }
    }

    /// The dictionary, if this is one.
    pub fn as_dict(&self) -> Option<DictRef<'d, 'a>> {
        match self.node {
            Node::Dict(span) => Some(DictRef {
                arena: self.arena,
                entries: self.arena.run(*span),
            }),
            _ => None,
        }
    }

    /// `self[key]` if this is a dictionary holding `key`.
    pub fn get(&self, key: &[u8]) -> Option<ValueRef<'d, 'a>> {
        self.as_dict()?.get(key)
    }

    /// An owned copy of this value, to edit.
    pub fn to_value(&self) -> Value<'a> {
        match self.node {
            Node::Int(n) => Value::Int(*n),
            Node::Bytes(b) => Value::Bytes(self.arena.bytes(*b)),
            Node::List(span) => Value::List(
                self.arena
                    .run(*span)
                    .iter()
                    .map(|s| ValueRef::at(self.arena, &s.node).to_value())
                    .collect(),
            ),
            Node::Dict(span) => Value::Dict(Dict::from_sorted(
                self.arena
                    .run(*span)
                    .iter()
                    .map(|s| {
                        (
                            self.arena.key(s),
                            ValueRef::at(self.arena, &s.node).to_value(),
                        )
                    })
                    .collect(),
            )),
        }
    }

    /// Exact length of the (canonical) encoding.
    pub fn encoded_len(&self) -> usize {
        match self.node {
            Node::Int(n) => int_len(*n),
            Node::Bytes(b) => bytes_len(b.len as usize),
            Node::List(span) => {
                2 + self
                    .arena
                    .run(*span)
                    .iter()
                    .map(|s| ValueRef::at(self.arena, &s.node).encoded_len())
                    .sum::<usize>()
            }
            Node::Dict(span) => {
                2 + self
                    .arena
                    .run(*span)
                    .iter()
                    .map(|s| {
                        bytes_len(s.key.len as usize)
                            + ValueRef::at(self.arena, &s.node).encoded_len()
                    })
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
    /// if it does not have room for [`ValueRef::encoded_len`] bytes.
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
        match self.node {
            Node::Int(n) => e.int(*n),
            Node::Bytes(b) => e.bytes(self.arena.bytes(*b)),
            Node::List(span) => {
                e.begin_list();
                for s in self.arena.run(*span) {
                    ValueRef::at(self.arena, &s.node).encode_to(e);
                }
                e.end();
            }
            Node::Dict(span) => {
                e.begin_dict();
                for s in self.arena.run(*span) {
                    e.bytes(self.arena.key(s));
                    ValueRef::at(self.arena, &s.node).encode_to(e);
                }
                e.end();
            }
        }
    }
}

impl<'d, 'a> ListRef<'d, 'a> {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item at `index`.
    pub fn get(&self, index: usize) -> Option<ValueRef<'d, 'a>> {
        self.items
            .get(index)
            .map(|s| ValueRef::at(self.arena, &s.node))
    }

    /// The items, in order.
    pub fn iter(&self) -> Items<'d, 'a> {
        Items {
            arena: self.arena,
            iter: self.items.iter(),
        }
    }
}

impl<'d, 'a> DictRef<'d, 'a> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dictionary is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value under `key` (a binary search).
    pub fn get(&self, key: &[u8]) -> Option<ValueRef<'d, 'a>> {
        let arena = self.arena;
        let i = self
            .entries
            .binary_search_by(|s| arena.key(s).cmp(key))
            .ok()?;
        self.entries
            .get(i)
            .map(|s| ValueRef::at(self.arena, &s.node))
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// The entries, in ascending key order.
    pub fn iter(&self) -> Entries<'d, 'a> {
        Entries {
            arena: self.arena,
            iter: self.entries.iter(),
        }
    }

    /// The keys, in ascending order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + DoubleEndedIterator + 'd
    where
        'a: 'd,
    {
        let arena = self.arena;
        self.entries.iter().map(move |s| arena.key(s))
    }
}

impl<'d, 'a> Iterator for Items<'d, 'a> {
    type Item = ValueRef<'d, 'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.iter.next()?;
        Some(ValueRef::at(self.arena, &s.node))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl DoubleEndedIterator for Items<'_, '_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let s = self.iter.next_back()?;
        Some(ValueRef::at(self.arena, &s.node))
    }
}

impl ExactSizeIterator for Items<'_, '_> {}

impl fmt::Debug for Items<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}
impl core::iter::FusedIterator for Items<'_, '_> {}

impl<'d, 'a> Iterator for Entries<'d, 'a> {
    type Item = (&'a [u8], ValueRef<'d, 'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.iter.next()?;
        Some((self.arena.key(s), ValueRef::at(self.arena, &s.node)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl DoubleEndedIterator for Entries<'_, '_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let s = self.iter.next_back()?;
        Some((self.arena.key(s), ValueRef::at(self.arena, &s.node)))
    }
}

impl ExactSizeIterator for Entries<'_, '_> {}

impl fmt::Debug for Entries<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.clone()).finish()
    }
}
impl core::iter::FusedIterator for Entries<'_, '_> {}

impl<'d, 'a> IntoIterator for ListRef<'d, 'a> {
    type Item = ValueRef<'d, 'a>;
    type IntoIter = Items<'d, 'a>;

    fn into_iter(self) -> Items<'d, 'a> {
        self.iter()
    }
}

impl<'d, 'a> IntoIterator for DictRef<'d, 'a> {
    type Item = (&'a [u8], ValueRef<'d, 'a>);
    type IntoIter = Entries<'d, 'a>;

    fn into_iter(self) -> Entries<'d, 'a> {
        self.iter()
    }
}
