//! Outstanding queries, matched in O(1) by transaction id.
//!
//! A transaction id is 4 bytes: a 16-bit slot index and a 16-bit random salt drawn
//! fresh for every query. A response matches only if its id names a live slot with the
//! same salt and it comes from the exact address (IP and port) the query went to.

use crate::id::Id;
use crate::rng::Rng;
use crate::time::Instant;
use alloc::vec::Vec;
use core::net::SocketAddr;

/// Length of the transaction ids this node sends.
pub const TRANSACTION_ID_LEN: usize = 4;

#[derive(Clone, Debug)]
pub(crate) struct Pending<P> {
    pub(crate) to: SocketAddr,
    pub(crate) expect: Option<Id>,
    pub(crate) sent: Instant,
    pub(crate) deadline: Instant,
    pub(crate) purpose: P,
    /// What to send again if this times out, and how many more times.
    pub(crate) resend: Option<(u8, super::OutBody)>,
}

#[derive(Clone, Debug)]
struct Slot<P> {
    salt: u16,
    pending: Option<Pending<P>>,
}

#[derive(Clone, Debug)]
pub(crate) struct Transactions<P> {
    slots: Vec<Slot<P>>,
    free: Vec<u16>,
    cap: usize,
    live: usize,
}

impl<P> Transactions<P> {
    pub(crate) fn new(cap: usize) -> Self {
        Transactions {
            slots: Vec::new(),
            free: Vec::new(),
            cap: cap.clamp(1, usize::from(u16::MAX)),
            live: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn is_full(&self) -> bool {
        self.live >= self.cap
    }

    /// Registers a query; returns its transaction id, or `None` when full.
    pub(crate) fn insert(
        &mut self,
        rng: &mut Rng,
        pending: Pending<P>,
    ) -> Option<[u8; TRANSACTION_ID_LEN]> {
        if self.is_full() {
            return None;
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u16::try_from(self.slots.len()).ok()?;
                self.slots.push(Slot {
                    salt: 0,
                    pending: None,
                });
                i
            }
        };
        let slot = self.slots.get_mut(usize::from(index))?;
        slot.salt = rng.u16();
        slot.pending = Some(pending);
        self.live += 1;
        let [a, b] = index.to_be_bytes();
        let [c, d] = slot.salt.to_be_bytes();
        Some([a, b, c, d])
    }

    fn index(tid: &[u8]) -> Option<(usize, u16)> {
        let [a, b, c, d]: [u8; 4] = tid.try_into().ok()?;
        Some((
            usize::from(u16::from_be_bytes([a, b])),
            u16::from_be_bytes([c, d]),
        ))
    }

    /// Takes the transaction `tid` if it was sent to `from`.
    pub(crate) fn take(&mut self, tid: &[u8], from: SocketAddr) -> Option<Pending<P>> {
        let (index, salt) = Self::index(tid)?;
        let slot = self.slots.get_mut(index)?;
        let matches = slot.salt == salt && slot.pending.as_ref().is_some_and(|p| p.to == from);
        if !matches {
            return None;
        }
        let p = slot.pending.take()?;
        self.release(index);
        Some(p)
    }

    fn release(&mut self, index: usize) {
        self.live = self.live.saturating_sub(1);
        if let Ok(i) = u16::try_from(index) {
            self.free.push(i);
        }
    }

    /// Removes and returns every transaction whose deadline is at or before `now`.
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Vec<Pending<P>>) {
        for index in 0..self.slots.len() {
            let due = self
                .slots
                .get(index)
                .and_then(|s| s.pending.as_ref())
                .is_some_and(|p| p.deadline <= now);
            if due {
                if let Some(p) = self.slots.get_mut(index).and_then(|s| s.pending.take()) {
                    out.push(p);
                    self.release(index);
                }
            }
        }
    }

    /// Earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| s.pending.as_ref().map(|p| p.deadline))
            .min()
    }

    /// Drops every transaction for which `f` says so.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Pending<P>) -> bool) {
        for index in 0..self.slots.len() {
            let drop = self
                .slots
                .get(index)
                .and_then(|s| s.pending.as_ref())
                .is_some_and(|p| !keep(p));
            if drop {
                if let Some(s) = self.slots.get_mut(index) {
                    s.pending = None;
                }
                self.release(index);
            }
        }
    }
}
