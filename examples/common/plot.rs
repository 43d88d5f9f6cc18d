//! The simulator's plots, shared by examples/simulate.rs (`--plot`, `--samples`),
//! examples/sim_plot.rs (several runs in one figure) and tests/sim_plot.rs: per-lookup
//! samples, their CSV form, and SVG figures drawn with plotters' SVG backend (text as
//! SVG `<text>`, no font files). Every figure is a function of its samples alone: the
//! same run draws the same bytes.
#![allow(dead_code)]

use btdht::sim::scenario::Report;
use plotters::prelude::*;
use std::fmt::Write as _;

/// One lookup, as the plots need it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Whether it found the true closest nodes (in the IPv4 network for a dual-stack
    /// lookup).
    pub correct: bool,
    /// The same in the IPv6 network, for a lookup with an IPv6 part.
    pub correct_v6: Option<bool>,
    /// Queries sent (finished lookups only).
    pub queries: Option<u32>,
    /// Virtual milliseconds to settle, if it finished.
    pub settled_ms: Option<f64>,
    /// Virtual milliseconds to the announced peer, if it came.
    pub peer_ms: Option<f64>,
}

/// The series colours, in order: one per curve of a figure (a figure has at most this
/// many).
pub const COLOURS: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
];

/// A colour as the SVG backend writes it (`#RRGGBB`).
pub fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// A run's lookups as samples.
pub fn samples(report: &Report) -> Vec<Sample> {
    let ms = |d: std::time::Duration| d.as_micros() as f64 / 1e3;
    report
        .lookups
        .iter()
        .map(|l| Sample {
            correct: l.correct,
            correct_v6: l.correct_v6,
            queries: l.finished.then_some(l.queries),
            settled_ms: l.finished.then(|| ms(l.time)),
            peer_ms: l.peer_time.map(ms),
        })
        .collect()
}

const HEADER: &str = "correct,correct_v6,queries,settled_ms,peer_ms";

/// Samples as CSV: a header line, then one line per lookup (empty field: none).
pub fn to_csv(samples: &[Sample]) -> String {
    let mut out = format!("{HEADER}\n");
    let opt = |v: Option<String>| v.unwrap_or_default();
    for s in samples {
        let _ = writeln!(
            out,
            "{},{},{},{},{}",
            u8::from(s.correct),
            opt(s.correct_v6.map(|c| u8::from(c).to_string())),
            opt(s.queries.map(|q| q.to_string())),
            opt(s.settled_ms.map(|v| format!("{v:.3}"))),
            opt(s.peer_ms.map(|v| format!("{v:.3}"))),
        );
    }
    out
}

/// Parses [`to_csv`]'s output.
pub fn from_csv(text: &str) -> Result<Vec<Sample>, String> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(format!(
            "not a samples file: the first line is not {HEADER}"
        ));
    }
    lines
        .enumerate()
        .map(|(i, line)| {
            let bad = |what: &str| format!("line {}: {what}: {line}", i + 2);
            let f: Vec<&str> = line.split(',').collect();
            let [correct, v6, queries, settled, peer] = f[..] else {
                return Err(bad("five fields expected"));
            };
            let flag = |s: &str| match s {
                "0" => Ok(false),
                "1" => Ok(true),
                _ => Err(bad("0 or 1 expected")),
            };
            let num = |s: &str| -> Result<Option<f64>, String> {
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse().map(Some).map_err(|_| bad("number expected"))
                }
            };
            Ok(Sample {
                correct: flag(correct)?,
                correct_v6: if v6.is_empty() { None } else { Some(flag(v6)?) },
                queries: num(queries)?.map(|q| q as u32),
                settled_ms: num(settled)?,
                peer_ms: num(peer)?,
            })
        })
        .collect()
}

/// "99.7 % correct", or "100 % / 99.9 % correct (IPv4 / IPv6)" for dual-stack lookups.
pub fn correctness(samples: &[Sample]) -> String {
    let rate = |hits: usize, of: usize| {
        let r = 100.0 * hits as f64 / of.max(1) as f64;
        if r == 100.0 {
            "100 %".to_string()
        } else {
            format!("{r:.1} %")
        }
    };
    let v4 = rate(samples.iter().filter(|s| s.correct).count(), samples.len());
    let v6: Vec<bool> = samples.iter().filter_map(|s| s.correct_v6).collect();
    if v6.is_empty() {
        format!("{v4} correct")
    } else {
        let v6 = rate(v6.iter().filter(|c| **c).count(), v6.len());
        format!("{v4} / {v6} correct (IPv4 / IPv6)")
    }
}

/// The median of some values, 0 when there are none.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0.0)
}

/// The points of a cumulative distribution over `of` lookups (those without a value
/// never arrive: the curve tops out at the fraction that has one), at most about 400.
fn cdf(mut values: Vec<f64>, of: usize) -> Vec<(f64, f64)> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let stride = n.div_ceil(400).max(1);
    let mut points: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + 1) % stride == 0 || i + 1 == n)
        .map(|(i, v)| (*v, (i + 1) as f64 / of.max(1) as f64))
        .collect();
    if let Some(&first) = values.first() {
        points.insert(0, (first, 0.0));
    }
    points
}

/// A logarithmic milliseconds axis from a power of ten at or below the first percentile
/// of the values (the few below it, such as a peer the searching node stored itself,
/// are drawn at the axis' start, where the curve's height still counts them) to one at
/// or above the largest.
fn ms_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let lo = v.get(v.len() / 100).copied().unwrap_or(1.0).max(1.0);
    let hi = v.last().copied().unwrap_or(10.0).max(lo);
    (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil()).max(10.0),
    )
}

type Failed = Box<dyn std::error::Error>;

/// Draws one CDF panel: each series a curve of the fraction of lookups done by then.
fn cdf_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    x_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), Failed> {
    let (lo, hi) = ms_range(series.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x)));
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..1.0)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc("fraction of lookups")
        .x_label_formatter(&|v| format!("{v}"))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    for (i, (label, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let clamped = points.iter().map(|&(x, y)| (x.clamp(lo, hi), y));
        chart
            .draw_series(LineSeries::new(clamped, colour.stroke_width(2)))?
            .label(label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], colour.filled()));
    }
    chart
        .configure_series_labels()
        // A cumulative distribution leaves its upper left empty.
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

/// One run's figure, as SVG: on the left the cumulative distribution of the time to the
/// first peer and to settle, on the right how many queries the lookups took.
pub fn run_figure(title: &str, samples: &[Sample]) -> Result<String, Failed> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, ("sans-serif", 16))?;
        let (left, right) = root.split_horizontally(620);
        let n = samples.len();
        let peer: Vec<f64> = samples.iter().filter_map(|s| s.peer_ms).collect();
        let settled: Vec<f64> = samples.iter().filter_map(|s| s.settled_ms).collect();
        let series = [
            (
                format!("first peer (median {:.0} ms)", median(peer.iter().copied())),
                cdf(peer, n),
            ),
            (
                format!("settled (median {:.0} ms)", median(settled.iter().copied())),
                cdf(settled, n),
            ),
        ];
        let caption = format!("Lookup time, {}", correctness(samples));
        cdf_panel(
            &left,
            &caption,
            "virtual ms since the lookup started",
            &series,
        )?;
        queries_panel(&right, samples)?;
        root.present()?;
    }
    Ok(svg)
}

/// The distribution of queries per finished lookup, as a step curve of the fraction of
/// lookups in each bin.
fn queries_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    samples: &[Sample],
) -> Result<(), Failed> {
    let queries: Vec<u32> = samples.iter().filter_map(|s| s.queries).collect();
    let max = queries.iter().copied().max().unwrap_or(1).max(1);
    let width = max.div_ceil(60).max(1);
    let bins = max / width + 1;
    let mut counts = vec![0usize; bins as usize];
    for q in &queries {
        counts[(q / width) as usize] += 1;
    }
    let n = queries.len().max(1) as f64;
    let top = counts.iter().copied().max().unwrap_or(0) as f64 / n;
    let mut steps = Vec::with_capacity(2 * counts.len() + 2);
    for (b, c) in counts.iter().enumerate() {
        let (x0, x1) = ((b as u32 * width) as f64, ((b as u32 + 1) * width) as f64);
        steps.push((x0, *c as f64 / n));
        steps.push((x1, *c as f64 / n));
    }
    steps.insert(0, (0.0, 0.0));
    steps.push(((bins * width) as f64, 0.0));
    let median = median(queries.iter().map(|q| f64::from(*q)));
    let mut chart = ChartBuilder::on(area)
        .caption("Queries per lookup", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..(bins * width) as f64, 0f64..(top * 1.1).max(0.01))?;
    chart
        .configure_mesh()
        .x_desc(if width == 1 {
            "queries".to_string()
        } else {
            format!("queries (bins of {width})")
        })
        .y_desc("fraction of lookups")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .light_line_style(BLACK.mix(0.04))
        .draw()?;
    let colour = COLOURS[2];
    chart
        .draw_series(LineSeries::new(steps, colour.stroke_width(2)))?
        .label(format!("median {median:.0}"))
        .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], colour.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

/// Several runs on one network: each one's cumulative distribution of the time to the
/// first peer, labelled with its correctness, as SVG.
pub fn comparison_figure(title: &str, runs: &[(String, Vec<Sample>)]) -> Result<String, Failed> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let series: Vec<(String, Vec<(f64, f64)>)> = runs
            .iter()
            .map(|(name, samples)| {
                let peer: Vec<f64> = samples.iter().filter_map(|s| s.peer_ms).collect();
                let label = format!(
                    "{name}: {}, peer median {:.0} ms",
                    correctness(samples),
                    median(peer.iter().copied())
                );
                (label, cdf(peer, samples.len()))
            })
            .collect();
        cdf_panel(
            &root,
            title,
            "virtual ms from the lookup's start to the first peer",
            &series,
        )?;
        root.present()?;
    }
    Ok(svg)
}
