//! Chapter 3: TRPO: natural gradient, conjugate gradient, trust region.
//!
//! Two experiments on CartPole-v1:
//! 1. TRPO itself over several seeds: return curves, and the KL of every update against δ;
//! 2. the step-size lesson: the same plain-gradient direction with a small fixed step,
//!    a large fixed step, a line search on the surrogate, and a trust region, next to
//!    TRPO's natural-gradient step.
//!
//! The lesson (README.md beside this file) explains every number and figure.

use crate::cli::CommonArgs;
use crate::env::cartpole::CartPole;
use crate::error::{check_min, check_range, Result};
use crate::nn::{self, Activation};
use crate::plot::{self, Band, CurvePlot};
use crate::report::{print_table, Progress, RunDir, Summary, UntypedMetrics};
use crate::rollout;
use crate::rollout::LearningCurve;
use crate::trpo::{self, StepRule, TrpoConfig, TrpoRun};
use crate::{rng, stats};
use clap::Parser;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub const CHAPTER: &str = "ch03-trpo";

/// CartPole's target: the mean return of the last 20 episodes.
const TARGET: f64 = 475.0;
const LAST_EPISODES: usize = 20;

/// Chapter 3: TRPO on CartPole, and four ways to choose a step size.
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch03-trpo", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    /// δ: the largest mean KL(π_old ‖ π_new) one update may cause
    #[arg(long, default_value_t = 0.01)]
    pub delta: f64,
    /// Copies of CartPole stepped together
    #[arg(long, default_value_t = 4)]
    pub envs: usize,
    /// Steps of each copy per update (batch = envs × steps)
    #[arg(long, default_value_t = 256)]
    pub steps: usize,
    /// Environment steps per run (the budget)
    #[arg(long, default_value_t = 100_000)]
    pub total_steps: u64,
    /// Discount γ
    #[arg(long, default_value_t = 0.99)]
    pub gamma: f64,
    /// GAE's λ
    #[arg(long, default_value_t = 0.97)]
    pub lambda: f64,
    /// Conjugate-gradient iterations per update
    #[arg(long, default_value_t = 10)]
    pub cg_iters: usize,
    /// Damping added to the Fisher matrix (F + damping·I)
    #[arg(long, default_value_t = 0.1)]
    pub cg_damping: f64,
    /// Fisher-vector products on every k-th state of the batch
    #[arg(long, default_value_t = 4)]
    pub fisher_subsample: usize,
    /// Halvings the line search may try before it gives up on an update
    #[arg(long, default_value_t = 10)]
    pub max_backtracks: usize,
    /// Hidden layer sizes of the policy and value MLPs, e.g. 64,64
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    pub hidden: Vec<usize>,
    /// Hidden-layer non-linearity
    #[arg(long, value_enum, default_value_t = Activation::Tanh)]
    pub activation: Activation,
    /// Adam learning rate of the value function
    #[arg(long, default_value_t = 1e-3)]
    pub value_lr: f64,
    /// Passes of value regression over each batch
    #[arg(long, default_value_t = 5)]
    pub value_epochs: usize,
    /// Minibatch size of the value regression
    #[arg(long, default_value_t = 128)]
    pub value_minibatch: usize,
    /// Step-size experiment: the small fixed step α
    #[arg(long, default_value_t = 0.05)]
    pub small_step: f64,
    /// Step-size experiment: the large fixed step α
    #[arg(long, default_value_t = 5.0)]
    pub large_step: f64,
    /// Step-size experiment: the line search tries α₀, 2α₀, …, 256α₀
    #[arg(long, default_value_t = 0.05)]
    pub line_search_start: f64,
    /// Step-size experiment: seeds per rule (the first seeds of the TRPO runs)
    #[arg(long, default_value_t = 3)]
    pub compare_seeds: usize,
}

impl Args {
    fn config(&self, rule: StepRule) -> TrpoConfig {
        TrpoConfig {
            hidden: self.hidden.clone(),
            activation: self.activation,
            n_envs: self.envs,
            steps: self.steps,
            total_steps: self.total_steps,
            gamma: self.gamma,
            lambda: self.lambda,
            delta: self.delta,
            cg_iters: self.cg_iters,
            cg_damping: self.cg_damping,
            fisher_subsample: self.fisher_subsample,
            max_backtracks: self.max_backtracks,
            rule,
            value_lr: self.value_lr,
            value_epochs: self.value_epochs,
            value_minibatch: self.value_minibatch,
        }
    }

    /// The rules of the step-size experiment, TRPO last.
    fn rules(&self) -> Vec<StepRule> {
        vec![
            StepRule::Fixed(self.small_step),
            StepRule::Fixed(self.large_step),
            StepRule::LineSearch(self.line_search_start),
            StepRule::TrustRegion,
            StepRule::Trpo,
        ]
    }

    fn validate(&self) -> Result<()> {
        check_range("--small-step", self.small_step, 1e-12, 1e6)?;
        check_range("--large-step", self.large_step, 1e-12, 1e6)?;
        check_range("--line-search-start", self.line_search_start, 1e-12, 1e6)?;
        check_min("--compare-seeds", self.compare_seeds, 1)?;
        self.rules().iter().try_for_each(|&r| self.config(r).validate())
    }
}

/// Runs the chapter and writes `<out>/ch03-trpo/`.
pub fn run(mut args: Args) -> Result<Summary> {
    // Before candle starts its thread pools: runs go in parallel, one thread each.
    nn::one_thread_per_run();
    let started = Instant::now();
    if args.common.quick {
        args.total_steps = args.total_steps.min(8_192);
        args.compare_seeds = 1;
    }
    args.validate()?;
    let seeds = args.common.seed_list(if args.common.quick { 2 } else { 5 })?;
    args.compare_seeds = args.compare_seeds.min(seeds.len());
    let dir = RunDir::create(&args.common.out, CHAPTER)?;
    let mut summary = Summary::new(CHAPTER, &seeds, args.common.quick, &args);

    // Every run: TRPO on each seed, then the comparison rules on the first seeds (TRPO's
    // own comparison runs are the first TRPO runs: same seed, same numbers).
    let rules = args.rules();
    let mut jobs: Vec<(StepRule, u64)> = seeds.iter().map(|&s| (StepRule::Trpo, s)).collect();
    for &rule in &rules[..rules.len() - 1] {
        jobs.extend(seeds[..args.compare_seeds].iter().map(|&s| (rule, s)));
    }
    let updates_done = AtomicUsize::new(0);
    let mut progress = Progress::new("CartPole", jobs.len() * args.config(StepRule::Trpo).updates());
    let runs = nn::parallel_runs(
        jobs.len(),
        |i| {
            let (rule, seed) = jobs[i];
            let envs = (0..args.envs).map(|_| CartPole::new()).collect();
            trpo::train(envs, 2, &args.config(rule), &mut rng::seeded(seed, 30), |_, _| {
                updates_done.fetch_add(1, Ordering::SeqCst);
            })
        },
        || progress.update(updates_done.load(Ordering::SeqCst), || format!("{} runs", jobs.len())),
    )?;
    progress.finish();
    let trpo_runs = &runs[..seeds.len()];
    let by_rule: Vec<(StepRule, Vec<&TrpoRun>)> = rules
        .iter()
        .map(|&rule| {
            let mine =
                jobs.iter().zip(&runs).filter(|((r, s), _)| *r == rule && seeds[..args.compare_seeds].contains(s));
            (rule, mine.map(|(_, run)| run).collect())
        })
        .collect();

    let mut metrics = UntypedMetrics::new(&[
        "experiment",
        "seed",
        "update",
        "env_steps",
        "seconds",
        "return_last20",
        "kl",
        "surrogate_gain",
        "backtracks",
        "accepted",
        "cg_residual",
        "step_norm",
        "entropy",
        "value_loss",
        "explained_variance",
    ]);
    for ((rule, seed), run) in jobs.iter().zip(&runs) {
        for (i, u) in run.updates.iter().enumerate() {
            let ret = rollout::trailing_return_on_grid(&run.episodes, &[u.env_steps as f64], LAST_EPISODES)[0];
            metrics.push(&[
                &rule.key(),
                seed,
                &(i + 1),
                &u.env_steps,
                &format!("{:.3}", u.seconds),
                &ret,
                &u.kl,
                &u.surrogate_gain,
                &u.backtracks,
                &u.accepted,
                &u.cg_residual,
                &u.step_norm,
                &u.entropy,
                &u.value_loss,
                &u.explained_variance,
            ]);
        }
    }

    let mut figures = figure_trpo(&dir, &args, trpo_runs)?;
    figures.extend(figure_step_sizes(&dir, &args, &by_rule)?);

    // Headline numbers (medians over seeds).
    let finals: Vec<f64> = trpo_runs.iter().map(|r| r.final_return(LAST_EPISODES)).collect();
    let reached: Vec<Option<(u64, f64)>> = trpo_runs.iter().map(|r| r.reached(TARGET, LAST_EPISODES)).collect();
    let steps_to: Vec<f64> = reached.iter().map(|r| r.map_or(f64::NAN, |(s, _)| s as f64)).collect();
    let seconds_to: Vec<f64> = reached.iter().map(|r| r.map_or(f64::NAN, |(_, t)| t)).collect();
    let max_kl = trpo_runs.iter().map(|r| r.max_kl()).fold(0.0, f64::max);
    let per_s: Vec<f64> = trpo_runs.iter().map(|r| r.env_steps as f64 / r.seconds).collect();
    let updates: Vec<&trpo::UpdateLog> = trpo_runs.iter().flat_map(|r| &r.updates).collect();
    let mean_of = |f: fn(&trpo::UpdateLog) -> f64| stats::mean(&updates.iter().map(|u| f(u)).collect::<Vec<_>>());
    summary.headline("cartpole_final_return_median", stats::median(&finals));
    summary.headline("max_kl", max_kl);
    summary.headline("delta", args.delta);
    summary.headline("steps_to_475_median", stats::median_missing_high(&steps_to));
    summary.headline("seconds_to_475_median", stats::median_missing_high(&seconds_to));
    summary.headline("env_steps_per_s", stats::median(&per_s));
    summary.headline("seeds_reaching_475", reached.iter().filter(|r| r.is_some()).count());
    summary.headline("env_steps", args.config(StepRule::Trpo).updates() * args.envs * args.steps);
    summary.headline("mean_backtracks", mean_of(|u| u.backtracks as f64));
    summary.headline("rejected_updates", updates.iter().filter(|u| !u.accepted).count());
    summary.headline("mean_cg_residual", mean_of(|u| u.cg_residual));
    for (rule, rs) in &by_rule {
        let finals: Vec<f64> = rs.iter().map(|r| r.final_return(LAST_EPISODES)).collect();
        summary.headline(&format!("{}_final_return_median", rule.key()), stats::median(&finals));
        summary.headline(&format!("{}_max_kl", rule.key()), rs.iter().map(|r| r.max_kl()).fold(0.0, f64::max));
        summary.headline(&format!("{}_largest_drop", rule.key()), stats::median(&largest_drops(rs)));
    }
    summary.details = serde_json::json!({
        "trpo": {
            "seeds": seeds,
            "final_return": finals,
            "steps_to_475": steps_to,
            "seconds_to_475": seconds_to,
            "env_steps_per_s": per_s,
            "max_kl": trpo_runs.iter().map(|r| r.max_kl()).collect::<Vec<_>>(),
            "policy_parameters": trpo_runs.first().map_or(0, |r| r.policy.n_params()),
        },
        "step_sizes": by_rule.iter().map(|(rule, rs)| serde_json::json!({
            "rule": rule.key(),
            "label": rule.label(),
            "final_return": rs.iter().map(|r| r.final_return(LAST_EPISODES)).collect::<Vec<_>>(),
            "max_kl": rs.iter().map(|r| r.max_kl()).collect::<Vec<_>>(),
            "largest_drop": largest_drops(rs),
        })).collect::<Vec<_>>(),
    });
    summary.figures = figures;
    summary.wall_time_s = started.elapsed().as_secs_f64();
    metrics.write(&dir)?;
    summary.write(&dir)?;
    print_results(&args, &summary, &by_rule);
    println!("\nwrote {}", dir.dir.display());
    Ok(summary)
}

/// Per run: the largest fall of the 20-episode mean return from its best value so far,
/// measured at every update: how badly a step broke a good policy.
fn largest_drops(runs: &[&TrpoRun]) -> Vec<f64> {
    runs.iter()
        .map(|r| {
            let grid: Vec<f64> = r.updates.iter().map(|u| u.env_steps as f64).collect();
            let curve = rollout::trailing_return_on_grid(&r.episodes, &grid, LAST_EPISODES);
            let mut best = f64::NEG_INFINITY;
            let mut drop = 0.0f64;
            for v in curve.into_iter().filter(|v| v.is_finite()) {
                best = best.max(v);
                drop = drop.max(best - v);
            }
            drop
        })
        .collect()
}

/// The x axis of the return curves: 200 points over the budget.
fn step_grid(args: &Args) -> Vec<f64> {
    let budget = (args.config(StepRule::Trpo).updates() * args.envs * args.steps) as f64;
    (1..=200).map(|i| (budget * i as f64 / 200.0).round()).collect()
}

fn return_band(label: &str, runs: &[&TrpoRun], grid: &[f64]) -> Band {
    Band {
        label: label.into(),
        x: grid.to_vec(),
        runs: runs.iter().map(|r| rollout::trailing_return_on_grid(&r.episodes, grid, LAST_EPISODES)).collect(),
    }
}

fn update_band(label: &str, runs: &[&TrpoRun], f: fn(&trpo::UpdateLog) -> f64) -> Band {
    Band {
        label: label.into(),
        x: runs.first().map_or(vec![], |r| r.updates.iter().map(|u| u.env_steps as f64).collect()),
        runs: runs.iter().map(|r| r.updates.iter().map(f).collect()).collect(),
    }
}

fn figure_trpo(dir: &RunDir, args: &Args, runs: &[TrpoRun]) -> Result<Vec<String>> {
    let runs: Vec<&TrpoRun> = runs.iter().collect();
    let n = runs.len();
    let returns = CurvePlot {
        title: format!("CartPole-v1: TRPO (δ = {}), mean ± std over {n} seeds", args.delta),
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {LAST_EPISODES} episodes"),
        bands: vec![return_band("TRPO", &runs, &step_grid(args))],
        hlines: vec![(500.0, "maximum (500 steps)".into()), (TARGET, format!("target: {TARGET}"))],
        smooth: 1,
        ..Default::default()
    };
    let mut files = plot::curves(&dir.path("return"), &returns)?;
    let kl = CurvePlot {
        title: "KL of each update, measured after the line search".into(),
        x_label: "environment steps".into(),
        y_label: "mean KL(π_old ‖ π_new) (nats)".into(),
        bands: vec![update_band("TRPO", &runs, |u| u.kl)],
        hlines: vec![(args.delta, format!("δ = {}", args.delta))],
        smooth: 1,
        ..Default::default()
    };
    let gain = CurvePlot {
        title: "Surrogate gain L(θ_new) − L(θ_old)".into(),
        x_label: "environment steps".into(),
        y_label: "gain (units of normalised advantage)".into(),
        bands: vec![update_band("TRPO", &runs, |u| u.surrogate_gain)],
        smooth: 1,
        ..Default::default()
    };
    let backtracks = CurvePlot {
        title: "Line search: halvings of the step".into(),
        x_label: "environment steps".into(),
        y_label: "backtracks per update".into(),
        bands: vec![update_band("TRPO", &runs, |u| u.backtracks as f64)],
        smooth: 5,
        ..Default::default()
    };
    let residual = CurvePlot {
        title: format!("Conjugate gradient after {} iterations", args.cg_iters),
        x_label: "environment steps".into(),
        y_label: "residual ‖g − (F + damping·I) x‖".into(),
        log_y: true,
        bands: vec![update_band("TRPO", &runs, |u| u.cg_residual)],
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

fn figure_step_sizes(dir: &RunDir, args: &Args, by_rule: &[(StepRule, Vec<&TrpoRun>)]) -> Result<Vec<String>> {
    let grid = step_grid(args);
    let returns = CurvePlot {
        title: "Return".into(),
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {LAST_EPISODES} episodes"),
        bands: by_rule.iter().map(|(rule, rs)| return_band(&rule.label(), rs, &grid)).collect(),
        hlines: vec![(TARGET, format!("target: {TARGET}"))],
        smooth: 1,
        ..Default::default()
    };
    let kl = CurvePlot {
        title: "KL of each update".into(),
        x_label: "environment steps".into(),
        y_label: "mean KL(π_old ‖ π_new) (nats, log scale)".into(),
        log_y: true,
        bands: by_rule.iter().map(|(rule, rs)| update_band(&rule.label(), rs, |u| u.kl.max(1e-7))).collect(),
        hlines: vec![(args.delta, format!("δ = {}", args.delta))],
        smooth: 1,
    };
    let n = by_rule.first().map_or(0, |(_, rs)| rs.len());
    Ok(plot::curves_panels(
        &dir.path("step_sizes"),
        &format!("Four ways to choose a step size, and TRPO (CartPole, mean ± std over {n} seeds)"),
        &[returns, kl],
        1,
    )?)
}

fn print_results(args: &Args, summary: &Summary, by_rule: &[(StepRule, Vec<&TrpoRun>)]) {
    let rows: Vec<Vec<String>> = by_rule
        .iter()
        .map(|(rule, rs)| {
            let finals: Vec<f64> = rs.iter().map(|r| r.final_return(LAST_EPISODES)).collect();
            vec![
                rule.label(),
                finals.iter().map(|f| format!("{f:.0}")).collect::<Vec<_>>().join(" "),
                format!("{:.3}", rs.iter().map(|r| r.max_kl()).fold(0.0, f64::max)),
                format!("{:.0}", stats::median(&largest_drops(rs))),
            ]
        })
        .collect();
    print_table(
        &format!("Step sizes: after {} steps, δ = {}", args.total_steps, args.delta),
        &["rule", "final return per seed", "max KL", "largest drop (median)"],
        &rows,
    );
    summary.print_headline(
        "Headline (TRPO, medians over seeds)",
        &[
            "cartpole_final_return_median",
            "max_kl",
            "delta",
            "steps_to_475_median",
            "seconds_to_475_median",
            "env_steps_per_s",
            "seeds_reaching_475",
            "mean_backtracks",
        ],
    );
}
