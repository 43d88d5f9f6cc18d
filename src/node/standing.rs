//! Standing work: announces the node repeats and BEP 44 items it keeps published, until
//! told to stop.
//!
//! Stored peers expire (libtorrent drops them after 30 minutes, and announces every 15),
//! and stored items may be dropped 2 hours after their last put (BEP 44). A torrent kept
//! announced is announced again every [`REANNOUNCE_EVERY`]; an item kept published is put
//! again every [`REPUBLISH_EVERY`]. Each run is an ordinary announce or put: it ends with
//! [`Event::Announced`](super::Event::Announced) or [`Event::ItemPut`](super::Event::ItemPut).
//! A run that cannot start (too many searches running) is tried again at the next tick.

use super::AnnouncePort;
use super::search::PutRequest;
use crate::id::Id;
use crate::time::Instant;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

/// How often a torrent kept announced is announced again (libtorrent's interval).
pub const REANNOUNCE_EVERY: Duration = Duration::from_secs(15 * 60);

/// How often an item kept published is put again (under BEP 44's 2-hour expiry).
pub const REPUBLISH_EVERY: Duration = Duration::from_secs(60 * 60);

/// One piece of standing work.
#[derive(Clone, Debug)]
pub(crate) enum Work {
    Announce {
        info_hash: Id,
        port: AnnouncePort,
        seed: bool,
    },
    Publish {
        target: Id,
        put: Box<PutRequest>,
    },
}

impl Work {
    /// The info-hash or item target: one piece of work per target and kind.
    pub(crate) fn target(&self) -> Id {
        match self {
            Work::Announce { info_hash, .. } => *info_hash,
            Work::Publish { target, .. } => *target,
        }
    }

    fn every(&self) -> Duration {
        match self {
            Work::Announce { .. } => REANNOUNCE_EVERY,
            Work::Publish { .. } => REPUBLISH_EVERY,
        }
    }

    fn same_kind(&self, other: &Work) -> bool {
        matches!(
            (self, other),
            (Work::Announce { .. }, Work::Announce { .. })
                | (Work::Publish { .. }, Work::Publish { .. })
        )
    }
}

#[derive(Clone, Debug)]
struct Entry {
    work: Work,
    next: Instant,
}

/// The standing work, at most `cap` pieces.
#[derive(Clone, Debug)]
pub(crate) struct Standing {
    entries: Vec<Entry>,
    cap: usize,
}

impl Standing {
    pub(crate) fn new(cap: usize) -> Self {
        Standing {
            entries: Vec::new(),
            cap,
        }
    }

    /// Keeps `work` going, first run due at `now`; replaces the same kind of work for the
    /// same target. False if `cap` pieces are already kept.
    pub(crate) fn keep(&mut self, now: Instant, work: Work) -> bool {
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.work.target() == work.target() && e.work.same_kind(&work))
        {
            *e = Entry { work, next: now };
            return true;
        }
        if self.entries.len() >= self.cap {
            return false;
        }
        self.entries.push(Entry { work, next: now });
        true
    }

    /// Stops the announces of `info_hash` (`announce`) or the publishing of the item at
    /// `target`; whether there was one.
    pub(crate) fn stop(&mut self, target: &Id, announce: bool) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| {
            e.work.target() != *target || matches!(e.work, Work::Announce { .. }) != announce
        });
        self.entries.len() != before
    }

    /// Pieces kept.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The earliest time a piece is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.entries.iter().map(|e| e.next).min()
    }

    /// The pieces due at `now`, in the order they were kept.
    pub(crate) fn due(&self, now: Instant) -> impl Iterator<Item = &Work> + '_ {
        self.entries
            .iter()
            .filter(move |e| e.next <= now)
            .map(|e| &e.work)
    }

    /// The pieces due at `now` that could not start (too many searches running) are
    /// due again at `retry`, not before: a deadline left in the past would have a driver
    /// that sleeps until [`Dht::poll_timeout`](super::Dht::poll_timeout) spin.
    pub(crate) fn defer(&mut self, now: Instant, retry: Instant) {
        for e in &mut self.entries {
            if e.next <= now {
                e.next = retry;
            }
        }
    }

    /// The run of the piece for `target` (of the kind `announce` says) started at `now`:
    /// the next is due one interval later.
    pub(crate) fn ran(&mut self, now: Instant, target: &Id, announce: bool) {
        for e in &mut self.entries {
            if e.work.target() == *target && matches!(e.work, Work::Announce { .. }) == announce {
                e.next = now + e.work.every();
            }
        }
    }
}
