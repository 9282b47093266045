//! Chapter 3's figures: TRPO's return curve and what each update did, and the
//! step-size comparison.

use super::experiments::{LAST_EPISODES, TARGET};
use crate::error::Result;
use crate::plot::{self, CurvePlot};
use crate::report::RunDir;
use crate::rollout::{return_band, update_band};
use crate::stats::{curve_grid, CURVE_POINTS};
use crate::trpo::{StepRule, TrpoConfig, TrpoRun};

/// The x axis of the return curves: 200 points over the steps the runs took.
fn step_grid(cfg: &TrpoConfig) -> Vec<f64> {
    curve_grid((cfg.updates() * cfg.batch()) as f64, CURVE_POINTS)
}

/// `return.png`: TRPO's learning curve; `updates.png`: KL, surrogate gain, backtracks
/// and CG residual of every update.
pub fn figure_trpo(dir: &RunDir, cfg: &TrpoConfig, runs: &[&TrpoRun]) -> Result<Vec<String>> {
    let n = runs.len();
    let returns = CurvePlot {
        title: format!("CartPole-v1: TRPO (δ = {}), mean ± std over {n} seeds", cfg.delta),
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {LAST_EPISODES} episodes"),
        bands: vec![return_band("TRPO", runs, &step_grid(cfg), LAST_EPISODES)],
        hlines: vec![(500.0, "maximum (500 steps)".into()), (TARGET, format!("target: {TARGET}"))],
        smooth: 1,
        ..Default::default()
    };
    let mut files = plot::curves(&dir.path("return"), &returns)?;
    let kl = CurvePlot {
        title: "KL of each update, measured after the line search".into(),
        x_label: "environment steps".into(),
        y_label: "mean KL(π_old ‖ π_new) (nats)".into(),
        bands: vec![update_band("TRPO", runs, |u| u.kl)],
        hlines: vec![(cfg.delta, format!("δ = {}", cfg.delta))],
        smooth: 1,
        ..Default::default()
    };
    let gain = CurvePlot {
        title: "Surrogate gain L(θ_new) − L(θ_old)".into(),
        x_label: "environment steps".into(),
        y_label: "gain (units of normalised advantage)".into(),
        bands: vec![update_band("TRPO", runs, |u| u.surrogate_gain)],
        smooth: 1,
        ..Default::default()
    };
    let backtracks = CurvePlot {
        title: "Line search: halvings of the step".into(),
        x_label: "environment steps".into(),
        y_label: "backtracks per update".into(),
        bands: vec![update_band("TRPO", runs, |u| u.backtracks as f64)],
        smooth: 5,
        ..Default::default()
    };
    let residual = CurvePlot {
        title: format!("CG after {} iterations: residual r = g − (F + μI) x", cfg.cg_iters),
        x_label: "environment steps".into(),
        y_label: "relative residual ‖r‖ / ‖g‖ (log scale)".into(),
        log_y: true,
        bands: vec![update_band("TRPO", runs, |u| u.cg_relative_residual.unwrap_or(f64::NAN))],
        smooth: 1,
        ..Default::default()
    };
    files.extend(plot::curves_panels(
        &dir.path("updates"),
        &format!("What each TRPO update did (mean ± std over {n} seeds)"),
        &[kl, gain, backtracks, residual],
        2,
    )?);
    Ok(files)
}

/// `step_sizes.png`: return and KL of each rule of the step-size experiment.
pub fn figure_step_sizes(dir: &RunDir, cfg: &TrpoConfig, by_rule: &[(StepRule, Vec<&TrpoRun>)]) -> Result<Vec<String>> {
    let grid = step_grid(cfg);
    let returns = CurvePlot {
        title: "Return".into(),
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {LAST_EPISODES} episodes"),
        bands: by_rule.iter().map(|(rule, runs)| return_band(&rule.label(), runs, &grid, LAST_EPISODES)).collect(),
        hlines: vec![(TARGET, format!("target: {TARGET}"))],
        smooth: 1,
        ..Default::default()
    };
    let kl = CurvePlot {
        title: "KL of each update".into(),
        x_label: "environment steps".into(),
        y_label: "mean KL(π_old ‖ π_new) (nats, log scale)".into(),
        log_y: true,
        bands: by_rule.iter().map(|(rule, runs)| update_band(&rule.label(), runs, |u| u.kl.max(1e-7))).collect(),
        hlines: vec![(cfg.delta, format!("δ = {}", cfg.delta))],
        smooth: 1,
    };
    let n = by_rule.first().map_or(0, |(_, runs)| runs.len());
    Ok(plot::curves_panels(
        &dir.path("step_sizes"),
        &format!("Four ways to choose a step size, and TRPO (CartPole, mean ± std over {n} seeds)"),
        &[returns, kl],
        1,
    )?)
}
