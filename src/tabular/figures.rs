//! Chapter 1's figures, drawn from the results of [`super::experiments`].

use super::experiments::{ExplorationRuns, PathCensus, StepSizes};
use super::{EpisodeRecord, MazeRun, MazeTask};
use crate::error::Result;
use crate::plot::{self, Band, CurveOptions, CurvePlot, Spread};
use crate::report::RunDir;
use crate::stats;

/// Experiment 1: the share of seeds reaching the goal and the steps per episode, one
/// curve per exploration schedule. Episode lengths are two-valued (stuck at the time
/// limit or done in a few steps), so the steps panel draws the median over seeds with
/// the quartiles shaded, not mean ± std; both y axes stop at what is possible.
pub fn steps_to_goal(dir: &RunDir, task: &MazeTask, schedules: &[ExplorationRuns]) -> Result<Vec<String>> {
    let n_seeds = schedules.first().map_or(0, |s| s.runs.len());
    let episodes = schedules.first().and_then(|s| s.runs.first()).map_or(0, |r| r.episodes.len());
    let x: Vec<f64> = (1..=episodes).map(|e| e as f64).collect();
    let per_episode = |runs: &[MazeRun], value: fn(&EpisodeRecord) -> f64| -> Vec<Vec<f64>> {
        runs.iter().map(|r| r.episodes.iter().map(value).collect()).collect()
    };
    let success = CurvePlot {
        title: "Share of seeds whose episode reaches the goal".into(),
        x_label: "episode".into(),
        y_label: "fraction of seeds".into(),
        bands: schedules
            .iter()
            .map(|v| Band {
                label: format!("{} ({n_seeds} seeds)", v.label),
                x: x.clone(),
                runs: vec![mean_per_x(&per_episode(&v.runs, |e| if e.reached_goal { 1.0 } else { 0.0 }))],
            })
            .collect(),
        smooth: 1,
        ..Default::default()
    };
    let steps = CurvePlot {
        title: format!("Steps per episode: median of {n_seeds} seeds, quartiles shaded"),
        x_label: "episode".into(),
        y_label: "steps in the episode".into(),
        bands: schedules
            .iter()
            .map(|v| Band {
                // Colours as in the left panel, whose legend names them.
                label: String::new(),
                x: x.clone(),
                runs: per_episode(&v.runs, |e| e.steps as f64),
            })
            .collect(),
        hlines: vec![
            (task.shortest as f64, format!("shortest path: {} steps", task.shortest)),
            (task.max_steps as f64, format!("time limit: {} steps", task.max_steps)),
        ],
        smooth: 1,
        ..Default::default()
    };
    let options = [
        CurveOptions { y_limits: Some((0.0, 1.0)), ..Default::default() },
        CurveOptions { spread: Spread::MedianQuartiles, y_limits: Some((0.0, task.max_steps as f64)) },
    ];
    Ok(plot::curves_panels_with(
        &dir.path("steps_to_goal"),
        "Exploration versus exploitation",
        &[success, steps],
        &options,
        2,
    )?)
}

/// The mean over runs at each x: one curve.
fn mean_per_x(runs: &[Vec<f64>]) -> Vec<f64> {
    (0..runs.first().map_or(0, Vec::len)).map(|i| stats::mean(&runs.iter().map(|r| r[i]).collect::<Vec<_>>())).collect()
}

/// Experiment 3: max |Q − Q*| per step size, on the deterministic and the slippery maze.
pub fn q_error(dir: &RunDir, result: &StepSizes, slip: f64) -> Result<Vec<String>> {
    let panel = |maze: &str, title: String| CurvePlot {
        title,
        x_label: "environment steps (uniformly random behaviour, ε = 1)".into(),
        y_label: "max |Q(s,a) − Q*(s,a)|".into(),
        log_y: true,
        bands: result
            .curves
            .iter()
            .filter(|c| c.maze == maze)
            .map(|c| Band {
                label: format!("{} (mean ± std, {} seeds)", c.label, c.runs.len()),
                x: result.grid.clone(),
                runs: c.runs.clone(),
            })
            .collect(),
        hlines: vec![],
        smooth: 1,
    };
    Ok(plot::curves_panels(
        &dir.path("q_error"),
        "Step size: distance to Q* (constant α stalls once outcomes are random)",
        &[
            panel("deterministic", "Deterministic maze".into()),
            panel("slippery", format!("Slippery maze (a move slips with probability {slip})")),
        ],
        2,
    )?)
}

/// A learned Q-table beside Q*, and a pure-exploitation run caught in a loop.
pub fn q_table(
    dir: &RunDir,
    task: &MazeTask,
    learned: (&MazeRun, u64),
    greedy_only: (&MazeRun, u64),
) -> Result<Vec<String>> {
    let names = |p: &[usize]| p.iter().map(|&s| task.maze.name(s)).collect::<Vec<_>>().join("→");
    let pics = [
        plot::maze_picture(
            &task.maze,
            &format!("Learned Q, decaying ε (seed {})", learned.1),
            Some(&learned.0.q),
            true,
        ),
        plot::maze_picture(&task.maze, "Q* from value iteration", Some(&task.q_star), true),
    ];
    let mut files = plot::grid_panels(
        &dir.path("q_table"),
        "The Q-table as a picture: greedy arrows, colour = max_a Q(s,a)",
        &pics,
        2,
    )?;
    let (path, reached) = task.greedy_path(&greedy_only.0.q);
    let verdict = if reached { "reached the goal".to_string() } else { format!("stuck in the loop {}", names(&path)) };
    let title = format!("Pure exploitation, ε = 0 (seed {}): {verdict}", greedy_only.1);
    files.extend(plot::grid(
        &dir.path("greedy_trap"),
        &plot::maze_picture(&task.maze, &title, Some(&greedy_only.0.q), true),
    )?);
    Ok(files)
}

/// Experiment 2: the shortest paths and how many seeds' greedy policies took each.
pub fn optimal_paths(dir: &RunDir, task: &MazeTask, census: &PathCensus) -> Result<Vec<String>> {
    let n_seeds = census.greedy.len();
    let shown = census.shown.len().min(PathCensus::SHOWN);
    let pics: Vec<_> = census.shown[..shown]
        .iter()
        .zip(&census.counts)
        .map(|(p, c)| {
            let names: Vec<String> = p.iter().map(|&s| task.maze.name(s)).collect();
            let title = if task.maze.n_cells() <= 16 {
                format!("{}: {c} of {n_seeds} seeds", names.join("→"))
            } else {
                format!("{c} of {n_seeds} seeds")
            };
            plot::path_picture(&task.maze, &title, p)
        })
        .collect();
    let total = task.maze.count_shortest_paths();
    let title = if total as usize > shown {
        format!(
            "The solution is not unique: {total} shortest paths of {} moves (the first {shown} shown)",
            task.shortest
        )
    } else {
        format!("The solution is not unique: {total} shortest paths of {} moves", task.shortest)
    };
    Ok(plot::grid_panels(&dir.path("optimal_paths"), &title, &pics, shown.min(4))?)
}
