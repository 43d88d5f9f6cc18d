//! BEP 42 secure ids: an id tied to its node's IP address through the CRC-32C of the
//! masked address, and the addresses exempt from the check.

use super::{ID_LEN, Id};
use core::net::IpAddr;

impl Id {
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
