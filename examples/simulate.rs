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
//! (the lookup settings; default: the crate's), `--plot FILE.svg` (the run's figure: the
//! cumulative distribution of the time to the first peer and to settle, and the
//! distribution of queries per lookup), `--samples FILE.csv` (one line per lookup, for
//! examples/sim_plot.rs to draw several runs in one figure). The last stdout line starts
//! with `summary`.
//!
//! On a terminal, stderr shows one live progress line (the phase, how far it is, the
//! time elapsed and an estimate of what is left of the phase); otherwise stderr gets a
//! plain line at each 5 % step.

use btdht::node::Config;
use btdht::sim::LinkModel;
use btdht::sim::scenario::{Phase, Progress, Report, Scenario};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[path = "common/plot.rs"]
mod plot;

/// Counts live heap bytes, for the memory-per-node figure.
#[path = "../tests/common/counting.rs"]
mod counting;

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// What to write besides the summary.
#[derive(Default)]
struct Outputs {
    plot: Option<PathBuf>,
    samples: Option<PathBuf>,
}

fn parse() -> Result<(Scenario, Outputs), String> {
    let mut s = Scenario {
        nodes: 10_000,
        lookups: 1000,
        ..Scenario::default()
    };
    let mut link = LinkModel::default();
    let mut config = Config::default();
    let mut out = Outputs::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let v = args.next().ok_or(format!("{flag} needs a value"))?;
        let float = || v.parse::<f64>().map_err(|e| format!("{flag}: {e}"));
        let int = || v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--plot" => out.plot = Some(v.into()),
            "--samples" => out.samples = Some(v.into()),
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
    Ok((s, out))
}

/// The live progress line of a terminal: redrawn in place at most ten times a second.
struct Live {
    wall: Instant,
    /// The phase shown, and when it started.
    phase: Option<(std::mem::Discriminant<Phase>, Instant)>,
    drawn: Option<Instant>,
}

impl Live {
    fn new(wall: Instant) -> Self {
        Live {
            wall,
            phase: None,
            drawn: None,
        }
    }

    fn show(&mut self, p: &Progress) {
        let now = Instant::now();
        let kind = std::mem::discriminant(&p.phase);
        let since = match self.phase {
            Some((k, since)) if k == kind => since,
            _ => {
                self.phase = Some((kind, now));
                self.drawn = None;
                now
            }
        };
        if self
            .drawn
            .is_some_and(|d| now - d < Duration::from_millis(100))
        {
            return;
        }
        self.drawn = Some(now);
        let (what, done, of) = match p.phase {
            Phase::Building { done, of } => ("building the network", done, of),
            Phase::WarmingUp => ("warming up", 0, 0),
            Phase::Announcing { done, of } => ("announcing", done, of),
            Phase::LookingUp { done, of } => ("lookups done", done, of),
        };
        let count = if of == 0 {
            String::new()
        } else {
            format!(" {done}/{of} ({:.0} %)", 100.0 * done as f64 / of as f64)
        };
        let phase_s = (now - since).as_secs_f64();
        let left = if done > 0 && done < of && phase_s > 0.5 {
            let left = phase_s * (of - done) as f64 / done as f64;
            format!(", about {} left in this phase", secs(left))
        } else {
            String::new()
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{what}{count}: {} elapsed{left} [{:.1} s virtual]",
            secs(self.wall.elapsed().as_secs_f64()),
            p.virtual_time.as_secs_f64()
        );
        let _ = err.flush();
    }

    /// Clears the line.
    fn finish(&self) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

/// Seconds, or minutes and seconds past a minute.
fn secs(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        format!("{} min {:02.0} s", (s / 60.0).floor(), s % 60.0)
    }
}

fn main() -> ExitCode {
    let (scenario, outputs) = match parse() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let wall = Instant::now();
    let mut built_mem = 0;
    let mut live = std::io::stderr().is_terminal().then(|| Live::new(wall));
    let report = scenario.run(|p| {
        if let Phase::Building { done, of } = p.phase {
            if done == of {
                built_mem = counting::live();
            }
        }
        if let Some(live) = live.as_mut() {
            live.show(p);
            return;
        }
        let what = match p.phase {
            _ if !p.milestone => return,
            Phase::Building { done, of } => format!("building {done}/{of}"),
            Phase::WarmingUp => return,
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
    if let Some(live) = &live {
        live.finish();
    }
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
    if let Err(e) = write_outputs(&scenario, &outputs, &report) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The `--plot` figure and the `--samples` file, if asked for.
fn write_outputs(scenario: &Scenario, outputs: &Outputs, report: &Report) -> Result<(), String> {
    let samples = plot::samples(report);
    if let Some(path) = &outputs.samples {
        std::fs::write(path, plot::to_csv(&samples)).map_err(|e| format!("{path:?}: {e}"))?;
    }
    if let Some(path) = &outputs.plot {
        // The run's size and seed, then the other flags given: what remakes this run.
        let mut title = format!(
            "{} nodes, {} lookups, seed {}",
            scenario.nodes, scenario.lookups, scenario.seed
        );
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().unwrap_or_default();
            if !["--plot", "--samples", "--nodes", "--lookups", "--seed"].contains(&flag.as_str()) {
                title.push_str(&format!(" {flag} {value}"));
            }
        }
        let svg = plot::run_figure(&title, &samples).map_err(|e| format!("plot: {e}"))?;
        std::fs::write(path, svg).map_err(|e| format!("{path:?}: {e}"))?;
    }
    Ok(())
}
