//! Identifiers: node ids, info-hashes and lookup targets share one 160-bit space.
//!
//! - [`Id`] is 20 bytes. Ids order as big-endian numbers, print as 40 lowercase hex digits
//!   and parse from 40 hex digits of either case.
//! - [`Distance`] is the XOR of two ids read as a big-endian unsigned number (BEP 5):
//!   smaller is closer. [`Distance::leading_zeros`] (= [`Id::common_prefix_len`]) is the
//!   index of the k-bucket another id falls in, seen from ours.
//! - The crate has no random source: [`Id::from_entropy`] and [`Id::random_with_prefix`]
//!   turn caller-supplied entropy into ids.
//! - BEP 42 ties a node's id to its IP address ([`Id::secure`], [`Id::check_secure`]) so
//!   that an attacker cannot choose where in the keyspace its nodes sit. The CRC-32C it
//!   uses is [`crc32c`].
//!
//! ```
//! use btdht::Id;
//!
//! let a: Id = "0000000000000000000000000000000000000001".parse()?;
//! let b: Id = "8000000000000000000000000000000000000000".parse()?;
//! assert_eq!(a.distance(&b).leading_zeros(), 0);
//! assert_eq!(a.common_prefix_len(&a), 160);
//! assert_eq!(b.to_string(), "8000000000000000000000000000000000000000");
//! # Ok::<(), btdht::id::ParseIdError>(())
//! ```

// This file holds the `Id` and `Distance` types and their arithmetic; `secure` the BEP 42
// secure ids (CRC-32C, address masks, exemptions); `hex` the hex formatting and parsing.

mod hex;
mod secure;

pub use hex::ParseIdError;
pub use secure::{SecureIdCheck, bep42_crc, crc32c, is_bep42_exempt};

use core::ops::BitXor;
use sha1::{Digest, Sha1};

/// Length of an [`Id`] in bytes.
pub const ID_LEN: usize = 20;

/// Bits in an id (and the largest [`Distance::leading_zeros`]).
pub const ID_BITS: u32 = 160;

/// A 160-bit identifier: a node id, an info-hash or a lookup target.
///
/// `Ord` is the big-endian numeric order of the bytes. `Debug`, `Display` and
/// [`LowerHex`](core::fmt::LowerHex) print 40 lowercase hex digits (`{:#x}` adds `0x`);
/// [`FromStr`](core::str::FromStr) parses 40 hex digits.
///
/// ```
/// use btdht::Id;
///
/// let id = Id::from_bytes([0xab; 20]);
/// assert_eq!(id.to_string(), "ab".repeat(20));
/// assert_eq!(format!("{id:.8}"), "abababab"); // precision truncates
/// assert_eq!(id.to_string().parse::<Id>(), Ok(id));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Id([u8; ID_LEN]);

/// The XOR distance between two ids, ordered as a big-endian number: smaller is closer.
///
/// ```
/// use btdht::{Id, id::Distance};
///
/// let target = Id::from_bytes([0; 20]);
/// let near = Id::from_bytes([1; 20]);
/// let far = Id::from_bytes([0x80; 20]);
/// assert!(target.distance(&near) < target.distance(&far));
/// assert_eq!(target.distance(&target), Distance::ZERO);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Distance([u8; ID_LEN]);

/// Byte-wise XOR (the loop vectorizes).
#[inline]
fn xor(a: &[u8; ID_LEN], b: &[u8; ID_LEN]) -> [u8; ID_LEN] {
    let mut d = [0u8; ID_LEN];
    for ((d, a), b) in d.iter_mut().zip(a).zip(b) {
        *d = a ^ b;
    }
    d
}

/// The first 16 bytes and the last 4 as big-endian integers.
#[inline]
const fn split_words(bytes: &[u8; ID_LEN]) -> (u128, u32) {
    let [hi @ .., a, b, c, d] = *bytes;
    (u128::from_be_bytes(hi), u32::from_be_bytes([a, b, c, d]))
}

impl Id {
    /// The id whose bytes are `bytes`.
    ///
    /// ```
    /// use btdht::Id;
    /// assert_eq!(Id::from_bytes([7; 20]).as_bytes(), &[7; 20]);
    /// ```
    #[must_use]
    pub const fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
        Id(bytes)
    }

    /// The id in `bytes`, or `None` unless `bytes` is exactly 20 bytes long.
    ///
    /// ```
    /// use btdht::Id;
    /// assert!(Id::from_slice(b"abcdefghij0123456789").is_some());
    /// assert!(Id::from_slice(b"too short").is_none());
    /// ```
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; ID_LEN]>::try_from(bytes).ok().map(Id)
    }

    /// The 20 bytes of the id.
    ///
    /// ```
    /// use btdht::Id;
    /// assert_eq!(Id::from_bytes([1; 20]).as_bytes()[19], 1);
    /// ```
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// SHA-1 of `entropy`: a random id from caller-supplied randomness (BEP 5 suggests
    /// SHA-1 over good entropy). The crate has no random source of its own; the result is
    /// only as unpredictable as `entropy`.
    ///
    /// ```
    /// use btdht::Id;
    /// assert_ne!(Id::from_entropy(b"one"), Id::from_entropy(b"two"));
    /// ```
    #[must_use]
    pub fn from_entropy(entropy: &[u8]) -> Id {
        Id::sha1(entropy)
    }

    /// SHA-1 of `data`, e.g. a torrent's info-hash from its bencoded info dictionary or an
    /// immutable BEP 44 item's target from its bencoded value.
    ///
    /// ```
    /// use btdht::Id;
    /// let id = Id::sha1(b"abc");
    /// assert_eq!(id.to_string(), "a9993e364706816aba3e25717850c26c9cd0d89d");
    /// ```
    #[must_use]
    pub fn sha1(data: &[u8]) -> Id {
        Id(Sha1::digest(data).into())
    }

    /// The XOR distance to `other` (symmetric; zero only for the same id).
    ///
    /// ```
    /// use btdht::Id;
    /// let a = Id::from_bytes([0b1100; 20]);
    /// let b = Id::from_bytes([0b1010; 20]);
    /// assert_eq!(a.distance(&b).as_bytes(), &[0b0110; 20]);
    /// assert_eq!(a.distance(&b), b.distance(&a));
    /// ```
    #[must_use]
    #[inline]
    pub fn distance(&self, other: &Id) -> Distance {
        Distance(xor(&self.0, &other.0))
    }

    /// Bit `i`, counting from 0 = the most significant bit of byte 0; `false` for
    /// `i >= 160`.
    ///
    /// ```
    /// use btdht::Id;
    /// let mut bytes = [0u8; 20];
    /// bytes[0] = 0x80;
    /// bytes[19] = 0x01;
    /// let id = Id::from_bytes(bytes);
    /// assert!(id.bit(0) && !id.bit(1) && id.bit(159) && !id.bit(160));
    /// ```
    #[must_use]
    #[inline]
    pub fn bit(&self, i: u32) -> bool {
        let byte = usize::try_from(i / 8).unwrap_or(usize::MAX);
        self.0.get(byte).is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
    }

    /// The number of leading bits shared with `other` (160 when equal). In a routing
    /// table of 160 buckets this is the index of the bucket `other` belongs to when
    /// `self` is our own id. Same as `self.distance(other).leading_zeros()`.
    ///
    /// ```
    /// use btdht::Id;
    /// let a = Id::from_bytes([0xff; 20]);
    /// let mut b = [0xff; 20];
    /// b[1] = 0xfe; // differs at bit 15
    /// assert_eq!(a.common_prefix_len(&Id::from_bytes(b)), 15);
    /// assert_eq!(a.common_prefix_len(&a), 160);
    /// ```
    #[must_use]
    #[inline]
    pub fn common_prefix_len(&self, other: &Id) -> u32 {
        self.distance(other).leading_zeros()
    }

    /// An id whose first `prefix_len` bits are those of `prefix` and whose remaining
    /// bits come from `entropy`: a random target inside a bucket's range, for bucket
    /// refresh. A `prefix_len` of 160 or more returns `prefix` itself; 0 returns the
    /// entropy unchanged.
    ///
    /// ```
    /// use btdht::Id;
    /// let own = Id::from_bytes([0xff; 20]);
    /// let target = Id::random_with_prefix(&own, 12, &[0; 20]);
    /// assert_eq!(&target.as_bytes()[..3], &[0xff, 0xf0, 0x00]);
    /// assert!(own.common_prefix_len(&target) >= 12);
    /// ```
    #[must_use]
    pub fn random_with_prefix(prefix: &Id, prefix_len: u32, entropy: &[u8; ID_LEN]) -> Id {
        let mut out = *entropy;
        for ((o, p), start) in out.iter_mut().zip(&prefix.0).zip((0u32..).step_by(8)) {
            // How many bits of this byte come from the prefix: 0..=8.
            let bits = prefix_len.saturating_sub(start).min(8);
            // `checked_shr(8)` is `None` for a u8: the whole byte is prefix.
            let mask = !0xffu8.checked_shr(bits).unwrap_or(0);
            *o = (*p & mask) | (*o & !mask);
        }
        Id(out)
    }
}

impl From<[u8; ID_LEN]> for Id {
    /// Same as [`Id::from_bytes`].
    fn from(bytes: [u8; ID_LEN]) -> Id {
        Id(bytes)
    }
}

impl From<Id> for [u8; ID_LEN] {
    /// The 20 bytes of the id.
    fn from(id: Id) -> [u8; ID_LEN] {
        id.0
    }
}

impl AsRef<[u8]> for Id {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Distance {
    /// Distance zero (an id to itself).
    ///
    /// ```
    /// use btdht::{Id, id::Distance};
    /// let a = Id::from_bytes([9; 20]);
    /// assert_eq!(a.distance(&a), Distance::ZERO);
    /// ```
    pub const ZERO: Distance = Distance([0; ID_LEN]);

    /// The largest distance (between an id and its bitwise complement).
    ///
    /// ```
    /// use btdht::{Id, id::Distance};
    /// let a = Id::from_bytes([0x0f; 20]);
    /// assert_eq!(a.distance(&Id::from_bytes([0xf0; 20])), Distance::MAX);
    /// ```
    pub const MAX: Distance = Distance([0xff; ID_LEN]);

    /// The distance whose big-endian bytes are `bytes`.
    ///
    /// ```
    /// use btdht::id::Distance;
    /// assert_eq!(Distance::from_bytes([0; 20]), Distance::ZERO);
    /// ```
    #[must_use]
    pub const fn from_bytes(bytes: [u8; ID_LEN]) -> Distance {
        Distance(bytes)
    }

    /// The 20 bytes, big-endian.
    ///
    /// ```
    /// use btdht::id::Distance;
    /// assert_eq!(Distance::MAX.as_bytes(), &[0xff; 20]);
    /// ```
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// Leading zero bits: 160 for [`Distance::ZERO`], 0 when the ids differ in their
    /// first bit. Equals [`Id::common_prefix_len`] of the two ids.
    ///
    /// ```
    /// use btdht::id::Distance;
    /// let mut bytes = [0u8; 20];
    /// bytes[2] = 0x10;
    /// assert_eq!(Distance::from_bytes(bytes).leading_zeros(), 19);
    /// assert_eq!(Distance::ZERO.leading_zeros(), 160);
    /// ```
    #[must_use]
    #[inline]
    pub const fn leading_zeros(&self) -> u32 {
        let (hi, lo) = split_words(&self.0);
        if hi != 0 {
            hi.leading_zeros()
        } else {
            128 + lo.leading_zeros()
        }
    }
}

impl BitXor for Distance {
    type Output = Distance;

    /// XOR of two distances: `a.distance(&b) ^ b.distance(&c) == a.distance(&c)`.
    fn bitxor(self, rhs: Distance) -> Distance {
        Distance(xor(&self.0, &rhs.0))
    }
}
