//! The second phase of an announce or a put: once the lookup is over, an
//! `announce_peer` or a `put` to each of the closest nodes that gave a token, then their
//! answers.

use super::{Kind, MAX_STORES, Phase, Request, Role, Search};
use crate::krpc::ErrorCode;
use crate::lookup::StoredToken;
use crate::node::outgoing::OutBody;
use crate::routing::Node;
use alloc::boxed::Box;
use alloc::vec::Vec;

/// The second phase of an announce or a put: a query to each of the closest nodes that
/// gave a token, then the answers.
#[derive(Clone, Debug)]
pub(super) struct Storing {
    /// At most [`MAX_STORES`], in fact `k`: sized to what it holds.
    pub(super) targets: Vec<(Node, StoredToken)>,
    pub(super) sent: usize,
    pub(super) pending: usize,
    pub(super) accepted: usize,
}

impl Search {
    /// Whether the search has a second phase: an announce, or a put with an item.
    pub(super) fn stores(&self) -> bool {
        match self.kind {
            Kind::Announce { .. } => true,
            Kind::PutItem => self.item.as_ref().is_some_and(|i| i.put.is_some()),
            _ => false,
        }
    }

    /// Once the lookup is over, the second phase of an announce or a put: the next
    /// `announce_peer` or `put` to one of the closest nodes that gave a token.
    pub(crate) fn next_store_query(&mut self) -> Option<Request> {
        if matches!(self.phase, Phase::Lookup) && self.lookups_finished() && self.stores() {
            {
                let targets = self
                    .closest()
                    .filter_map(|(n, t)| Some((n, StoredToken::from_slice(t?))))
                    .take(MAX_STORES)
                    .collect();
                self.phase = Phase::Storing(Box::new(Storing {
                    targets,
                    sent: 0,
                    pending: 0,
                    accepted: 0,
                }));
            }
        }
        let Phase::Storing(st) = &mut self.phase else {
            return None;
        };
        let (node, token) = st.targets.get(st.sent)?.clone();
        st.sent += 1;
        st.pending += 1;
        let body = match self.kind {
            Kind::Announce { port, seed } => OutBody::QueryAnnounce {
                info_hash: self.target,
                port,
                seed,
                token,
            },
            _ => {
                self.put_request()?;
                OutBody::QueryPut {
                    token,
                    query: self.id,
                }
            }
        };
        Some(Request {
            to: node.addr,
            expect: Some(node.id),
            body,
            role: Role::Store,
        })
    }

    /// A store was refused with `code` (a BEP 44 put's error answer).
    pub(crate) fn on_refused(&mut self, code: ErrorCode) {
        if let Some(i) = &mut self.item {
            i.record_refusal(code);
        }
    }

    pub(super) fn on_stored(&mut self, accepted: bool) {
        if let Phase::Storing(st) = &mut self.phase {
            st.pending = st.pending.saturating_sub(1);
            if accepted {
                st.accepted += 1;
            }
        }
    }
}
