//! Whole runs on the simulator: build a network, break some of it, announce, look up,
//! and score every lookup against the oracle.
//!
//! ```
//! use btdht::sim::scenario::Scenario;
//!
//! let report = Scenario { nodes: 200, lookups: 20, ..Scenario::default() }.run(|_| {});
//! let summary = report.summary();
//! assert!(summary.correct_rate > 0.9, "{summary:?}");
//! ```

//!
//! This module holds a run's parameters; [`Scenario::run`] and its steps are in `run`
//! (the phases), `nodes` (joining and leaving) and `score` (the oracle's verdict on each
//! lookup), and what a run reports is in `report`.

mod nodes;
mod report;
mod run;
mod score;

pub use report::{LookupRecord, Phase, Progress, Report, Summary};

use super::LinkModel;
use crate::node::Config;
use core::time::Duration;

/// A run's parameters. Fractions are of the node count.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Nodes in the network (default 1 000).
    pub nodes: usize,
    /// `get_peers` lookups, each of an info-hash announced by a random honest node
    /// (default 100).
    pub lookups: usize,
    /// The seed every chance derives from (default 1).
    pub seed: u64,
    /// Latency, loss, duplication.
    pub link: LinkModel,
    /// Fraction of the nodes replaced by new ones while the lookups run (default 0).
    pub churn: f64,
    /// Fraction of the nodes that go silent once the network is built (default 0).
    pub silent: f64,
    /// Fraction of the nodes that turn hostile once the network is built (default 0).
    pub hostile: f64,
    /// Fraction of the nodes that sit behind a NAT once the network is built (default 0).
    pub nat: f64,
    /// Fraction of the nodes on the IPv6 network only (default 0).
    pub ipv6: f64,
    /// Fraction of the nodes on both networks (default 0). The rest are IPv4 only. With
    /// dual-stack nodes, the lookups start from them, search both tables at once, and are
    /// scored per family.
    pub dual: f64,
    /// Every node's settings.
    pub config: Config,
    /// Virtual time between two joins while the network is built (default 10 ms).
    pub join_interval: Duration,
    /// Virtual time between two lookups, and between two announces (default 20 ms).
    pub lookup_interval: Duration,
    /// How many of the closest nodes a lookup must find to count as correct (default 8).
    pub k: usize,
    /// A node that joined less than this long before a lookup started is not expected
    /// to be found (it counts only if the lookup found it; default 10 s).
    pub settle: Duration,
    /// An outage once the network is built: every link drops for this long (default
    /// none). When the network comes back, no command is given for
    /// [`Scenario::recovery`]; then [`Report::recovered`] is measured, and the announces
    /// and lookups run.
    pub outage: Option<Duration>,
    /// Time left to the nodes, with no command, after an outage (default 120 s).
    pub recovery: Duration,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            nodes: 1000,
            lookups: 100,
            seed: 1,
            link: LinkModel::default(),
            churn: 0.0,
            silent: 0.0,
            hostile: 0.0,
            nat: 0.0,
            ipv6: 0.0,
            dual: 0.0,
            config: Config::default(),
            join_interval: Duration::from_millis(10),
            lookup_interval: Duration::from_millis(20),
            k: 8,
            settle: Duration::from_secs(10),
            outage: None,
            recovery: Duration::from_secs(120),
        }
    }
}

impl Scenario {
    /// Whether the network has IPv6 nodes.
    fn mixed(&self) -> bool {
        self.ipv6 > 0.0 || self.dual > 0.0
    }
}
