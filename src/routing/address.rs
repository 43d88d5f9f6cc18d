//! Which addresses belong in a routing table.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a globally routable unicast address.
///
/// Not global: unspecified, loopback, private (10/8, 172.16/12, 192.168/16), shared/CGNAT
/// (100.64/10), link-local (169.254/16, fe80::/10), unique-local (fc00::/7), site-local
/// (fec0::/10), multicast, broadcast and 0/8. IPv4-mapped IPv6 addresses are judged as
/// IPv4. Documentation ranges count as global (tests use them).
///
/// ```
/// use btdht::routing::is_global;
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
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || (first & 0xfe00) == 0xfc00)
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
}
