//! The end of a search: whether it is over, and the event that says so.

use super::scrape::ScrapeState;
use super::{Kind, Phase, Search};
use crate::node::Event;
use crate::time::Instant;
use alloc::collections::BTreeSet;

impl Search {
    /// If the search is over, marks it done and returns the event that says so (none for
    /// a refresh, or a bootstrap that found nobody). `nodes` is the size of the routing
    /// tables, for [`Event::Bootstrapped`].
    pub(crate) fn poll_finished(&mut self, now: Instant, nodes: usize) -> Option<Option<Event>> {
        let over = match &self.phase {
            // An announce or a put goes on to its second phase first
            // ([`Search::next_store_query`]).
            Phase::Lookup => self.lookups_finished() && !self.stores(),
            Phase::Storing(st) => st.sent >= st.targets.len() && st.pending == 0,
            Phase::Done => false,
        };
        if !over {
            return None;
        }
        let elapsed = now.saturating_duration_since(self.started);
        let stats = self.stats();
        let (query, target) = (self.id, self.target);
        let accepted = match &self.phase {
            Phase::Storing(st) => Some(st.accepted),
            _ => None,
        };
        let event = match (self.kind, accepted) {
            (Kind::Bootstrap, _) => (nodes > 0).then_some(Event::Bootstrapped { nodes }),
            (Kind::Refresh, _) => None,
            (Kind::FindNode | Kind::GetPeers | Kind::GetItem, _) => Some(Event::LookupDone {
                query,
                target,
                stats,
                elapsed,
            }),
            (Kind::Announce { .. }, Some(accepted)) => Some(Event::Announced {
                query,
                info_hash: target,
                accepted,
                stats,
                elapsed,
            }),
            (Kind::PutItem, Some(stored)) => {
                let (refused, error) = self
                    .item
                    .as_ref()
                    .map_or((0, None), |i| (i.refused, i.error));
                Some(Event::ItemPut {
                    query,
                    target,
                    stored,
                    refused,
                    error,
                    stats,
                    elapsed,
                })
            }
            (Kind::Scrape, _) => {
                let (seeds, peers, responses) = self
                    .scrape
                    .as_deref_mut()
                    .map_or((0, 0, 0), ScrapeState::finish);
                Some(Event::Scraped {
                    query,
                    info_hash: target,
                    seeds,
                    peers,
                    responses,
                    stats,
                    elapsed,
                })
            }
            (Kind::Announce { .. } | Kind::PutItem, None) => None,
        };
        self.phase = Phase::Done;
        self.peers_seen = BTreeSet::new();
        Some(event)
    }
}
