//! The simulator's figures (examples/simulate.rs `--plot`, examples/sim_plot.rs): well-formed
//! SVG, one curve per series, the same bytes for the same run, and samples that survive
//! their CSV file.
#![cfg(feature = "sim")]

use btdht::sim::scenario::Scenario;

#[path = "../examples/common/plot.rs"]
mod plot;

/// A small run's samples (debug builds run it in under a second).
fn small_run(seed: u64) -> Vec<plot::Sample> {
    let report = Scenario {
        nodes: 150,
        lookups: 15,
        seed,
        churn: 0.1,
        ..Scenario::default()
    }
    .run(|_| {});
    plot::samples(&report)
}

/// Checks the document's structure: it starts with `<svg`, every tag opened is closed in
/// order, and it ends with `</svg>`. Returns every start tag (name and attributes).
fn parse_svg(svg: &str) -> Vec<String> {
    let svg = svg.trim();
    assert!(
        svg.starts_with("<svg"),
        "starts with <svg: {:?}",
        &svg[..40]
    );
    assert!(svg.ends_with("</svg>"), "ends with </svg>");
    let mut open: Vec<String> = Vec::new();
    let mut tags = Vec::new();
    let mut rest = svg;
    while let Some(at) = rest.find('<') {
        assert!(
            !rest[..at].contains('>'),
            "a stray > in text: {:?}",
            &rest[..at]
        );
        let end = rest[at..].find('>').expect("every tag is closed by >") + at;
        let tag = &rest[at + 1..end];
        assert!(!tag.contains('<'), "a < inside a tag: {tag:?}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name.trim()),
                "tags close in order"
            );
        } else {
            let name = tag
                .split_whitespace()
                .next()
                .expect("a tag has a name")
                .trim_end_matches('/')
                .to_string();
            if !tag.ends_with('/') {
                open.push(name);
            }
            tags.push(tag.to_string());
        }
        rest = &rest[end + 1..];
        if open.is_empty() {
            assert!(rest.trim().is_empty(), "nothing after the closing </svg>");
        }
    }
    assert!(open.is_empty(), "unclosed tags: {open:?}");
    tags
}

/// How many `<polyline>` curves each of the series colours has.
fn curves_per_colour(tags: &[String], series: usize) -> Vec<usize> {
    plot::COLOURS[..series]
        .iter()
        .map(|c| {
            let stroke = format!("stroke=\"{}\"", plot::hex(*c));
            tags.iter()
                .filter(|t| t.starts_with("polyline") && t.contains(&stroke))
                .count()
        })
        .collect()
}

#[test]
fn run_plot_is_well_formed_svg_with_one_curve_per_series() {
    let samples = small_run(1);
    let svg = plot::run_figure("150 nodes, 15 lookups, seed 1", &samples).unwrap();
    let tags = parse_svg(&svg);
    // First peer and settled (the CDF), and queries per lookup.
    assert_eq!(curves_per_colour(&tags, 3), [1, 1, 1]);
    let polylines = tags.iter().filter(|t| t.starts_with("polyline")).count();
    let coloured = tags
        .iter()
        .filter(|t| t.starts_with("polyline") && !t.contains("stroke=\"#000000\""))
        .count();
    assert_eq!(coloured, 3, "no other coloured curve among {polylines}");
    assert!(svg.contains("correct"), "the correctness is written");
}

#[test]
fn comparison_plot_has_one_curve_per_setting_with_its_correctness() {
    let a = small_run(1);
    let b = small_run(2);
    let runs: Vec<(String, Vec<plot::Sample>)> = ["one", "two", "three", "four"]
        .iter()
        .zip([&a, &b, &a, &b])
        .map(|(name, s)| (name.to_string(), s.clone()))
        .collect();
    let svg = plot::comparison_figure("four settings", &runs).unwrap();
    let tags = parse_svg(&svg);
    assert_eq!(curves_per_colour(&tags, 4), [1, 1, 1, 1]);
    for (name, samples) in &runs {
        let legend = format!("{name}: {}", plot::correctness(samples));
        assert!(svg.contains(&legend), "legend {legend:?}");
    }
}

#[test]
fn same_run_draws_the_same_svg() {
    let draw = || plot::run_figure("t", &small_run(3)).unwrap();
    assert_eq!(draw(), draw());
}

#[test]
fn samples_survive_their_csv_file() {
    let mut samples = small_run(1);
    samples.push(plot::Sample {
        correct: false,
        correct_v6: Some(true),
        queries: None,
        settled_ms: None,
        peer_ms: Some(0.5),
    });
    let csv = plot::to_csv(&samples);
    assert_eq!(plot::from_csv(&csv).unwrap(), samples);
    assert!(plot::from_csv("lookup,time\n1,2\n").is_err());
}
