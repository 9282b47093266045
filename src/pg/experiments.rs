//! Chapter 2's experiments:
//! 1. tabular REINFORCE on the article's maze with the three estimators, each with and
//!    without a constant shift of every return ([`maze_runs`]);
//! 2. the variance of the gradient estimate they produce, at the uniform policy and at
//!    a partly trained one ([`gradient_variance`]);
//! 3. neural REINFORCE on CartPole, with the learned baseline and without ([`cartpole`]).
//!
//! Every run draws from its own seeded RNG stream, so runs go in parallel (through
//! [`crate::jobs`]) and give the same numbers as one after the other.

use super::neural::{self, NeuralConfig, NeuralRun};
use super::tabular::{self, PolicyEvaluation, SoftmaxPolicy, TabularConfig, UpdateRecord};
use super::Estimator;
use crate::agent::{self, AgentFlags, Task};
use crate::env::cartpole::CartPole;
use crate::env::maze::{Maze, Rewards, ACTIONS};
use crate::error::{check_range, Error, Result};
use crate::jobs::{self, SharedProgress};
use crate::nn::Activation;
use crate::report::{print_table, Metrics, Progress};
use crate::rollout::LearningCurve;
use crate::tabular::experiments::{check_count, check_product, Factor};
use crate::tabular::MazeTask;
use crate::{metrics_row, rng, stats};
use serde::Serialize;

/// CartPole's target: the mean return of the last [`LAST_EPISODES`] episodes.
pub const TARGET: f64 = 475.0;
pub const LAST_EPISODES: usize = 20;
/// The largest `--cartpole-steps`.
pub const MAX_CARTPOLE_STEPS: u64 = 20_000_000;

/// The flags of the maze experiments (tabular REINFORCE).
#[derive(clap::Args, Debug, Clone, Serialize)]
pub struct MazeReinforceFlags {
    /// Maze: gradient steps per run [1, 100000]
    #[arg(long, default_value_t = 100)]
    pub maze_updates: usize,
    /// Maze: episodes per gradient estimate (at least 2, for the baseline) [2, 10000]
    #[arg(long, default_value_t = 16)]
    pub maze_batch: usize,
    /// Maze: step size α of gradient ascent θ ← θ + α ĝ (0, 100]
    #[arg(long, default_value_t = 0.1)]
    pub maze_lr: f64,
    /// Maze: discount γ (1 keeps the three estimators unbiased for the same gradient) [0, 1]
    #[arg(long, default_value_t = 1.0)]
    pub maze_gamma: f64,
    /// Maze: time limit of an episode, in moves [1, 10000]
    #[arg(long, default_value_t = 20)]
    pub maze_max_steps: usize,
    /// The constant c added to every episode's return in the shifted runs [-1000000, 1000000], not 0
    #[arg(long, default_value_t = 50.0)]
    pub shift: f64,
    /// Maze: independent batches per gradient-variance estimate [2, 100000]
    #[arg(long, default_value_t = 500)]
    pub variance_batches: usize,
    /// Maze: updates of the partly trained policy whose gradient variance is measured [0, 100000]
    #[arg(long, default_value_t = 10)]
    pub variance_updates: usize,
}

impl MazeReinforceFlags {
    /// `--quick`'s budget.
    pub fn quick(&mut self) {
        self.maze_updates = self.maze_updates.min(40);
        self.variance_batches = self.variance_batches.min(100);
    }

    pub fn validate(&self) -> Result<()> {
        check_count("--maze-updates", self.maze_updates as u64, 1, 100_000)?;
        check_count("--maze-batch", self.maze_batch as u64, 2, 10_000)?;
        check_range("--maze-lr", self.maze_lr, f64::MIN_POSITIVE, 100.0)?;
        check_range("--maze-gamma", self.maze_gamma, 0.0, 1.0)?;
        check_count("--maze-max-steps", self.maze_max_steps as u64, 1, 10_000)?;
        check_range("--shift", self.shift, -1e6, 1e6)?;
        if self.shift == 0.0 {
            let why = "must not be 0: the shifted runs are compared with unshifted ones";
            return Err(Error::invalid("--shift", self.shift, why));
        }
        check_count("--variance-batches", self.variance_batches as u64, 2, 100_000)?;
        check_count("--variance-updates", self.variance_updates as u64, 0, 100_000)
    }

    /// Bounds the products of flags (checked arithmetic): the episodes of a batch held
    /// in memory (batch × max steps), the environment steps of the six maze runs and of
    /// the gradient-variance estimates (seeds × updates or batches × batch × max steps),
    /// and the `metrics.csv` rows (seeds × updates). `seeds_given` and `quick` tell
    /// which flags the user gave, for the message.
    pub fn check_budget(&self, n_seeds: usize, seeds_given: bool, quick: bool) -> Result<()> {
        let f = |flag, value: usize, default: usize| Factor::new(flag, value as u64, value != default);
        let seeds = Factor::new("--seeds", n_seeds as u64, seeds_given);
        let batch = f("--maze-batch", self.maze_batch, 16);
        let max_steps = f("--maze-max-steps", self.maze_max_steps, 20);
        let updates = f("--maze-updates", self.maze_updates, if quick { 40 } else { 100 });
        let batches = f("--variance-batches", self.variance_batches, if quick { 100 } else { 500 });
        let variance_updates = f("--variance-updates", self.variance_updates, 10);
        check_product(&[batch, max_steps], 10_000_000, "batch × max steps")?;
        let steps = "seeds × updates × batch × max steps";
        check_product(&[updates, batch, max_steps, seeds], 1_000_000_000, steps)?;
        let steps = "seeds × variance updates × batch × max steps";
        check_product(&[variance_updates, batch, max_steps, seeds], 1_000_000_000, steps)?;
        let steps = "seeds × variance batches × batch × max steps";
        check_product(&[batches, batch, max_steps, seeds], 1_000_000_000, steps)?;
        check_product(&[updates, seeds], 1_000_000, "seeds × updates")
    }

    /// The article's maze with step-cost rewards and this time limit.
    pub fn task(&self) -> Result<MazeTask> {
        MazeTask::new(Maze::seed(), Rewards::step_cost(), 0.0, self.maze_max_steps, self.maze_gamma)
    }

    fn config(&self, estimator: Estimator, shift: f64) -> TabularConfig {
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

/// The flags of the CartPole experiment (neural REINFORCE).
#[derive(clap::Args, Debug, Clone, Serialize)]
pub struct CartPoleFlags {
    /// CartPole: number of seeds (from --seed) [1, 100]
    #[arg(long, default_value_t = 5)]
    pub cartpole_seeds: usize,
    /// CartPole: environment steps per seed (the budget) [--cartpole-batch, 20000000]
    #[arg(long, default_value_t = 200_000)]
    pub cartpole_steps: u64,
    /// CartPole: environment steps per update [1, 1000000]
    #[arg(long, default_value_t = 5000)]
    pub cartpole_batch: usize,
    /// CartPole: discount γ of the reward-to-go [0, 1]
    #[arg(long, default_value_t = 0.99)]
    pub cartpole_gamma: f64,
    /// CartPole: hidden layer sizes of the policy and value MLPs, e.g. 64,64 (1 to 4 layers, each [1, 4096])
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    pub hidden: Vec<usize>,
    /// CartPole: hidden-layer non-linearity
    #[arg(long, value_enum, default_value_t = Activation::Tanh)]
    pub activation: Activation,
    /// CartPole: Adam learning rate of the policy (0, 1]
    #[arg(long, default_value_t = 0.01)]
    pub policy_lr: f64,
    /// CartPole: Adam learning rate of the value baseline (0, 1]
    #[arg(long, default_value_t = 0.001)]
    pub value_lr: f64,
    /// CartPole: passes of value regression over each batch [0, 100]
    #[arg(long, default_value_t = 5)]
    pub value_epochs: usize,
    /// CartPole: minibatch size of the value regression [1, 1000000]
    #[arg(long, default_value_t = 256)]
    pub value_minibatch: usize,
    /// CartPole: Adam's ε (0, 1]
    #[arg(long, default_value_t = 1e-8)]
    pub adam_eps: f64,
    /// CartPole: clip each network's gradient to this global norm (0, 1000000]
    #[arg(long, default_value_t = 1.0)]
    pub max_grad_norm: f64,
    /// CartPole: decay the learning rates linearly to 0 over the budget
    #[arg(long)]
    pub anneal_lr: bool,
    /// CartPole: scale each batch's advantages to mean 0, std 1
    #[arg(long)]
    pub normalize_advantages: bool,
}

/// The flag of each [`NeuralConfig`] field, for error messages.
const FLAG_OF_FIELD: [(&str, &str); 9] = [
    ("gamma", "--cartpole-gamma"),
    ("batch_steps", "--cartpole-batch"),
    ("total_steps", "--cartpole-steps"),
    ("policy_lr", "--policy-lr"),
    ("value_lr", "--value-lr"),
    ("adam_eps", "--adam-eps"),
    ("value_minibatch", "--value-minibatch"),
    ("hidden", "--hidden"),
    ("max_grad_norm", "--max-grad-norm"),
];

impl CartPoleFlags {
    /// `--quick`'s budget.
    pub fn quick(&mut self) {
        self.cartpole_steps = self.cartpole_steps.min(20_000);
        self.cartpole_batch = self.cartpole_batch.min(2_000);
    }

    /// Checks the flags; [`NeuralConfig::validate`]'s errors, which name its fields,
    /// are told in terms of the flags.
    pub fn validate(&self) -> Result<()> {
        self.validate_ranges()?;
        self.config(true).validate().map_err(|e| match e {
            Error::InvalidArg { name, value, mut why } => {
                for (field, flag) in FLAG_OF_FIELD {
                    why = why.replace(field, flag);
                }
                let flag = FLAG_OF_FIELD.iter().find(|(field, _)| *field == name).map_or(name.as_str(), |(_, f)| f);
                Error::InvalidArg { name: flag.to_string(), value, why }
            }
            other => other,
        })?;
        check_count("--cartpole-steps", self.cartpole_steps, self.cartpole_batch as u64, MAX_CARTPOLE_STEPS)
    }

    /// Checks each count flag on its own (no flag against another): the user's values
    /// are checked so before `--quick` shortens them.
    pub fn validate_ranges(&self) -> Result<()> {
        check_count("--cartpole-seeds", self.cartpole_seeds as u64, 1, 100)?;
        check_count("--value-epochs", self.value_epochs as u64, 0, 100)?;
        check_count("--cartpole-batch", self.cartpole_batch as u64, 1, 1_000_000)?;
        check_count("--value-minibatch", self.value_minibatch as u64, 1, 1_000_000)?;
        check_count("--cartpole-steps", self.cartpole_steps, 1, MAX_CARTPOLE_STEPS)?;
        check_range("--max-grad-norm", self.max_grad_norm, f64::MIN_POSITIVE, 1e6)
    }

    /// Parameters of the policy MLP (4 observations, 2 actions); the value MLP has about as many.
    fn policy_parameters(&self) -> u64 {
        let mut sizes = vec![4u64];
        sizes.extend(self.hidden.iter().map(|&h| h as u64));
        sizes.push(2);
        sizes.windows(2).map(|w| (w[0] + 1) * w[1]).sum()
    }

    /// Bounds the products of flags (checked arithmetic): the CartPole seeds after
    /// `--seed` (no wrap), the environment steps (seeds × steps), the arithmetic of
    /// training (seeds × steps × parameters × (2 + value epochs)) and the activations of
    /// one batch (batch × hidden units).
    pub fn check_budget(&self, first_seed: u64, quick: bool) -> Result<()> {
        if first_seed.checked_add(self.cartpole_seeds as u64 - 1).is_none() {
            let why = format!("with --seed {first_seed} the CartPole seeds would pass 2^64 - 1");
            return Err(Error::invalid("--cartpole-seeds", self.cartpole_seeds, &why));
        }
        let default_hidden = self.hidden == [64, 64];
        let seeds = Factor::new("--cartpole-seeds", self.cartpole_seeds as u64, self.cartpole_seeds != 5);
        let steps_default = if quick { 20_000 } else { 200_000 };
        let steps = Factor::new("--cartpole-steps", self.cartpole_steps, self.cartpole_steps != steps_default);
        let epochs =
            Factor { offset: 2, ..Factor::new("--value-epochs", self.value_epochs as u64, self.value_epochs != 5) };
        let params =
            Factor { unit: " parameters", ..Factor::new("--hidden", self.policy_parameters(), !default_hidden) };
        let batch_default = if quick { 2_000 } else { 5_000 };
        let batch = Factor::new("--cartpole-batch", self.cartpole_batch as u64, self.cartpole_batch != batch_default);
        let units = self.hidden.iter().map(|&h| h as u64).sum();
        let units = Factor { unit: " hidden units", ..Factor::new("--hidden", units, !default_hidden) };
        // A blamed --hidden shows the layer sizes the user gave.
        let hidden = self.hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(",");
        let as_given = |e: Error| match e {
            Error::InvalidArg { name, value, why } if name == "--hidden" => {
                Error::InvalidArg { name, value: hidden.clone(), why: format!("its {value}: {why}") }
            }
            other => other,
        };
        check_product(&[steps, seeds], 20_000_000, "CartPole seeds × steps")?;
        let work = "CartPole seeds × steps × parameters × (2 + value epochs)";
        check_product(&[steps, params, epochs, seeds], 300_000_000_000, work).map_err(as_given)?;
        check_product(&[batch, units], 50_000_000, "batch × hidden units").map_err(as_given)
    }

    /// The CartPole seeds: `--cartpole-seeds` of them from `first`.
    pub fn seeds(&self, first: u64) -> Vec<u64> {
        (0..self.cartpole_seeds as u64).map(|i| first + i).collect()
    }

    pub fn config(&self, baseline: bool) -> NeuralConfig {
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
}

metrics_row! {
    /// A row of chapter 2's `metrics.csv`: one maze update, one CartPole episode or one
    /// CartPole update. A cell that does not apply to the row's kind is empty.
    pub struct ReinforceRow {
        pub experiment: String,
        pub seed: u64,
        pub kind: &'static str,
        pub index: usize,
        pub env_steps: u64,
        pub r#return: Option<f64>,
        pub success_rate: Option<f64>,
        pub length: Option<f64>,
        pub policy_loss: Option<f64>,
        pub value_loss: Option<f64>,
        pub entropy: Option<f64>,
        pub explained_variance: Option<f64>,
        pub grad_norm: Option<f64>,
    }
}

impl ReinforceRow {
    fn empty(experiment: &str, seed: u64, kind: &'static str, index: usize, env_steps: u64) -> ReinforceRow {
        ReinforceRow {
            experiment: experiment.to_string(),
            seed,
            kind,
            index,
            env_steps,
            r#return: None,
            success_rate: None,
            length: None,
            policy_loss: None,
            value_loss: None,
            entropy: None,
            explained_variance: None,
            grad_norm: None,
        }
    }
}

/// "+ 50" or "− 20": a shift as it reads in a label.
pub fn plus(c: f64) -> String {
    if c < 0.0 {
        format!("− {}", -c)
    } else {
        format!("+ {c}")
    }
}

/// One estimator with or without the shift c of every return.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShiftedEstimator {
    pub estimator: Estimator,
    pub shift: f64,
}

impl ShiftedEstimator {
    /// The three estimators, each without and with the shift `c`.
    pub fn all(c: f64) -> Vec<ShiftedEstimator> {
        Estimator::ALL.iter().flat_map(|&e| [0.0, c].map(|shift| ShiftedEstimator { estimator: e, shift })).collect()
    }

    pub fn shifted(&self) -> bool {
        self.shift != 0.0
    }

    /// The experiment's key in `metrics.csv`.
    pub fn key(&self) -> String {
        let suffix = if self.shifted() { "_shifted" } else { "" };
        format!("maze_{}{suffix}", self.estimator.key())
    }

    pub fn label(&self) -> String {
        if self.shifted() {
            format!("{}, every return {}", self.estimator.label(), plus(self.shift))
        } else {
            format!("{}, rewards as they are", self.estimator.label())
        }
    }
}

/// One seed of one [`ShiftedEstimator`] on the maze: the learning curve, the final
/// policy and its exact score.
pub struct TabularReinforceRun {
    pub records: Vec<UpdateRecord>,
    pub policy: SoftmaxPolicy,
    pub eval: PolicyEvaluation,
}

/// Exact success rates and expected return of `policy` on the task, from its model.
pub fn evaluate(task: &MazeTask, policy: &SoftmaxPolicy) -> PolicyEvaluation {
    tabular::evaluate(&task.model, policy, task.maze.start(), task.max_steps, task.shortest)
}

/// The uniform policy of the maze: where training starts.
pub fn uniform(task: &MazeTask) -> SoftmaxPolicy {
    SoftmaxPolicy::uniform(task.maze.n_cells(), ACTIONS.len())
}

/// Experiment 1: every [`ShiftedEstimator`], one run per seed; one metrics row per update.
pub fn maze_runs(
    flags: &MazeReinforceFlags,
    task: &MazeTask,
    variants: &[ShiftedEstimator],
    seeds: &[u64],
    metrics: &mut Metrics<ReinforceRow>,
) -> Result<Vec<Vec<TabularReinforceRun>>> {
    let mut out = Vec::new();
    for variant in variants {
        let mut progress = Progress::new(&format!("maze, {}", variant.label()), seeds.len());
        let mut per_seed = Vec::new();
        for (i, &seed) in seeds.iter().enumerate() {
            let run = maze_run(flags, task, variant, seed)?;
            for (u, r) in run.records.iter().enumerate() {
                metrics.push(&ReinforceRow {
                    r#return: Some(r.mean_return),
                    success_rate: Some(r.success_rate),
                    length: Some(r.mean_length),
                    grad_norm: Some(r.grad_norm),
                    ..ReinforceRow::empty(&variant.key(), seed, "update", u + 1, r.env_steps)
                });
            }
            per_seed.push(run);
            progress.update(i + 1, || format!("seed {seed}"));
        }
        progress.finish();
        out.push(per_seed);
    }
    Ok(out)
}

fn maze_run(
    flags: &MazeReinforceFlags,
    task: &MazeTask,
    variant: &ShiftedEstimator,
    seed: u64,
) -> Result<TabularReinforceRun> {
    // The shifted and unshifted runs of an estimator share their random numbers, so
    // with the baseline they take exactly the same steps (to rounding).
    let stream = Estimator::ALL.iter().position(|&e| e == variant.estimator).unwrap_or(0) as u64;
    let mut records = Vec::new();
    let cfg = flags.config(variant.estimator, variant.shift);
    let mut rng = rng::seeded(seed, 10 + stream);
    let n_states = task.maze.n_cells();
    let policy =
        tabular::train(&mut task.env(), n_states, ACTIONS.len(), &cfg, &mut rng, |_, r, _| records.push(r.clone()))?;
    let eval = evaluate(task, &policy);
    Ok(TabularReinforceRun { records, policy, eval })
}

/// Experiment 2's result: tr Cov[ĝ] per policy (uniform, partly trained), estimator,
/// shift and seed.
pub struct VarianceByShift {
    pub shifts: Vec<f64>,
    /// `[policy][estimator][shift][seed]`.
    pub table: Vec<Vec<Vec<Vec<f64>>>>,
    /// How often the partly trained policy reaches the goal, per seed.
    pub partly_trained_success: Vec<f64>,
    pub env_steps: u64,
}

impl VarianceByShift {
    /// Median over seeds of Var(reward-to-go) / Var(with baseline) at `shift`.
    pub fn ratio(&self, policy: usize, shift: f64) -> f64 {
        let k = self.shifts.iter().position(|&c| c == shift).unwrap_or(0);
        let (rtg, base) = (1, 2);
        let ratios: Vec<f64> =
            self.table[policy][rtg][k].iter().zip(&self.table[policy][base][k]).map(|(a, b)| a / b).collect();
        stats::median(&ratios)
    }

    /// The mean over seeds of one cell of the table.
    pub fn mean(&self, policy: usize, estimator: usize, k: usize) -> f64 {
        stats::mean(&self.table[policy][estimator][k])
    }

    /// [`VarianceByShift::ratio`] at every shift: `[policy][shift]`.
    pub fn ratios(&self) -> Vec<Vec<f64>> {
        (0..self.table.len()).map(|p| self.shifts.iter().map(|&c| self.ratio(p, c)).collect()).collect()
    }

    /// The best constant baseline of each estimator: the shift c with the smallest mean
    /// variance over seeds, `[policy][estimator]`.
    pub fn best_shifts(&self) -> Vec<Vec<f64>> {
        let best = |p: usize, e: usize| {
            let k = (0..self.shifts.len()).min_by(|&a, &b| self.mean(p, e, a).total_cmp(&self.mean(p, e, b)));
            k.map_or(f64::NAN, |k| self.shifts[k])
        };
        (0..self.table.len()).map(|p| (0..Estimator::ALL.len()).map(|e| best(p, e)).collect()).collect()
    }

    /// `[policy][estimator][shift]` means over seeds.
    pub fn mean_over_seeds(&self) -> Vec<Vec<Vec<f64>>> {
        let shape = |p: usize, e: usize| (0..self.shifts.len()).map(|k| self.mean(p, e, k)).collect();
        (0..self.table.len()).map(|p| (0..Estimator::ALL.len()).map(|e| shape(p, e)).collect()).collect()
    }
}

/// The shifts c of the variance experiment: every 2.5 from −20 to 50 (fine enough to
/// see where the variance is smallest), and `extra`.
pub fn variance_shifts(extra: f64) -> Vec<f64> {
    let mut shifts: Vec<f64> = (-8..=20).map(|k| k as f64 * 2.5).collect();
    if !shifts.contains(&extra) {
        shifts.push(extra);
        shifts.sort_by(f64::total_cmp);
    }
    shifts
}

/// Experiment 2: the variance of the gradient estimate of every estimator and shift, at
/// the uniform policy and after `--variance-updates` updates with the baseline.
pub fn gradient_variance(flags: &MazeReinforceFlags, task: &MazeTask, seeds: &[u64]) -> Result<VarianceByShift> {
    let shifts = variance_shifts(flags.shift);
    let progress = SharedProgress::new("maze, gradient variance", seeds.len());
    // Per seed: ([policy][estimator][shift], success of the partly trained policy, env steps).
    let per_seed = jobs::run(seeds.len(), jobs::cores(), |i| {
        let seed = seeds[i];
        let mut env = task.env();
        let uniform = uniform(task);
        let cfg = TabularConfig { updates: flags.variance_updates, ..flags.config(Estimator::Baseline, 0.0) };
        let mut steps = 0;
        let partly = if flags.variance_updates == 0 {
            uniform.clone()
        } else {
            let n = task.maze.n_cells();
            tabular::train(&mut env, n, ACTIONS.len(), &cfg, &mut rng::seeded(seed, 31), |_, r, _| steps = r.env_steps)?
        };
        let success = evaluate(task, &partly);
        let (mut tables, mut variance_steps) = (Vec::new(), 0);
        for (p, policy) in [&uniform, &partly].into_iter().enumerate() {
            let mut rng = rng::seeded(seed, 33 + p as u64);
            let (gamma, batch, batches) = (flags.maze_gamma, flags.maze_batch, flags.variance_batches);
            let v =
                tabular::gradient_variance(&mut env, policy, &Estimator::ALL, &shifts, gamma, batch, batches, &mut rng);
            tables.push(v.trace);
            variance_steps += v.env_steps;
        }
        progress.tick(1, String::new);
        Ok((tables, success.success_rate, steps + variance_steps))
    })?;
    progress.finish();
    let table = (0..2)
        .map(|p| {
            (0..Estimator::ALL.len())
                .map(|e| (0..shifts.len()).map(|k| per_seed.iter().map(|s| s.0[p][e][k]).collect()).collect())
                .collect()
        })
        .collect();
    Ok(VarianceByShift {
        shifts,
        table,
        partly_trained_success: per_seed.iter().map(|s| s.1).collect(),
        env_steps: per_seed.iter().map(|s| s.2).sum(),
    })
}

/// Experiment 3's runs: one per CartPole seed with the learned baseline, and without.
pub struct CartPoleRuns {
    pub with: Vec<NeuralRun>,
    pub without: Vec<NeuralRun>,
}

impl CartPoleRuns {
    /// Both arms with their `metrics.csv` keys and labels.
    pub fn arms(&self) -> [(&'static str, &'static str, &[NeuralRun]); 2] {
        [
            ("cartpole_baseline", "learned baseline V(s)", &self.with),
            ("cartpole_no_baseline", "no baseline", &self.without),
        ]
    }

    /// One metrics row per episode, then one per update, of every run.
    pub fn record(&self, metrics: &mut Metrics<ReinforceRow>, seeds: &[u64]) {
        for (key, _, runs) in self.arms() {
            for (run, &seed) in runs.iter().zip(seeds) {
                for (i, e) in run.episodes.iter().enumerate() {
                    metrics.push(&ReinforceRow {
                        r#return: Some(e.ret),
                        length: Some(e.len as f64),
                        ..ReinforceRow::empty(key, seed, "episode", i + 1, e.env_steps)
                    });
                }
                for (i, u) in run.updates.iter().enumerate() {
                    metrics.push(&ReinforceRow {
                        policy_loss: Some(u.policy_loss),
                        value_loss: u.value_loss,
                        entropy: Some(u.entropy),
                        explained_variance: u.explained_variance,
                        grad_norm: Some(u.grad_norm),
                        ..ReinforceRow::empty(key, seed, "update", i + 1, u.env_steps)
                    });
                }
            }
        }
    }
}

/// The mean return of the last [`LAST_EPISODES`] episodes of each run.
pub fn final_returns(runs: &[NeuralRun]) -> Vec<f64> {
    runs.iter().map(|r| r.final_return(LAST_EPISODES)).collect()
}

/// Environment steps until each run reached [`TARGET`] (NaN: never).
pub fn steps_to_target(runs: &[NeuralRun]) -> Vec<f64> {
    runs.iter().map(|r| r.steps_to(TARGET, LAST_EPISODES).map_or(f64::NAN, |s| s as f64)).collect()
}

/// Experiment 3: REINFORCE on CartPole for every seed, with the baseline (RNG stream 40)
/// and without (41), all runs in parallel.
pub fn cartpole(flags: &CartPoleFlags, seeds: &[u64]) -> Result<CartPoleRuns> {
    let jobs: Vec<(bool, u64)> = [true, false].iter().flat_map(|&b| seeds.iter().map(move |&s| (b, s))).collect();
    let progress = SharedProgress::new("CartPole", jobs.len() * flags.config(true).updates());
    let runs = jobs::run(jobs.len(), jobs::cores(), |i| {
        let (baseline, seed) = jobs[i];
        let stream = if baseline { 40 } else { 41 };
        let cfg = flags.config(baseline);
        neural::train(CartPole::new(), 4, 2, &cfg, &mut rng::seeded(seed, stream), |_, _| {
            progress.tick(1, || format!("{} runs", jobs.len()))
        })
    })?;
    progress.finish();
    let mut runs = runs.into_iter();
    let with: Vec<NeuralRun> = runs.by_ref().take(seeds.len()).collect();
    Ok(CartPoleRuns { with, without: runs.collect() })
}

/// The two runs of the policy figure: the first seed with the baseline and no shift,
/// and the first seed whose shifted reward-to-go run (no baseline) reaches the goal
/// least often. Returns (variant, seed index) of each.
pub fn shown_policies(variants: &[ShiftedEstimator], runs: &[Vec<TabularReinforceRun>]) -> [(usize, usize); 2] {
    let find = |e: Estimator, shifted: bool| {
        variants.iter().position(|v| v.estimator == e && v.shifted() == shifted).unwrap_or(0)
    };
    let shifted = find(Estimator::RewardToGo, true);
    let worst = (0..runs[shifted].len())
        .min_by(|&a, &b| runs[shifted][a].eval.success_rate.total_cmp(&runs[shifted][b].eval.success_rate))
        .unwrap_or(0);
    [(find(Estimator::Baseline, false), 0), (shifted, worst)]
}

/// The median over seeds of a CartPole diagnostic at every update (None: not logged).
fn median_per_update(runs: &[NeuralRun], f: fn(&neural::ReinforceUpdateLog) -> Option<f64>) -> Vec<Option<f64>> {
    let updates = runs.first().map_or(0, |r| r.updates.len());
    (0..updates)
        .map(|u| {
            let values: Vec<f64> = runs.iter().filter_map(|r| r.updates.get(u).and_then(f)).collect();
            Some(stats::median(&values)).filter(|m| m.is_finite())
        })
        .collect()
}

/// The `details` of chapter 2's `summary.json`: per-seed scores, the variance table,
/// the policies of the policy figure and CartPole's per-seed results.
#[allow(clippy::too_many_arguments)]
pub fn details(
    task: &MazeTask,
    flags: &MazeReinforceFlags,
    variants: &[ShiftedEstimator],
    maze_runs: &[Vec<TabularReinforceRun>],
    seeds: &[u64],
    variance: &VarianceByShift,
    cartpole: &CartPoleRuns,
    cartpole_seeds: &[u64],
) -> serde_json::Value {
    let shown = |(v, i): (usize, usize)| {
        let run = &maze_runs[v][i];
        let probs = (0..task.maze.n_cells())
            .filter(|&s| task.maze.is_decision_state(s))
            .map(|s| (task.maze.name(s), run.policy.probs(s)))
            .collect::<std::collections::BTreeMap<_, _>>();
        serde_json::json!({
            "estimator": variants[v].estimator,
            "shift": variants[v].shift,
            "seed": seeds[i],
            "evaluation": run.eval,
            "probs": probs,
        })
    };
    serde_json::json!({
        "maze": {
            "rewards": task.rewards,
            "shortest_path": task.shortest,
            "uniform_policy": evaluate(task, &uniform(task)),
            "evaluation": variants.iter().zip(maze_runs).map(|(v, runs)| serde_json::json!({
                "estimator": v.estimator,
                "shift": v.shift,
                "per_seed": runs.iter().map(|r| r.eval).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            // The two panels of maze_policy.png; probs: π(up, down, left, right | s).
            "policy_figure": shown_policies(variants, maze_runs).map(shown),
        },
        "gradient_variance": {
            "shifts": variance.shifts,
            "policies": ["uniform", format!("after {} updates", flags.variance_updates)],
            "partly_trained_success_rate": variance.partly_trained_success,
            "mean_over_seeds": variance.mean_over_seeds(),
            "estimators": Estimator::ALL,
            // Var(G_t) / Var(G_t − b), median over seeds, [policy][shift].
            "ratio_median": variance.ratios(),
            // The shift with the smallest mean variance, [policy][estimator].
            "best_constant_shift": variance.best_shifts(),
        },
        "cartpole": {
            "seeds": cartpole_seeds,
            "final_return": final_returns(&cartpole.with),
            "final_return_no_baseline": final_returns(&cartpole.without),
            "steps_to_475": steps_to_target(&cartpole.with),
            "steps_to_475_no_baseline": steps_to_target(&cartpole.without),
            "policy_parameters": cartpole.with.first().map_or(0, |r| r.policy.n_params()),
            // 1 − Var(G − V)/Var(G) before each update's value fit, median over seeds.
            "explained_variance_median": median_per_update(&cartpole.with, |u| u.explained_variance),
        },
    })
}

/// `maze_walk.gif`: a walk of the uniform policy (where training starts) and one of the
/// trained policy with the baseline (unshifted) of the first seed, actions sampled.
pub fn watch_maze(
    dir: &std::path::Path,
    task: &MazeTask,
    variants: &[ShiftedEstimator],
    runs: &[Vec<TabularReinforceRun>],
    seed: u64,
) -> Result<Vec<String>> {
    let v = variants.iter().position(|v| v.estimator == Estimator::Baseline && !v.shifted()).unwrap_or(0);
    let Some(run) = runs.get(v).and_then(|r| r.first()) else { return Ok(vec![]) };
    let caption = "trained REINFORCE (baseline), sampled";
    agent::maze_before_after(dir, task, seed, caption, |&s, rng| run.policy.sample(s, rng))
}

/// With `--save`, saves the CartPole agent with a baseline (policy and value network)
/// of the first seed.
pub fn save_cartpole(chapter: &str, runs: &CartPoleRuns, seeds: &[u64], flags: &AgentFlags) -> Result<()> {
    let (Some(run), Some(&seed)) = (runs.with.first(), seeds.first()) else { return Ok(()) };
    agent::save(
        flags,
        chapter,
        Task::CartPole,
        "REINFORCE with baseline",
        seed,
        &agent::categorical(&run.policy, Some(&run.value)),
    )
}

/// The headline keys the chapter prints.
pub const HEADLINE_KEYS: [&str; 7] = [
    "maze_success_rate",
    "maze_shortest_path_rate",
    "baseline_variance_ratio",
    "baseline_variance_ratio_shifted",
    "cartpole_final_return_median",
    "cartpole_steps_to_475_median",
    "env_steps",
];

/// Prints how the final maze policies of every variant do (mean over seeds).
pub fn print_maze(variants: &[ShiftedEstimator], runs: &[Vec<TabularReinforceRun>]) {
    let updates = runs.first().and_then(|r| r.first()).map_or(0, |r| r.records.len());
    let rows: Vec<Vec<String>> = variants
        .iter()
        .zip(runs)
        .map(|(v, rs)| {
            let mean =
                |f: fn(&PolicyEvaluation) -> f64| stats::mean(&rs.iter().map(|r| f(&r.eval)).collect::<Vec<_>>());
            vec![
                v.estimator.label().to_string(),
                if v.shifted() { format!("{}", v.shift) } else { "0".into() },
                format!("{:.3}", mean(|e| e.success_rate)),
                format!("{:.3}", mean(|e| e.shortest_rate)),
                format!("{:.2}", mean(|e| e.mean_return)),
            ]
        })
        .collect();
    print_table(
        &format!("Maze: final policies after {updates} updates (mean over seeds)"),
        &["Ψ", "shift c", "reach goal", "shortest path", "return"],
        &rows,
    );
}

/// Prints the gradient variance per estimator at c = 0 and c = `shift`.
pub fn print_variance(variance: &VarianceByShift, shift: f64) {
    let mut rows = Vec::new();
    for (p, name) in ["uniform", "partly trained"].iter().enumerate() {
        for c in [0.0, shift] {
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
}

/// Prints CartPole's final returns and steps to the target, per arm.
pub fn print_cartpole(cartpole: &CartPoleRuns, steps: u64) {
    let rows: Vec<Vec<String>> = cartpole
        .arms()
        .iter()
        .map(|(_, name, rs)| {
            let finals = final_returns(rs);
            let median = stats::median_missing_high(&steps_to_target(rs));
            vec![
                name.to_string(),
                finals.iter().map(|f| format!("{f:.0}")).collect::<Vec<_>>().join(" "),
                format!("{:.1}", stats::median(&finals)),
                if median.is_nan() { "not reached".into() } else { format!("{median:.0}") },
            ]
        })
        .collect();
    print_table(
        &format!("CartPole: mean return of the last {LAST_EPISODES} episodes after {steps} steps"),
        &["run", "per seed", "median", "steps to 475 (median)"],
        &rows,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variance_grid_holds_the_chosen_shift_in_order() {
        let grid = variance_shifts(50.0);
        assert_eq!((grid.len(), grid[0], grid[28]), (29, -20.0, 50.0));
        let grid = variance_shifts(3.0);
        assert_eq!(grid.len(), 30);
        assert!(grid.windows(2).all(|w| w[0] < w[1]) && grid.contains(&3.0));
    }

    #[test]
    fn shifted_estimators_name_their_metrics_rows() {
        let keys: Vec<String> = ShiftedEstimator::all(50.0).iter().map(ShiftedEstimator::key).collect();
        assert_eq!(
            keys,
            [
                "maze_return",
                "maze_return_shifted",
                "maze_reward_to_go",
                "maze_reward_to_go_shifted",
                "maze_baseline",
                "maze_baseline_shifted"
            ]
        );
        assert_eq!((plus(50.0), plus(-20.0)), ("+ 50".to_string(), "− 20".to_string()));
    }

    #[test]
    fn config_errors_name_the_flags() {
        use clap::Parser;
        #[derive(Parser)]
        struct Flags {
            #[command(flatten)]
            cartpole: CartPoleFlags,
        }
        let flags = Flags::parse_from(["x", "--cartpole-steps", "100"]).cartpole;
        let e = flags.validate().unwrap_err().to_string();
        assert_eq!(e, "invalid value '100' for --cartpole-steps: must be at least --cartpole-batch");
    }
}
