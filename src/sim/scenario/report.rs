//! What a run reports: progress while it runs, one record per lookup, and the summary.

use alloc::vec::Vec;
use core::time::Duration;

/// Where a run is, for progress lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Nodes joining: `done` of `of`.
    Building {
        /// Joined so far.
        done: usize,
        /// To join.
        of: usize,
    },
    /// Every node joined; the network settles for 30 s of virtual time, the faults are
    /// drawn, and any outage and the recovery after it run. Told once, as it starts.
    WarmingUp,
    /// Announces finished: `done` of `of`.
    Announcing {
        /// Finished so far.
        done: usize,
        /// Started.
        of: usize,
    },
    /// Lookups finished: `done` of `of`.
    LookingUp {
        /// Finished so far.
        done: usize,
        /// To run.
        of: usize,
    },
}

/// What a progress callback is told.
///
/// The callback only reads: a run calls it with the same values, at the same points,
/// whatever it does, and the run's trace is the same with or without it.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// The phase and how far it is.
    pub phase: Phase,
    /// Virtual time elapsed.
    pub virtual_time: Duration,
    /// Datagrams delivered so far.
    pub delivered: u64,
    /// Whether this is one of the about 20 steps a log marks in building and looking
    /// up (every 5 %, and each phase's end), and each half second of virtual time while
    /// the last announces finish. The calls between them (every 0.25 % of the joins,
    /// every lookup started, every announce sent) are for a live display.
    pub milestone: bool,
}

/// One lookup's outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LookupRecord {
    /// Whether it finished before the run's end.
    pub finished: bool,
    /// Whether it found every honest node among the oracle's `k` closest (without hostile
    /// nodes: whether its closest answering nodes were exactly the oracle's), in the
    /// IPv4 network (or, for a lookup with no IPv4 part, the IPv6 one).
    pub correct: bool,
    /// The same in the IPv6 network, for a lookup with an IPv6 part.
    pub correct_v6: Option<bool>,
    /// Whether it found the announced peer.
    pub found_peer: bool,
    /// Queries sent.
    pub queries: u32,
    /// Answers received.
    pub responses: u32,
    /// Queries that failed.
    pub failures: u32,
    /// Queries that passed their soft timeout (each is resent or given up on).
    pub timeouts: u32,
    /// Hops: the longest chain of answers that led to one of the closest answered
    /// nodes (see [`LookupStats::hops`](crate::lookup::LookupStats::hops)).
    pub hops: u32,
    /// Virtual time from start to finish.
    pub time: Duration,
    /// Virtual time from start to the announced peer's arrival, if it came.
    pub peer_time: Option<Duration>,
    /// How many of the oracle's `k` closest it did not find.
    pub missed: u8,
    /// The oracle's rank (0 = closest) of the closest node it missed, if any.
    pub first_missed: Option<u8>,
}

/// A run's results.
#[derive(Clone, Debug)]
pub struct Report {
    /// Every lookup, in start order.
    pub lookups: Vec<LookupRecord>,
    /// Nodes that were ever in the network (churn adds some).
    pub nodes_ever: usize,
    /// Datagrams delivered.
    pub delivered: u64,
    /// Virtual time the run took.
    pub virtual_time: Duration,
    /// The simulator's trace hash at the end: equal for equal seeds.
    pub trace_hash: u64,
    /// After an outage ([`Scenario::outage`](super::Scenario::outage)): the fraction
    /// of live nodes whose tables again held,
    /// [`Scenario::recovery`](super::Scenario::recovery) after the network came back, at
    /// least `k` entries that had answered since it came back.
    pub recovered: Option<f64>,
}

/// Aggregates of a [`Report`]: rates over all lookups, percentiles over finished ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Lookups run.
    pub lookups: usize,
    /// Fraction that found the true `k` closest (in the IPv4 network, for lookups on
    /// both).
    pub correct_rate: f64,
    /// Among lookups with an IPv6 part, the fraction that found the true `k` closest of
    /// the IPv6 network (0 when there is none).
    pub correct_rate_v6: f64,
    /// Virtual milliseconds per lookup with an IPv6 part: median.
    pub median_ms_v6: f64,
    /// Fraction that found the announced peer.
    pub found_rate: f64,
    /// Queries per lookup: median.
    pub median_queries: f64,
    /// Queries per lookup: 90th percentile.
    pub p90_queries: f64,
    /// Queries per lookup: 99th percentile.
    pub p99_queries: f64,
    /// Soft timeouts per lookup: median.
    pub median_timeouts: f64,
    /// Soft timeouts per lookup: 90th percentile.
    pub p90_timeouts: f64,
    /// Hops per lookup: median.
    pub median_hops: f64,
    /// Hops per lookup: 90th percentile.
    pub p90_hops: f64,
    /// Hops per lookup: 99th percentile.
    pub p99_hops: f64,
    /// Virtual milliseconds per lookup: median.
    pub median_ms: f64,
    /// Virtual milliseconds per lookup: 90th percentile.
    pub p90_ms: f64,
    /// Virtual milliseconds per lookup: 99th percentile.
    pub p99_ms: f64,
    /// Virtual milliseconds from a lookup's start to the announced peer, median over the
    /// lookups that found it: what a `get_peers` caller waits for its first peer.
    pub median_peer_ms: f64,
}

impl Report {
    /// Rates and percentiles.
    pub fn summary(&self) -> Summary {
        let n = self.lookups.len().max(1) as f64;
        let rate =
            |f: fn(&LookupRecord) -> bool| self.lookups.iter().filter(|l| f(l)).count() as f64 / n;
        let done: Vec<&LookupRecord> = self.lookups.iter().filter(|l| l.finished).collect();
        let of_done = |f: fn(&LookupRecord) -> f64| sorted(done.iter().map(|l| f(l)));
        let queries = of_done(|l| f64::from(l.queries));
        let timeouts = of_done(|l| f64::from(l.timeouts));
        let hops = of_done(|l| f64::from(l.hops));
        let ms = of_done(|l| millis(l.time));
        let peer_ms = sorted(self.lookups.iter().filter_map(|l| l.peer_time).map(millis));
        let v6: Vec<&LookupRecord> = self
            .lookups
            .iter()
            .filter(|l| l.correct_v6.is_some())
            .collect();
        let correct_v6 = v6.iter().filter(|l| l.correct_v6 == Some(true)).count();
        let ms_v6 = sorted(v6.iter().filter(|l| l.finished).map(|l| millis(l.time)));
        Summary {
            lookups: self.lookups.len(),
            correct_rate: rate(|l| l.correct),
            correct_rate_v6: correct_v6 as f64 / v6.len().max(1) as f64,
            median_ms_v6: percentile(&ms_v6, 0.5),
            found_rate: rate(|l| l.found_peer),
            median_queries: percentile(&queries, 0.5),
            p90_queries: percentile(&queries, 0.9),
            p99_queries: percentile(&queries, 0.99),
            median_timeouts: percentile(&timeouts, 0.5),
            p90_timeouts: percentile(&timeouts, 0.9),
            median_hops: percentile(&hops, 0.5),
            p90_hops: percentile(&hops, 0.9),
            p99_hops: percentile(&hops, 0.99),
            median_ms: percentile(&ms, 0.5),
            p90_ms: percentile(&ms, 0.9),
            p99_ms: percentile(&ms, 0.99),
            median_peer_ms: percentile(&peer_ms, 0.5),
        }
    }
}

/// The values, in ascending order.
fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v
}

/// A duration in (fractional) milliseconds.
fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1e3
}

/// The `p` quantile of sorted values (nearest rank); 0 when empty.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}
