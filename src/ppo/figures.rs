//! Chapter 4's figures: CartPole learning curves and diagnostics of the objectives, the
//! λ sweep, the λ-return's bias and variance, and Pendulum.

use super::bias_variance::LambdaStats;
use super::experiments::{EvaluatedRun, PpoExperiments, CARTPOLE_LAST, PENDULUM_LAST, PENDULUM_TARGET, TARGET};
use super::{Objective, PpoUpdateLog};
use crate::error::Result;
use crate::plot::{self, Band, CurvePlot};
use crate::report::RunDir;
use crate::rollout::{return_band, update_band};
use crate::stats::{curve_grid, CURVE_POINTS};

/// The x axis of the return curves: 200 points over a budget of `steps`.
fn grid(steps: u64) -> Vec<f64> {
    curve_grid(steps as f64, CURVE_POINTS)
}

/// The main CartPole runs of PPO-clip, PPO-KL and plain policy gradient.
fn objectives(exps: &PpoExperiments) -> (Vec<&EvaluatedRun>, Vec<&EvaluatedRun>, Vec<&EvaluatedRun>) {
    (exps.cartpole(Objective::Clip), exps.cartpole(Objective::KlPenalty), exps.cartpole(Objective::Vanilla))
}

/// A CartPole return chart: `bands` of the last-10-episode mean return against the
/// environment steps, with the maximum and the target drawn.
fn cartpole_returns(title: String, bands: Vec<Band>) -> CurvePlot {
    CurvePlot {
        title,
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {CARTPOLE_LAST} episodes"),
        bands,
        hlines: vec![(500.0, "maximum (500 steps)".into()), (TARGET, format!("target: {TARGET}"))],
        smooth: 1,
        ..Default::default()
    }
}

/// `cartpole_return.png`: PPO-clip's learning curve on CartPole.
pub fn figure_cartpole(dir: &RunDir, exps: &PpoExperiments) -> Result<Vec<String>> {
    let (cfg, clip) = (&exps.flags.cartpole, exps.cartpole(Objective::Clip));
    let grid = grid(cfg.total_steps);
    let title = format!(
        "CartPole-v1: PPO-clip, {} copies × {} steps, {} epochs, λ = {} (mean ± std over {} seeds)",
        cfg.n_envs,
        cfg.n_steps,
        cfg.epochs,
        cfg.lambda,
        clip.len()
    );
    let plot = cartpole_returns(title, vec![return_band("PPO-clip", &clip, &grid, CARTPOLE_LAST)]);
    Ok(plot::curves(&dir.path("cartpole_return"), &plot)?)
}

/// `cartpole_objectives.png`: PPO-clip, PPO-KL, the unclipped control with PPO's epochs
/// and plain policy gradient on CartPole: the return, and how far each update moved the
/// policy.
pub fn figure_objectives(dir: &RunDir, exps: &PpoExperiments) -> Result<Vec<String>> {
    let grid = grid(exps.flags.cartpole.total_steps);
    let all = [Objective::Clip, Objective::KlPenalty, Objective::Unclipped, Objective::Vanilla];
    let runs: Vec<(Objective, Vec<&EvaluatedRun>)> = all.iter().map(|&o| (o, exps.cartpole(o))).collect();
    let n = runs[0].1.len();
    let mut returns = cartpole_returns(
        "Return".into(),
        runs.iter().map(|(o, r)| return_band(o.label(), r, &grid, CARTPOLE_LAST)).collect(),
    );
    returns.smooth = 1;
    let kl = CurvePlot {
        title: "KL(π_old ‖ π_new) of each update, k3 on the batch".into(),
        x_label: "environment steps".into(),
        y_label: "KL estimate k3 (nats, log scale)".into(),
        log_y: true,
        // A floor keeps an update that did not move the policy on the log axis.
        bands: runs.iter().map(|(o, r)| update_band(o.label(), r, |u| u.kl_k3.max(1e-7))).collect(),
        hlines: vec![(exps.flags.cartpole.target_kl, format!("PPO-KL's target {}", exps.flags.cartpole.target_kl))],
        smooth: 5,
    };
    Ok(plot::curves_panels(
        &dir.path("cartpole_objectives"),
        &format!(
            "CartPole-v1: four objectives, same data budget (mean ± std over {n} seeds; KL: 5-update moving average)"
        ),
        &[returns, kl],
        1,
    )?)
}

/// `cartpole_diagnostics.png`: what PPO logs per update, for PPO-clip, PPO-KL and plain
/// policy gradient.
pub fn figure_diagnostics(dir: &RunDir, exps: &PpoExperiments) -> Result<Vec<String>> {
    let (clip, kl, pg) = objectives(exps);
    let (clip, kl, pg) = (&clip[..], &kl[..], &pg[..]);
    let (c, k, p) = (Objective::Clip.label(), Objective::KlPenalty.label(), Objective::Vanilla.label());
    // The same number of every update, for those three objectives.
    let all_three =
        |f: fn(&PpoUpdateLog) -> f64| vec![update_band(c, clip, f), update_band(k, kl, f), update_band(p, pg, f)];
    let panel = |title: &str, y_label: &str, log_y: bool, bands: Vec<Band>, hlines: Vec<(f64, String)>| CurvePlot {
        title: title.into(),
        x_label: "environment steps".into(),
        y_label: y_label.into(),
        log_y,
        bands,
        hlines,
        smooth: 5,
    };
    let (t, max_norm) = (exps.flags.cartpole.target_kl, exps.flags.cartpole.max_grad_norm);
    let panels = vec![
        panel(
            "PPO-clip: KL(π_old ‖ π_new) of each update",
            "KL estimate (nats)",
            false,
            vec![
                update_band("k1 = mean(−log ρ)", clip, |u| u.kl_k1),
                update_band("k3 = mean(ρ − 1 − log ρ)", clip, |u| u.kl_k3),
            ],
            vec![],
        ),
        panel(
            "PPO-KL: KL of each update and its target range",
            "KL estimate k3 (nats)",
            true,
            vec![update_band(k, kl, |u| u.kl_k3)],
            vec![
                (1.5 * t, format!("1.5 × target = {:.3}: β doubles above", 1.5 * t)),
                (t / 1.5, format!("target / 1.5 = {:.4}: β halves below", t / 1.5)),
            ],
        ),
        panel("PPO-KL: the penalty coefficient", "β (log scale)", true, vec![update_band(k, kl, |u| u.beta)], vec![]),
        panel(
            "Share of the batch outside 1 ± ε after the update",
            "clip fraction",
            false,
            vec![update_band(c, clip, |u| u.clip_fraction), update_band(k, kl, |u| u.clip_fraction)],
            vec![],
        ),
        panel(
            "Policy entropy",
            "mean entropy of π(·|s) (nats)",
            false,
            all_three(|u| u.entropy),
            vec![(std::f64::consts::LN_2, "uniform: ln 2".into())],
        ),
        panel(
            "Explained variance of the critic",
            "1 − Var(R − V) / Var(R)",
            false,
            all_three(|u| u.explained_variance.max(-1.0)),
            vec![],
        ),
        panel("Value loss", "mean (V − R)² (log scale)", true, all_three(|u| u.value_loss), vec![]),
        panel(
            "Gradient norm before clipping",
            "‖∇ loss‖ (log scale)",
            true,
            all_three(|u| u.grad_norm),
            vec![(max_norm, format!("clipped to {max_norm}"))],
        ),
    ];
    Ok(plot::curves_panels(
        &dir.path("cartpole_diagnostics"),
        &format!(
            "CartPole-v1: what PPO logs per update (mean ± std over {} seeds, 5-update moving average)",
            clip.len()
        ),
        &panels,
        4,
    )?)
}

/// `lambda_sweep.png`: PPO-clip's learning curves for each λ of the sweep.
pub fn figure_lambda_sweep(dir: &RunDir, exps: &PpoExperiments) -> Result<Vec<String>> {
    let sweep = exps.sweep();
    let grid = grid(exps.flags.lambda_steps);
    let n_seeds = sweep.first().map_or(0, |s| s.1.len());
    let label = |l: f64| match l {
        0.0 => "λ = 0 (TD(0))".to_string(),
        1.0 => "λ = 1 (bootstrapped at the rollout's end)".to_string(),
        _ => format!("λ = {l}"),
    };
    let plot = cartpole_returns(
        format!("CartPole-v1: PPO-clip with GAE(λ) (mean ± std over {n_seeds} seeds)"),
        sweep.iter().map(|(l, runs)| return_band(&label(*l), runs, &grid, CARTPOLE_LAST)).collect(),
    );
    Ok(plot::curves(&dir.path("lambda_sweep"), &plot)?)
}

/// `lambda_bias_variance.png`: the λ-return's bias² and variance at a fixed policy.
pub fn figure_bias_variance(dir: &RunDir, exps: &PpoExperiments) -> Result<Vec<String>> {
    let (args, stats) = (&exps.flags, exps.bias_variance());
    let band = |label: &str, f: fn(&LambdaStats) -> f64| Band {
        label: label.into(),
        x: args.lambdas.clone(),
        runs: stats.iter().map(|s| s.iter().map(f).collect()).collect(),
    };
    let panel = |title: &str, y_label: &str, bands: Vec<Band>| CurvePlot {
        title: title.into(),
        x_label: "λ (0: TD(0) target r + γV(s'), 1: Monte Carlo return)".into(),
        y_label: y_label.into(),
        bands,
        smooth: 1,
        ..Default::default()
    };
    Ok(plot::curves_panels(
        &dir.path("lambda_bias_variance"),
        &format!(
            "The λ-return R^λ = Â^λ + V(s) of a fixed CartPole policy against Monte Carlo Q(s, a) \
             ({} states × {} continuations, mean ± std over {} seeds)",
            args.probes,
            args.probe_runs,
            stats.len()
        ),
        &[
            panel(
                "Bias: how wrong the estimate is on average",
                "bias² = (E[R^λ] − Q(s, a))²",
                vec![band("bias²", |s| s.bias_sq)],
            ),
            panel(
                "Variance: how much it changes from one continuation to the next",
                "Var[R^λ]",
                vec![band("variance", |s| s.variance)],
            ),
        ],
        2,
    )?)
}

/// `pendulum_return.png`: PPO-clip with a Gaussian policy on Pendulum.
pub fn figure_pendulum(dir: &RunDir, exps: &PpoExperiments) -> Result<Vec<String>> {
    let runs = exps.pendulum();
    let grid = grid(exps.flags.pendulum.pendulum_steps);
    let plot = CurvePlot {
        title: format!("Pendulum-v1: PPO-clip with a Gaussian policy (mean ± std over {} seeds)", runs.len()),
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {PENDULUM_LAST} episodes"),
        bands: vec![return_band("PPO-clip, Gaussian policy", &runs, &grid, PENDULUM_LAST)],
        hlines: vec![(PENDULUM_TARGET, format!("target: {PENDULUM_TARGET}"))],
        smooth: 1,
        ..Default::default()
    };
    Ok(plot::curves(&dir.path("pendulum_return"), &plot)?)
}
