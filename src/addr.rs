//! Addresses: the two families, which addresses are global, and the prefixes that group
//! them.
//!
//! The bottom layer beside [`time`](crate::time): every layer above (routing tables,
//! stores, the node) asks here which family an address is, whether it is routable on
//! the Internet, and which network it belongs to.
//!
//! ```
//! use btdht::addr::{Families, Family, Prefix, is_global};
//! use core::net::SocketAddr;
//!
//! let a: SocketAddr = "[::ffff:203.0.113.7]:6881".parse().unwrap();
//! assert_eq!(Family::of(&a), Family::V4); // a mapped IPv4 address is IPv4
//! assert!(Families::BOTH.contains(Family::V6));
//! assert!(!is_global("192.168.1.10".parse().unwrap()));
//! assert_eq!(
//!     Prefix::new("203.0.113.7".parse().unwrap(), 24),
//!     Prefix::new("203.0.113.200".parse().unwrap(), 24),
//! );
//! ```

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// An address family: IPv4 or IPv6 (BEP 32: a routing table each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Family {
    /// IPv4 (`nodes`).
    V4,
    /// IPv6 (`nodes6`).
    V6,
}

impl Family {
    /// Both families, IPv4 first.
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    /// The family of `addr` (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn of(addr: &SocketAddr) -> Family {
        Family::of_ip(addr.ip())
    }

    /// The family of `ip` (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn of_ip(ip: IpAddr) -> Family {
        match ip.to_canonical() {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// A set of address families: which ones a node runs (BEP 32), or which ones a query's
/// `want` asks for.
///
/// ```
/// use btdht::addr::{Families, Family};
/// assert_eq!(Families::V4.with(Family::V6), Families::BOTH);
/// assert_eq!(Families::BOTH.iter().collect::<Vec<_>>(), [Family::V4, Family::V6]);
/// assert!(Families::NONE.is_empty());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Families(u8);

impl Families {
    /// No family.
    pub const NONE: Families = Families(0);
    /// IPv4 only.
    pub const V4: Families = Families(1);
    /// IPv6 only.
    pub const V6: Families = Families(2);
    /// Both.
    pub const BOTH: Families = Families(3);

    /// The set holding only `family`.
    pub const fn only(family: Family) -> Families {
        match family {
            Family::V4 => Families::V4,
            Family::V6 => Families::V6,
        }
    }

    /// Whether `family` is in the set.
    pub const fn contains(self, family: Family) -> bool {
        self.0 & Families::only(family).0 != 0
    }

    /// The set with `family` added.
    #[must_use]
    pub const fn with(self, family: Family) -> Families {
        Families(self.0 | Families::only(family).0)
    }

    /// The families in both sets.
    #[must_use]
    pub const fn intersection(self, other: Families) -> Families {
        Families(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The families in the set, IPv4 first.
    pub fn iter(self) -> impl Iterator<Item = Family> {
        Family::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl fmt::Debug for Families {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match *self {
            Families::NONE => "Families::NONE",
            Families::V4 => "Families::V4",
            Families::V6 => "Families::V6",
            _ => "Families::BOTH",
        })
    }
}

/// Whether loopback, private and link-local addresses are accepted as nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LocalAddresses {
    /// Refuse them (a node on the Internet).
    #[default]
    Refuse,
    /// Accept them (tests, LAN and loopback swarms).
    Allow,
}

impl LocalAddresses {
    /// Whether a node at `ip` is accepted under this policy.
    pub fn accepts(self, ip: IpAddr) -> bool {
        self == LocalAddresses::Allow || is_global(ip)
    }
}

/// `addr` with an IPv4-mapped IPv6 address turned into the IPv4 address it maps.
pub fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(_) => addr,
        SocketAddr::V6(a) => SocketAddr::new(a.ip().to_canonical(), a.port()),
    }
}

/// Whether `ip` is a globally routable unicast address.
///
/// Not global: unspecified, loopback, private (10/8, 172.16/12, 192.168/16), shared/CGNAT
/// (100.64/10), link-local (169.254/16, fe80::/10), unique-local (fc00::/7), site-local
/// (fec0::/10), multicast, broadcast and 0/8. IPv4-mapped IPv6 addresses are judged as
/// IPv4. Documentation ranges count as global (tests use them).
///
/// ```
/// use btdht::addr::is_global;
/// assert!(is_global("203.0.113.7".parse().unwrap()));
/// assert!(!is_global("192.168.1.10".parse().unwrap()));
/// assert!(!is_global("::ffff:127.0.0.1".parse().unwrap()));
/// assert!(!is_global("fd00::1".parse().unwrap()));
/// ```
pub fn is_global(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (b & 0xc0) == 64))
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let [first, ..] = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || (first & 0xfe00) == 0xfc00)
}

/// The network an address belongs to: its first `len` bits (an IPv4-mapped address is
/// taken as IPv4). Equal prefixes of the same length are the same network: one vote per
/// /24, one rate-limit bucket per /64, and so on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    family: Family,
    len: u8,
    /// The address's bits past `len` cleared, left-aligned in 128 bits.
    bits: u128,
}

impl Prefix {
    /// The first `len` bits of `ip` (`len` is capped at 32 for IPv4, 128 for IPv6).
    pub fn new(ip: IpAddr, len: u8) -> Prefix {
        let (family, bits, width) = match ip.to_canonical() {
            IpAddr::V4(v4) => (Family::V4, u128::from(v4.to_bits()) << 96, 32u8),
            IpAddr::V6(v6) => (Family::V6, v6.to_bits(), 128u8),
        };
        let len = len.min(width);
        let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
        Prefix {
            family,
            len,
            bits: bits & mask,
        }
    }

    /// The prefix of `ip` at the length its family uses: `v4_len` bits of an IPv4
    /// address, `v6_len` bits of an IPv6 one.
    pub fn per_family(ip: IpAddr, v4_len: u8, v6_len: u8) -> Prefix {
        match Family::of_ip(ip) {
            Family::V4 => Prefix::new(ip, v4_len),
            Family::V6 => Prefix::new(ip, v6_len),
        }
    }

    /// The family of the address it was taken from.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Its length in bits.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// Whether it is zero bits long (every address of the family shares it).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The prefix as a number, left-aligned in 128 bits (the bits past its length are 0).
    pub fn bits(&self) -> u128 {
        self.bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_ranges_are_not_global() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fec0::1",
            "fc00::1",
            "fdff::1",
            "ff02::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_global(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_global() {
        for ip in [
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "203.0.113.9",
            "2001:db8::1",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_global(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn prefixes_keep_only_their_leading_bits() {
        let p = |s: &str, len| Prefix::new(s.parse().unwrap(), len);
        assert_eq!(p("10.1.2.3", 24), p("10.1.2.250", 24));
        assert_ne!(p("10.1.2.3", 24), p("10.1.3.3", 24));
        assert_eq!(
            p("10.1.2.3", 24),
            p("::ffff:10.1.2.9", 24),
            "mapped is IPv4"
        );
        assert_eq!(p("2001:db8:1:2::1", 64), p("2001:db8:1:2:ffff::7", 64));
        assert_ne!(p("2001:db8:1:2::1", 64), p("2001:db8:1:3::1", 64));
        assert_eq!(p("1.2.3.4", 200).len(), 32, "capped at the width");
        assert_eq!(p("1.2.3.4", 0), p("200.2.3.4", 0));
        assert_ne!(p("0.0.0.0", 0), p("::", 0), "families differ");
        assert_eq!(p("1.2.3.4", 8).bits(), 1u128 << 120);
    }

    #[test]
    fn families_hold_what_was_added() {
        assert!(Families::V4.contains(Family::V4) && !Families::V4.contains(Family::V6));
        assert_eq!(Families::NONE.with(Family::V6), Families::V6);
        assert_eq!(Families::BOTH.intersection(Families::V6), Families::V6);
        assert_eq!(Families::default(), Families::NONE);
    }
}
