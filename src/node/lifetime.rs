//! The commands of a node that runs for weeks: its bootstrap addresses and external
//! address as the driver learns them, standing announces and items, and its saved state.

use super::items::{self, MutableItem};
use super::standing::Work;
use super::state::{self, StateError};
use super::{AnnouncePort, CommandError, Config, Dht};
use crate::addr::{Family, canonical};
use crate::bencode::RawValue;
use crate::id::Id;
use crate::routing::{Node, RoutingTable};
use crate::time::Instant;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::net::{IpAddr, SocketAddr};

impl Dht {
    /// Replaces the bootstrap addresses (unlike [`Dht::bootstrap`], which adds to them):
    /// the driver's answer to [`Event::BootstrapFailed`](super::Event::BootstrapFailed),
    /// after resolving the router names again. If the node has lost touch, it
    /// bootstraps from them at its next tick.
    pub fn set_bootstrap(&mut self, now: Instant, addrs: &[SocketAddr]) {
        let now = self.advance(now);
        let lost = self.is_lost(now);
        self.maintenance
            .replace(now, addrs.iter().map(|a| canonical(*a)), lost);
        self.timer_hint = self.timer_hint.min(now);
    }

    /// The bootstrap addresses the node remembers.
    pub fn bootstrap_addrs(&self) -> &[SocketAddr] {
        &self.maintenance.bootstrap_addrs
    }

    /// Sets the node's external address of `ip`'s family (known from UPnP, NAT-PMP or
    /// configuration): it wins over the `ip` votes of the nodes that answer
    /// ([`Event::ExternalAddress`](super::Event::ExternalAddress)), and, with
    /// [`OwnId::SecureForExternalAddress`](super::OwnId), the node takes a BEP 42 secure
    /// id for it if its id is not one.
    pub fn set_external_address(&mut self, now: Instant, ip: IpAddr) {
        let now = self.advance(now);
        if self.external.set(ip) {
            self.external_changed(now, ip.to_canonical());
        }
    }

    /// The node's external address of `family`: set by the driver, voted by the nodes
    /// that answered it, or from a saved state.
    pub fn external_address(&self, family: Family) -> Option<IpAddr> {
        self.external.get(family)
    }

    /// Announces `info_hash` now and again every
    /// [`REANNOUNCE_EVERY`](super::REANNOUNCE_EVERY) (15 minutes, as libtorrent does), until
    /// [`Dht::stop_announcing`]: each run is an [`Dht::announce`] and ends with
    /// [`Event::Announced`](super::Event::Announced). Keeping an info-hash already kept
    /// replaces its port and seed flag.
    pub fn keep_announced(
        &mut self,
        now: Instant,
        info_hash: Id,
        port: AnnouncePort,
        seed: bool,
    ) -> Result<(), CommandError> {
        let now = self.advance(now);
        let work = Work::Announce {
            info_hash,
            port,
            seed,
        };
        if !self.standing.keep(now, work) {
            return Err(CommandError::TooManyKept);
        }
        self.run_standing(now);
        Ok(())
    }

    /// Stops the announces of `info_hash` kept by [`Dht::keep_announced`] (a run under
    /// way finishes); whether there were any.
    pub fn stop_announcing(&mut self, info_hash: &Id) -> bool {
        self.standing.stop(info_hash, true)
    }

    /// Puts a BEP 44 item now and again every [`REPUBLISH_EVERY`](super::REPUBLISH_EVERY)
    /// (an hour, under BEP 44's two-hour expiry), until [`Dht::stop_publishing`]; its
    /// target. Each run is a [`Dht::put_item`] and ends with
    /// [`Event::ItemPut`](super::Event::ItemPut). Refused as `put_item` refuses.
    pub fn keep_published(
        &mut self,
        now: Instant,
        value: RawValue<'_>,
        mutable: Option<MutableItem<'_>>,
    ) -> Result<Id, CommandError> {
        let now = self.advance(now);
        let (target, state) = items::put_state(value, mutable.as_ref(), self.verifier())?;
        let put = state.put.ok_or(CommandError::TooManyKept)?;
        if !self.standing.keep(now, Work::Publish { target, put }) {
            return Err(CommandError::TooManyKept);
        }
        self.run_standing(now);
        Ok(target)
    }

    /// Stops republishing the item at `target` (a run under way finishes); whether it
    /// was kept.
    pub fn stop_publishing(&mut self, target: &Id) -> bool {
        self.standing.stop(target, false)
    }

    /// Announces and items kept going.
    pub fn kept(&self) -> usize {
        self.standing.len()
    }

    /// The nodes a state saves: the good ones of each family, most recently heard
    /// first, then saved nodes not verified yet (a node restarted again soon after a
    /// restart keeps them).
    fn nodes_to_save(&self) -> Vec<Node> {
        let mut out = Vec::new();
        for table in self.tables.iter() {
            let mut good: Vec<_> = table
                .iter()
                .filter(|e| matches_good(table, e, self.now))
                .collect();
            good.sort_by_key(|e| Reverse(e.last_response()));
            out.extend(good.iter().take(state::MAX_SAVED_NODES).map(|e| e.node()));
        }
        for n in &self.maintenance.restored {
            if !out.iter().any(|o| o.addr == n.addr) {
                out.push(*n);
            }
        }
        out
    }

    /// The length of the state [`Dht::save_state`] writes now.
    pub fn state_len(&self) -> usize {
        let external = [self.external.get(Family::V4), self.external.get(Family::V6)];
        state::encoded_len(&self.id, external, &self.nodes_to_save())
    }

    /// Writes the node's state into `buf` (see [`STATE_VERSION`](super::STATE_VERSION)
    /// for what it holds): its id, its external addresses and its good nodes, for
    /// [`Dht::from_state`] after a restart. Its length, or
    /// [`StateError::BufferTooSmall`] with the length needed ([`Dht::state_len`]).
    ///
    /// ```
    /// use btdht::node::{Config, Dht};
    /// use btdht::time::Instant;
    ///
    /// let now = Instant::from_millis(0);
    /// let dht = Dht::new(Config::default(), [7; 32], now);
    /// let mut buf = vec![0u8; dht.state_len()];
    /// let n = dht.save_state(&mut buf)?;
    /// let again = Dht::from_state(Config::default(), [8; 32], &buf[..n], now)?;
    /// assert_eq!(again.id(), dht.id());
    /// # Ok::<(), btdht::node::StateError>(())
    /// ```
    pub fn save_state(&self, buf: &mut [u8]) -> Result<usize, StateError> {
        let external = [self.external.get(Family::V4), self.external.get(Family::V6)];
        state::encode(buf, &self.id, external, &self.nodes_to_save())
    }

    /// A node started from a state [`Dht::save_state`] wrote: the same id and external
    /// addresses; the saved nodes of its enabled families seed a bootstrap that starts at
    /// once (no bootstrap address needed) and are pinged a few at a time, entering the
    /// tables only when they answer. A state of an unknown version, or a corrupt one, is
    /// refused: start with [`Dht::new`] instead.
    pub fn from_state(
        config: Config,
        seed: [u8; 32],
        state: &[u8],
        now: Instant,
    ) -> Result<Dht, StateError> {
        let saved = state::decode(state)?;
        let id = saved.id.ok_or(StateError::Corrupt("id"))?;
        let mut dht = Dht::with_id(config, seed, id, now);
        if let Some(ip) = saved.external4 {
            dht.external.restore(IpAddr::V4(ip));
        }
        if let Some(ip) = saved.external6 {
            dht.external.restore(IpAddr::V6(ip));
        }
        let mut nodes: Vec<Node> = saved
            .nodes
            .into_iter()
            .filter(|n| dht.tables.has(Family::of(&n.addr)))
            .collect();
        // The closest to our id first: the first seeds of the bootstrap.
        nodes.sort_by_key(|n| n.id.distance(&id));
        dht.maintenance.restore(nodes);
        if !dht.maintenance.restored.is_empty() {
            let seeds = dht.maintenance.seeds();
            dht.user_bootstrap = Some(super::QueryId(dht.next_query_id));
            let _ = dht.start_bootstrap(&seeds);
        }
        Ok(dht)
    }
}

fn matches_good(table: &RoutingTable, e: &crate::routing::Entry, now: Instant) -> bool {
    let c = table.config();
    e.status(now, c.quiet_period, c.max_failures) == crate::routing::Status::Good
        && e.failures() == 0
}
