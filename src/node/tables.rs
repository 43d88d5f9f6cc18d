//! The node's routing tables: one per enabled address family (BEP 32).

use crate::addr::{Families, Family};
use crate::id::Id;
use crate::krpc::{NodeV4, NodeV6};
use crate::routing::{Entry, RoutingConfig, RoutingTable};
use crate::time::Instant;
use arrayvec::ArrayVec;
use core::net::SocketAddr;

/// Nodes listed in a `nodes` or `nodes6` answer (BEP 5's K).
pub(crate) const HANDED_OUT: usize = 8;

/// A routing table for each enabled family.
#[derive(Clone, Debug)]
pub(crate) struct Tables {
    v4: Option<RoutingTable>,
    v6: Option<RoutingTable>,
}

impl Tables {
    /// Empty tables around `id` for `families` (an empty set runs IPv4), their address
    /// indexes keyed by the secret `key`.
    pub(crate) fn new(id: Id, families: Families, config: RoutingConfig, key: u64) -> Self {
        let families = if families.is_empty() {
            Families::V4
        } else {
            families
        };
        let table = |family| RoutingTable::new(id, family, config).with_index_key(key);
        Tables {
            v4: families.contains(Family::V4).then(|| table(Family::V4)),
            v6: families.contains(Family::V6).then(|| table(Family::V6)),
        }
    }

    pub(crate) fn get(&self, family: Family) -> Option<&RoutingTable> {
        match family {
            Family::V4 => self.v4.as_ref(),
            Family::V6 => self.v6.as_ref(),
        }
    }

    pub(crate) fn get_mut(&mut self, family: Family) -> Option<&mut RoutingTable> {
        match family {
            Family::V4 => self.v4.as_mut(),
            Family::V6 => self.v6.as_mut(),
        }
    }

    /// Whether `family` has a table.
    pub(crate) fn has(&self, family: Family) -> bool {
        self.get(family).is_some()
    }

    /// The families with a table.
    pub(crate) fn families(&self) -> Families {
        let mut f = Families::NONE;
        if self.v4.is_some() {
            f = f.with(Family::V4);
        }
        if self.v6.is_some() {
            f = f.with(Family::V6);
        }
        f
    }

    /// The enabled tables, IPv4 first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &RoutingTable> {
        self.v4.iter().chain(self.v6.iter())
    }

    /// The enabled tables, IPv4 first, to change.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut RoutingTable> {
        self.v4.iter_mut().chain(self.v6.iter_mut())
    }

    /// The same tables around another own id (see [`RoutingTable::with_own_id`]).
    pub(crate) fn with_own_id(&self, id: Id, now: Instant) -> Tables {
        Tables {
            v4: self.v4.as_ref().map(|t| t.with_own_id(id, now)),
            v6: self.v6.as_ref().map(|t| t.with_own_id(id, now)),
        }
    }

    /// Entries in all tables.
    pub(crate) fn len(&self) -> usize {
        self.iter().map(RoutingTable::len).sum()
    }

    pub(crate) fn len_of(&self, family: Family) -> usize {
        self.get(family).map_or(0, RoutingTable::len)
    }

    /// The entries of `family` to list in an answer about `target`, closest first (see
    /// [`RoutingTable::closest_to_hand_out`]); none if the family has no table.
    pub(crate) fn hand_out(
        &self,
        family: Family,
        target: &Id,
        now: Instant,
    ) -> ArrayVec<&Entry, HANDED_OUT> {
        match self.get(family) {
            Some(t) => {
                let found = t.closest_to_hand_out::<HANDED_OUT>(target, now);
                // A table only ever holds its own family: `RoutingTable::on_response`
                // refuses the other (and a filter here cost an eighth of a find_node
                // answer).
                debug_assert!(found.iter().all(|e| Family::of(e.addr_ref()) == family));
                found
            }
            None => ArrayVec::new(),
        }
    }

    /// [`Tables::hand_out`] in the compact forms of `nodes` and `nodes6`, for the
    /// families in `wanted`.
    pub(crate) fn hand_out_compact(
        &self,
        wanted: Families,
        target: &Id,
        now: Instant,
    ) -> (ArrayVec<NodeV4, HANDED_OUT>, ArrayVec<NodeV6, HANDED_OUT>) {
        let mut v4 = ArrayVec::new();
        let mut v6 = ArrayVec::new();
        if wanted.contains(Family::V4) {
            for e in self.hand_out(Family::V4, target, now) {
                if let SocketAddr::V4(addr) = e.addr() {
                    v4.push(NodeV4 { id: *e.id(), addr });
                }
            }
        }
        if wanted.contains(Family::V6) {
            for e in self.hand_out(Family::V6, target, now) {
                if let SocketAddr::V6(addr) = e.addr() {
                    v6.push(NodeV6 { id: *e.id(), addr });
                }
            }
        }
        (v4, v6)
    }
}
