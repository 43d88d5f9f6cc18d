//! The simulator's randomness and its model of the links between nodes.

use core::time::Duration;

/// A small deterministic generator (splitmix64): the simulator's only source of chance,
/// so one seed fixes a whole run.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// A uniform number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// A uniform index below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// 32 random bytes, for a node's seed.
    pub fn seed(&mut self) -> [u8; 32] {
        let mut s = [0u8; 32];
        for chunk in s.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        s
    }
}

/// splitmix64's output function: a bijective mix of 64 bits.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// How datagrams travel between two virtual nodes.
///
/// Each pair of nodes has a fixed one-way latency drawn from a log-normal distribution
/// (a long tail: a few links are many times slower than the median), the same in both
/// directions; each datagram adds jitter on top, which reorders datagrams sent close
/// together. Loss and duplication are per datagram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkModel {
    /// Median round-trip time between two nodes (default 100 ms).
    pub median_rtt: Duration,
    /// Spread of the per-pair latency: the log-normal's sigma (default 0.6, so the p99
    /// pair is about 4× slower than the median one).
    pub tail: f64,
    /// Per-datagram jitter, as a fraction of the pair's latency (default 0.1).
    pub jitter: f64,
    /// Fraction of datagrams lost (default 0).
    pub loss: f64,
    /// Fraction of datagrams delivered twice (default 0).
    pub duplicate: f64,
    /// Datagrams per second a node can send; further ones queue (default: unlimited).
    pub upload_limit: Option<u32>,
}

impl Default for LinkModel {
    fn default() -> Self {
        LinkModel {
            median_rtt: Duration::from_millis(100),
            tail: 0.6,
            jitter: 0.1,
            loss: 0.0,
            duplicate: 0.0,
            upload_limit: None,
        }
    }
}

impl LinkModel {
    /// The one-way latency of the pair `(a, b)` under a run's `seed`, in microseconds.
    pub(crate) fn pair_latency_us(&self, seed: u64, a: u32, b: u32) -> f64 {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let h = mix(seed ^ mix((u64::from(lo) << 32) | u64::from(hi)));
        // Box–Muller from two uniforms taken from the pair's hash.
        let u1 = unit(h).max(f64::MIN_POSITIVE);
        let u2 = unit(mix(h));
        let z = (-2.0 * u1.ln()).sqrt() * (core::f64::consts::TAU * u2).cos();
        let median_one_way = self.median_rtt.as_secs_f64() * 1e6 / 2.0;
        median_one_way * (self.tail * z).exp()
    }
}
