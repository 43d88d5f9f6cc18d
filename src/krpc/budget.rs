//! Datagram budgets: the one place that knows how many nodes, peers, samples or filter
//! bytes fit in a datagram.
//!
//! BEP 32 asks that no datagram exceed [`MAX_RESPONSE_LEN`] = 1024 bytes. The byte
//! budgets below assume the largest envelope a node sends: a 20-byte transaction id, a
//! 20-byte token, an IPv6 `ip` (BEP 42, 18 bytes), a 4-byte `v`, and both `nodes`
//! (8 × 26 bytes) and `nodes6` (8 × 38 bytes):
//!
//! | message | envelope | left for the list | fits |
//! |---|---|---|---|
//! | `get_peers` answer | [`GET_PEERS_ENVELOPE`] = 675 (incl. `6:values` and `le`) | 349 | [`MAX_VALUES_V4`] = 43 IPv4 peers (8 bytes each: `6:` + 6), or [`MAX_VALUES_V6`] = 16 IPv6 peers (21 bytes: `18:` + 18) |
//! | `get_peers` answer with `scrape` | 675 + 532 (`BFsd`, `BFpe`: 266 each) | none | drop `nodes6` (−316) or `nodes` (−219) first, as BEP 33 advises |
//! | `sample_infohashes` answer | [`SAMPLES_ENVELOPE`] = 692 (incl. `7:samples` and `NNN:`) | 332 | 16 info-hashes; 20 with a single node list |
//! | `get` answer with an item | up to 1000 bytes of value | — | drop `nodes6`, then `nodes`, while over 1024 bytes |
//!
//! A caller that knows its real envelope gets the exact count from
//! [`values_in_answer`] and [`samples_in_answer`] (or, from a byte budget, from
//! [`values_that_fit`] and [`samples_that_fit`]).
//!
//! ```
//! use btdht::addr::{Families, Family};
//! use btdht::krpc::budget::{self, MAX_RESPONSE_LEN};
//!
//! assert_eq!(budget::values_that_fit(Family::V4, MAX_RESPONSE_LEN - budget::GET_PEERS_ENVELOPE), 43);
//! assert_eq!(budget::values_that_fit(Family::V6, 100), 4);
//! // A 2-byte transaction id and only `nodes`: more room than the worst case.
//! assert_eq!(budget::values_in_answer(Family::V4, 2, Families::V4, false), 83);
//! ```

use super::{Body, Message};
use crate::addr::{Families, Family};
use crate::id::ID_LEN;

/// BEP 32: the largest answer a node should send (its queries may be longer: see
/// [`MAX_DATAGRAM_LEN`](super::MAX_DATAGRAM_LEN)).
pub const MAX_RESPONSE_LEN: usize = 1024;

/// Bytes of the largest `get_peers` answer envelope the budget allows for, with an empty
/// `values` list (`6:values` + `le` included): see the [module docs](self).
///
/// `d` 1, `2:ip18:…` 25, `1:rd` 4, `2:id20:…` 27, `5:nodes208:…` 219, `6:nodes6304:…` 316,
/// `5:token20:…` 30, `6:values` 8, `le` 2, `e` 1, `1:t20:…` 26, `1:v4:…` 9, `1:y1:r` 6,
/// `e` 1.
pub const GET_PEERS_ENVELOPE: usize = 675;

/// IPv4 peers that always fit in a `get_peers` answer: (1024 − 675) / 8.
pub const MAX_VALUES_V4: usize = (MAX_RESPONSE_LEN - GET_PEERS_ENVELOPE) / VALUE_LEN_V4;

/// IPv6 peers that always fit in a `get_peers` answer: (1024 − 675) / 21.
pub const MAX_VALUES_V6: usize = (MAX_RESPONSE_LEN - GET_PEERS_ENVELOPE) / VALUE_LEN_V6;

/// Bytes of the largest `sample_infohashes` answer envelope the budget allows for, with
/// the `samples` bytes themselves left out (their `7:samples` key and a 3-digit length
/// prefix included): `d` 1, `2:ip18:…` 25, `1:rd` 4, `2:id20:…` 27, `8:intervali21600e`
/// 17, `5:nodes208:…` 219, `6:nodes6304:…` 316, `3:numi…e` 27 (any `i64`),
/// `7:samples400:` 13, `e` 1, `1:t20:…` 26, `1:v4:…` 9, `1:y1:r` 6, `e` 1.
pub const SAMPLES_ENVELOPE: usize = 692;

/// Wire bytes of one IPv4 entry of `values`: `6:` and 6 bytes.
const VALUE_LEN_V4: usize = 8;
/// Wire bytes of one IPv6 entry of `values`: `18:` and 18 bytes.
const VALUE_LEN_V6: usize = 21;

/// Bytes of `5:nodes208:` and 8 IPv4 nodes in an answer envelope.
const NODES_FIELD: usize = 8 + 3 + 8 * 26;
/// Bytes of `6:nodes6304:` and 8 IPv6 nodes.
const NODES6_FIELD: usize = 9 + 3 + 8 * 38;
/// Bytes of `4:BFpe256:`, `4:BFsd256:` and the two filters (BEP 33).
const SCRAPE_FIELDS: usize = 2 * (10 + 256);
/// The envelopes above assume a 20-byte transaction id.
const ENVELOPE_TID_LEN: usize = 20;

/// How many peers of `family` fit in `budget` bytes of `values` entries (the list's own
/// `l` and `e` not counted).
///
/// ```
/// use btdht::addr::Family;
/// assert_eq!(btdht::krpc::budget::values_that_fit(Family::V4, 349), 43);
/// assert_eq!(btdht::krpc::budget::values_that_fit(Family::V6, 349), 16);
/// ```
pub const fn values_that_fit(family: Family, budget: usize) -> usize {
    match family {
        Family::V4 => budget / VALUE_LEN_V4,
        Family::V6 => budget / VALUE_LEN_V6,
    }
}

/// How many info-hashes fit in `budget` bytes of `samples` content (20 bytes each).
///
/// ```
/// use btdht::krpc::budget::{samples_that_fit, MAX_RESPONSE_LEN, SAMPLES_ENVELOPE};
/// assert_eq!(samples_that_fit(MAX_RESPONSE_LEN - SAMPLES_ENVELOPE), 16);
/// ```
pub const fn samples_that_fit(budget: usize) -> usize {
    budget / ID_LEN
}

/// An answer envelope's size for this transaction id and these node lists, from the
/// worst case `full` (20-byte id, both lists).
fn envelope(full: usize, tid_len: usize, nodes: Families) -> usize {
    full.saturating_add(tid_len.saturating_sub(ENVELOPE_TID_LEN))
        .saturating_sub(if nodes.contains(Family::V4) {
            0
        } else {
            NODES_FIELD
        })
        .saturating_sub(if nodes.contains(Family::V6) {
            0
        } else {
            NODES6_FIELD
        })
}

/// How many peers of `family` fit in a `get_peers` answer within [`MAX_RESPONSE_LEN`],
/// with a transaction id of `tid_len` bytes, the node lists `nodes` (8 nodes each), and
/// the two BEP 33 filters or not. (The node lists of an answer with filters: see
/// [`nodes_beside_filters`].)
pub fn values_in_answer(family: Family, tid_len: usize, nodes: Families, filters: bool) -> usize {
    let envelope = envelope(GET_PEERS_ENVELOPE, tid_len, nodes).saturating_add(if filters {
        SCRAPE_FIELDS
    } else {
        0
    });
    values_that_fit(family, MAX_RESPONSE_LEN.saturating_sub(envelope))
}

/// How many info-hashes fit in a `sample_infohashes` answer within
/// [`MAX_RESPONSE_LEN`], with a transaction id of `tid_len` bytes and the node lists
/// `nodes`.
pub fn samples_in_answer(tid_len: usize, nodes: Families) -> usize {
    samples_that_fit(MAX_RESPONSE_LEN.saturating_sub(envelope(SAMPLES_ENVELOPE, tid_len, nodes)))
}

/// The node lists a `get_peers` answer carrying BEP 33 filters keeps: the filters need
/// the room of one list, so when both were asked for, only the querier's own family
/// stays (`querier`).
pub fn nodes_beside_filters(nodes: Families, querier: Family) -> Families {
    if nodes == Families::BOTH {
        Families::only(querier)
    } else {
        nodes
    }
}

/// Makes an answer carrying a BEP 44 item fit [`MAX_RESPONSE_LEN`]: a value near 1000
/// bytes leaves no room for node lists, so `nodes6` goes first, then `nodes`, while the
/// answer is too long. Other messages are left alone.
pub(crate) fn trim_item_answer(msg: &mut Message<'_>) {
    let has_item = matches!(&msg.body, Body::Response(r) if r.value.is_some());
    for _ in 0..2 {
        if has_item && msg.encoded_len() > MAX_RESPONSE_LEN {
            if let Body::Response(r) = &mut msg.body {
                if r.nodes6.take().is_none() {
                    r.nodes = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_constants_follow_from_the_envelope() {
        assert_eq!(MAX_VALUES_V4, 43);
        assert_eq!(MAX_VALUES_V6, 16);
        assert_eq!(samples_that_fit(MAX_RESPONSE_LEN - SAMPLES_ENVELOPE), 16);
    }

    #[test]
    fn the_worst_case_envelope_gives_the_constants() {
        assert_eq!(
            values_in_answer(Family::V4, 20, Families::BOTH, false),
            MAX_VALUES_V4
        );
        assert_eq!(
            values_in_answer(Family::V6, 20, Families::BOTH, false),
            MAX_VALUES_V6
        );
        assert_eq!(samples_in_answer(20, Families::BOTH), 16);
        assert_eq!(samples_in_answer(20, Families::V4), 32);
    }

    #[test]
    fn filters_take_the_room_of_one_node_list() {
        assert_eq!(
            nodes_beside_filters(Families::BOTH, Family::V6),
            Families::V6
        );
        assert_eq!(nodes_beside_filters(Families::V4, Family::V6), Families::V4);
        // With filters and one list, a few IPv4 peers still fit.
        assert!(values_in_answer(Family::V4, 20, Families::V4, true) > 0);
    }

    #[test]
    fn longer_transaction_ids_leave_fewer_peers() {
        let short = values_in_answer(Family::V4, 2, Families::V4, false);
        let long = values_in_answer(Family::V4, 64, Families::V4, false);
        assert!(long < short, "{long} < {short}");
    }
}
