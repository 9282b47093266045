//! Chapter 2: policy gradient (REINFORCE).
//!
//! Two settings, one idea:
//! 1. the article's 3x3 maze with a tabular softmax policy: REINFORCE with the return,
//!    with the reward-to-go and with a baseline, each with and without a constant
//!    shift of every return; and the variance of the gradient estimate they produce;
//! 2. CartPole-v1 with an MLP policy and a learned value baseline (candle), with and
//!    without the baseline.
//!
//! The lesson (README.md beside this file) explains every number and figure.

use crate::cli::CommonArgs;
use crate::env::cartpole::CartPole;
use crate::env::maze::{Maze, MazeEnv, Rewards, ACTIONS};
use crate::error::{check_min, check_range, Error, Result};
use crate::nn::{self, Activation};
use crate::pg::neural::{self, NeuralConfig, NeuralRun};
use crate::pg::tabular::{self, Evaluation, SoftmaxPolicy, TabularConfig, UpdateRecord};
use crate::pg::Estimator;
use crate::plot::{self, Band, CurvePlot, Dir, GridPicture};
use crate::report::{print_table, Progress, RunDir, Summary, UntypedMetrics};
use crate::rollout::LearningCurve;
use crate::tabular::Model;
use crate::{rng, stats};
use clap::Parser;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub const CHAPTER: &str = "ch02-policy-gradient";

/// CartPole's target: the mean return of the last 20 episodes.
const TARGET: f64 = 475.0;
const LAST_EPISODES: usize = 20;

/// Chapter 2: REINFORCE on the article's maze (tabular softmax) and on CartPole (MLP).
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch02-policy-gradient", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    /// Maze: gradient steps per run
    #[arg(long, default_value_t = 100)]
    pub maze_updates: usize,
    /// Maze: episodes per gradient estimate (at least 2, for the baseline)
    #[arg(long, default_value_t = 16)]
    pub maze_batch: usize,
    /// Maze: step size α of gradient ascent θ ← θ + α ĝ
    #[arg(long, default_value_t = 0.1)]
    pub maze_lr: f64,
    /// Maze: discount γ (1 keeps the three estimators unbiased for the same gradient)
    #[arg(long, default_value_t = 1.0)]
    pub maze_gamma: f64,
    /// Maze: time limit of an episode, in moves
    #[arg(long, default_value_t = 20)]
    pub maze_max_steps: usize,
    /// The constant c added to every episode's return in the shifted runs
    #[arg(long, default_value_t = 50.0)]
    pub shift: f64,
    /// Maze: independent batches per gradient-variance estimate
    #[arg(long, default_value_t = 500)]
    pub variance_batches: usize,
    /// Maze: updates of the partly trained policy whose gradient variance is measured
    #[arg(long, default_value_t = 10)]
    pub variance_updates: usize,
    /// CartPole: number of seeds (from --seed)
    #[arg(long, default_value_t = 5)]
    pub cartpole_seeds: usize,
    /// CartPole: environment steps per seed (the budget)
    #[arg(long, default_value_t = 200_000)]
    pub cartpole_steps: u64,
    /// CartPole: environment steps per update
    #[arg(long, default_value_t = 5000)]
    pub cartpole_batch: usize,
    /// CartPole: discount γ of the reward-to-go
    #[arg(long, default_value_t = 0.99)]
    pub cartpole_gamma: f64,
    /// CartPole: hidden layer sizes of the policy and value MLPs, e.g. 64,64
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    pub hidden: Vec<usize>,
    /// CartPole: hidden-layer non-linearity
    #[arg(long, value_enum, default_value_t = Activation::Tanh)]
    pub activation: Activation,
    /// CartPole: Adam learning rate of the policy
    #[arg(long, default_value_t = 0.01)]
    pub policy_lr: f64,
    /// CartPole: Adam learning rate of the value baseline
    #[arg(long, default_value_t = 0.001)]
    pub value_lr: f64,
    /// CartPole: passes of value regression over each batch
    #[arg(long, default_value_t = 5)]
    pub value_epochs: usize,
    /// CartPole: minibatch size of the value regression
    #[arg(long, default_value_t = 256)]
    pub value_minibatch: usize,
    /// CartPole: Adam's ε
    #[arg(long, default_value_t = 1e-8)]
    pub adam_eps: f64,
    /// CartPole: clip each network's gradient to this global norm
    #[arg(long, default_value_t = 1.0)]
    pub max_grad_norm: f64,
    /// CartPole: decay the learning rates linearly to 0 over the budget
    #[arg(long)]
    pub anneal_lr: bool,
    /// CartPole: scale each batch's advantages to mean 0, std 1
    #[arg(long)]
    pub normalize_advantages: bool,
}

impl Args {
    fn validate(&self) -> Result<()> {
        check_min("--maze-updates", self.maze_updates, 1)?;
        check_min("--maze-batch", self.maze_batch, 2)?;
        check_range("--maze-lr", self.maze_lr, f64::MIN_POSITIVE, 100.0)?;
        check_range("--maze-gamma", self.maze_gamma, 0.0, 1.0)?;
        check_range("--maze-max-steps", self.maze_max_steps as f64, 1.0, 10_000.0)?;
        check_range("--shift", self.shift, -1e6, 1e6)?;
        if self.shift == 0.0 {
            return Err(Error::invalid(
                "--shift",
                self.shift,
                "must not be 0: the shifted runs are compared with unshifted ones",
            ));
        }
        check_min("--variance-batches", self.variance_batches, 2)?;
        check_range("--cartpole-seeds", self.cartpole_seeds as f64, 1.0, 1000.0)?;
        check_range("--value-epochs", self.value_epochs as f64, 0.0, 1000.0)?;
        self.cartpole_config(true).validate()
    }

    fn cartpole_config(&self, baseline: bool) -> NeuralConfig {
        NeuralConfig {
            hidden: self.hidden.clone(),
            activation: self.activation,
            gamma: self.cartpole_gamma,
            batch_steps: self.cartpole_batch,
            total_steps: self.cartpole_steps,
            policy_lr: self.policy_lr,
            value_lr: self.value_lr,
            adam_eps: self.adam_eps,
            anneal_lr: self.anneal_lr,
            baseline,
            normalize_advantages: self.normalize_advantages,
            value_epochs: self.value_epochs,
            value_minibatch: self.value_minibatch,
            max_grad_norm: self.max_grad_norm,
        }
    }

    fn maze_config(&self, estimator: Estimator, shift: f64) -> TabularConfig {
        TabularConfig {
            updates: self.maze_updates,
            batch: self.maze_batch,
            lr: self.maze_lr,
            gamma: self.maze_gamma,
            estimator,
            shift,
        }
    }
}

/// Runs the chapter and writes `<out>/ch02-policy-gradient/`.
pub fn run(mut args: Args) -> Result<Summary> {
    // Before candle starts its thread pools: seeds run in parallel, one thread each.
    nn::one_thread_per_run();
    let started = Instant::now();
    if args.common.quick {
        args.maze_updates = args.maze_updates.min(40);
        args.variance_batches = args.variance_batches.min(100);
        args.cartpole_steps = args.cartpole_steps.min(20_000);
        args.cartpole_batch = args.cartpole_batch.min(2_000);
    }
    args.validate()?;
    let seeds = args.common.seed_list(if args.common.quick { 5 } else { 20 })?;
    let cartpole_seeds: Vec<u64> = (0..args.cartpole_seeds as u64).map(|i| args.common.seed + i).collect();
    let dir = RunDir::create(&args.common.out, CHAPTER)?;
    let mut summary = Summary::new(CHAPTER, &seeds, args.common.quick, &args);
    let mut metrics = UntypedMetrics::new(&[
        "experiment",
        "seed",
        "kind",
        "index",
        "env_steps",
        "return",
        "success_rate",
        "length",
        "policy_loss",
        "value_loss",
        "entropy",
        "explained_variance",
        "grad_norm",
    ]);

    let task = MazeSetup::new(args.maze_max_steps);

    // Experiment 1: three estimators, each with and without the shift c.
    let variants: Vec<MazeVariant> = Estimator::ALL
        .iter()
        .flat_map(|&e| [0.0, args.shift].map(|c| MazeVariant { estimator: e, shift: c }))
        .collect();
    let mut maze_runs = Vec::new();
    for variant in &variants {
        let mut progress = Progress::new(&format!("maze, {}", variant.label()), seeds.len());
        let mut per_seed = Vec::new();
        for (i, &seed) in seeds.iter().enumerate() {
            let run = maze_run(&args, &task, variant, seed)?;
            for (u, r) in run.records.iter().enumerate() {
                let e = &variant.key();
                metrics.push(&[
                    e,
                    &seed,
                    &"update",
                    &(u + 1),
                    &r.env_steps,
                    &r.mean_return,
                    &r.success_rate,
                    &r.mean_length,
                    &"",
                    &"",
                    &"",
                    &"",
                    &r.grad_norm,
                ]);
            }
            per_seed.push(run);
            progress.update(i + 1, || format!("seed {seed}"));
        }
        progress.finish();
        maze_runs.push(per_seed);
    }

    // Experiment 2: the variance of the gradient estimate at two fixed policies.
    let variance = variance_experiment(&args, &task, &seeds)?;

    // Experiment 3: CartPole, with the learned baseline and without.
    let cartpole = cartpole_experiment(&args, &cartpole_seeds)?;
    for (key, runs) in [("cartpole_baseline", &cartpole.with), ("cartpole_no_baseline", &cartpole.without)] {
        for (run, &seed) in runs.iter().zip(&cartpole_seeds) {
            record_cartpole(&mut metrics, key, seed, run);
        }
    }

    // Figures.
    let mut figures = Vec::new();
    figures.extend(figure_maze_curves(&dir, &args, &task, &variants, &maze_runs)?);
    figures.extend(figure_variance(&dir, &args, &variance)?);
    figures.extend(figure_maze_policy(&dir, &args, &task.maze, &variants, &maze_runs, &seeds)?);
    figures.extend(figure_cartpole(&dir, &args, &cartpole)?);

    // Headline numbers.
    let maze_eval = |e: Estimator, shifted: bool| -> Vec<Evaluation> {
        let v = variants.iter().position(|v| v.estimator == e && (v.shift != 0.0) == shifted).unwrap_or(0);
        maze_runs[v].iter().map(|r| r.eval).collect()
    };
    let mean_of =
        |evals: &[Evaluation], f: fn(&Evaluation) -> f64| stats::mean(&evals.iter().map(f).collect::<Vec<_>>());
    let main_eval = maze_eval(Estimator::Baseline, false);
    let final_returns: Vec<f64> = cartpole.with.iter().map(|r| r.final_return(LAST_EPISODES)).collect();
    let final_returns_without: Vec<f64> = cartpole.without.iter().map(|r| r.final_return(LAST_EPISODES)).collect();
    let steps_to: Vec<f64> =
        cartpole.with.iter().map(|r| r.steps_to(TARGET, LAST_EPISODES).map_or(f64::NAN, |s| s as f64)).collect();
    let steps_to_without: Vec<f64> =
        cartpole.without.iter().map(|r| r.steps_to(TARGET, LAST_EPISODES).map_or(f64::NAN, |s| s as f64)).collect();
    let cartpole_steps = cartpole.with.first().map_or(0, |r| r.env_steps);
    let maze_steps: u64 = maze_runs.iter().flatten().map(|r| r.records.last().map_or(0, |x| x.env_steps)).sum();
    let cartpole_total: u64 = cartpole.with.iter().chain(&cartpole.without).map(|r| r.env_steps).sum();
    summary.headline("maze_success_rate", mean_of(&main_eval, |e| e.success_rate));
    summary.headline("maze_shortest_path_rate", mean_of(&main_eval, |e| e.shortest_rate));
    for e in Estimator::ALL {
        summary.headline(
            &format!("maze_success_rate_{}_shifted", e.key()),
            mean_of(&maze_eval(e, true), |e| e.success_rate),
        );
    }
    summary.headline("baseline_variance_ratio", variance.ratio(0, 0.0));
    summary.headline("baseline_variance_ratio_shifted", variance.ratio(0, args.shift));
    summary.headline("baseline_variance_ratio_partly_trained", variance.ratio(1, 0.0));
    summary.headline("cartpole_final_return_median", stats::median(&final_returns));
    summary.headline("cartpole_final_return_median_no_baseline", stats::median(&final_returns_without));
    summary.headline("cartpole_steps_to_475_median", stats::median_missing_high(&steps_to));
    summary.headline("cartpole_steps_to_475_median_no_baseline", stats::median_missing_high(&steps_to_without));
    summary.headline("cartpole_seeds_reaching_475", final_returns.iter().filter(|&&r| r >= TARGET).count());
    summary.headline("env_steps", cartpole_steps);
    summary.headline("env_steps_total", maze_steps + variance.env_steps + cartpole_total);
    summary.headline(
        "cartpole_seconds_per_seed",
        stats::median(&cartpole.with.iter().map(|r| r.seconds).collect::<Vec<_>>()),
    );
    summary.details = serde_json::json!({
        "maze": {
            "rewards": Rewards::step_cost(),
            "shortest_path": task.shortest,
            "uniform_policy": task.evaluate(&SoftmaxPolicy::uniform(task.maze.n_cells(), ACTIONS.len())),
            "evaluation": variants.iter().zip(&maze_runs).map(|(v, runs)| serde_json::json!({
                "estimator": v.estimator,
                "shift": v.shift,
                "per_seed": runs.iter().map(|r| r.eval).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        },
        "gradient_variance": {
            "shifts": variance.shifts,
            "policies": ["uniform", format!("after {} updates", args.variance_updates)],
            "partly_trained_success_rate": variance.partly_trained_success,
            "mean_over_seeds": variance.table.iter().map(|per_est| per_est.iter().map(|per_shift| per_shift.iter().map(|per_seed| stats::mean(per_seed)).collect::<Vec<_>>()).collect::<Vec<_>>()).collect::<Vec<_>>(),
            "estimators": Estimator::ALL,
        },
        "cartpole": {
            "seeds": cartpole_seeds,
            "final_return": final_returns,
            "final_return_no_baseline": final_returns_without,
            "steps_to_475": steps_to,
            "steps_to_475_no_baseline": steps_to_without,
            "policy_parameters": cartpole.with.first().map_or(0, |r| r.policy.n_params()),
        },
    });
    summary.figures = figures;
    summary.wall_time_s = started.elapsed().as_secs_f64();
    metrics.write(&dir)?;
    summary.write(&dir)?;

    print_results(&args, &summary, &variants, &maze_runs, &variance, &cartpole);
    println!("\nwrote {}", dir.dir.display());
    Ok(summary)
}

// ---------------------------------------------------------------- the maze

/// "+ 50" or "− 20": a shift as it reads in a label.
fn plus(c: f64) -> String {
    if c < 0.0 {
        format!("− {}", -c)
    } else {
        format!("+ {c}")
    }
}

/// One estimator with or without the shift.
struct MazeVariant {
    estimator: Estimator,
    shift: f64,
}

impl MazeVariant {
    fn key(&self) -> String {
        if self.shift == 0.0 {
            format!("maze_{}", self.estimator.key())
        } else {
            format!("maze_{}_shifted", self.estimator.key())
        }
    }

    fn label(&self) -> String {
        if self.shift == 0.0 {
            format!("{}, rewards as they are", self.estimator.label())
        } else {
            format!("{}, every return {}", self.estimator.label(), plus(self.shift))
        }
    }
}

/// One seed of one maze variant: the learning curve, the final policy and its score.
struct MazeRun {
    records: Vec<UpdateRecord>,
    policy: SoftmaxPolicy,
    eval: Evaluation,
}

/// The maze of the tabular experiments, its model and its time limit.
struct MazeSetup {
    maze: Maze,
    model: Model,
    max_steps: usize,
    /// Moves on a shortest path from the start to the goal.
    shortest: usize,
}

impl MazeSetup {
    fn new(max_steps: usize) -> MazeSetup {
        let maze = Maze::seed();
        let model = maze.model(&Rewards::step_cost(), 0.0);
        let shortest = maze.distances_to_goal()[maze.start()].unwrap_or(0);
        MazeSetup { maze, model, max_steps, shortest }
    }

    fn env(&self) -> MazeEnv {
        MazeEnv::new(&self.maze, Rewards::step_cost(), 0.0, self.max_steps)
    }

    /// Exact success rates and expected return of a policy, from the model.
    fn evaluate(&self, policy: &SoftmaxPolicy) -> Evaluation {
        tabular::evaluate(&self.model, policy, self.maze.start(), self.max_steps, self.shortest)
    }
}

fn maze_run(args: &Args, task: &MazeSetup, variant: &MazeVariant, seed: u64) -> Result<MazeRun> {
    // The shifted and unshifted runs of an estimator share their random numbers, so
    // with the baseline they take exactly the same steps (to rounding).
    let stream = Estimator::ALL.iter().position(|&e| e == variant.estimator).unwrap_or(0) as u64;
    let mut env = task.env();
    let n_states = task.maze.n_cells();
    let mut records = Vec::new();
    let cfg = args.maze_config(variant.estimator, variant.shift);
    let policy =
        tabular::train(&mut env, n_states, ACTIONS.len(), &cfg, &mut rng::seeded(seed, 10 + stream), |_, r, _| {
            records.push(r.clone())
        })?;
    let eval = task.evaluate(&policy);
    Ok(MazeRun { records, policy, eval })
}

/// trace Cov[ĝ] per policy (uniform, partly trained), estimator, shift and seed.
struct Variance {
    shifts: Vec<f64>,
    /// [policy][estimator][shift][seed]
    table: Vec<Vec<Vec<Vec<f64>>>>,
    partly_trained_success: Vec<f64>,
    env_steps: u64,
}

impl Variance {
    /// Median over seeds of Var(reward-to-go) / Var(with baseline) at `shift`.
    fn ratio(&self, policy: usize, shift: f64) -> f64 {
        let k = self.shifts.iter().position(|&c| c == shift).unwrap_or(0);
        let (rtg, base) = (1, 2);
        let ratios: Vec<f64> =
            self.table[policy][rtg][k].iter().zip(&self.table[policy][base][k]).map(|(a, b)| a / b).collect();
        stats::median(&ratios)
    }

    fn mean(&self, policy: usize, estimator: usize, k: usize) -> f64 {
        stats::mean(&self.table[policy][estimator][k])
    }
}

fn variance_experiment(args: &Args, task: &MazeSetup, seeds: &[u64]) -> Result<Variance> {
    // Every 2.5 from -20 to 50: fine enough to see where the variance is smallest.
    let mut shifts: Vec<f64> = (-8..=20).map(|k| k as f64 * 2.5).collect();
    if !shifts.contains(&args.shift) {
        shifts.push(args.shift);
        shifts.sort_by(f64::total_cmp);
    }
    let done = AtomicUsize::new(0);
    let mut progress = Progress::new("maze, gradient variance", seeds.len());
    // Per seed: ([policy][estimator][shift], success of the partly trained policy, env steps).
    let per_seed = nn::parallel_runs(
        seeds.len(),
        |i| {
            let seed = seeds[i];
            let mut env = task.env();
            let uniform = SoftmaxPolicy::uniform(task.maze.n_cells(), ACTIONS.len());
            let cfg = TabularConfig { updates: args.variance_updates, ..args.maze_config(Estimator::Baseline, 0.0) };
            let mut steps = 0;
            let partly = if args.variance_updates == 0 {
                uniform.clone()
            } else {
                let n = task.maze.n_cells();
                tabular::train(&mut env, n, ACTIONS.len(), &cfg, &mut rng::seeded(seed, 31), |_, r, _| {
                    steps = r.env_steps
                })?
            };
            let success = task.evaluate(&partly);
            let (mut tables, mut variance_steps) = (Vec::new(), 0);
            for (p, policy) in [&uniform, &partly].into_iter().enumerate() {
                let mut rng = rng::seeded(seed, 33 + p as u64);
                let v = tabular::gradient_variance(
                    &mut env,
                    policy,
                    &Estimator::ALL,
                    &shifts,
                    args.maze_gamma,
                    args.maze_batch,
                    args.variance_batches,
                    &mut rng,
                );
                tables.push(v.trace);
                variance_steps += v.env_steps;
            }
            done.fetch_add(1, Ordering::SeqCst);
            Ok((tables, success.success_rate, steps + variance_steps))
        },
        || progress.update(done.load(Ordering::SeqCst), String::new),
    )?;
    progress.finish();
    let table = (0..2)
        .map(|p| {
            (0..Estimator::ALL.len())
                .map(|e| (0..shifts.len()).map(|k| per_seed.iter().map(|s| s.0[p][e][k]).collect()).collect())
                .collect()
        })
        .collect();
    Ok(Variance {
        shifts,
        table,
        partly_trained_success: per_seed.iter().map(|s| s.1).collect(),
        env_steps: per_seed.iter().map(|s| s.2).sum(),
    })
}

// ---------------------------------------------------------------- CartPole

struct CartPoleResult {
    with: Vec<NeuralRun>,
    without: Vec<NeuralRun>,
}

fn cartpole_experiment(args: &Args, seeds: &[u64]) -> Result<CartPoleResult> {
    let jobs: Vec<(bool, u64)> = [true, false].iter().flat_map(|&b| seeds.iter().map(move |&s| (b, s))).collect();
    let updates_done = AtomicUsize::new(0);
    let total = jobs.len() * args.cartpole_config(true).updates();
    let mut progress = Progress::new("CartPole", total);
    let runs = nn::parallel_runs(
        jobs.len(),
        |i| {
            let (baseline, seed) = jobs[i];
            let mut env = CartPole::new();
            let stream = if baseline { 40 } else { 41 };
            neural::train(&mut env, 4, 2, &args.cartpole_config(baseline), &mut rng::seeded(seed, stream), |_, _| {
                updates_done.fetch_add(1, Ordering::SeqCst);
            })
        },
        || progress.update(updates_done.load(Ordering::SeqCst), || format!("{} runs", jobs.len())),
    )?;
    progress.finish();
    let mut runs = runs.into_iter();
    let with: Vec<NeuralRun> = runs.by_ref().take(seeds.len()).collect();
    let without: Vec<NeuralRun> = runs.collect();
    Ok(CartPoleResult { with, without })
}

fn record_cartpole(metrics: &mut UntypedMetrics, key: &str, seed: u64, run: &NeuralRun) {
    for (i, e) in run.episodes.iter().enumerate() {
        metrics.push(&[&key, &seed, &"episode", &(i + 1), &e.env_steps, &e.ret, &"", &e.len, &"", &"", &"", &"", &""]);
    }
    for (i, u) in run.updates.iter().enumerate() {
        metrics.push(&[
            &key,
            &seed,
            &"update",
            &(i + 1),
            &u.env_steps,
            &"",
            &"",
            &"",
            &u.policy_loss,
            &u.value_loss,
            &u.entropy,
            &u.explained_variance,
            &u.grad_norm,
        ]);
    }
}

// ---------------------------------------------------------------- figures

fn figure_maze_curves(
    dir: &RunDir,
    args: &Args,
    task: &MazeSetup,
    variants: &[MazeVariant],
    runs: &[Vec<MazeRun>],
) -> Result<Vec<String>> {
    let n_seeds = runs.first().map_or(0, Vec::len);
    let x: Vec<f64> = (1..=args.maze_updates).map(|u| (u * args.maze_batch) as f64).collect();
    let r = Rewards::step_cost();
    let best = r.goal + (task.shortest as f64 - 1.0) * r.step;
    let uniform = task.evaluate(&SoftmaxPolicy::uniform(task.maze.n_cells(), ACTIONS.len()));
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
                        label: match (v.shift == 0.0, e) {
                            (true, _) => "rewards as they are".into(),
                            // The two runs take identical steps: say so, or the hidden curve looks missing.
                            (false, Estimator::Baseline) => format!("every return {} (the same curve)", plus(v.shift)),
                            (false, _) => format!("every return {}", plus(v.shift)),
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
            args.maze_max_steps
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

fn figure_variance(dir: &RunDir, args: &Args, v: &Variance) -> Result<Vec<String>> {
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
    let partly = stats::mean(&v.partly_trained_success);
    Ok(plot::curves_panels(
        &dir.path("gradient_variance"),
        &format!(
            "Variance of the REINFORCE gradient over {} batches of {} episodes (mean ± std over {n_seeds} seeds)",
            args.variance_batches, args.maze_batch
        ),
        &[
            panel(0, "Uniform policy (before training)".into()),
            panel(
                1,
                format!(
                    "After {} updates (reaches the goal {:.0}% of the time)",
                    args.variance_updates,
                    100.0 * partly
                ),
            ),
        ],
        2,
    )?)
}

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
    pic.value_label = "probability of the most likely action".into();
    pic
}

fn figure_maze_policy(
    dir: &RunDir,
    args: &Args,
    maze: &Maze,
    variants: &[MazeVariant],
    runs: &[Vec<MazeRun>],
    seeds: &[u64],
) -> Result<Vec<String>> {
    let find = |e: Estimator, shifted: bool| {
        variants.iter().position(|v| v.estimator == e && (v.shift != 0.0) == shifted).unwrap_or(0)
    };
    let good = &runs[find(Estimator::Baseline, false)][0];
    // The first seed whose shifted, baseline-free run fails most often (usually it
    // never reaches the goal).
    let shifted = &runs[find(Estimator::RewardToGo, true)];
    let worst = (0..shifted.len())
        .min_by(|&a, &b| shifted[a].eval.success_rate.total_cmp(&shifted[b].eval.success_rate))
        .unwrap_or(0);
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
                plus(args.shift),
                seeds[worst],
                100.0 * shifted[worst].eval.success_rate
            ),
            &shifted[worst].policy,
        ),
    ];
    Ok(plot::grid_panels(
        &dir.path("maze_policy"),
        &format!("Action probabilities π(a|s) after {} updates (arrow: the most likely action)", args.maze_updates),
        &pics,
        2,
    )?)
}

fn figure_cartpole(dir: &RunDir, args: &Args, c: &CartPoleResult) -> Result<Vec<String>> {
    let n_seeds = c.with.len();
    let points = 200;
    let grid: Vec<f64> =
        (1..=points).map(|i| (args.cartpole_steps as f64 * i as f64 / points as f64).round()).collect();
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
    let per_update = |runs: &[NeuralRun], f: fn(&neural::UpdateLog) -> f64| -> Vec<Vec<f64>> {
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
                runs: per_update(&c.with, |u| u.value_loss.sqrt()),
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
        hlines: vec![(args.max_grad_norm, format!("clipped above {}", args.max_grad_norm))],
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

// ---------------------------------------------------------------- the tables

fn print_results(
    args: &Args,
    summary: &Summary,
    variants: &[MazeVariant],
    runs: &[Vec<MazeRun>],
    variance: &Variance,
    cartpole: &CartPoleResult,
) {
    let rows: Vec<Vec<String>> = variants
        .iter()
        .zip(runs)
        .map(|(v, rs)| {
            let mean = |f: fn(&Evaluation) -> f64| stats::mean(&rs.iter().map(|r| f(&r.eval)).collect::<Vec<_>>());
            vec![
                v.estimator.label().to_string(),
                if v.shift == 0.0 { "0".into() } else { format!("{}", v.shift) },
                format!("{:.3}", mean(|e| e.success_rate)),
                format!("{:.3}", mean(|e| e.shortest_rate)),
                format!("{:.2}", mean(|e| e.mean_return)),
            ]
        })
        .collect();
    print_table(
        &format!("Maze: final policies after {} updates (mean over seeds)", args.maze_updates),
        &["Ψ", "shift c", "reach goal", "shortest path", "return"],
        &rows,
    );
    let mut rows = Vec::new();
    for (p, name) in ["uniform", "partly trained"].iter().enumerate() {
        for c in [0.0, args.shift] {
            let k = variance.shifts.iter().position(|&s| s == c).unwrap_or(0);
            let mut row = vec![name.to_string(), format!("{c}")];
            row.extend((0..3).map(|e| format!("{:.2}", variance.mean(p, e, k))));
            row.push(format!("{:.1}", variance.ratio(p, c)));
            rows.push(row);
        }
    }
    print_table(
        "Maze: trace of Cov[ĝ] (mean over seeds)",
        &["policy", "shift c", "return", "reward-to-go", "with baseline", "ratio (median)"],
        &rows,
    );
    let rows: Vec<Vec<String>> = [("learned baseline V(s)", &cartpole.with), ("no baseline", &cartpole.without)]
        .iter()
        .map(|(name, rs)| {
            let finals: Vec<f64> = rs.iter().map(|r| r.final_return(LAST_EPISODES)).collect();
            let steps: Vec<f64> =
                rs.iter().map(|r| r.steps_to(TARGET, LAST_EPISODES).map_or(f64::NAN, |s| s as f64)).collect();
            let median = stats::median_missing_high(&steps);
            vec![
                name.to_string(),
                finals.iter().map(|f| format!("{f:.0}")).collect::<Vec<_>>().join(" "),
                format!("{:.1}", stats::median(&finals)),
                if median.is_nan() { "not reached".into() } else { format!("{median:.0}") },
            ]
        })
        .collect();
    print_table(
        &format!("CartPole: mean return of the last {LAST_EPISODES} episodes after {} steps", args.cartpole_steps),
        &["run", "per seed", "median", "steps to 475 (median)"],
        &rows,
    );
    summary.print_headline(
        "Headline",
        &[
            "maze_success_rate",
            "maze_shortest_path_rate",
            "baseline_variance_ratio",
            "baseline_variance_ratio_shifted",
            "cartpole_final_return_median",
            "cartpole_steps_to_475_median",
            "env_steps",
        ],
    );
}
