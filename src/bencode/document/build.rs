//! Decoding into a document: one buffer, a stack while decoding, then the arena.

use super::{Document, Node, Slot, Span, Str, bytes_of};
use crate::bencode::decode::{Decoder, DictState, Token};
use crate::bencode::{DecodeOptions, Error, ErrorKind, Kind};
use alloc::vec::Vec;

/// The one buffer a decode fills, which becomes the document's arena. It works as a
/// stack: each container pushes its items as it reads them. When a container closes and
/// its items lie together (none of them a container), they stay where they are; else
/// (their children's items lie between them) they are copied, in order, to the top. So
/// every container's items end up contiguous, each item is written at most twice, and
/// nothing is freed until the document is.
struct Build {
    slots: Vec<Slot>,
    /// Slots to reserve when the first container opens.
    reserve: usize,
}

/// The input length from which decoding fails (see [`Span`]).
const MAX_INPUT: usize = u32::MAX as usize;

/// Decodes one value into a [`Document`] (the body of [`Value::decode_with`]).
pub(in crate::bencode) fn decode<'a>(
    input: &'a [u8],
    options: DecodeOptions,
) -> Result<Document<'a>, Error> {
    if input.len() >= MAX_INPUT {
        return Err(Error::new(ErrorKind::InputTooLong, MAX_INPUT));
    }
    let mut d = Decoder::with_options(input, options);
    let mut b = Build {
        slots: Vec::new(),
        // One value per 8 bytes: more than KRPC (one per ~10) and torrents (one per ~14
        // in the file list, far fewer in all) hold. A value takes at least 2 bytes.
        reserve: input.len() / 8 + 8,
    };
    let root = container(&mut d, &mut b)?;
    d.finish()?;
    Ok(Document {
        root,
        slots: b.slots,
        input,
    })
}

/// Where the string that ends at the decoder's position lies in the input.
#[inline(always)]
fn str_before(d: &Decoder<'_>, s: &[u8]) -> Str {
    Str {
        at: index(d.position().saturating_sub(s.len())),
        len: index(s.len()),
    }
}

/// Reads one container item and pushes it under `key`; returns whether it is itself a
/// container. Leaves are read inline and written straight into their slot: returned
/// first as a `Result<Node>`, they would be written to the stack in pieces and read back
/// whole, which stalls the CPU's store forwarding on every item.
#[inline(always)]
fn item(d: &mut Decoder<'_>, b: &mut Build, key: Str) -> Result<bool, Error> {
    match d.peek_kind() {
        Some(Kind::Bytes) => {
            let s = d.expect_bytes()?;
            let node = Node::Bytes(str_before(d, s));
            b.slots.push(Slot { key, node });
            Ok(false)
        }
        Some(Kind::Int) => {
            let node = Node::Int(d.expect_int()?);
            b.slots.push(Slot { key, node });
            Ok(false)
        }
        _ => {
            let node = container(d, b)?;
            b.slots.push(Slot { key, node });
            Ok(true)
        }
    }
}

/// Reads one value (the top-level one, or a list or dictionary inside): recursive
/// descent, its depth bounded by the decoder's limit.
fn container(d: &mut Decoder<'_>, b: &mut Build) -> Result<Node, Error> {
    let start = d.position();
    match d.next_token()? {
        Token::Int(n) => Ok(Node::Int(n)),
        Token::Bytes(s) => Ok(Node::Bytes(str_before(d, s))),
        Token::List => {
            reserve(b);
            let mark = b.slots.len();
            let mut nested = false;
            while d.next_item()? {
                nested |= item(d, b, Str { at: 0, len: 0 })?;
            }
            Ok(Node::List(close(b, mark, nested)))
        }
        Token::Dict => {
            reserve(b);
            let mark = b.slots.len();
            let mut nested = false;
            let mut state = DictState::caller_checks_duplicates(d.position());
            while let Some(key) = d.next_key(&mut state)? {
                let key = str_before(d, key);
                nested |= item(d, b, key)?;
            }
            let span = close(b, mark, nested);
            if state.is_unsorted() {
                let input = d.input();
                let key = |s: &Slot| bytes_of(input, s.key);
                let end = b.slots.len();
                let entries = b
                    .slots
                    .get_mut(span.start as usize..end)
                    .unwrap_or_default();
                entries.sort_unstable_by(|x, y| key(x).cmp(key(y)));
                if entries
                    .windows(2)
                    .any(|w| matches!(w, [x, y] if key(x) == key(y)))
                {
                    return Err(Error::new(ErrorKind::DuplicateKey, start));
                }
            }
            Ok(Node::Dict(span))
        }
        Token::End => Err(Error::new(ErrorKind::UnexpectedEnd, start)),
    }
}

/// Reserves the buffer when the first container opens (a lone integer or string
/// allocates nothing).
#[inline(always)]
fn reserve(b: &mut Build) {
    if b.slots.capacity() == 0 {
        b.slots.reserve_exact(b.reserve);
    }
}

/// An offset in the input or the buffer as a [`Span`] or [`Str`] stores it. `decode`
/// refuses input of `u32::MAX` bytes or more, and the buffer never holds more slots
/// than the input has bytes, so the cast never truncates.
#[inline(always)]
fn index(i: usize) -> u32 {
    i as u32
}

/// Closes the container whose items were pushed from `mark` on and returns where they
/// are. `nested`: some item is a container, so its own items lie between them and the
/// container's are gathered at the top (read back to front, then put in order).
#[inline(always)]
fn close(b: &mut Build, mark: usize, nested: bool) -> Span {
    let top = b.slots.len();
    if !nested {
        return Span {
            start: index(mark),
            len: index(top.saturating_sub(mark)),
            from: index(mark),
        };
    }
    let mut i = top;
    while i > mark {
        let Some(&slot) = b.slots.get(i.wrapping_sub(1)) else {
            break;
        };
        b.slots.push(slot);
        i = match slot.node {
            Node::List(s) | Node::Dict(s) => s.from as usize,
            _ => i.saturating_sub(1),
        };
    }
    let end = b.slots.len();
    if let Some(items) = b.slots.get_mut(top..end) {
        items.reverse();
    }
    Span {
        start: index(top),
        len: index(end.saturating_sub(top)),
        from: index(mark),
    }
}
