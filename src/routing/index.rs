//! The table's address index: every node in a bucket or a replacement cache, found by
//! address, and counted by IP.
//!
//! An open-addressing hash table with linear probing, keyed by IP alone, so that the
//! entries of one IP lie in one probe run: the same walk that finds an address counts
//! its IP. When a split creates a bucket, the slot array is sized for the most nodes the
//! buckets and caches can then hold, at most half full, so an insert that does not split
//! the table never allocates. (A split, or an insert past a reservation the
//! configuration made too small, rehashes into a larger array; nothing is lost.)
//!
//! The hash is a keyed mix, by default keyed from the table's own id, which is public; a
//! node keys it from its secret seed
//! ([`RoutingTable::with_index_key`](super::RoutingTable::with_index_key)), which makes
//! colliding addresses hard to aim at. It is not a cryptographic hash; what bounds the
//! cost of collisions is that a run is never longer than the entries the table holds:
//! at worst a lookup scans the table, and the per-IP cap bounds what one IP adds to a
//! run.

use super::entry::Node;
use crate::id::Id;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};

#[derive(Clone, Debug)]
pub(super) struct AddrIndex {
    /// A power of two long (or empty); `None` is a free slot.
    slots: Vec<Option<Node>>,
    /// Occupied slots.
    len: usize,
    key: u64,
}

impl AddrIndex {
    pub(super) fn new(own: &Id) -> Self {
        let b = own.as_bytes();
        let mut key = [0u8; 8];
        for (k, x) in key.iter_mut().zip(b.iter().rev()) {
            *k = *x;
        }
        AddrIndex {
            slots: Vec::new(),
            len: 0,
            key: u64::from_le_bytes(key) | 1,
        }
    }

    /// The hash key.
    pub(super) fn key(&self) -> u64 {
        self.key
    }

    /// Hashes with another key from now on (every node moves to its new home).
    pub(super) fn rekey(&mut self, key: u64) {
        self.key = key | 1;
        let fresh = alloc::vec![None; self.slots.len()];
        let old = core::mem::replace(&mut self.slots, fresh);
        self.len = 0;
        for node in old.into_iter().flatten() {
            self.place(node);
        }
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The home slot of an IP.
    fn home(&self, ip: &IpAddr) -> usize {
        let bits = match ip {
            IpAddr::V4(v4) => u64::from(u32::from(*v4)),
            IpAddr::V6(v6) => {
                let x = u128::from(*v6);
                // Both halves, the high one turned so that equal halves do not cancel.
                (x as u64) ^ ((x >> 64) as u64).rotate_left(29)
            }
        };
        let mut h = (bits ^ self.key).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^= h >> 29;
        h = h.wrapping_mul(self.key);
        h ^= h >> 32;
        // Truncation on 32-bit targets keeps the low bits, which the mask wants.
        (h as usize) & self.mask()
    }

    /// Room for `nodes` entries at most half full; reallocates only to grow.
    pub(super) fn reserve(&mut self, nodes: usize) {
        let want = nodes.saturating_mul(2).max(8).checked_next_power_of_two();
        let Some(want) = want else {
            return;
        };
        if want <= self.slots.len() {
            return;
        }
        let old = core::mem::replace(&mut self.slots, alloc::vec![None; want]);
        self.len = 0;
        for node in old.into_iter().flatten() {
            self.place(node);
        }
    }

    /// Adds a node (a bucket entry or a cached candidate).
    pub(super) fn add(&mut self, node: Node) {
        if self.len.saturating_add(1).saturating_mul(2) > self.slots.len() {
            self.reserve(self.len.saturating_add(1));
        }
        self.place(node);
    }

    fn place(&mut self, node: Node) {
        let mask = self.mask();
        let mut i = self.home(&node.addr.ip());
        for _ in 0..self.slots.len() {
            match self.slots.get_mut(i) {
                Some(slot @ None) => {
                    *slot = Some(node);
                    self.len = self.len.saturating_add(1);
                    return;
                }
                Some(Some(_)) => i = i.wrapping_add(1) & mask,
                None => return,
            }
        }
    }

    /// The probe run of an IP: the slots from its home to the first free one.
    fn run<'a>(&'a self, ip: &IpAddr) -> impl Iterator<Item = (usize, &'a Node)> + 'a {
        let mask = self.mask();
        let start = self.home(ip);
        (0..self.slots.len())
            .map(move |n| start.wrapping_add(n) & mask)
            .map_while(move |i| Some((i, self.slots.get(i)?.as_ref()?)))
    }

    /// The id held at an address.
    pub(super) fn get(&self, addr: &SocketAddr) -> Option<Id> {
        let ip = addr.ip();
        self.run(&ip)
            .find(|(_, n)| n.addr == *addr)
            .map(|(_, n)| n.id)
    }

    /// Nodes at this IP, counted up to `limit`.
    pub(super) fn count_ip(&self, ip: &IpAddr, limit: usize) -> usize {
        let mut n = 0usize;
        for (_, node) in self.run(ip) {
            if n >= limit {
                break;
            }
            if node.addr.ip() == *ip {
                n = n.saturating_add(1);
            }
        }
        n
    }

    /// Removes a node: the slot with its address and id, else one with its address.
    pub(super) fn remove(&mut self, node: &Node) {
        let ip = node.addr.ip();
        let exact = self
            .run(&ip)
            .find(|(_, n)| *n == node)
            .or_else(|| self.run(&ip).find(|(_, n)| n.addr == node.addr))
            .map(|(i, _)| i);
        if let Some(i) = exact {
            self.vacate(i);
        }
    }

    /// Frees slot `hole` and shifts later members of the run back so that every node
    /// stays reachable from its home slot.
    fn vacate(&mut self, mut hole: usize) {
        let mask = self.mask();
        if let Some(slot) = self.slots.get_mut(hole) {
            if slot.take().is_some() {
                self.len = self.len.saturating_sub(1);
            }
        }
        let mut j = hole;
        for _ in 0..self.slots.len() {
            j = j.wrapping_add(1) & mask;
            let Some(Some(node)) = self.slots.get(j) else {
                return;
            };
            let home = self.home(&node.addr.ip());
            // Distances along the ring from the node's home: it may move back into the
            // hole only if the hole lies between its home and where it is.
            let to_hole = hole.wrapping_sub(home) & mask;
            let to_here = j.wrapping_sub(home) & mask;
            if to_hole < to_here {
                let moved = self.slots.get_mut(j).and_then(Option::take);
                if let Some(dst) = self.slots.get_mut(hole) {
                    *dst = moved;
                }
                hole = j;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(i: u32, port: u16) -> Node {
        let mut id = [0u8; 20];
        id[..4].copy_from_slice(&i.to_be_bytes());
        Node {
            id: Id::from_bytes(id),
            addr: SocketAddr::new(IpAddr::V4(core::net::Ipv4Addr::from(i)), port),
        }
    }

    #[test]
    fn index_finds_every_node_after_removals_shift_runs() {
        let mut ix = AddrIndex::new(&Id::from_bytes([7; 20]));
        ix.reserve(40);
        let nodes: Vec<Node> = (0..40u32).map(|i| node(i % 13, 1000 + i as u16)).collect();
        for n in &nodes {
            ix.add(*n);
        }
        for (k, n) in nodes.iter().enumerate() {
            if k % 3 == 0 {
                ix.remove(n);
            }
        }
        for (k, n) in nodes.iter().enumerate() {
            let want = (k % 3 != 0).then_some(n.id);
            assert_eq!(ix.get(&n.addr), want, "node {k}");
        }
        let left = |ip: u32| (0..40u32).filter(|i| i % 13 == ip && i % 3 != 0).count();
        for ip in 0..13u32 {
            let ip_addr = IpAddr::V4(core::net::Ipv4Addr::from(ip));
            assert_eq!(ix.count_ip(&ip_addr, usize::MAX), left(ip));
        }
    }

    #[test]
    fn index_grows_past_its_reservation_without_losing_nodes() {
        let mut ix = AddrIndex::new(&Id::from_bytes([1; 20]));
        let nodes: Vec<Node> = (0..100u32).map(|i| node(i * 7919, 6881)).collect();
        for n in &nodes {
            ix.add(*n);
        }
        assert!(nodes.iter().all(|n| ix.get(&n.addr) == Some(n.id)));
    }

    #[test]
    fn rekeying_keeps_every_node_findable() {
        let mut ix = AddrIndex::new(&Id::from_bytes([3; 20]));
        let nodes: Vec<Node> = (0..60u32).map(|i| node(i * 104_729, 6881)).collect();
        for n in &nodes {
            ix.add(*n);
        }
        ix.rekey(0xdead_beef);
        assert!(nodes.iter().all(|n| ix.get(&n.addr) == Some(n.id)));
    }
}
