//! BEP 33 scrape filters: 2048-bit bloom filters of IP addresses.

use crate::krpc::BLOOM_LEN;
use core::fmt;
use core::net::IpAddr;
use sha1::{Digest, Sha1};

/// Bits in a filter (m).
const M: u32 = (BLOOM_LEN * 8) as u32;

/// A BEP 33 bloom filter: 256 bytes, 2048 bits, two hash functions, holding IP addresses
/// (never ports). `BFsd` holds a torrent's seeds, `BFpe` its downloaders.
///
/// Bit-exact with BEP 33: `h = SHA-1(raw IP bytes)` (4 bytes for IPv4, 16 for IPv6; an
/// IPv4-mapped IPv6 address counts as its IPv4 form), the two bit indices are the
/// little-endian `u16`s `h[0..2]` and `h[2..4]` modulo 2048, and bit `i` is
/// `1 << (i % 8)` of byte `i / 8` (least significant bit first).
///
/// ```
/// use btdht::store::BloomFilter;
///
/// let mut seeds = BloomFilter::new();
/// seeds.insert("192.168.1.1".parse().unwrap());
/// assert!(seeds.contains("192.168.1.1".parse().unwrap()));
///
/// let mut downloaders = BloomFilter::new();
/// downloaders.insert("2001:db8::1".parse().unwrap());
/// seeds.merge(&downloaders); // the union of two sets is the OR of their filters
/// assert!((seeds.estimate() - 2.0).abs() < 0.01);
/// assert_eq!(BloomFilter::new().estimate(), 0.5); // c is clamped to m - 1
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BloomFilter([u8; BLOOM_LEN]);

/// The two bit indices BEP 33 sets for `ip`.
///
/// ```
/// // The address of BEP 33's pseudocode.
/// assert_eq!(btdht::store::bloom_indices("192.168.1.1".parse().unwrap()), [1711, 1831]);
/// ```
pub fn bloom_indices(ip: IpAddr) -> [u16; 2] {
    let mut h = Sha1::new();
    match ip.to_canonical() {
        IpAddr::V4(v4) => h.update(v4.octets()),
        IpAddr::V6(v6) => h.update(v6.octets()),
    }
    let d: [u8; 20] = h.finalize().into();
    let [a, b, c, e, ..] = d;
    // M is 2048, a power of two that fits in u16, so the modulo is a mask.
    let mask = (M - 1) as u16;
    [
        u16::from_le_bytes([a, b]) & mask,
        u16::from_le_bytes([c, e]) & mask,
    ]
}

impl BloomFilter {
    /// An empty filter.
    pub const fn new() -> Self {
        BloomFilter([0; BLOOM_LEN])
    }

    /// The filter in `bytes` (e.g. a received `BFsd`).
    pub const fn from_bytes(bytes: [u8; BLOOM_LEN]) -> Self {
        BloomFilter(bytes)
    }

    /// The filter's 256 bytes, as sent in `BFsd` / `BFpe`.
    pub const fn as_bytes(&self) -> &[u8; BLOOM_LEN] {
        &self.0
    }

    /// Adds an IP address.
    pub fn insert(&mut self, ip: IpAddr) {
        self.insert_indices(bloom_indices(ip));
    }

    /// Sets the bits [`bloom_indices`] returned (a store keeps them to rebuild filters
    /// without hashing again).
    pub(crate) fn insert_indices(&mut self, indices: [u16; 2]) {
        for i in indices {
            if let Some(byte) = self.0.get_mut(usize::from(i / 8)) {
                *byte |= 1 << (i % 8);
            }
        }
    }

    /// Whether `ip` may have been inserted (false positives possible, no false negatives).
    pub fn contains(&self, ip: IpAddr) -> bool {
        bloom_indices(ip).iter().all(|&i| {
            self.0
                .get(usize::from(i / 8))
                .is_some_and(|byte| byte & (1 << (i % 8)) != 0)
        })
    }

    /// Adds every address of `other` (bitwise OR): the filter of the union of two sets.
    pub fn merge(&mut self, other: &BloomFilter) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a |= b;
        }
    }

    /// Whether no bit is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// Bits still zero (c in BEP 33's formula).
    pub fn zero_bits(&self) -> u32 {
        self.0.iter().map(|b| b.count_zeros()).sum()
    }

    /// The estimated number of distinct addresses inserted (BEP 33):
    ///
    /// ```text
    /// c = min(m − 1, zero_bits)        m = 2048, k = 2
    /// size = ln(c / m) / (k · ln(1 − 1/m))
    /// ```
    ///
    /// An empty filter estimates 0.5 (because of the clamp). A filter with every bit set
    /// would give ln 0; `c` is also clamped to at least 1, so it estimates ≈ 7804.6, the
    /// filter's saturation point. BEP 33 advises keeping the counted set under 6000.
    pub fn estimate(&self) -> f64 {
        let c = self.zero_bits().clamp(1, M - 1);
        let m = f64::from(M);
        ln(f64::from(c) / m) / (2.0 * ln(1.0 - 1.0 / m))
    }
}

impl Default for BloomFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for BloomFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BloomFilter")
            .field("zero_bits", &self.zero_bits())
            .finish_non_exhaustive()
    }
}

/// Natural logarithm of a positive, normal `x` (`core` has no `ln` without `std`).
///
/// `x = m · 2^e` with `m` in `[√½, √2)`, then `ln m = 2 atanh(s)`, `s = (m − 1)/(m + 1)`,
/// `|s| < 0.172`, summed until the terms vanish: accurate to a few ulps.
fn ln(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let bits = x.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > core::f64::consts::SQRT_2 {
        m /= 2.0;
        exp += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    while k < 64.0 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    2.0 * sum + f64::from(exp) * core::f64::consts::LN_2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_matches_known_values() {
        let cases = [
            (1.0, 0.0),
            (2.0, core::f64::consts::LN_2),
            (core::f64::consts::E, 1.0),
            (0.5, -core::f64::consts::LN_2),
            (10.0, core::f64::consts::LN_10),
            (1.0 - 1.0 / 2048.0, -0.000_488_400_498_108_874_5),
        ];
        for (x, want) in cases {
            let got = ln(x);
            assert!(
                (got - want).abs() <= 1e-15 * want.abs().max(1.0),
                "ln({x}) = {got}"
            );
        }
        assert!(ln(0.0).is_nan());
        assert!(ln(-1.0).is_nan());
    }

    #[test]
    fn bits_are_set_lsb_first_at_little_endian_indices() {
        let mut f = BloomFilter::new();
        f.insert("192.168.1.1".parse().unwrap());
        // 1711 = byte 213 bit 7; 1831 = byte 228 bit 7.
        assert_eq!(f.as_bytes()[213], 0x80);
        assert_eq!(f.as_bytes()[228], 0x80);
        assert_eq!(f.zero_bits(), 2046);
    }

    #[test]
    fn a_mapped_ipv6_address_is_hashed_as_ipv4() {
        assert_eq!(
            bloom_indices("::ffff:192.168.1.1".parse().unwrap()),
            [1711, 1831]
        );
    }

    #[test]
    fn a_full_filter_estimates_a_finite_saturation_value() {
        let f = BloomFilter::from_bytes([0xff; BLOOM_LEN]);
        let e = f.estimate();
        assert!(e.is_finite() && (7800.0..7810.0).contains(&e), "{e}");
    }
}
