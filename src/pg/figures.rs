//! Chapter 2's figures, drawn from the results of [`super::experiments`].

use super::experiments::{
    evaluate, plus, shown_policies, uniform, CartPoleRuns, ShiftedEstimator, TabularReinforceRun, VarianceByShift,
    LAST_EPISODES, TARGET,
};
use super::neural::{NeuralRun, ReinforceUpdateLog};
use super::tabular::{SoftmaxPolicy, UpdateRecord};
use super::Estimator;
use crate::env::maze::Maze;
use crate::error::Result;
use crate::plot::{self, Band, CurvePlot, Dir, GridPicture};
use crate::report::RunDir;
use crate::rollout::LearningCurve;
use crate::stats;
use crate::tabular::MazeTask;

/// Experiment 1: return and success per update, one panel per estimator, with and
/// without the shift. `batch` episodes make one update.
pub fn maze_curves(
    dir: &RunDir,
    task: &MazeTask,
    batch: usize,
    variants: &[ShiftedEstimator],
    runs: &[Vec<TabularReinforceRun>],
) -> Result<Vec<String>> {
    let n_seeds = runs.first().map_or(0, Vec::len);
    let updates = runs.first().and_then(|r| r.first()).map_or(0, |r| r.records.len());
    let x: Vec<f64> = (1..=updates).map(|u| (u * batch) as f64).collect();
    let r = task.rewards;
    let best = r.goal + (task.shortest as f64 - 1.0) * r.step;
    let uniform = evaluate(task, &uniform(task));
    let panels = |value: fn(&UpdateRecord) -> f64, y_label: &str, hlines: Vec<(f64, String)>| -> Vec<CurvePlot> {
        Estimator::ALL
            .iter()
            .map(|&e| CurvePlot {
                title: format!("Ψ = {}", e.label()),
                x_label: "episodes".into(),
                y_label: y_label.into(),
                bands: variants
                    .iter()
                    .zip(runs)
                    .filter(|(v, _)| v.estimator == e)
                    .map(|(v, rs)| Band {
                        label: match (v.shifted(), e) {
                            (false, _) => "rewards as they are".into(),
                            // The two runs take identical steps: say so, or the hidden curve looks missing.
                            (true, Estimator::Baseline) => format!("every return {} (the same curve)", plus(v.shift)),
                            (true, _) => format!("every return {}", plus(v.shift)),
                        },
                        x: x.clone(),
                        runs: rs.iter().map(|r| r.records.iter().map(value).collect()).collect(),
                    })
                    .collect(),
                hlines: hlines.clone(),
                smooth: 5,
                ..Default::default()
            })
            .collect()
    };
    let mut files = plot::curves_panels(
        &dir.path("maze_return"),
        &format!("Maze: return per episode (batch mean, mean ± std over {n_seeds} seeds)"),
        &panels(
            |r| r.mean_return,
            "return per episode (without the shift)",
            vec![
                (best, format!("shortest path: {best:.1}")),
                (uniform.mean_return, format!("uniform random policy: {:.1}", uniform.mean_return)),
            ],
        ),
        3,
    )?;
    files.extend(plot::curves_panels(
        &dir.path("maze_success"),
        &format!(
            "Maze: share of episodes that reach the goal within {} moves (mean ± std over {n_seeds} seeds)",
            task.max_steps
        ),
        &panels(
            |r| r.success_rate,
            "episodes reaching the goal (fraction)",
            vec![(uniform.success_rate, format!("uniform random policy: {:.2}", uniform.success_rate))],
        ),
        3,
    )?);
    Ok(files)
}

/// Experiment 2: tr Cov[ĝ] against the shift c, per estimator, at both policies.
/// `batches` batches of `batch` episodes per estimate; `updates` made the partly trained policy.
pub fn gradient_variance(
    dir: &RunDir,
    v: &VarianceByShift,
    batches: usize,
    batch: usize,
    updates: usize,
) -> Result<Vec<String>> {
    let n_seeds = v.table[0][0][0].len();
    let panel = |p: usize, title: String| CurvePlot {
        title,
        x_label: "shift c added to every return".into(),
        y_label: "trace of Cov[ĝ] (total variance)".into(),
        log_y: true,
        bands: Estimator::ALL
            .iter()
            .enumerate()
            .map(|(e, est)| Band {
                label: format!("Ψ = {}", est.label()),
                x: v.shifts.clone(),
                runs: (0..n_seeds).map(|s| (0..v.shifts.len()).map(|k| v.table[p][e][k][s]).collect()).collect(),
            })
            .collect(),
        hlines: vec![],
        smooth: 1,
    };
    let partly = 100.0 * stats::mean(&v.partly_trained_success);
    Ok(plot::curves_panels(
        &dir.path("gradient_variance"),
        &format!(
            "Variance of the REINFORCE gradient over {batches} batches of {batch} episodes (mean ± std over {n_seeds} seeds)"
        ),
        &[
            panel(0, "Uniform policy (before training)".into()),
            panel(1, format!("After {updates} updates (reaches the goal {partly:.0}% of the time)")),
        ],
        2,
    )?)
}

/// π(·|s) drawn on the maze: the most likely action's arrow, coloured by its probability.
fn policy_picture(maze: &Maze, title: &str, policy: &SoftmaxPolicy) -> GridPicture {
    let mut pic = plot::maze_picture(maze, title, None, false);
    for (s, cell) in pic.cells.iter_mut().enumerate() {
        if !maze.is_decision_state(s) {
            continue;
        }
        let p = policy.probs(s);
        let best = policy.most_probable(s);
        cell.q = Some([p[0], p[1], p[2], p[3]]);
        cell.value = Some(p[best]);
        cell.arrows = vec![[Dir::Up, Dir::Down, Dir::Left, Dir::Right][best]];
    }
    pic.value_label = "probability of the most likely action (same scale in both panels)".into();
    pic
}

/// The first seed's policy with the baseline, beside the worst seed's policy with the
/// shifted reward-to-go.
pub fn maze_policy(
    dir: &RunDir,
    maze: &Maze,
    variants: &[ShiftedEstimator],
    runs: &[Vec<TabularReinforceRun>],
    seeds: &[u64],
) -> Result<Vec<String>> {
    // The first seed with the baseline, and the first seed whose shifted, baseline-free
    // run fails most often (usually it never reaches the goal).
    let [(good_v, _), (bad_v, worst)] = shown_policies(variants, runs);
    let good = &runs[good_v][0];
    let (shift, shifted) = (variants[bad_v].shift, &runs[bad_v]);
    let updates = good.records.len();
    let pics = [
        policy_picture(
            maze,
            &format!("G_t − b(s_t), seed {}: reaches the goal {:.0}%", seeds[0], 100.0 * good.eval.success_rate),
            &good.policy,
        ),
        policy_picture(
            maze,
            &format!(
                "G_t {}, no baseline, seed {}: reaches the goal {:.0}%",
                plus(shift),
                seeds[worst],
                100.0 * shifted[worst].eval.success_rate
            ),
            &shifted[worst].policy,
        ),
    ];
    Ok(plot::grid_panels(
        &dir.path("maze_policy"),
        &format!(
            "Action probabilities π(a|s) after {updates} updates (arrow: the most likely action; one colour scale)"
        ),
        &pics,
        2,
    )?)
}

/// Experiment 3: CartPole's learning curves and what the training loop logs.
/// `steps` is the budget per run; `max_grad_norm` the clipping threshold.
pub fn cartpole(dir: &RunDir, c: &CartPoleRuns, steps: u64, max_grad_norm: f64) -> Result<Vec<String>> {
    let n_seeds = c.with.len();
    let grid = stats::curve_grid(steps as f64, stats::CURVE_POINTS);
    let band = |label: &str, runs: &[NeuralRun]| Band {
        label: label.into(),
        x: grid.clone(),
        runs: runs.iter().map(|r| r.trailing_return_on_grid(&grid, LAST_EPISODES)).collect(),
    };
    let returns = CurvePlot {
        title: format!("CartPole-v1: REINFORCE, mean ± std over {n_seeds} seeds"),
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {LAST_EPISODES} episodes"),
        bands: vec![band("learned baseline V(s)", &c.with), band("no baseline", &c.without)],
        hlines: vec![(500.0, "maximum (500 steps)".into()), (TARGET, format!("target: {TARGET}"))],
        smooth: 1,
        ..Default::default()
    };
    let mut files = plot::curves(&dir.path("cartpole_return"), &returns)?;
    let per_update = |runs: &[NeuralRun], f: fn(&ReinforceUpdateLog) -> f64| -> Vec<Vec<f64>> {
        runs.iter().map(|r| r.updates.iter().map(f).collect()).collect()
    };
    let x: Vec<f64> = c.with.first().map_or(vec![], |r| r.updates.iter().map(|u| u.env_steps as f64).collect());
    let entropy = CurvePlot {
        title: "Policy entropy".into(),
        x_label: "environment steps".into(),
        y_label: "mean entropy of π(·|s) (nats)".into(),
        bands: vec![
            Band { label: "learned baseline V(s)".into(), x: x.clone(), runs: per_update(&c.with, |u| u.entropy) },
            Band { label: "no baseline".into(), x: x.clone(), runs: per_update(&c.without, |u| u.entropy) },
        ],
        hlines: vec![(std::f64::consts::LN_2, "uniform: ln 2".into())],
        smooth: 1,
        ..Default::default()
    };
    let value_error = CurvePlot {
        title: "How well V(s) predicts the return".into(),
        x_label: "environment steps".into(),
        y_label: "error in return units".into(),
        log_y: true,
        bands: vec![
            Band {
                label: "RMS error of V(s_t) against G_t".into(),
                x: x.clone(),
                runs: per_update(&c.with, |u| u.value_loss.map_or(f64::NAN, f64::sqrt)),
            },
            Band {
                label: "std of G_t (a constant's error)".into(),
                x: x.clone(),
                runs: per_update(&c.with, |u| u.return_std),
            },
        ],
        smooth: 1,
        ..Default::default()
    };
    let grad_norm = CurvePlot {
        title: "Size of the policy gradient".into(),
        x_label: "environment steps".into(),
        y_label: "‖∇ policy loss‖ before clipping".into(),
        log_y: true,
        bands: vec![
            Band { label: "learned baseline V(s)".into(), x: x.clone(), runs: per_update(&c.with, |u| u.grad_norm) },
            Band { label: "no baseline".into(), x, runs: per_update(&c.without, |u| u.grad_norm) },
        ],
        hlines: vec![(max_grad_norm, format!("clipped above {max_grad_norm}"))],
        smooth: 1,
    };
    files.extend(plot::curves_panels(
        &dir.path("cartpole_diagnostics"),
        &format!("CartPole: what the training loop logs (mean ± std over {n_seeds} seeds)"),
        &[entropy, value_error, grad_norm],
        3,
    )?);
    Ok(files)
}
