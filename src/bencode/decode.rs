//! The non-allocating token cursor.

use super::{DecodeOptions, Error, ErrorKind, KeyOrder, Kind, MAX_UNSORTED_KEYS};
use arrayvec::ArrayVec;

/// One step of the token stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token<'a> {
    /// An integer.
    Int(i64),
    /// A byte string, borrowed from the input.
    Bytes(&'a [u8]),
    /// The start of a list.
    List,
    /// The start of a dictionary.
    Dict,
    /// The end of the innermost open list or dictionary.
    End,
}

/// What a [`Decoder`] remembers about one open dictionary, to check its keys.
///
/// Created by [`Decoder::expect_dict`] (or [`DictState::new`] after a [`Token::Dict`]),
/// passed to [`Decoder::next_key`].
#[derive(Clone, Copy, Debug)]
pub struct DictState<'a> {
    start: usize,
    /// Where the last key read starts.
    key_at: usize,
    prev: Option<&'a [u8]>,
    unsorted: bool,
    check_duplicates_at_end: bool,
}

impl<'a> DictState<'a> {
    /// State for a dictionary whose first key starts at byte `start` (just after its `d`).
    pub const fn new(start: usize) -> Self {
        DictState {
            start,
            key_at: start,
            prev: None,
            unsorted: false,
            check_duplicates_at_end: true,
        }
    }

    /// Like [`DictState::new`], but an unsorted dictionary is not checked for duplicates
    /// when it closes: the caller collects the keys and checks them itself.
    pub(crate) const fn caller_checks_duplicates(start: usize) -> Self {
        DictState {
            start,
            key_at: start,
            prev: None,
            unsorted: false,
            check_duplicates_at_end: false,
        }
    }

    /// Whether a key has come out of ascending order so far.
    pub const fn is_unsorted(&self) -> bool {
        self.unsorted
    }

    /// The error for a key read twice, at the last key read.
    #[cold]
    pub(crate) fn duplicate(&self) -> Error {
        Error::new(ErrorKind::DuplicateKey, self.key_at)
    }
}

/// A cursor over bencoded input that never allocates.
///
/// ```
/// use btdht::bencode::{Decoder, Token};
///
/// let mut d = Decoder::new(b"d3:bar4:spam3:fooi42ee");
/// let mut dict = d.expect_dict()?;
/// while let Some(key) = d.next_key(&mut dict)? {
///     match key {
///         b"foo" => assert_eq!(d.expect_int()?, 42),
///         _ => { d.skip_value()?; }
///     }
/// }
/// d.finish()?;
/// # Ok::<(), btdht::bencode::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    depth: usize,
    options: DecodeOptions,
}

impl<'a> Decoder<'a> {
    /// A decoder with the default [`DecodeOptions`].
    pub const fn new(input: &'a [u8]) -> Self {
        Self::with_options(input, DecodeOptions::new())
    }

    /// A decoder with the given limits and rules.
    pub const fn with_options(input: &'a [u8], options: DecodeOptions) -> Self {
        Decoder {
            input,
            pos: 0,
            depth: 0,
            options,
        }
    }

    /// Byte offset of the next unread byte.
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// How many lists and dictionaries are open.
    pub const fn depth(&self) -> usize {
        self.depth
    }

    /// The input this decoder reads.
    pub const fn input(&self) -> &'a [u8] {
        self.input
    }

    /// The kind of the next value, without consuming it; `None` at the end of input or
    /// before an `e`.
    pub fn peek_kind(&self) -> Option<Kind> {
        match self.input.get(self.pos)? {
            b'i' => Some(Kind::Int),
            b'0'..=b'9' => Some(Kind::Bytes),
            b'l' => Some(Kind::List),
            b'd' => Some(Kind::Dict),
            _ => None,
        }
    }

    /// Succeeds if the whole input has been read.
    pub fn finish(&self) -> Result<(), Error> {
        if self.pos < self.input.len() {
            Err(self.err(ErrorKind::TrailingBytes))
        } else if self.depth > 0 {
            Err(self.err(ErrorKind::UnexpectedEof))
        } else {
            Ok(())
        }
    }

    #[inline]
    fn err(&self, kind: ErrorKind) -> Error {
        Error::new(kind, self.pos)
    }

    /// Reads the next token. Dictionary keys come out as [`Token::Bytes`]; use
    /// [`Decoder::next_key`] inside dictionaries to have key rules checked.
    pub fn next_token(&mut self) -> Result<Token<'a>, Error> {
        match self.input.get(self.pos) {
            None => Err(self.err(ErrorKind::UnexpectedEof)),
            Some(b'i') => self.read_int().map(Token::Int),
            Some(b'0'..=b'9') => self.read_bytes().map(Token::Bytes),
            Some(b'l') => {
                self.open()?;
                Ok(Token::List)
            }
            Some(b'd') => {
                self.open()?;
                Ok(Token::Dict)
            }
            Some(b'e') => {
                if self.depth == 0 {
                    return Err(self.err(ErrorKind::UnexpectedEnd));
                }
                self.depth -= 1;
                self.pos += 1;
                Ok(Token::End)
            }
            Some(_) => Err(self.err(ErrorKind::InvalidByte)),
        }
    }

    #[inline]
    fn open(&mut self) -> Result<(), Error> {
        if self.depth >= self.options.depth_limit() {
            return Err(self.err(ErrorKind::DepthExceeded));
        }
        self.depth += 1;
        self.pos += 1;
        Ok(())
    }

    /// Reads an integer, or fails with [`ErrorKind::TypeMismatch`] (consuming nothing).
    #[inline]
    pub fn expect_int(&mut self) -> Result<i64, Error> {
        match self.input.get(self.pos) {
            Some(b'i') => self.read_int(),
            None => Err(self.err(ErrorKind::UnexpectedEof)),
            Some(_) => Err(self.err(ErrorKind::TypeMismatch {
                expected: Kind::Int,
            })),
        }
    }

    /// Reads a byte string, or fails with [`ErrorKind::TypeMismatch`] (consuming nothing).
    #[inline]
    pub fn expect_bytes(&mut self) -> Result<&'a [u8], Error> {
        match self.input.get(self.pos) {
            Some(b'0'..=b'9') => self.read_bytes(),
            None => Err(self.err(ErrorKind::UnexpectedEof)),
            Some(_) => Err(self.err(ErrorKind::TypeMismatch {
                expected: Kind::Bytes,
            })),
        }
    }

    /// Opens a list, or fails with [`ErrorKind::TypeMismatch`] (consuming nothing).
    /// Read its items while [`Decoder::next_item`] says so.
    #[inline]
    pub fn expect_list(&mut self) -> Result<(), Error> {
        match self.input.get(self.pos) {
            Some(b'l') => self.open(),
            None => Err(self.err(ErrorKind::UnexpectedEof)),
            Some(_) => Err(self.err(ErrorKind::TypeMismatch {
                expected: Kind::List,
            })),
        }
    }

    /// Opens a dictionary, or fails with [`ErrorKind::TypeMismatch`] (consuming nothing).
    /// Read its keys with [`Decoder::next_key`].
    #[inline]
    pub fn expect_dict(&mut self) -> Result<DictState<'a>, Error> {
        match self.input.get(self.pos) {
            Some(b'd') => {
                self.open()?;
                Ok(DictState::new(self.pos))
            }
            None => Err(self.err(ErrorKind::UnexpectedEof)),
            Some(_) => Err(self.err(ErrorKind::TypeMismatch {
                expected: Kind::Dict,
            })),
        }
    }

    /// Inside a list: `true` if another item follows (read it next), `false` after
    /// consuming the list's closing `e`.
    #[inline]
    pub fn next_item(&mut self) -> Result<bool, Error> {
        match self.input.get(self.pos) {
            Some(b'e') => {
                self.close();
                Ok(false)
            }
            Some(_) => Ok(true),
            None => Err(self.err(ErrorKind::UnexpectedEof)),
        }
    }

    #[inline]
    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.pos += 1;
    }

    /// Inside a dictionary: the next key (read its value next), or `None` after consuming
    /// the dictionary's closing `e`. Checks that keys are byte strings, unique, and in
    /// order when [`KeyOrder::Sorted`] is required.
    #[inline(always)]
    pub fn next_key(&mut self, dict: &mut DictState<'a>) -> Result<Option<&'a [u8]>, Error> {
        let key = self.next_key_unchecked(dict)?;
        if let Some(key) = key {
            self.check_key(dict, key)?;
        }
        Ok(key)
    }

    /// Like [`Decoder::next_key`], but leaves the uniqueness and order of keys to the
    /// caller, which must pass every key to [`Decoder::check_key`] except those it
    /// checks itself to come at most once (failing with [`DictState::duplicate`]).
    /// Typed readers know their keys: a field already set is a duplicate, which saves
    /// comparing each key with the one before.
    #[inline(always)]
    pub(crate) fn next_key_unchecked(
        &mut self,
        dict: &mut DictState<'a>,
    ) -> Result<Option<&'a [u8]>, Error> {
        match self.input.get(self.pos) {
            Some(b'0'..=b'9') => {
                dict.key_at = self.pos;
                self.read_bytes().map(Some)
            }
            Some(b'e') => {
                let end = self.pos;
                self.close();
                if dict.unsorted && dict.check_duplicates_at_end {
                    check_unsorted_keys(self.input, dict.start, end, self.options)?;
                }
                Ok(None)
            }
            None => Err(self.err(ErrorKind::UnexpectedEof)),
            Some(_) => Err(self.err(ErrorKind::NonStringKey)),
        }
    }

    /// Checks the key just read by [`Decoder::next_key_unchecked`] against the previous
    /// one checked: not equal, and greater when [`KeyOrder::Sorted`] is required. A key
    /// out of order marks the dictionary for the full duplicate check when it closes.
    #[inline(always)]
    pub(crate) fn check_key(&self, dict: &mut DictState<'a>, key: &'a [u8]) -> Result<(), Error> {
        if let Some(prev) = dict.prev {
            match key_order(key, prev) {
                core::cmp::Ordering::Greater => {}
                core::cmp::Ordering::Equal => return Err(dict.duplicate()),
                core::cmp::Ordering::Less => {
                    if self.options.order() == KeyOrder::Sorted {
                        return Err(Error::new(ErrorKind::UnsortedKey, dict.key_at));
                    }
                    dict.unsorted = true;
                }
            }
        }
        dict.prev = Some(key);
        Ok(())
    }

    /// Skips a run of consecutive 6-byte strings (`6:xxxxxx`, compact IPv4 peers) and
    /// returns how many there were. A fast path: it consumes nothing that is not exactly
    /// that shape.
    #[inline]
    pub(crate) fn skip_six_byte_strings(&mut self) -> usize {
        let Some(mut rest) = self.input.get(self.pos..) else {
            return 0;
        };
        let before = rest.len();
        let mut n = 0;
        while let [b'6', b':', _, _, _, _, _, _, tail @ ..] = rest {
            rest = tail;
            n += 1;
        }
        self.pos += before - rest.len();
        n
    }

    /// Skips one complete value, checking it fully (including the key rules of every
    /// dictionary inside), and returns its raw bytes.
    pub fn skip_value(&mut self) -> Result<&'a [u8], Error> {
        let start = self.pos;
        match self.next_token()? {
            Token::Int(_) | Token::Bytes(_) => {}
            Token::List => {
                while self.next_item()? {
                    self.skip_value()?;
                }
            }
            Token::Dict => {
                let mut dict = DictState::new(self.pos);
                while self.next_key(&mut dict)?.is_some() {
                    self.skip_value()?;
                }
            }
            Token::End => return Err(Error::new(ErrorKind::UnexpectedEnd, start)),
        }
        Ok(self.input.get(start..self.pos).unwrap_or_default())
    }

    /// Reads `i…e` at the cursor (the `i` is known to be there).
    #[inline]
    fn read_int(&mut self) -> Result<i64, Error> {
        let start = self.pos;
        let mut i = start + 1;
        let negative = self.input.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let first = match self.input.get(i) {
            Some(d @ b'0'..=b'9') => *d,
            None => return Err(Error::new(ErrorKind::UnexpectedEof, i)),
            Some(_) => return Err(Error::new(ErrorKind::InvalidInteger, i)),
        };
        i += 1;
        if first == b'0' {
            match self.input.get(i) {
                Some(b'e') => {
                    if negative {
                        return Err(Error::new(ErrorKind::NegativeZero, start + 1));
                    }
                    self.pos = i + 1;
                    return Ok(0);
                }
                Some(b'0'..=b'9') => return Err(Error::new(ErrorKind::LeadingZero, i - 1)),
                None => return Err(Error::new(ErrorKind::UnexpectedEof, i)),
                Some(_) => return Err(Error::new(ErrorKind::InvalidInteger, i)),
            }
        }
        // Magnitude as u64: i64::MIN's magnitude (2^63) fits, and 20 digits of u64 cannot
        // overflow before the range check below catches them.
        let mut magnitude = u64::from(first - b'0');
        loop {
            match self.input.get(i) {
                Some(d @ b'0'..=b'9') => {
                    magnitude = magnitude
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(u64::from(d - b'0')))
                        .ok_or(Error::new(ErrorKind::IntegerOverflow, start))?;
                    i += 1;
                }
                Some(b'e') => break,
                None => return Err(Error::new(ErrorKind::UnexpectedEof, i)),
                Some(_) => return Err(Error::new(ErrorKind::InvalidInteger, i)),
            }
        }
        let value = if negative {
            if magnitude > 1u64 << 63 {
                return Err(Error::new(ErrorKind::IntegerOverflow, start));
            }
            // magnitude <= 2^63, so the wrapping negation is exact (2^63 -> i64::MIN).
            (magnitude as i64).wrapping_neg()
        } else {
            i64::try_from(magnitude).map_err(|_| Error::new(ErrorKind::IntegerOverflow, start))?
        };
        self.pos = i + 1;
        Ok(value)
    }

    /// Reads `<len>:<bytes>` at the cursor (a digit is known to be there).
    #[inline(always)]
    fn read_bytes(&mut self) -> Result<&'a [u8], Error> {
        let start = self.pos;
        let input = self.input;
        // Fast path for the one- and two-digit lengths that make up almost every KRPC
        // string; anything else goes through the general parser.
        let (content_start, len) = match (input.get(start), input.get(start + 1)) {
            (Some(&d0 @ b'0'..=b'9'), Some(b':')) => (start + 2, usize::from(d0 - b'0')),
            (Some(&d0 @ b'1'..=b'9'), Some(&d1 @ b'0'..=b'9'))
                if input.get(start + 2) == Some(&b':') =>
            {
                (
                    start + 3,
                    usize::from(d0 - b'0') * 10 + usize::from(d1 - b'0'),
                )
            }
            _ => read_len(input, start)?,
        };
        match content_start
            .checked_add(len)
            .and_then(|end| Some((end, input.get(content_start..end)?)))
        {
            Some((end, bytes)) => {
                self.pos = end;
                Ok(bytes)
            }
            None => Err(Error::new(ErrorKind::LengthPastEnd, start)),
        }
    }
}

/// Key order: compares first bytes before falling back to a full comparison, as keys of
/// one dictionary usually differ in their first byte.
#[inline(always)]
fn key_order(a: &[u8], b: &[u8]) -> core::cmp::Ordering {
    match (a.first(), b.first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

/// Parses a string length starting at `start` (a digit); returns the offset just past the
/// `:` and the length.
#[inline]
fn read_len(input: &[u8], start: usize) -> Result<(usize, usize), Error> {
    let mut i = start;
    let mut len: usize = 0;
    loop {
        match input.get(i) {
            Some(d @ b'0'..=b'9') => {
                if len == 0 && i > start {
                    // A second digit after a leading '0'.
                    return Err(Error::new(ErrorKind::LeadingZero, start));
                }
                len = len
                    .checked_mul(10)
                    .and_then(|l| l.checked_add(usize::from(d - b'0')))
                    .ok_or(Error::new(ErrorKind::InvalidLength, start))?;
                i += 1;
            }
            Some(b':') if i > start => return Ok((i + 1, len)),
            None => return Err(Error::new(ErrorKind::UnexpectedEof, i)),
            Some(_) => return Err(Error::new(ErrorKind::InvalidLength, i)),
        }
    }
}

/// Skips one value already known to be valid (used when re-walking a checked dictionary);
/// returns the offset after it, or `None` if the input is not what it should be.
fn skip_checked(input: &[u8], pos: usize, depth_left: usize) -> Option<usize> {
    match input.get(pos)? {
        b'i' => {
            let rel = input.get(pos..)?.iter().position(|&b| b == b'e')?;
            pos.checked_add(rel)?.checked_add(1)
        }
        b'0'..=b'9' => {
            let (content, len) = read_len(input, pos).ok()?;
            content.checked_add(len)
        }
        b'l' | b'd' => {
            let depth_left = depth_left.checked_sub(1)?;
            let mut p = pos + 1;
            while *input.get(p)? != b'e' {
                p = skip_checked(input, p, depth_left)?;
            }
            Some(p + 1)
        }
        _ => None,
    }
}

/// Checks an unsorted dictionary (keys from `start` up to its closing `e` at `end`) for
/// duplicate keys, without allocating.
#[cold]
fn check_unsorted_keys(
    input: &[u8],
    start: usize,
    end: usize,
    options: DecodeOptions,
) -> Result<(), Error> {
    let mut keys: ArrayVec<(&[u8], usize), MAX_UNSORTED_KEYS> = ArrayVec::new();
    let mut p = start;
    let broken = Error::new(ErrorKind::InvalidByte, start);
    while p < end {
        let (content, len) = read_len(input, p)?;
        let key_end = content.checked_add(len).ok_or(broken)?;
        let key = input.get(content..key_end).ok_or(broken)?;
        keys.try_push((key, p))
            .map_err(|_| Error::new(ErrorKind::TooManyKeys, p))?;
        p = skip_checked(input, key_end, options.depth_limit()).ok_or(broken)?;
    }
    keys.sort_unstable_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
    for pair in keys.windows(2) {
        if let [(a, _), (b, at)] = pair {
            if a == b {
                return Err(Error::new(ErrorKind::DuplicateKey, *at));
            }
        }
    }
    Ok(())
}
