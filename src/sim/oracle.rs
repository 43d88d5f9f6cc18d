//! The oracle every lookup is scored against: which live nodes a stranger can reach,
//! and which are closest to a target, in each network.

use super::{Behaviour, Sim, SimNode, Stack, reachable};
use crate::Id;
use crate::addr::Family;
use crate::time::Instant;
use alloc::vec::Vec;

impl Sim {
    /// The ids of the `k` live nodes closest to `target` that a stranger can reach
    /// (honest or hostile: not silent, not behind a NAT) and that joined by `joined_by`,
    /// leaving out `except`, closest first. This is the oracle a lookup is scored
    /// against.
    pub fn closest_reachable(
        &self,
        target: &Id,
        k: usize,
        except: Option<usize>,
        joined_by: Instant,
    ) -> Vec<Id> {
        self.closest_reachable_in(None, target, k, except, joined_by)
    }

    /// [`Sim::closest_reachable`] among the nodes on `family`'s network (every node for
    /// `None`): the oracle of a lookup in that family's table.
    pub fn closest_reachable_in(
        &self,
        family: Option<Family>,
        target: &Id,
        k: usize,
        except: Option<usize>,
        joined_by: Instant,
    ) -> Vec<Id> {
        let on = |n: &SimNode| match family {
            None => true,
            Some(Family::V4) => n.stack != Stack::V6,
            Some(Family::V6) => n.stack != Stack::V4,
        };
        let mut ids: Vec<Id> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| Some(*i) != except && n.joined <= joined_by && reachable(n) && on(n))
            .map(|(_, n)| *n.dht.id())
            .collect();
        if ids.len() > k {
            ids.select_nth_unstable_by_key(k, |id| id.distance(target));
            ids.truncate(k);
        }
        ids.sort_by_key(|id| id.distance(target));
        ids
    }

    /// The behaviour of the node with this id, if it is one of ours.
    pub fn behaviour_of(&self, id: &Id) -> Option<Behaviour> {
        self.by_id
            .get(id)
            .and_then(|&i| self.nodes.get(i))
            .map(|n| n.behaviour)
    }

    /// Whether the node with this id is live and reachable by a stranger.
    pub fn is_reachable(&self, id: &Id) -> bool {
        self.by_id
            .get(id)
            .and_then(|&i| self.nodes.get(i))
            .is_some_and(reachable)
    }
}
