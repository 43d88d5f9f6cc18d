//! A BEP 33 scrape's side of a search: the union of the filters received.

use crate::krpc::Response;
use crate::store::{BloomFilter, Scrape};
use alloc::collections::BTreeSet;
use core::net::IpAddr;

/// Legacy peers remembered per scrape (see [`ScrapeState::legacy`]).
const MAX_LEGACY_PEERS: usize = 1024;

#[derive(Clone, Debug, Default)]
pub(crate) struct ScrapeState {
    /// The union of the filters received.
    pub(crate) filters: Scrape,
    /// Nodes whose answers carried filters.
    pub(crate) responses: usize,
    /// IPs from answers with `values` but no filters (nodes without BEP 33): counted as
    /// downloaders at the end unless a seed filter has them (BEP 33).
    legacy: BTreeSet<IpAddr>,
}

impl ScrapeState {
    /// A scrape that starts from this node's own filters, if it stores the torrent.
    pub(crate) fn new(own: Option<Scrape>) -> Self {
        ScrapeState {
            responses: usize::from(own.is_some()),
            filters: own.unwrap_or_default(),
            legacy: BTreeSet::new(),
        }
    }

    /// Merges what an answer says: its filters, or, from a node without BEP 33, the IPs
    /// of its `values`.
    pub(crate) fn on_response(&mut self, r: &Response<'_>) {
        if r.bf_seeds.is_some() || r.bf_peers.is_some() {
            if let Some(bf) = r.bf_seeds {
                self.filters.seeds.merge(&BloomFilter::from_bytes(*bf));
            }
            if let Some(bf) = r.bf_peers {
                self.filters.peers.merge(&BloomFilter::from_bytes(*bf));
            }
            self.responses = self.responses.saturating_add(1);
        } else if let Some(values) = r.values {
            for peer in values.iter() {
                if self.legacy.len() >= MAX_LEGACY_PEERS {
                    break;
                }
                self.legacy.insert(peer.ip().to_canonical());
            }
        }
    }

    /// At the end: legacy peers join the downloaders unless a seed filter has them; the
    /// estimated seeds and downloaders, and the answers with filters.
    pub(crate) fn finish(&mut self) -> (u32, u32, usize) {
        let legacy = core::mem::take(&mut self.legacy);
        for ip in legacy {
            if !self.filters.seeds.contains(ip) {
                self.filters.peers.insert(ip);
            }
        }
        (
            count(&self.filters.seeds),
            count(&self.filters.peers),
            self.responses,
        )
    }
}

/// A filter's estimate (BEP 33), rounded; 0 for an empty filter (whose formula gives 0.5).
fn count(filter: &BloomFilter) -> u32 {
    if filter.is_empty() {
        0
    } else {
        // `as` saturates; the estimate is at most about 7805.
        (filter.estimate() + 0.5) as u32
    }
}
