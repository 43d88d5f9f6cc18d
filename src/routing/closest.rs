//! The `closest` walk: the entries nearest a target, read bucket by bucket in exact
//! XOR-distance order, and the proof that the order is exact.

use super::bits::{bit, common_prefix, distance_rest, prefix};
use super::{Entry, Liveness, RoutingTable};
use crate::id::Id;
use crate::time::Instant;
use arrayvec::ArrayVec;

impl RoutingTable {
    /// The entries to hand out in a `nodes` answer: the `N` closest that have no query
    /// left unanswered since their last answer, topped up, when there are fewer, with the
    /// closest [`Liveness::NotBad`] ones; closest first.
    ///
    /// Answers list only 8 nodes, so every dead or silent entry in them hides a live
    /// node from the asker. In the simulator (10 000 nodes, 10 % loss, 20 % churn, 20 %
    /// silent), handing out entries that had just failed to answer left lookups 74.5 %
    /// correct; leaving them out, 87 %. libtorrent also leaves failed nodes out of its
    /// answers.
    #[inline]
    pub fn closest_to_hand_out<const N: usize>(
        &self,
        target: &Id,
        now: Instant,
    ) -> ArrayVec<&Entry, N> {
        let mut out = self.closest::<N>(target, Liveness::Answering, now);
        if out.len() < N {
            self.top_up(&mut out, target, now);
        }
        out
    }

    /// Fills `out` with the closest not-bad entries it lacks; keeps it closest first.
    #[cold]
    fn top_up<'a, const N: usize>(
        &'a self,
        out: &mut ArrayVec<&'a Entry, N>,
        target: &Id,
        now: Instant,
    ) {
        for e in self.closest::<N>(target, Liveness::NotBad, now) {
            if !out.iter().any(|x| x.id() == e.id()) && out.try_push(e).is_err() {
                break;
            }
        }
        out.sort_by_key(|e| e.id().distance(target));
    }

    /// Up to `N` entries closest to `target` by XOR distance, closest first, filtered by
    /// `liveness`. Reads buckets in distance order and stops once `N` are found.
    ///
    /// Never allocates: the candidates of the bucket being read are kept in a bounded,
    /// insertion-sorted buffer of at most `N`. Because buckets are read in an order such
    /// that every entry of a bucket is closer to `target` than every entry of any bucket
    /// after it, the entries taken from earlier buckets are final and a new one is only
    /// ever placed among those of its own bucket; once `N` are held no later bucket can
    /// hold a closer entry, so the walk stops. Ties (equal ids) keep bucket order.
    pub fn closest<const N: usize>(
        &self,
        target: &Id,
        liveness: Liveness,
        now: Instant,
    ) -> ArrayVec<&Entry, N> {
        // `out` is kept sorted by distance; `tops[i]` is the first 64 bits of `out[i]`'s
        // distance, so most comparisons never touch the ids. A plain array: an `ArrayVec`
        // stores its length at every push.
        let mut tops = [0u64; N];
        let mut out: ArrayVec<&Entry, N> = ArrayVec::new();
        if N == 0 {
            return out;
        }
        let (quiet, max) = (self.config.quiet_period, self.config.max_failures);
        let t = prefix(target);
        // Whether `a` (with distance top `a_top`) is strictly farther from the target.
        let farther = |a_top: u64, a: &Entry, b_top: u64, b: &Entry| {
            a_top > b_top
                || (a_top == b_top
                    && distance_rest(&a.node.id, target) > distance_rest(&b.node.id, target))
        };
        for b in BucketOrder::new(&self.own, target, self.last()) {
            let Some(bucket) = self.buckets.get(b) else {
                continue;
            };
            // `out[..base]` came from closer buckets and is final.
            let base = out.len();
            for e in &bucket.entries {
                if !e.matches(liveness, now, quiet, max) {
                    continue;
                }
                let top = prefix(&e.node.id) ^ t;
                // Make room at the end: a free slot, or the farthest held entry's. That one
                // is of this bucket (the buffer was not full when the bucket began), and
                // drops out only if the newcomer is closer.
                let mut i = out.len();
                if out.is_full() {
                    match (tops.last(), out.last()) {
                        (Some(&lt), Some(&l)) if farther(lt, l, top, e) => i -= 1,
                        _ => continue,
                    }
                } else if out.try_push(e).is_err() {
                    // Unreachable: it is not full.
                    break;
                }
                // Insertion: shift this bucket's farther entries up one (stable: an
                // equal distance stays ahead).
                while i > base {
                    let (Some(&pt), Some(&p)) = (tops.get(i - 1), out.get(i - 1)) else {
                        break;
                    };
                    if !farther(pt, p, top, e) {
                        break;
                    }
                    if let (Some(st), Some(s)) = (tops.get_mut(i), out.get_mut(i)) {
                        (*st, *s) = (pt, p);
                    }
                    i -= 1;
                }
                if let (Some(st), Some(s)) = (tops.get_mut(i), out.get_mut(i)) {
                    (*st, *s) = (top, e);
                }
            }
            if out.is_full() {
                break;
            }
        }
        out
    }
}

/// Bucket indices in increasing distance from `target`: the target's own bucket; then the
/// deeper buckets, ordered by the target's bits (a bucket whose distinguishing bit the
/// target does not share with our id comes before all deeper ones); then the shallower
/// buckets, deepest first. Every bucket's entries are all closer than the next bucket's.
///
/// Why. Write `o` for our id, `t` for the target, `x` for an entry's id, `D = o ^ t`,
/// `c` = the target's bucket (`common_prefix(o, t)`, capped at the home bucket `L`), and
/// bit 0 for the most significant. Bucket `i < L` holds the `x` that agree with `o` on
/// bits `0..i` and differ at bit `i`; the home bucket `L` holds the `x` that agree with
/// `o` on bits `0..L`. The distance `x ^ t` equals `(x ^ o) ^ D`, so on every bit where
/// `x` agrees with `o` it equals `D`.
///
/// - Shallower, `i < c`: `t` agrees with `o` at bit `i` and `x` does not, so `x ^ t` is
///   zero on bits `0..i` and one at bit `i`: its leading one is bit `i`. A deeper `i`
///   means a smaller distance, so these come last, deepest first, and each is entirely
///   closer than the next.
/// - The target's bucket `c` (when `c < L`): `x` differs from `o` at bit `c` and so does
///   `t`, so `x ^ t` is zero on bits `0..=c`, below `2^(159 - c)`.
/// - Deeper, `j > c` (including `L`): `x` agrees with `o` on bits `0..=c`, so `x ^ t`
///   has `D`'s bits there, zero before `c` and one at `c`: at least `2^(159 - c)`, so
///   all of these come after bucket `c` and before every shallower one. Between two of
///   them, `j < j'`, both distances equal `D` on bits `c..j`; at bit `j` bucket `j'`
///   (agreeing with `o`) has `D[j]` and bucket `j` (differing) has `!D[j]`. If
///   `D[j] = 1` bucket `j` is entirely closer than every deeper bucket, the home bucket
///   included (phase 1, ascending); if `D[j] = 0` it is entirely farther (phase 3, after
///   the home bucket, descending).
/// - When `c = L` the target falls in the home bucket: every `x` there agrees with `t`
///   on bits `0..L`, closer than any shallower bucket, which follow deepest first.
struct BucketOrder {
    phase: u8,
    next: usize,
    start: usize,
    last: usize,
    diff: Id,
}

impl BucketOrder {
    #[inline]
    fn new(own: &Id, target: &Id, last: usize) -> Self {
        let start = common_prefix(own, target).min(last);
        let mut diff = [0u8; 20];
        for ((d, a), b) in diff.iter_mut().zip(own.as_bytes()).zip(target.as_bytes()) {
            *d = a ^ b;
        }
        BucketOrder {
            phase: 0,
            next: start,
            start,
            last,
            diff: Id::from_bytes(diff),
        }
    }
}

impl Iterator for BucketOrder {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        loop {
            match self.phase {
                // The target's bucket.
                0 => {
                    if self.start == self.last {
                        self.phase = 4;
                        self.next = self.start;
                    } else {
                        self.phase = 1;
                        self.next = self.start + 1;
                    }
                    return Some(self.start);
                }
                // Deeper buckets whose bit the target does not share with us, ascending.
                1 => {
                    while self.next < self.last {
                        let i = self.next;
                        self.next += 1;
                        if bit(&self.diff, i) {
                            return Some(i);
                        }
                    }
                    self.phase = 2;
                }
                // The home bucket.
                2 => {
                    self.phase = 3;
                    self.next = self.last;
                    return Some(self.last);
                }
                // Deeper buckets whose bit the target shares with us, descending.
                3 => {
                    while self.next > self.start + 1 {
                        self.next -= 1;
                        let i = self.next;
                        if !bit(&self.diff, i) {
                            return Some(i);
                        }
                    }
                    self.phase = 4;
                    self.next = self.start;
                }
                // Shallower buckets, deepest first.
                _ => {
                    if self.next == 0 {
                        return None;
                    }
                    self.next -= 1;
                    return Some(self.next);
                }
            }
        }
    }
}
