//! What the wire does to the table: a response (the only way in, with the replacement
//! cache and bucket splits behind a full bucket), a query (refreshes, never adds) and a
//! failure (counts, and evicts a bad entry for a cached candidate).

use super::bits::common_prefix;
use super::{Bucket, Entry, IdSecurity, Node, PING_BACKOFF, RoutingTable, SecureIds, Slot, Status};
use crate::addr::{Family, LocalAddresses, canonical, is_global};
use crate::id::Id;
use crate::time::Instant;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};
use core::time::Duration;

/// What [`RoutingTable::on_response`] did with a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Insert {
    /// Added to its bucket.
    Added,
    /// Already known (in a bucket or the replacement cache); liveness refreshed.
    Refreshed,
    /// Took the place of a bad entry, which is gone.
    ReplacedBad {
        /// The entry removed.
        evicted: Node,
    },
    /// The bucket is full: the node waits in the replacement cache; ping this
    /// questionable entry, and if it fails ([`RoutingTable::on_failure`]) a cached node
    /// replaces it.
    PingFirst {
        /// The entry to ping.
        questionable: Node,
    },
    /// The bucket is full of good nodes: the node waits in the replacement cache.
    Cached,
    /// Not added.
    Rejected(Rejection),
}

/// Why a node was not added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// It has our own id.
    OwnId,
    /// Its address belongs to the other family's table.
    WrongFamily,
    /// A loopback, private or link-local address, and [`LocalAddresses::Refuse`].
    LocalAddress,
    /// Its id breaks BEP 42 and [`SecureIds::Require`] is set.
    InsecureId,
    /// Its IP already has [`RoutingConfig::max_per_ip`](super::RoutingConfig::max_per_ip)
    /// entries.
    IpLimit,
    /// A good entry at another address has this id.
    IdInUse,
    /// Bucket and replacement cache are full of nodes it may not displace.
    Full,
}

/// What [`RoutingTable::on_failure`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureOutcome {
    /// Not in the table.
    Unknown,
    /// Counted; the entry's status is now `status`.
    Counted {
        /// Its status after counting.
        status: Status,
    },
    /// The entry went bad and a cached node took its place.
    Replaced {
        /// The bad entry, removed.
        removed: Node,
        /// The cached node, now in the bucket.
        promoted: Node,
    },
}

fn bep42_security(id: &Id, ip: IpAddr) -> IdSecurity {
    match id.check_secure(ip) {
        crate::id::SecureIdCheck::Secure => IdSecurity::Secure,
        crate::id::SecureIdCheck::Exempt => IdSecurity::Exempt,
        crate::id::SecureIdCheck::Insecure => IdSecurity::Insecure,
    }
}

impl RoutingTable {
    fn security_of(&self, node: &Node) -> IdSecurity {
        if self.config.secure_ids == SecureIds::Ignore {
            return IdSecurity::Secure;
        }
        bep42_security(&node.id, node.addr.ip())
    }

    /// A node answered one of our queries (after `rtt`, if measured): the only way into
    /// the table.
    pub fn on_response(&mut self, now: Instant, node: Node, rtt: Option<Duration>) -> Insert {
        let node = Node {
            id: node.id,
            addr: canonical(node.addr),
        };
        if node.id == self.own {
            return Insert::Rejected(Rejection::OwnId);
        }
        if Family::of(&node.addr) != self.family {
            return Insert::Rejected(Rejection::WrongFamily);
        }
        if self.config.local_addresses == LocalAddresses::Refuse && !is_global(node.addr.ip()) {
            return Insert::Rejected(Rejection::LocalAddress);
        }
        let security = self.security_of(&node);
        if self.config.secure_ids == SecureIds::Require && security == IdSecurity::Insecure {
            return Insert::Rejected(Rejection::InsecureId);
        }
        if let Some(known) = self.index.get(&node.addr) {
            if known == node.id {
                if let Some(at) = self.locate(&known) {
                    if let Some(e) = self.entry_mut(at) {
                        e.responded(now, rtt);
                    }
                    if at.1 == Slot::Main {
                        if let Some(b) = self.buckets.get_mut(at.0) {
                            b.last_changed = b.last_changed.max(now);
                        }
                    }
                    return Insert::Refreshed;
                }
            } else {
                // A fresh response says this address now has another id.
                self.remove(&known);
            }
        }
        if let Some(at) = self.locate(&node.id) {
            let good_elsewhere = at.1 == Slot::Main
                && self
                    .entry_mut(at)
                    .map(|e| e.clone())
                    .is_some_and(|e| self.status(&e, now) == Status::Good);
            if good_elsewhere {
                return Insert::Rejected(Rejection::IdInUse);
            }
            self.take(at);
        }
        let max_per_ip = self.config.max_per_ip;
        if self.index.count_ip(&node.addr.ip(), max_per_ip) >= max_per_ip {
            return Insert::Rejected(Rejection::IpLimit);
        }
        self.insert_new(now, Entry::new(node, now, rtt, security))
    }

    fn insert_new(&mut self, now: Instant, entry: Entry) -> Insert {
        let mut b = self.index_of(&entry.node.id);
        while self.buckets.get(b).map_or(0, |x| x.entries.len()) >= self.capacity(b) {
            if b == self.last() && self.may_split() {
                self.split(now);
                b = self.index_of(&entry.node.id);
            } else {
                return self.insert_into_full(now, b, entry);
            }
        }
        let node = entry.node;
        if let Some(bucket) = self.buckets.get_mut(b) {
            bucket.entries.push(entry);
            bucket.last_changed = bucket.last_changed.max(now);
        }
        self.index_add(&node);
        Insert::Added
    }

    fn may_displace(&self, candidate: IdSecurity, victim: &Entry) -> bool {
        self.config.secure_ids != SecureIds::Prefer
            || !candidate.is_trusted() <= !victim.security.is_trusted()
    }

    fn insert_into_full(&mut self, now: Instant, b: usize, entry: Entry) -> Insert {
        let Some(bucket) = self.buckets.get(b) else {
            return Insert::Rejected(Rejection::Full);
        };
        if let Some(i) = bucket.entries.iter().position(|e| self.is_bad(e)) {
            let node = entry.node;
            self.index_add(&node);
            let evicted = self.buckets.get_mut(b).and_then(|bk| {
                let slot = bk.entries.get_mut(i)?;
                bk.last_changed = bk.last_changed.max(now);
                Some(core::mem::replace(slot, entry).node)
            });
            if let Some(evicted) = evicted {
                self.index_remove(&evicted);
                return Insert::ReplacedBad { evicted };
            }
            return Insert::Rejected(Rejection::Full);
        }
        let ping = bucket
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| self.status(e, now) == Status::Questionable)
            .filter(|(_, e)| {
                e.last_ping
                    .is_none_or(|t| now.saturating_duration_since(t) >= PING_BACKOFF)
            })
            .filter(|(_, e)| self.may_displace(entry.security, e))
            .min_by_key(|(_, e)| e.last_response)
            .map(|(i, e)| (i, e.node));
        let cached = self.cache_push(b, entry);
        match (ping, cached) {
            (Some((i, node)), _) => {
                if let Some(e) = self.buckets.get_mut(b).and_then(|bk| bk.entries.get_mut(i)) {
                    e.last_ping = Some(now);
                }
                Insert::PingFirst { questionable: node }
            }
            (None, true) => Insert::Cached,
            (None, false) => Insert::Rejected(Rejection::Full),
        }
    }

    /// Puts a candidate in bucket `b`'s replacement cache, evicting the least valuable
    /// candidate if it is full; false if the candidate is worth less than all of them.
    fn cache_push(&mut self, b: usize, entry: Entry) -> bool {
        let cap = self.config.replacement_cache;
        let prefer = self.config.secure_ids == SecureIds::Prefer;
        let Some(bucket) = self.buckets.get_mut(b) else {
            return false;
        };
        if cap == 0 {
            return false;
        }
        let rank = |e: &Entry| (prefer && e.security.is_trusted(), e.last_response);
        if bucket.cache.len() >= cap {
            let Some((i, worst)) = bucket.cache.iter().enumerate().min_by_key(|(_, e)| rank(e))
            else {
                return false;
            };
            if rank(worst) > rank(&entry) {
                return false;
            }
            let old = bucket.cache.swap_remove(i).node;
            self.index_remove(&old);
        }
        let node = entry.node;
        if let Some(bucket) = self.buckets.get_mut(b) {
            bucket.cache.push(entry);
        }
        self.index_add(&node);
        true
    }

    /// Splits the home bucket in two.
    fn split(&mut self, now: Instant) {
        let last = self.last();
        let own = self.own;
        let room = self.capacity(last + 1);
        let cache = self.config.replacement_cache;
        let Some(home) = self.buckets.get_mut(last) else {
            return;
        };
        let deeper = |e: &Entry| common_prefix(&own, &e.node.id) > last;
        let mut go = Bucket::with_room(room, cache, home.last_changed);
        // Each side keeps its order; entries are plain data, so the copy is the move.
        home.entries.retain(|e| {
            let moves = deeper(e);
            if moves {
                go.entries.push(e.clone());
            }
            !moves
        });
        home.cache.retain(|e| {
            let moves = deeper(e);
            if moves {
                go.cache.push(e.clone());
            }
            !moves
        });
        self.buckets.push(go);
        self.reserve_index();
        for b in [last, last + 1] {
            self.settle(now, b);
        }
    }

    /// After a split: move overflow into the cache and fill free room from the cache.
    fn settle(&mut self, now: Instant, b: usize) {
        let cap = self.capacity(b);
        let Some(bucket) = self.buckets.get_mut(b) else {
            return;
        };
        bucket
            .entries
            .sort_by_key(|e| core::cmp::Reverse(e.last_response));
        while bucket.entries.len() < cap {
            let Some((i, _)) = bucket
                .cache
                .iter()
                .enumerate()
                .max_by_key(|(_, e)| e.last_response)
            else {
                break;
            };
            let e = bucket.cache.swap_remove(i);
            bucket.entries.push(e);
            bucket.last_changed = bucket.last_changed.max(now);
        }
        // The overflow (only after a split into a smaller bucket), freshest first.
        while let Some(e) = self
            .buckets
            .get_mut(b)
            .filter(|bucket| bucket.entries.len() > cap)
            .map(|bucket| bucket.entries.remove(cap))
        {
            let node = e.node;
            self.index_remove(&node);
            self.cache_push(b, e);
        }
    }

    /// A node sent us a query. Refreshes its entry if the table knows this id at this
    /// address; never adds anything. Returns whether it matched an entry.
    pub fn on_query(&mut self, now: Instant, node: Node) -> bool {
        // Entries hold canonical addresses; only an IPv6 address can need mapping.
        let addr = match node.addr {
            SocketAddr::V4(_) => node.addr,
            SocketAddr::V6(_) => canonical(node.addr),
        };
        // The id's entry (bucket, else cache), at this very address. Searched here
        // rather than through `locate`: this runs for every query served.
        let b = self.index_of(&node.id);
        let Some(bucket) = self.buckets.get_mut(b) else {
            return false;
        };
        let found = match bucket.entries.iter_mut().find(|e| e.node.id == node.id) {
            Some(e) => Some(e),
            None => bucket.cache.iter_mut().find(|e| e.node.id == node.id),
        };
        match found {
            Some(e) if e.node.addr == addr => {
                e.last_query = Some(e.last_query.map_or(now, |t| t.max(now)));
                true
            }
            _ => false,
        }
    }

    /// A query to `id` went unanswered. When the entry goes bad and its bucket has a
    /// cached candidate, the best candidate (BEP 42-valid first, then most recently
    /// heard from) takes its place.
    pub fn on_failure(&mut self, now: Instant, id: &Id) -> FailureOutcome {
        let Some(at) = self.locate(id) else {
            return FailureOutcome::Unknown;
        };
        let max = self.config.max_failures;
        let Some(e) = self.entry_mut(at) else {
            return FailureOutcome::Unknown;
        };
        e.failures = e.failures.saturating_add(1);
        let bad = e.failures >= max;
        if at.1 == Slot::Cache {
            if bad {
                self.take(at);
            }
            return FailureOutcome::Counted {
                status: if bad {
                    Status::Bad
                } else {
                    Status::Questionable
                },
            };
        }
        if !bad {
            let e = self.entry_mut(at).map(|e| e.clone());
            let status = e.map_or(Status::Questionable, |e| self.status(&e, now));
            return FailureOutcome::Counted { status };
        }
        let (b, _, i) = at;
        let prefer = self.config.secure_ids == SecureIds::Prefer;
        let Some(bucket) = self.buckets.get_mut(b) else {
            return FailureOutcome::Unknown;
        };
        let best = bucket
            .cache
            .iter()
            .enumerate()
            .filter(|(_, c)| c.failures < max)
            .max_by_key(|(_, c)| (prefer && c.security.is_trusted(), c.last_response))
            .map(|(j, _)| j);
        let Some(j) = best else {
            return FailureOutcome::Counted {
                status: Status::Bad,
            };
        };
        let candidate = bucket.cache.swap_remove(j);
        let promoted = candidate.node;
        let Some(slot) = bucket.entries.get_mut(i) else {
            bucket.cache.push(candidate);
            return FailureOutcome::Counted {
                status: Status::Bad,
            };
        };
        let removed = core::mem::replace(slot, candidate).node;
        bucket.last_changed = bucket.last_changed.max(now);
        self.index_remove(&removed);
        FailureOutcome::Replaced { removed, promoted }
    }
}

impl RoutingTable {
    /// The same entries (with their liveness) in a table around another own id: what a
    /// node whose id changes (a BEP 42 secure id for a new address) keeps. Entries are
    /// placed freshest first; those that no longer fit go to the replacement caches or
    /// are dropped, and an entry with the new id itself is dropped.
    #[must_use]
    pub fn with_own_id(&self, own_id: Id, now: Instant) -> RoutingTable {
        let mut table =
            RoutingTable::new(own_id, self.family, self.config).with_index_key(self.index.key());
        let mut entries: Vec<&Entry> = self
            .buckets
            .iter()
            .flat_map(|b| b.entries.iter().chain(b.cache.iter()))
            .collect();
        entries.sort_by_key(|e| core::cmp::Reverse(e.last_response));
        for e in entries {
            if e.node.id != own_id {
                let _ = table.insert_new(now, e.clone());
            }
        }
        table
    }
}
