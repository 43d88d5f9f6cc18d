//! Draws several simulator runs in one figure: each run's cumulative distribution of the
//! time from a lookup's start to the first peer, labelled with its correctness. The runs
//! come from `examples/simulate.rs --samples FILE.csv`; ci/sim-plots.sh makes the
//! figures of docs/SIMULATOR.md this way.
//!
//! ```text
//! cargo run --release --features sim --example sim_plot -- --title "Healthy network" \
//!     --out healthy.svg "btdht defaults=a.csv" "libtorrent-like=b.csv"
//! ```
//!
//! Each run is `LABEL=FILE`, at most four, drawn in the order given.

use std::process::ExitCode;

#[path = "common/plot.rs"]
mod plot;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut title = String::new();
    let mut out = None;
    let mut runs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--title" => title = args.next().ok_or("--title needs a value")?,
            "--out" => out = Some(args.next().ok_or("--out needs a value")?),
            run => {
                let (label, path) = run
                    .split_once('=')
                    .ok_or(format!("{run}: LABEL=FILE expected"))?;
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                let samples = plot::from_csv(&text).map_err(|e| format!("{path}: {e}"))?;
                runs.push((label.to_string(), samples));
            }
        }
    }
    let out = out.ok_or("--out FILE.svg is needed")?;
    if runs.is_empty() || runs.len() > plot::COLOURS.len() {
        return Err(format!("1 to {} runs expected", plot::COLOURS.len()));
    }
    let svg = plot::comparison_figure(&title, &runs).map_err(|e| format!("plot: {e}"))?;
    std::fs::write(&out, svg).map_err(|e| format!("{out}: {e}"))
}
