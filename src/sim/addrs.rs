//! Where virtual nodes live: 10.0.0.0/8 for IPv4, and for IPv6 a /64 each in
//! 2001:db8::/32 (global-looking addresses, as BEP 42 and the tables see them).

use crate::addr::Families;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Virtual nodes live at 10.0.0.1, 10.0.0.2, … (node `i` at `10.0.0.0 + i + 1`, port 6881).
pub(super) const FIRST_ADDR: u32 = 0x0a00_0001;
/// Their IPv6 addresses are global-looking, each in its own /64:
/// `2001:db8:H:L::1` where `H:L` is the node's index.
pub(super) const V6_PREFIX: [u16; 2] = [0x2001, 0x0db8];
/// Every virtual node's port.
pub(super) const PORT: u16 = 6881;

/// Which networks a node is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stack {
    /// IPv4 only (an address in 10.0.0.0/8).
    V4,
    /// IPv6 only (an address in 2001:db8::/32, its own /64).
    V6,
    /// Both, one `Dht` with a table each.
    Dual,
}

impl Stack {
    /// The families it runs.
    pub fn families(self) -> Families {
        match self {
            Stack::V4 => Families::V4,
            Stack::V6 => Families::V6,
            Stack::Dual => Families::BOTH,
        }
    }
}

pub(super) fn addr_of(index: usize) -> SocketAddr {
    let ip = FIRST_ADDR.saturating_add(index as u32);
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), PORT))
}

pub(super) fn addr6_of(index: usize) -> SocketAddr {
    let [p0, p1] = V6_PREFIX;
    let (hi, lo) = ((index >> 16) as u16, index as u16);
    let ip = Ipv6Addr::new(p0, p1, hi, lo, 0, 0, 0, 1);
    SocketAddr::V6(SocketAddrV6::new(ip, PORT, 0, 0))
}
