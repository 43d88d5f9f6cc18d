//! The node's saved state: what a restart needs to be back in the network without the
//! bootstrap routers.
//!
//! A small versioned bencoded dictionary (keys sorted, as bencode requires):
//!
//! | key | value |
//! |---|---|
//! | `id` | the node id, 20 bytes |
//! | `ip4`, `ip6` | the external addresses, 4 or 16 bytes, when known |
//! | `nodes`, `nodes6` | good nodes of each family, compact (26 or 38 bytes each, as in KRPC), at most [`MAX_SAVED_NODES`] each |
//! | `version` | [`STATE_VERSION`] |
//!
//! Unknown keys are ignored (a newer writer may add some); a state of another version,
//! or one that is not such a dictionary, is refused with a [`StateError`], never a panic.
//! A node started from a state ([`Dht::from_state`](super::Dht::from_state)) pings the
//! saved nodes a few at a time and trusts none of them before it answers; meanwhile they
//! seed its lookups, as bootstrap addresses do.

use crate::bencode::{Encoder, Sink, SliceSink, Value};
use crate::id::Id;
use crate::krpc::{CompactEntry, CompactList, NodeV4, NodeV6};
use crate::routing::Node;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The version this crate writes and reads.
pub const STATE_VERSION: i64 = 1;

/// Good nodes saved per family at most.
pub const MAX_SAVED_NODES: usize = 256;

/// Why a state could not be saved or loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateError {
    /// The buffer is shorter than the state: `needed` bytes are.
    BufferTooSmall {
        /// Bytes the state takes.
        needed: usize,
    },
    /// A state of a version this crate does not read.
    UnknownVersion(i64),
    /// Not a state: the field named is missing or malformed (or the bytes are not a
    /// bencoded dictionary, `"state"`).
    Corrupt(&'static str),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::BufferTooSmall { needed } => {
                write!(f, "buffer too small for the state: {needed} bytes needed")
            }
            StateError::UnknownVersion(v) => write!(f, "unknown state version {v}"),
            StateError::Corrupt(field) => write!(f, "corrupt state: bad or missing `{field}`"),
        }
    }
}

impl core::error::Error for StateError {}

/// What a state holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Saved {
    pub(crate) id: Option<Id>,
    pub(crate) external4: Option<Ipv4Addr>,
    pub(crate) external6: Option<Ipv6Addr>,
    pub(crate) nodes: alloc::vec::Vec<Node>,
}

/// Counts bytes without writing them.
struct Count(usize);

impl Sink for Count {
    fn put(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(bytes.len());
    }
}

/// Writes `nodes` of one family in compact form as one byte string.
fn compact_nodes<S: Sink>(e: &mut Encoder<'_, S>, nodes: &[Node], v6: bool) {
    let count = nodes
        .iter()
        .filter(|n| n.addr.is_ipv6() == v6)
        .take(MAX_SAVED_NODES)
        .count();
    e.bytes_header(count.saturating_mul(if v6 { 38 } else { 26 }));
    for n in nodes
        .iter()
        .filter(|n| n.addr.is_ipv6() == v6)
        .take(MAX_SAVED_NODES)
    {
        match n.addr {
            SocketAddr::V4(addr) => NodeV4 { id: n.id, addr }.write(e),
            SocketAddr::V6(addr) => NodeV6 { id: n.id, addr }.write(e),
        }
    }
}

/// Writes the state.
fn write<S: Sink>(sink: &mut S, id: &Id, external: [Option<IpAddr>; 2], nodes: &[Node]) {
    let mut e = Encoder::new(sink);
    e.begin_dict();
    e.bytes(b"id");
    e.bytes(id.as_bytes());
    if let Some(IpAddr::V4(ip)) = external[0] {
        e.bytes(b"ip4");
        e.bytes(&ip.octets());
    }
    if let Some(IpAddr::V6(ip)) = external[1] {
        e.bytes(b"ip6");
        e.bytes(&ip.octets());
    }
    if nodes.iter().any(|n| n.addr.is_ipv4()) {
        e.bytes(b"nodes");
        compact_nodes(&mut e, nodes, false);
    }
    if nodes.iter().any(|n| n.addr.is_ipv6()) {
        e.bytes(b"nodes6");
        compact_nodes(&mut e, nodes, true);
    }
    e.bytes(b"version");
    e.int(STATE_VERSION);
    e.end();
}

/// The length of the state these fields make.
pub(crate) fn encoded_len(id: &Id, external: [Option<IpAddr>; 2], nodes: &[Node]) -> usize {
    let mut count = Count(0);
    write(&mut count, id, external, nodes);
    count.0
}

/// Writes the state into `buf`; its length.
pub(crate) fn encode(
    buf: &mut [u8],
    id: &Id,
    external: [Option<IpAddr>; 2],
    nodes: &[Node],
) -> Result<usize, StateError> {
    let needed = encoded_len(id, external, nodes);
    let mut sink = SliceSink::new(buf);
    write(&mut sink, id, external, nodes);
    sink.written().ok_or(StateError::BufferTooSmall { needed })
}

/// Reads a state.
pub(crate) fn decode(bytes: &[u8]) -> Result<Saved, StateError> {
    let value = Value::decode(bytes).map_err(|_| StateError::Corrupt("state"))?;
    let dict = value.as_dict().ok_or(StateError::Corrupt("state"))?;
    let version = dict
        .get(b"version")
        .and_then(|v| v.as_int())
        .ok_or(StateError::Corrupt("version"))?;
    if version != STATE_VERSION {
        return Err(StateError::UnknownVersion(version));
    }
    let id = dict
        .get(b"id")
        .and_then(|v| v.as_bytes())
        .and_then(Id::from_slice)
        .ok_or(StateError::Corrupt("id"))?;
    let mut saved = Saved {
        id: Some(id),
        ..Saved::default()
    };
    if let Some(v) = dict.get(b"ip4") {
        let b: [u8; 4] = v
            .as_bytes()
            .and_then(|b| b.try_into().ok())
            .ok_or(StateError::Corrupt("ip4"))?;
        saved.external4 = Some(Ipv4Addr::from(b));
    }
    if let Some(v) = dict.get(b"ip6") {
        let b: [u8; 16] = v
            .as_bytes()
            .and_then(|b| b.try_into().ok())
            .ok_or(StateError::Corrupt("ip6"))?;
        saved.external6 = Some(Ipv6Addr::from(b));
    }
    if let Some(v) = dict.get(b"nodes") {
        let list = v
            .as_bytes()
            .and_then(CompactList::<NodeV4>::from_bytes)
            .ok_or(StateError::Corrupt("nodes"))?;
        saved
            .nodes
            .extend(list.iter().take(MAX_SAVED_NODES).map(|n| Node {
                id: n.id,
                addr: SocketAddr::V4(n.addr),
            }));
    }
    if let Some(v) = dict.get(b"nodes6") {
        let list = v
            .as_bytes()
            .and_then(CompactList::<NodeV6>::from_bytes)
            .ok_or(StateError::Corrupt("nodes6"))?;
        saved
            .nodes
            .extend(list.iter().take(MAX_SAVED_NODES).map(|n| Node {
                id: n.id,
                addr: SocketAddr::V6(n.addr),
            }));
    }
    // Nodes that could never be asked are dropped rather than refused: a state from a
    // node with other settings is still a good start.
    saved
        .nodes
        .retain(|n| n.addr.port() != 0 && n.id != id && !n.addr.ip().is_unspecified());
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn a_state_reads_back_what_was_written() {
        let id = Id::from_bytes([7; 20]);
        let nodes = vec![
            Node {
                id: Id::from_bytes([1; 20]),
                addr: "203.0.113.1:6881".parse().unwrap(),
            },
            Node {
                id: Id::from_bytes([2; 20]),
                addr: "[2001:db8::2]:6882".parse().unwrap(),
            },
        ];
        let ext = [Some("198.51.100.9".parse().unwrap()), None];
        let mut buf = [0u8; 512];
        let n = encode(&mut buf, &id, ext, &nodes).unwrap();
        assert_eq!(n, encoded_len(&id, ext, &nodes));
        let saved = decode(&buf[..n]).unwrap();
        assert_eq!(saved.id, Some(id));
        assert_eq!(saved.external4, Some("198.51.100.9".parse().unwrap()));
        assert_eq!(saved.nodes, nodes);
        // Every shorter buffer is refused with the length needed.
        for short in 0..n {
            assert_eq!(
                encode(&mut buf[..short], &id, ext, &nodes),
                Err(StateError::BufferTooSmall { needed: n })
            );
        }
    }

    #[test]
    fn another_version_and_corrupt_states_are_refused() {
        assert_eq!(
            decode(b"d2:id20:aaaaaaaaaaaaaaaaaaaa7:versioni2ee"),
            Err(StateError::UnknownVersion(2))
        );
        assert_eq!(decode(b"d7:versioni1ee"), Err(StateError::Corrupt("id")));
        assert_eq!(
            decode(b"d2:id20:aaaaaaaaaaaaaaaaaaaa5:nodes3:abc7:versioni1ee"),
            Err(StateError::Corrupt("nodes"))
        );
        assert_eq!(decode(b"le"), Err(StateError::Corrupt("state")));
        assert_eq!(decode(b"d2:id"), Err(StateError::Corrupt("state")));
    }
}
