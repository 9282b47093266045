//! The plotting module writes readable PNG and SVG files and never panics on odd data.
//!
//! `cargo test --release --test plot -- --ignored` also renders one example of each
//! figure into /tmp/plot-examples (or $PLOT_EXAMPLES_DIR) for a look by eye.

use std::path::{Path, PathBuf};

use rl_sandbox::plot::*;

/// A fresh folder per test, so tests running in parallel never share files; it is
/// removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(test: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("rl-sandbox-plot-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    TempDir(dir)
}

/// Both files exist, the PNG is a real, non-trivial image, the SVG carries the title.
fn check_files(dir: &Path, stem: &str, names: &[String], title: &str) {
    assert_eq!(names, &[format!("{stem}.png"), format!("{stem}.svg")]);
    let png = std::fs::read(dir.join(&names[0])).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(png.len() > 5_000, "PNG suspiciously small: {} bytes", png.len());
    let svg = std::fs::read_to_string(dir.join(&names[1])).unwrap();
    let has_title = svg.split("<text").skip(1).any(|t| t.contains(title));
    assert!(has_title, "no <text> element with the title '{title}'");
}

/// Noisy learning curves that rise towards `top`, one run per seed.
fn learning_band(label: &str, top: f64, speed: f64, seeds: usize, n: usize) -> Band {
    let x: Vec<f64> = (1..=n).map(|i| (i * 10) as f64).collect();
    let runs = (0..seeds)
        .map(|s| {
            x.iter()
                .enumerate()
                .map(|(i, xi)| {
                    // A cheap deterministic wiggle stands in for noise.
                    let noise = ((i * 7 + s * 13) % 11) as f64 / 10.0 - 0.5;
                    top * (1.0 - (-speed * xi).exp()) + noise * top * 0.15
                })
                .collect()
        })
        .collect();
    Band { label: label.to_string(), x, runs }
}

fn example_curves(title: &str) -> CurvePlot {
    CurvePlot {
        title: title.to_string(),
        x_label: "episode".to_string(),
        y_label: "return (reward per episode)".to_string(),
        log_y: false,
        bands: vec![
            learning_band("ε = 0.01 (mean ± std, 10 seeds)", 0.9, 0.004, 10, 100),
            learning_band("ε = 0.1 (mean ± std, 10 seeds)", 1.0, 0.01, 10, 100),
            learning_band("ε = 0.3 (mean ± std, 10 seeds)", 0.7, 0.03, 10, 100),
        ],
        hlines: vec![(1.0, "optimal return".to_string())],
        smooth: 5,
    }
}

fn example_bars() -> Bars {
    Bars {
        title: "Episodes until the greedy path is optimal".to_string(),
        x_label: "exploration rate ε".to_string(),
        y_label: "episodes (median over 10 seeds)".to_string(),
        categories: ["0.01", "0.05", "0.1", "0.2", "0.3"].map(String::from).to_vec(),
        values: vec![412.0, 163.5, 98.0, 121.2, 187.0],
        errors: Some(vec![80.5, 40.0, 22.3, 30.0, 51.9]),
    }
}

/// The article's 3x3 maze: S3 and S7 are walls, S1 the start, S9 the goal.
fn maze_3x3(with_q: bool, arrows: &[&[Dir]]) -> GridPicture {
    let cells = (0..9)
        .map(|k| {
            let kind = match k {
                0 => CellKind::Start,
                2 | 6 => CellKind::Wall,
                8 => CellKind::Goal,
                _ => CellKind::Free,
            };
            let value = (kind != CellKind::Wall).then(|| 0.9f64.powi(4 - (k / 3 + k % 3) as i32));
            let q = (with_q && kind != CellKind::Wall && kind != CellKind::Goal)
                .then(|| [-1.0, 0.81 + 0.01 * k as f64, -0.999, 0.9 - 0.1 * k as f64]);
            GridCell { kind, name: format!("S{}", k + 1), value, arrows: arrows[k].to_vec(), q }
        })
        .collect();
    GridPicture {
        title: "Q-learning on the 3x3 maze: Q values and greedy policy".to_string(),
        width: 3,
        height: 3,
        cells,
        value_label: "V*(s) = max_a Q*(s,a)".to_string(),
    }
}

fn maze_arrows() -> Vec<&'static [Dir]> {
    use Dir::*;
    vec![&[Down, Right], &[Down], &[], &[Right], &[Down, Right], &[Down], &[], &[Right], &[]]
}

fn maze_8x8() -> GridPicture {
    let (w, h) = (8, 8);
    let cells = (0..w * h)
        .map(|k| {
            let (r, c) = (k / w, k % w);
            let wall = (r == 2 && c < 6) || (r == 5 && c > 1);
            let kind = match k {
                0 => CellKind::Start,
                63 => CellKind::Goal,
                _ if wall => CellKind::Wall,
                _ => CellKind::Free,
            };
            let dist = (7 - r) + (7 - c);
            let arrows = if kind == CellKind::Free || kind == CellKind::Start {
                vec![if r % 2 == 0 { Dir::Right } else { Dir::Down }]
            } else {
                vec![]
            };
            let value = (kind != CellKind::Wall).then(|| 0.95f64.powi(dist as i32));
            GridCell { kind, name: format!("S{}", k + 1), value, arrows, q: None }
        })
        .collect();
    GridPicture {
        title: "Value iteration on an 8x8 maze".to_string(),
        width: w,
        height: h,
        cells,
        value_label: "V*(s), discounted return from s (γ = 0.95)".to_string(),
    }
}

#[test]
fn curves_writes_png_and_svg() {
    let dir = temp_dir("curves");
    let names = curves(&dir.join("return"), &example_curves("Return while learning")).unwrap();
    check_files(&dir.0, "return", &names, "Return while learning");
}

#[test]
fn curves_panels_writes_png_and_svg() {
    let dir = temp_dir("panels");
    let panels = [example_curves("Left"), example_curves("Right")];
    let names = curves_panels(&dir.join("nested/both"), "Two panels", &panels, 2).unwrap();
    check_files(&dir.join("nested"), "both", &names, "Two panels");
}

#[test]
fn log_curves_with_zeros_and_nans_do_not_panic() {
    let dir = temp_dir("log");
    let band = Band {
        label: "loss".to_string(),
        x: vec![0.0, 1.0, 2.0, 3.0, 4.0],
        runs: vec![vec![1.0, 0.0, f64::NAN, 0.01, -2.0], vec![f64::NAN, 0.5, f64::NAN, 0.0, 1e-4]],
    };
    let plot = CurvePlot {
        title: "Loss".to_string(),
        log_y: true,
        bands: vec![band, Band { label: "all missing".into(), x: vec![0.0], runs: vec![vec![f64::NAN]] }],
        hlines: vec![(0.0, "zero".to_string())],
        smooth: 3,
        ..Default::default()
    };
    let names = curves(&dir.join("loss"), &plot).unwrap();
    check_files(&dir.0, "loss", &names, "Loss");
    // Nothing at all to draw still gives an (empty) chart rather than a panic.
    let empty = CurvePlot { title: "Nothing".into(), log_y: true, ..Default::default() };
    let names = curves(&dir.join("empty"), &empty).unwrap();
    check_files(&dir.0, "empty", &names, "Nothing");
}

#[test]
fn runs_of_the_wrong_length_are_an_error() {
    let dir = temp_dir("badband");
    let band = Band { label: "a".into(), x: vec![0.0, 1.0], runs: vec![vec![1.0]] };
    let plot = CurvePlot { title: "Bad".into(), bands: vec![band], ..Default::default() };
    assert!(curves(&dir.join("bad"), &plot).is_err());
    assert!(!dir.join("bad.png").exists());
}

#[test]
fn bars_writes_png_and_svg() {
    let dir = temp_dir("bars");
    let names = bars(&dir.join("episodes"), &example_bars()).unwrap();
    check_files(&dir.0, "episodes", &names, "Episodes until the greedy path is optimal");
    let negative = Bars { values: vec![-3.0, 2.0, f64::NAN, 0.0, -0.5], errors: None, ..example_bars() };
    let names = bars(&dir.join("negative"), &negative).unwrap();
    check_files(&dir.0, "negative", &names, "Episodes until the greedy path is optimal");
    let mismatched = Bars { values: vec![1.0], ..example_bars() };
    assert!(bars(&dir.join("mismatched"), &mismatched).is_err());
}

#[test]
fn grid_writes_png_and_svg() {
    let dir = temp_dir("grid");
    let pic = maze_3x3(true, &maze_arrows());
    let names = grid(&dir.join("maze"), &pic).unwrap();
    check_files(&dir.0, "maze", &names, "Q-learning on the 3x3 maze");
}

#[test]
fn grid_panels_writes_png_and_svg() {
    let dir = temp_dir("grid-panels");
    let pics = [maze_3x3(false, &maze_arrows()), maze_8x8()];
    let names = grid_panels(&dir.join("paths"), "Two mazes", &pics, 2).unwrap();
    check_files(&dir.0, "paths", &names, "Two mazes");
}

#[test]
fn a_mismatched_grid_is_an_error_not_a_panic() {
    let dir = temp_dir("bad-grid");
    let mut pic = maze_3x3(false, &maze_arrows());
    pic.width = 4;
    let err = grid(&dir.join("bad"), &pic).unwrap_err();
    assert!(err.to_string().contains("12 cells"), "{err}");
    assert!(grid_panels(&dir.join("bad"), "x", &[pic], 1).is_err());
    assert!(grid_panels(&dir.join("none"), "x", &[], 1).is_err());
}

/// One example of each figure, for a look by eye.
#[test]
#[ignore]
fn render_examples() {
    let dir = std::env::var("PLOT_EXAMPLES_DIR").map_or_else(|_| PathBuf::from("/tmp/plot-examples"), PathBuf::from);
    curves(&dir.join("curves"), &example_curves("Q-learning on the 3x3 maze: return per episode")).unwrap();
    let mut log = example_curves("TD error (log scale)");
    log.log_y = true;
    log.y_label = "|TD error|".to_string();
    log.hlines.clear();
    for b in &mut log.bands {
        b.runs.iter_mut().flatten().for_each(|v| *v = (1.05 - *v).abs());
    }
    let panels = [example_curves("Return"), log];
    curves_panels(&dir.join("curves_panels"), "Q-learning, three exploration rates", &panels, 2).unwrap();
    bars(&dir.join("bars"), &example_bars()).unwrap();
    grid(&dir.join("grid_3x3"), &maze_3x3(true, &maze_arrows())).unwrap();
    grid(&dir.join("grid_8x8"), &maze_8x8()).unwrap();
    use Dir::*;
    let paths: [[&[Dir]; 9]; 4] = [
        [&[Down], &[], &[], &[Right], &[Down], &[], &[], &[Right], &[]],
        [&[Right], &[Down], &[], &[], &[Down], &[], &[], &[Right], &[]],
        [&[Down], &[], &[], &[Right], &[Right], &[Down], &[], &[], &[]],
        [&[Right], &[Down], &[], &[], &[Right], &[Down], &[], &[], &[]],
    ];
    let pics: Vec<GridPicture> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut pic = maze_3x3(false, p);
            pic.title = format!("shortest path {}", i + 1);
            pic.cells.iter_mut().for_each(|c| c.value = None);
            pic
        })
        .collect();
    grid_panels(&dir.join("grid_panels"), "The four shortest paths of the 3x3 maze", &pics, 2).unwrap();
}

/// Data that forces the layout's fallbacks: a legend with no free corner, long
/// category names, negative and missing bars, a 1x1 grid and a 12x12 grid with Q values.
#[test]
fn awkward_inputs_still_draw() {
    let dir = temp_dir("awkward");
    let x: Vec<f64> = (0..200).map(|i| (i * 512) as f64).collect();
    let wild = |phase: f64| Band {
        label: format!("ε = {phase} (mean ± std, 5 seeds)"),
        x: x.clone(),
        runs: (0..5)
            .map(|s| x.iter().map(|xi| 250.0 + 240.0 * (xi * 7e-4 + s as f64 + phase).sin()).collect())
            .collect(),
    };
    let noisy = CurvePlot {
        title: "Noise everywhere".into(),
        bands: vec![wild(0.1), wild(0.2)],
        hlines: vec![(500.0, "maximum: 500".into()), (f64::NAN, "ignored".into())],
        smooth: 1,
        ..Default::default()
    };
    let names = curves(&dir.join("noisy"), &noisy).unwrap();
    check_files(&dir.0, "noisy", &names, "Noise everywhere");
    let many = Bars {
        title: "Many bars".into(),
        categories: (0..14).map(|i| format!("lr = {i}e-4, γ = 0.99")).collect(),
        values: (0..14).map(|i| if i == 3 { f64::NAN } else { i as f64 * 3.3 - 20.0 }).collect(),
        errors: Some(vec![2.0; 14]),
        ..Default::default()
    };
    let names = bars(&dir.join("many"), &many).unwrap();
    check_files(&dir.0, "many", &names, "Many bars");
    let all_missing = Bars { values: vec![f64::NAN; 14], errors: None, ..many };
    let names = bars(&dir.join("all_missing"), &all_missing).unwrap();
    check_files(&dir.0, "all_missing", &names, "Many bars");
    let square = |w: usize| GridPicture {
        title: format!("{w}x{w}"),
        width: w,
        height: w,
        cells: (0..w * w)
            .map(|k| GridCell {
                kind: if k == 0 { CellKind::Start } else { CellKind::Free },
                name: format!("S{}", k + 1),
                value: Some(k as f64),
                arrows: vec![Dir::Up, Dir::Left],
                q: Some([-12.34, 100.0, 0.0, f64::NAN]),
            })
            .collect(),
        value_label: String::new(),
    };
    check_files(&dir.0, "one", &grid(&dir.join("one"), &square(1)).unwrap(), "1x1");
    check_files(&dir.0, "twelve", &grid(&dir.join("twelve"), &square(12)).unwrap(), "12x12");
}
