//! Runs a whole DHT in one process on the deterministic simulator and prints how its
//! lookups did (feature `sim`; nothing touches a socket).
//!
//! ```text
//! cargo run --release --features sim --example simulate -- --nodes 10000 --lookups 1000 \
//!     --seed 1 --loss 0.1 --churn 0.2 --silent 0.2 --hostile 0 --rtt-ms 100
//! ```
//!
//! Flags: `--nodes N` (default 10000), `--lookups N` (1000), `--seed N` (1), `--loss F`,
//! `--churn F` (fraction of nodes replaced while the lookups run), `--hostile F`,
//! `--silent F`, `--nat F` (all default 0), `--rtt-ms N` (median round trip, 100),
//! `--ipv6 F` (fraction of nodes on the IPv6 network only), `--dual F` (fraction on both;
//! lookups then start from dual-stack nodes, search both tables, and are scored per
//! family: `success_rate` is the IPv4 network's, `success_rate_v6` and `median_ms_v6`
//! join the summary line), `--outage SECONDS` (every link drops for that long once the network is built; then
//! 120 s with no command, and `recovered=` joins the summary line: the fraction of nodes
//! whose tables again hold `k` nodes that answered after the outage),
//! `--alpha N`, `--k N`, `--soft-timeout-ms N`, `--attempts N`, `--sibling-probe N` (probe rounds, 0 = off)
//! (the lookup settings; default: the crate's). Progress lines go to stderr; the last
//! stdout line starts with `summary`.

use btdht::node::Config;
use btdht::sim::LinkModel;
use btdht::sim::scenario::{Phase, Scenario};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Counts live heap bytes, for the memory-per-node figure.
#[path = "../tests/common/counting.rs"]
mod counting;

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

fn parse() -> Result<Scenario, String> {
    let mut s = Scenario {
        nodes: 10_000,
        lookups: 1000,
        ..Scenario::default()
    };
    let mut link = LinkModel::default();
    let mut config = Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let v = args.next().ok_or(format!("{flag} needs a value"))?;
        let float = || v.parse::<f64>().map_err(|e| format!("{flag}: {e}"));
        let int = || v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--nodes" => s.nodes = int()? as usize,
            "--lookups" => s.lookups = int()? as usize,
            "--seed" => s.seed = int()?,
            "--loss" => link.loss = float()?,
            "--churn" => s.churn = float()?,
            "--hostile" => s.hostile = float()?,
            "--silent" => s.silent = float()?,
            "--nat" => s.nat = float()?,
            "--rtt-ms" => link.median_rtt = Duration::from_millis(int()?),
            "--outage" => s.outage = Some(Duration::from_secs(int()?)),
            "--ipv6" => s.ipv6 = float()?,
            "--dual" => s.dual = float()?,
            "--alpha" => config.lookup.alpha = int()? as usize,
            "--k" => config.routing.k = int()? as usize,
            "--soft-timeout-ms" => config.lookup.soft_timeout = Duration::from_millis(int()?),
            "--attempts" => config.lookup.attempts = int()? as u8,
            "--sibling-probe" => {
                config.lookup.sibling_probe = match int()? {
                    0 => btdht::lookup::SiblingProbe::Off,
                    n => btdht::lookup::SiblingProbe::Rounds(n.min(255) as u8),
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    s.link = link;
    s.config = config;
    Ok(s)
}

fn main() -> ExitCode {
    let scenario = match parse() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let wall = Instant::now();
    let mut built_mem = 0;
    let report = scenario.run(|p| {
        let what = match p.phase {
            Phase::Building { done, of } => {
                if done == of {
                    built_mem = counting::live();
                }
                format!("building {done}/{of}")
            }
            Phase::Announcing { done, of } => format!("announcing {done}/{of}"),
            Phase::LookingUp { done, of } => format!("looking up {done}/{of}"),
        };
        eprintln!(
            "[{:6.1}s wall, {:7.1}s virtual] {what}, {} datagrams",
            wall.elapsed().as_secs_f64(),
            p.virtual_time.as_secs_f64(),
            p.delivered
        );
    });
    let s = report.summary();
    if std::env::var_os("SIM_DEBUG").is_some() {
        let mut ranks = [0usize; 9];
        for l in &report.lookups {
            ranks[l.first_missed.map_or(8, usize::from).min(8)] += 1;
        }
        eprintln!("first missed rank histogram (8 = none): {ranks:?}");
    }
    let summary = format!(
        "summary nodes={} lookups={} success_rate={:.4} found_rate={:.4} median_queries={} p90_queries={} median_hops={} p90_hops={} median_timeouts={} median_ms={} p90_ms={} p99_ms={} median_peer_ms={} mem_per_node_bytes={} peak_mem_bytes={} wall_s={:.1} trace={:016x}",
        scenario.nodes,
        s.lookups,
        s.correct_rate,
        s.found_rate,
        s.median_queries,
        s.p90_queries,
        s.median_hops,
        s.p90_hops,
        s.median_timeouts,
        s.median_ms,
        s.p90_ms,
        s.p99_ms,
        s.median_peer_ms,
        built_mem / scenario.nodes.max(1),
        counting::peak(),
        wall.elapsed().as_secs_f64(),
        report.trace_hash
    );
    // Only with IPv6 nodes, or after an outage: the other summary keys stay as they were.
    let summary = if scenario.ipv6 > 0.0 || scenario.dual > 0.0 {
        format!(
            "{summary} success_rate_v6={:.4} median_ms_v6={}",
            s.correct_rate_v6, s.median_ms_v6
        )
    } else {
        summary
    };
    let summary = match report.recovered {
        Some(r) => format!("{summary} recovered={r:.4}"),
        None => summary,
    };
    println!("{summary}");
    ExitCode::SUCCESS
}
