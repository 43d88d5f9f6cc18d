//! Announce tokens (BEP 5): proof that a node asked us recently from the same IP.
//!
//! A `get_peers` (or BEP 44 `get`) response carries a token; the querier must echo it in
//! the `announce_peer` (or `put`) that follows. Tokens here are
//!
//! ```text
//! token = SipHash-2-4(key = secret(epoch)[..16], requester IP ‖ target)
//! secret(epoch) = SHA-1("btdht token" ‖ seed ‖ epoch)
//! epoch = now / 5 minutes
//! ```
//!
//! - **SipHash for the token, SHA-1 for the secret.** BEP 5 leaves the scheme to the
//!   issuer (its reference is a SHA-1 over IP and secret). A token only has to be a
//!   keyed pseudo-random function of the requester's IP: SipHash-2-4 is one, designed for
//!   short inputs, and costs about a tenth of a SHA-1 on every `get_peers` answer. The
//!   per-epoch key still comes from SHA-1 over the seed, once per rotation.
//! - **Rotation.** The secret changes every [`ROTATION`] (5 minutes); a token is accepted
//!   while its epoch is the current or the previous one, so it lives 5 to 10 minutes, as
//!   BEP 5 describes. Nothing is stored per token.
//! - **Secrets come from the caller's seed**, never from a clock: the epoch number only
//!   selects which secret; without the seed no secret can be computed.
//! - **Bound to the IP, not the port.** BEP 5 binds tokens to the IP; NATs may give the
//!   announce a different source port than the `get_peers` had, and `implied_port`
//!   announces rely on the port being free to differ.
//! - **Bound to the target** (info-hash or BEP 44 target), as libtorrent does: a token
//!   obtained for one torrent cannot be spent announcing another.
//! - **Checked in constant time** with respect to the token's contents.
//!
//! ```
//! use btdht::token::Tokens;
//! use btdht::time::Instant;
//! use btdht::Id;
//! use core::time::Duration;
//!
//! let mut tokens = Tokens::new([7; 32]);
//! let ip = "203.0.113.5".parse().unwrap();
//! let info_hash = Id::from_bytes([1; 20]);
//! let t0 = Instant::from_millis(1_000_000);
//!
//! let token = tokens.issue(t0, ip, &info_hash);
//! assert!(tokens.verify(t0 + Duration::from_secs(60), ip, &info_hash, &token));
//! assert!(!tokens.verify(t0 + Duration::from_secs(11 * 60), ip, &info_hash, &token));
//! ```

use crate::id::Id;
use crate::rng::{Rng, siphash24};
use crate::time::Instant;
use core::fmt;
use core::net::IpAddr;
use core::time::Duration;

/// Bytes in a token.
pub const TOKEN_LEN: usize = 8;

/// How often the secret changes. A token is accepted for one to two rotations.
pub const ROTATION: Duration = Duration::from_secs(5 * 60);

const ROTATION_MS: u64 = 5 * 60 * 1000;

/// A token as issued.
pub type Token = [u8; TOKEN_LEN];

/// Issues and checks tokens. Cheap to keep: two cached secrets and the seed.
#[derive(Clone)]
pub struct Tokens {
    seed: [u8; 32],
    epoch: u64,
    current: [u8; 20],
    previous: [u8; 20],
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The seed and secrets stay out of logs.
        f.debug_struct("Tokens")
            .field("epoch", &self.epoch)
            .finish_non_exhaustive()
    }
}

/// The secret of rotation period `epoch`: a key derived from the seed for that period.
fn secret(seed: &[u8; 32], epoch: u64) -> [u8; 20] {
    let mut purpose = *b"token secret........";
    if let Some(tail) = purpose.get_mut(12..) {
        tail.copy_from_slice(&epoch.to_be_bytes());
    }
    let mut out = [0u8; 20];
    for (o, k) in out.iter_mut().zip(Rng::derive(seed, &purpose)) {
        *o = k;
    }
    out
}

fn compute(secret: &[u8; 20], ip: IpAddr, target: &Id) -> Token {
    let mut msg = [0u8; 16 + 20];
    let ip_len = match ip.to_canonical() {
        IpAddr::V4(v4) => {
            msg[..4].copy_from_slice(&v4.octets());
            4
        }
        IpAddr::V6(v6) => {
            msg[..16].copy_from_slice(&v6.octets());
            16
        }
    };
    msg[ip_len..ip_len + 20].copy_from_slice(target.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&secret[..16]);
    siphash24(&key, &msg[..ip_len + 20]).to_le_bytes()
}

/// Compares without an early exit, so timing does not tell how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    /// A token issuer whose secrets derive from `seed` (keep it secret; derive it from the
    /// node's seed).
    pub fn new(seed: [u8; 32]) -> Self {
        Tokens {
            seed,
            epoch: 0,
            current: secret(&seed, 0),
            previous: secret(&seed, u64::MAX),
        }
    }

    /// Moves the cached secrets to the epoch of `now` (time never goes backwards here:
    /// an earlier `now` keeps the current epoch).
    #[inline]
    fn advance(&mut self, now: Instant) {
        let epoch = now.as_millis() / ROTATION_MS;
        if epoch <= self.epoch {
            return;
        }
        self.previous = if epoch == self.epoch + 1 {
            self.current
        } else {
            secret(&self.seed, epoch - 1)
        };
        self.current = secret(&self.seed, epoch);
        self.epoch = epoch;
    }

    /// The token for a requester at `ip` asking about `target`.
    pub fn issue(&mut self, now: Instant, ip: IpAddr, target: &Id) -> Token {
        self.advance(now);
        compute(&self.current, ip, target)
    }

    /// Whether `token` was issued to `ip` for `target` in this rotation period or the
    /// previous one.
    pub fn verify(&mut self, now: Instant, ip: IpAddr, target: &Id, token: &[u8]) -> bool {
        self.advance(now);
        let fresh = constant_time_eq(&compute(&self.current, ip, target), token);
        let previous = constant_time_eq(&compute(&self.previous, ip, target), token);
        fresh | previous
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60 * 1000;

    fn at(min: u64) -> Instant {
        Instant::from_millis(min * MIN)
    }

    fn setup() -> (Tokens, IpAddr, Id) {
        (
            Tokens::new([42; 32]),
            "198.51.100.7".parse().unwrap(),
            Id::from_bytes([9; 20]),
        )
    }

    #[test]
    fn a_fresh_token_is_accepted() {
        let (mut t, ip, id) = setup();
        let tok = t.issue(at(100), ip, &id);
        assert!(t.verify(at(100), ip, &id, &tok));
    }

    #[test]
    fn a_token_from_another_ip_is_rejected() {
        let (mut t, ip, id) = setup();
        let tok = t.issue(at(100), ip, &id);
        let other: IpAddr = "198.51.100.8".parse().unwrap();
        assert!(!t.verify(at(100), other, &id, &tok));
        let v6: IpAddr = "2001:db8::7".parse().unwrap();
        assert!(!t.verify(at(100), v6, &id, &tok));
    }

    #[test]
    fn a_token_for_another_target_is_rejected() {
        let (mut t, ip, id) = setup();
        let tok = t.issue(at(100), ip, &id);
        assert!(!t.verify(at(100), ip, &Id::from_bytes([8; 20]), &tok));
    }

    #[test]
    fn a_token_older_than_ten_minutes_is_rejected() {
        let (mut t, ip, id) = setup();
        let tok = t.issue(at(100), ip, &id);
        assert!(!t.verify(at(110), ip, &id, &tok));
        assert!(!t.verify(at(10_000), ip, &id, &tok));
    }

    #[test]
    fn a_token_survives_exactly_one_rotation_boundary() {
        let (mut t, ip, id) = setup();
        // Issued in the last millisecond of epoch 20 (minutes 100..105).
        let issued = Instant::from_millis(105 * MIN - 1);
        let tok = t.issue(issued, ip, &id);
        assert!(t.verify(at(105), ip, &id, &tok), "after one rotation");
        assert!(t.verify(Instant::from_millis(110 * MIN - 1), ip, &id, &tok));
        assert!(!t.verify(at(110), ip, &id, &tok), "after two rotations");
    }

    #[test]
    fn tokens_live_between_five_and_ten_minutes() {
        let (mut t, ip, id) = setup();
        let issued = at(100);
        let tok = t.issue(issued, ip, &id);
        assert!(t.verify(issued + Duration::from_secs(5 * 60 + 59), ip, &id, &tok));
        assert!(!t.verify(issued + Duration::from_secs(10 * 60), ip, &id, &tok));
    }

    #[test]
    fn secrets_come_from_the_seed_not_the_clock() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let id = Id::from_bytes([3; 20]);
        let a = Tokens::new([1; 32]).issue(at(50), ip, &id);
        let b = Tokens::new([1; 32]).issue(at(50), ip, &id);
        let c = Tokens::new([2; 32]).issue(at(50), ip, &id);
        assert_eq!(a, b, "same seed and epoch give the same token");
        assert_ne!(a, c, "another seed gives another token");
    }

    #[test]
    fn wrong_length_tokens_are_rejected() {
        let (mut t, ip, id) = setup();
        let tok = t.issue(at(1), ip, &id);
        assert!(!t.verify(at(1), ip, &id, &tok[..7]));
        assert!(!t.verify(at(1), ip, &id, &[]));
        let mut long = tok.to_vec();
        long.push(0);
        assert!(!t.verify(at(1), ip, &id, &long));
    }

    #[test]
    fn ipv4_mapped_ipv6_requesters_match_their_ipv4_form() {
        let (mut t, _, id) = setup();
        let v4: IpAddr = "198.51.100.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
        let tok = t.issue(at(1), mapped, &id);
        assert!(t.verify(at(1), v4, &id, &tok));
    }

    #[test]
    fn an_earlier_now_does_not_roll_secrets_back() {
        let (mut t, ip, id) = setup();
        let tok = t.issue(at(100), ip, &id);
        assert!(t.verify(at(50), ip, &id, &tok));
    }
}
