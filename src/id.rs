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

use core::fmt;
use core::net::IpAddr;
use core::ops::BitXor;
use core::str::FromStr;
use sha1::{Digest, Sha1};

/// Length of an [`Id`] in bytes.
pub const ID_LEN: usize = 20;

/// Bits in an id (and the largest [`Distance::leading_zeros`]).
pub const ID_BITS: u32 = 160;

/// A 160-bit identifier: a node id, an info-hash or a lookup target.
///
/// `Ord` is the big-endian numeric order of the bytes. `Debug`, `Display` and
/// [`LowerHex`](fmt::LowerHex) print 40 lowercase hex digits (`{:#x}` adds `0x`);
/// [`FromStr`] parses 40 hex digits.
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

    /// A BEP 42 secure id for `ip`: the first 21 bits come from the CRC-32C of the masked
    /// address ([`bep42_crc`]), the last byte is `rand = entropy[19]` (its low 3 bits are
    /// BEP 42's `r`), and every other bit is taken from `entropy`. IPv4-mapped IPv6
    /// addresses are treated as IPv4.
    ///
    /// ```
    /// use btdht::Id;
    /// // Official BEP 42 vector: 124.31.75.21 with rand = 1.
    /// let ip = "124.31.75.21".parse().unwrap();
    /// let mut entropy = [0u8; 20];
    /// entropy[19] = 1;
    /// let id = Id::secure(ip, entropy);
    /// assert_eq!(&id.as_bytes()[..2], &[0x5f, 0xbf]);
    /// assert_eq!(id.as_bytes()[2] & 0xf8, 0xb8);
    /// assert_eq!(id.as_bytes()[19], 1);
    /// assert!(id.is_secure_for(ip));
    /// ```
    #[must_use]
    pub fn secure(ip: IpAddr, entropy: [u8; ID_LEN]) -> Id {
        let mut id = entropy;
        let crc = bep42_crc(ip, entropy[ID_LEN - 1]).to_be_bytes();
        id[0] = crc[0];
        id[1] = crc[1];
        id[2] = (crc[2] & 0xf8) | (entropy[2] & 0x07);
        Id(id)
    }

    /// Whether this id follows BEP 42 for `ip`: `r = id[19] & 7`, and `id[0]`, `id[1]`
    /// and `id[2] & 0xf8` (21 bits) must equal the CRC's top bits. Exemptions are *not*
    /// applied here; [`Id::check_secure`] applies them.
    ///
    /// ```
    /// use btdht::Id;
    /// let ip = "124.31.75.21".parse().unwrap();
    /// let id: Id = "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401".parse().unwrap();
    /// assert!(id.is_secure_for(ip));
    /// assert!(!id.is_secure_for("21.75.31.124".parse().unwrap()));
    /// ```
    #[must_use]
    pub fn is_secure_for(&self, ip: IpAddr) -> bool {
        let crc = bep42_crc(ip, self.0[ID_LEN - 1]).to_be_bytes();
        self.0[0] == crc[0] && self.0[1] == crc[1] && (self.0[2] ^ crc[2]) & 0xf8 == 0
    }

    /// The BEP 42 verdict for this id coming from `ip`, exemptions included
    /// ([`is_bep42_exempt`]).
    ///
    /// ```
    /// use btdht::{Id, id::SecureIdCheck};
    /// let id: Id = "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401".parse().unwrap();
    /// assert_eq!(id.check_secure("124.31.75.21".parse().unwrap()), SecureIdCheck::Secure);
    /// assert_eq!(id.check_secure("8.8.8.8".parse().unwrap()), SecureIdCheck::Insecure);
    /// assert_eq!(id.check_secure("192.168.1.1".parse().unwrap()), SecureIdCheck::Exempt);
    /// ```
    #[must_use]
    pub fn check_secure(&self, ip: IpAddr) -> SecureIdCheck {
        if is_bep42_exempt(ip) {
            SecureIdCheck::Exempt
        } else if self.is_secure_for(ip) {
            SecureIdCheck::Secure
        } else {
            SecureIdCheck::Insecure
        }
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

/// The BEP 42 verdict on a node id for an address ([`Id::check_secure`]).
///
/// ```
/// use btdht::{Id, id::SecureIdCheck};
/// let verdict = Id::from_bytes([0; 20]).check_secure("127.0.0.1".parse().unwrap());
/// assert_eq!(verdict, SecureIdCheck::Exempt);
/// assert!(verdict.is_acceptable());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecureIdCheck {
    /// The id is derived from the address.
    Secure,
    /// The address is exempt from verification (loopback, private, link-local ...).
    Exempt,
    /// The id does not match the address.
    Insecure,
}

impl SecureIdCheck {
    /// `true` unless [`SecureIdCheck::Insecure`]: the node may be trusted with storage.
    ///
    /// ```
    /// use btdht::id::SecureIdCheck;
    /// assert!(SecureIdCheck::Secure.is_acceptable());
    /// assert!(!SecureIdCheck::Insecure.is_acceptable());
    /// ```
    #[must_use]
    pub const fn is_acceptable(self) -> bool {
        !matches!(self, SecureIdCheck::Insecure)
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

/// CRC-32C (Castagnoli: reflected polynomial 0x82F63B78, initial value and final XOR
/// 0xFFFFFFFF), as BEP 42 uses. Table-driven, one byte per step.
///
/// ```
/// assert_eq!(btdht::id::crc32c(b"123456789"), 0xe306_9283);
/// assert_eq!(btdht::id::crc32c(b""), 0);
/// ```
#[must_use]
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        let index = usize::from(crc.to_le_bytes()[0] ^ b);
        crc = CRC32C_TABLE.get(index).copied().unwrap_or(0) ^ (crc >> 8);
    }
    !crc
}

/// `CRC32C_TABLE[i]` = the CRC register after shifting byte `i` through 8 steps.
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0x82F6_3B78 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// The BEP 42 CRC for `ip` with `r = rand & 7`: CRC-32C over the masked address with `r`
/// in the top 3 bits of its first byte. IPv4 hashes 4 bytes (mask `03 0f 3f ff`), IPv6
/// the first 8 bytes of the address (mask `01 03 07 0f 1f 3f 7f ff`); an IPv4-mapped
/// IPv6 address is hashed as IPv4. Only the top 21 bits end up in an id.
///
/// ```
/// use btdht::id::bep42_crc;
/// // 124.31.75.21, r = 1: input 20 0f 0b 15.
/// assert_eq!(bep42_crc("124.31.75.21".parse().unwrap(), 1), 0x5fbf_bdb2);
/// assert_eq!(bep42_crc("::ffff:124.31.75.21".parse().unwrap(), 1), 0x5fbf_bdb2);
/// ```
#[must_use]
pub fn bep42_crc(ip: IpAddr, rand: u8) -> u32 {
    let r = rand & 7;
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let masked = u32::from_be_bytes(v4.octets()) & 0x030f_3fff;
            crc32c(&(masked | (u32::from(r) << 29)).to_be_bytes())
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h, ..] = v6.octets();
            let masked = u64::from_be_bytes([a, b, c, d, e, f, g, h]) & 0x0103_070f_1f3f_7fff;
            crc32c(&(masked | (u64::from(r) << 61)).to_be_bytes())
        }
    }
}

/// Whether BEP 42 exempts `ip` from id verification. The BEP lists 10.0.0.0/8,
/// 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16 and 127.0.0.0/8; like libtorrent this
/// also exempts 100.64.0.0/10 (carrier-grade NAT), `::1`, fe80::/10, fec0::/10, fc00::/7
/// and the link- and site-local multicast scopes ff02::/16 and ff05::/16. IPv4-mapped
/// IPv6 addresses (`::ffff:a.b.c.d`) are judged as IPv4.
///
/// ```
/// use btdht::id::is_bep42_exempt;
/// assert!(is_bep42_exempt("10.1.2.3".parse().unwrap()));
/// assert!(is_bep42_exempt("::ffff:192.168.0.1".parse().unwrap()));
/// assert!(is_bep42_exempt("fe80::1".parse().unwrap()));
/// assert!(!is_bep42_exempt("8.8.8.8".parse().unwrap()));
/// ```
#[must_use]
pub fn is_bep42_exempt(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            // is_private: 10/8, 172.16/12, 192.168/16; is_link_local: 169.254/16.
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (a == 100 && (b & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let [s, ..] = v6.segments();
            v6.is_loopback()
                || (s & 0xffc0) == 0xfe80
                || (s & 0xffc0) == 0xfec0
                || (s & 0xfe00) == 0xfc00
                || s == 0xff02
                || s == 0xff05
        }
    }
}

/// Writes `bytes` as lowercase hex through [`fmt::Formatter::pad`] (so width, fill and
/// precision apply) or, for `{:#x}`, through `pad_integral` with a `0x` prefix.
fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8; ID_LEN], integral: bool) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; ID_LEN * 2];
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        for (out, nibble) in pair.iter_mut().zip([b >> 4, b & 0xf]) {
            *out = DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0');
        }
    }
    let s = core::str::from_utf8(&buf).map_err(|_| fmt::Error)?;
    if integral {
        f.pad_integral(true, "0x", s)
    } else {
        f.pad(s)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0, false)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0, false)
    }
}

impl fmt::LowerHex for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0, true)
    }
}

impl fmt::Debug for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0, false)
    }
}

impl fmt::LowerHex for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0, true)
    }
}

/// Why a string is not an [`Id`]: it must be exactly 40 hex digits.
///
/// ```
/// use btdht::{Id, id::ParseIdError};
/// assert_eq!("abc".parse::<Id>(), Err(ParseIdError::Length));
/// assert_eq!("g".repeat(40).parse::<Id>(), Err(ParseIdError::NotHex));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseIdError {
    /// Not 40 bytes long.
    Length,
    /// A character that is not a hex digit.
    NotHex,
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseIdError::Length => "an id must be exactly 40 hex digits long",
            ParseIdError::NotHex => "an id must contain only hex digits",
        })
    }
}

impl core::error::Error for ParseIdError {}

/// The value of one hex digit.
const fn nibble(c: u8) -> Result<u8, ParseIdError> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(ParseIdError::NotHex),
    }
}

impl FromStr for Id {
    type Err = ParseIdError;

    /// Parses exactly 40 hex digits, either case, with no prefix or whitespace.
    fn from_str(s: &str) -> Result<Id, ParseIdError> {
        let Ok(digits) = <&[u8; ID_LEN * 2]>::try_from(s.as_bytes()) else {
            return Err(ParseIdError::Length);
        };
        let mut out = [0u8; ID_LEN];
        for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let &[hi, lo] = pair else {
                return Err(ParseIdError::Length);
            };
            *o = (nibble(hi)? << 4) | nibble(lo)?;
        }
        Ok(Id(out))
    }
}
