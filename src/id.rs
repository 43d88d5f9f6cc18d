//! Identifiers: node ids, info-hashes and lookup targets share one 160-bit space.
//!
//! Distance is XOR read as a big-endian unsigned number ([`Distance`], ordered). BEP 42
//! ties a node's id to its IP address ([`Id::secure`], [`Id::check_secure`]) so that an
//! attacker cannot choose where in the keyspace its nodes sit.
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
use core::str::FromStr;
use sha1::{Digest, Sha1};

/// Length of an [`Id`] in bytes.
pub const ID_LEN: usize = 20;

/// Bits in an id.
pub const ID_BITS: u32 = 160;

/// A 160-bit identifier: a node id, an info-hash or a lookup target.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Id([u8; ID_LEN]);

/// The XOR distance between two ids; smaller is closer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Distance([u8; ID_LEN]);

impl Id {
    /// The id whose bytes are `bytes`.
    pub const fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
        Id(bytes)
    }

    /// The id in `bytes`, or `None` unless `bytes` is exactly 20 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; ID_LEN]>::try_from(bytes).ok().map(Id)
    }

    /// The 20 bytes of the id.
    pub const fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// SHA-1 of `entropy`: a random id from caller-supplied randomness (BEP 5 suggests
    /// SHA-1 over good entropy). The crate has no random source of its own.
    ///
    /// ```
    /// use btdht::Id;
    /// assert_ne!(Id::from_entropy(b"one"), Id::from_entropy(b"two"));
    /// ```
    pub fn from_entropy(entropy: &[u8]) -> Id {
        Id(Sha1::digest(entropy).into())
    }

    /// SHA-1 of `data`, e.g. an immutable BEP 44 item's target from its bencoded value.
    pub fn sha1(data: &[u8]) -> Id {
        Id(Sha1::digest(data).into())
    }

    /// The XOR distance to `other`.
    pub fn distance(&self, other: &Id) -> Distance {
        let mut d = [0u8; ID_LEN];
        for ((d, a), b) in d.iter_mut().zip(&self.0).zip(&other.0) {
            *d = a ^ b;
        }
        Distance(d)
    }

    /// Bit `i` (0 = most significant); `false` for `i >= 160`.
    pub fn bit(&self, i: u32) -> bool {
        let byte = usize::try_from(i / 8).unwrap_or(usize::MAX);
        self.0.get(byte).is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
    }

    /// Leading bits shared with `other` (160 when equal): the routing-table bucket
    /// index of `other` seen from `self`.
    pub fn common_prefix_len(&self, other: &Id) -> u32 {
        self.distance(other).leading_zeros()
    }

    /// An id whose first `prefix_len` bits are those of `prefix` and whose remaining
    /// bits come from `entropy` (e.g. a random target inside a bucket).
    pub fn random_with_prefix(prefix: &Id, prefix_len: u32, entropy: &[u8; ID_LEN]) -> Id {
        let mut out = *entropy;
        for (i, (o, p)) in out.iter_mut().zip(&prefix.0).enumerate() {
            let start = u32::try_from(i).unwrap_or(u32::MAX).saturating_mul(8);
            let bits = prefix_len.saturating_sub(start).min(8);
            // bits <= 8, so the shift is at most 8 in a u16: no overflow.
            let mask = (0xff00u16 >> bits) as u8;
            *o = (*p & mask) | (*o & !mask);
        }
        Id(out)
    }

    /// A BEP 42 secure id for `ip`: the first 21 bits from CRC-32C of the masked address,
    /// the last byte `rand = entropy[19]` (its low 3 bits are BEP 42's `r`), the rest from
    /// `entropy`.
    ///
    /// ```
    /// use btdht::Id;
    /// let ip = "124.31.75.21".parse().unwrap();
    /// let mut entropy = [0u8; 20];
    /// entropy[19] = 1;
    /// let id = Id::secure(ip, entropy);
    /// assert_eq!(&id.as_bytes()[..2], &[0x5f, 0xbf]);
    /// assert!(id.is_secure_for(ip));
    /// ```
    pub fn secure(ip: IpAddr, entropy: [u8; ID_LEN]) -> Id {
        let mut id = entropy;
        let rand = entropy[ID_LEN - 1];
        let crc = bep42_crc(ip, rand & 7).to_be_bytes();
        id[0] = crc[0];
        id[1] = crc[1];
        id[2] = (crc[2] & 0xf8) | (entropy[2] & 0x07);
        Id(id)
    }

    /// Whether this id follows BEP 42 for `ip` (21 bits compared; exemptions not applied:
    /// see [`Id::check_secure`]).
    pub fn is_secure_for(&self, ip: IpAddr) -> bool {
        let r = self.0[ID_LEN - 1] & 7;
        let crc = bep42_crc(ip, r).to_be_bytes();
        self.0[0] == crc[0] && self.0[1] == crc[1] && (self.0[2] & 0xf8) == (crc[2] & 0xf8)
    }

    /// BEP 42 verdict for this id at `ip`, with the BEP's exemptions.
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

/// BEP 42 verdict on an id for an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecureIdCheck {
    /// The id is derived from the address.
    Secure,
    /// The address is exempt (loopback, private, link-local).
    Exempt,
    /// The id does not match the address.
    Insecure,
}

impl Distance {
    /// Distance zero (an id to itself).
    pub const ZERO: Distance = Distance([0; ID_LEN]);
    /// The largest distance.
    pub const MAX: Distance = Distance([0xff; ID_LEN]);

    /// Leading zero bits (160 for [`Distance::ZERO`]).
    pub fn leading_zeros(&self) -> u32 {
        let mut n = 0;
        for b in self.0 {
            if b != 0 {
                return n + b.leading_zeros();
            }
            n += 8;
        }
        n
    }

    /// The 20 bytes, big-endian.
    pub const fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as BEP 42 uses.
///
/// ```
/// assert_eq!(btdht::id::crc32c(b"123456789"), 0xe306_9283);
/// ```
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        let index = usize::from((crc as u8) ^ b);
        crc = CRC32C_TABLE.get(index).copied().unwrap_or(0) ^ (crc >> 8);
    }
    !crc
}

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

/// CRC-32C of the masked address with `r` in its top 3 bits: IPv4 hashes 4 bytes
/// (mask 030f3fff), IPv6 the first 8 bytes (mask 0103070f1f3f7fff).
fn bep42_crc(ip: IpAddr, r: u8) -> u32 {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let masked = u32::from_be_bytes(v4.octets()) & 0x030f_3fff;
            crc32c(&(masked | (u32::from(r & 7) << 29)).to_be_bytes())
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h, ..] = v6.octets();
            let masked = u64::from_be_bytes([a, b, c, d, e, f, g, h]) & 0x0103_070f_1f3f_7fff;
            crc32c(&(masked | (u64::from(r & 7) << 61)).to_be_bytes())
        }
    }
}

/// Whether BEP 42 exempts `ip` from verification: 10/8, 172.16/12, 192.168/16,
/// 169.254/16, 127/8 (the BEP) and 100.64/10, ::1, fe80::/10, fec0::/10, fc00::/7
/// (libtorrent). IPv4-mapped addresses are judged as IPv4.
pub fn is_bep42_exempt(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (a == 100 && (b & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            v6.is_loopback()
                || (s & 0xffc0) == 0xfe80
                || (s & 0xffc0) == 0xfec0
                || (s & 0xfe00) == 0xfc00
        }
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::LowerHex for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for Distance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// A string that is not 40 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParseIdError {
    /// Not 40 characters long.
    Length,
    /// A character that is not a hex digit.
    NotHex,
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseIdError::Length => "an id is 40 hex digits",
            ParseIdError::NotHex => "an id is made of hex digits",
        })
    }
}

impl core::error::Error for ParseIdError {}

impl FromStr for Id {
    type Err = ParseIdError;

    /// 40 hex digits, either case.
    fn from_str(s: &str) -> Result<Id, ParseIdError> {
        let s = s.as_bytes();
        if s.len() != ID_LEN * 2 {
            return Err(ParseIdError::Length);
        }
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(ParseIdError::NotHex),
        };
        let mut out = [0u8; ID_LEN];
        for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
            let [hi, lo] = pair else {
                return Err(ParseIdError::Length);
            };
            *o = (nibble(*hi)? << 4) | nibble(*lo)?;
        }
        Ok(Id(out))
    }
}
