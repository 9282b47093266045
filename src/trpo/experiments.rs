//! Chapter 3's experiments on CartPole-v1, and what they measure:
//! 1. TRPO itself over several seeds: return curves, and the KL of every update against δ;
//! 2. the step-size lesson: the same plain-gradient direction with a small fixed step,
//!    a large fixed step, a line search on the surrogate, and a trust region, next to
//!    TRPO's natural-gradient step, on the first seeds.

use crate::agent::{self, AgentFlags, Task};
use crate::env::cartpole::CartPole;
use crate::error::{check_range, Result};
use crate::jobs::{self, SharedProgress};
use crate::report::Metrics;
use crate::rollout::{self, check_count, median_reached, Knob, LearningCurve};
use crate::trpo::train::{MAX_ENVS, MAX_STEPS_PER_ENV, MAX_TOTAL_STEPS, MAX_WIDTH};
use crate::trpo::{self, StepRule, TrpoConfig, TrpoRun, TrpoUpdateLog};
use crate::{rng, stats};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// CartPole's target: the mean return of the last [`LAST_EPISODES`] episodes.
pub const TARGET: f64 = 475.0;
pub const LAST_EPISODES: usize = 20;

/// The flags of the step-size experiment.
#[derive(clap::Args, Debug, Clone, Serialize)]
pub struct StepSizeFlags {
    /// Step-size experiment: the small fixed step α [1e-12, 1e6]
    #[arg(long, default_value_t = 0.05)]
    pub small_step: f64,
    /// Step-size experiment: the large fixed step α [1e-12, 1e6]
    #[arg(long, default_value_t = 5.0)]
    pub large_step: f64,
    /// Step-size experiment: the line search tries α₀, 2α₀, …, 256α₀ [1e-12, 1e6]
    #[arg(long, default_value_t = 0.05)]
    pub line_search_start: f64,
    /// Step-size experiment: seeds per rule (the first seeds of the TRPO runs) [1, 100]
    #[arg(long, default_value_t = 3)]
    pub compare_seeds: usize,
}

impl StepSizeFlags {
    /// The rules of the step-size experiment, TRPO last.
    pub fn rules(&self) -> Vec<StepRule> {
        vec![
            StepRule::Fixed(self.small_step),
            StepRule::Fixed(self.large_step),
            StepRule::LineSearch(self.line_search_start),
            StepRule::TrustRegion,
            StepRule::Trpo,
        ]
    }

    /// Checks these flags, then TRPO's settings under every rule.
    pub fn validate(&self, cfg: &TrpoConfig) -> Result<()> {
        check_range("--small-step", self.small_step, 1e-12, 1e6)?;
        check_range("--large-step", self.large_step, 1e-12, 1e6)?;
        check_range("--line-search-start", self.line_search_start, 1e-12, 1e6)?;
        check_count("--compare-seeds", self.compare_seeds as u64, 1, crate::cli::MAX_SEEDS as u64)?;
        self.rules().into_iter().try_for_each(|rule| TrpoConfig { rule, ..cfg.clone() }.validate())
    }
}

/// The most environment steps of all the runs together (about half an hour of one core
/// at the default settings).
pub const MAX_RUN_ENV_STEPS: u64 = 50_000_000;
/// The most estimated work of all the runs together (environment steps × passes over
/// the batch × weights of the policy): about an hour of one laptop core. The default
/// run takes about 3.2e11.
pub const MAX_RUN_WORK: u64 = 20_000_000_000_000;
/// The largest batch × widest layer: one activation of the batch, in f64 values
/// (256 MB at 2^25).
pub const MAX_BATCH_ACTIVATIONS: u64 = 1 << 25;

/// Flags and seed count, for [`check_budget`].
#[derive(Clone)]
struct Budget {
    cfg: TrpoConfig,
    compare_seeds: u64,
    seeds: u64,
}

impl Budget {
    /// TRPO on each seed, and four comparison rules on the first compare seeds.
    fn jobs(&self) -> Option<u64> {
        self.compare_seeds.min(self.seeds).checked_mul(4)?.checked_add(self.seeds)
    }

    fn env_steps(&self) -> Option<u64> {
        self.jobs()?.checked_mul(self.cfg.total_steps)
    }

    /// Weights of the policy (at least the default's 4480: small networks do not make
    /// a step cheaper than that).
    fn weights(&self) -> Option<u64> {
        let sizes: Vec<u64> = [4].iter().chain(&self.cfg.hidden).chain(&[2]).map(|&n| n as u64).collect();
        let w = sizes.windows(2).try_fold(0u64, |acc, p| acc.checked_add(p[0].checked_mul(p[1])?))?;
        Some(w.max(4480))
    }

    /// Passes over the batch per update: acting, the gradient, the Fisher-vector
    /// products of CG (on the subsample), the line search, the value regression.
    fn passes(&self) -> Option<u64> {
        let c = &self.cfg;
        let fvp = (c.cg_iters as u64 + 1).checked_mul(4)?.div_ceil(c.fisher_subsample.max(1) as u64);
        let value = (c.value_epochs as u64).checked_mul(3)?;
        4u64.checked_add(fvp)?.checked_add(c.max_backtracks as u64 + 2)?.checked_add(value)
    }

    fn work(&self) -> Option<u64> {
        self.env_steps()?.checked_mul(self.passes()?)?.checked_mul(self.weights()?)
    }

    fn activations(&self) -> Option<u64> {
        let widest = self.cfg.hidden.iter().copied().max().unwrap_or(0) as u64;
        (self.cfg.n_envs as u64).checked_mul(self.cfg.steps as u64)?.checked_mul(widest.max(4))
    }
}

/// Checks that the chapter's runs, with `n_seeds` seeds (`default_seeds` when --seeds
/// is not given), stay within the machine: the environment steps, the work, and the
/// batch's activations, with checked arithmetic. The error names the flag raised most
/// above its default and the range it may take with the other flags as given.
pub fn check_budget(cfg: &TrpoConfig, flags: &StepSizeFlags, n_seeds: usize, default_seeds: usize) -> Result<()> {
    let defaults = TrpoConfig::default();
    let b = Budget { cfg: cfg.clone(), compare_seeds: flags.compare_seeds as u64, seeds: n_seeds as u64 };
    let seeds = Knob {
        flag: "--seeds",
        value: b.seeds,
        default: default_seeds as u64,
        range: (1, crate::cli::MAX_SEEDS as u64),
        set: |b: &mut Budget, v| b.seeds = v,
    };
    let compare = Knob {
        flag: "--compare-seeds",
        value: b.compare_seeds,
        default: 3,
        range: (1, crate::cli::MAX_SEEDS as u64),
        set: |b: &mut Budget, v| b.compare_seeds = v,
    };
    let total = Knob {
        flag: "--total-steps",
        value: cfg.total_steps,
        default: defaults.total_steps,
        range: (cfg.batch() as u64, MAX_TOTAL_STEPS),
        set: |b: &mut Budget, v| b.cfg.total_steps = v,
    };
    let envs = Knob {
        flag: "--envs",
        value: cfg.n_envs as u64,
        default: defaults.n_envs as u64,
        range: (1, MAX_ENVS),
        set: |b: &mut Budget, v| b.cfg.n_envs = v as usize,
    };
    let steps = Knob {
        flag: "--steps",
        value: cfg.steps as u64,
        default: defaults.steps as u64,
        range: (2, MAX_STEPS_PER_ENV),
        set: |b: &mut Budget, v| b.cfg.steps = v as usize,
    };
    let widest = Knob {
        flag: "--hidden",
        value: cfg.hidden.iter().copied().max().unwrap_or(1) as u64,
        default: 64,
        range: (1, MAX_WIDTH as u64),
        set: |b: &mut Budget, v| b.cfg.hidden.iter_mut().for_each(|h| *h = (*h).min(v as usize)),
    };
    let per_update = |flag, value: usize, default: usize, range, set| Knob {
        flag,
        value: value as u64,
        default: default as u64,
        range,
        set,
    };
    let cg = per_update("--cg-iters", cfg.cg_iters, defaults.cg_iters, (1, 100), |b: &mut Budget, v| {
        b.cfg.cg_iters = v as usize
    });
    let backtracks =
        per_update("--max-backtracks", cfg.max_backtracks, defaults.max_backtracks, (0, 60), |b: &mut Budget, v| {
            b.cfg.max_backtracks = v as usize
        });
    let value_epochs =
        per_update("--value-epochs", cfg.value_epochs, defaults.value_epochs, (1, 100), |b: &mut Budget, v| {
            b.cfg.value_epochs = v as usize
        });
    rollout::check_budget(
        &b,
        &[envs, steps, widest.clone()],
        Budget::activations,
        MAX_BATCH_ACTIVATIONS,
        "batch rows × widest layer",
    )?;
    rollout::check_budget(
        &b,
        &[seeds.clone(), compare.clone(), total.clone()],
        Budget::env_steps,
        MAX_RUN_ENV_STEPS,
        "environment steps over all runs",
    )?;
    rollout::check_budget(
        &b,
        &[seeds, compare, total, widest, cg, backtracks, value_epochs],
        Budget::work,
        MAX_RUN_WORK,
        "units of estimated work (about an hour of one core)",
    )
}

/// Every run of the chapter: TRPO on each seed, then each comparison rule on the first
/// `compare_seeds` seeds (TRPO's own comparison runs are its first runs: same seed,
/// same numbers).
pub struct TrpoExperiments {
    /// (rule, seed) of each run, in the order of `runs`.
    pub jobs: Vec<(StepRule, u64)>,
    pub runs: Vec<TrpoRun>,
    rules: Vec<StepRule>,
    seeds: Vec<u64>,
    compare_seeds: Vec<u64>,
}

impl TrpoExperiments {
    /// Trains every run, in parallel (one thread each), with one progress line.
    pub fn run(cfg: &TrpoConfig, flags: &StepSizeFlags, seeds: &[u64]) -> Result<TrpoExperiments> {
        let rules = flags.rules();
        let compare_seeds = seeds[..flags.compare_seeds.min(seeds.len())].to_vec();
        let mut jobs: Vec<(StepRule, u64)> = seeds.iter().map(|&s| (StepRule::Trpo, s)).collect();
        for &rule in &rules[..rules.len() - 1] {
            jobs.extend(compare_seeds.iter().map(|&s| (rule, s)));
        }
        let progress = SharedProgress::new("CartPole", jobs.len() * cfg.updates());
        let runs = jobs::run(jobs.len(), jobs::cores(), |i| {
            let (rule, seed) = jobs[i];
            let envs = (0..cfg.n_envs).map(|_| CartPole::new()).collect();
            let cfg = TrpoConfig { rule, ..cfg.clone() };
            trpo::train(envs, 2, &cfg, &mut rng::seeded(seed, 30), |_, _| {
                progress.tick(1, || format!("{} runs", jobs.len()))
            })
        })?;
        progress.finish();
        Ok(TrpoExperiments { jobs, runs, rules, seeds: seeds.to_vec(), compare_seeds })
    }

    /// The TRPO run of every seed.
    pub fn trpo(&self) -> Vec<&TrpoRun> {
        self.runs[..self.seeds.len()].iter().collect()
    }

    /// The first seed's TRPO agent, watched before and after training (`cartpole.gif`)
    /// and, with `--save`, saved; returns the GIF's name.
    pub fn watch_and_save(&self, dir: &std::path::Path, chapter: &str, flags: &AgentFlags) -> Result<Vec<String>> {
        let (Some(run), Some(&seed)) = (self.trpo().first().copied(), self.seeds.first()) else { return Ok(vec![]) };
        agent::save(flags, chapter, Task::CartPole, "TRPO", seed, &agent::categorical(&run.policy, Some(&run.value)))?;
        agent::cartpole_before_after(dir, "TRPO", seed, &run.policy)
    }

    /// The runs of each rule of the step-size experiment (TRPO last), on the first seeds.
    pub fn by_rule(&self) -> Vec<(StepRule, Vec<&TrpoRun>)> {
        let of = |rule: StepRule| {
            let mine = self.jobs.iter().zip(&self.runs);
            mine.filter(|((r, s), _)| *r == rule && self.compare_seeds.contains(s)).map(|(_, run)| run).collect()
        };
        self.rules.iter().map(|&rule| (rule, of(rule))).collect()
    }

    /// metrics.csv: every update of every run.
    pub fn metrics(&self) -> Metrics<TrpoMetricsRow> {
        let mut metrics = Metrics::new();
        for ((rule, seed), run) in self.jobs.iter().zip(&self.runs) {
            let steps: Vec<f64> = run.updates.iter().map(|u| u.env_steps as f64).collect();
            let returns = run.trailing_return_on_grid(&steps, LAST_EPISODES);
            for (i, (u, ret)) in run.updates.iter().zip(returns).enumerate() {
                metrics.push(&TrpoMetricsRow {
                    experiment: rule.key(),
                    seed: *seed,
                    update: i + 1,
                    env_steps: u.env_steps,
                    seconds: format!("{:.3}", u.seconds),
                    return_last20: Some(ret).filter(|r| !r.is_nan()),
                    kl: u.kl,
                    surrogate_gain: u.surrogate_gain,
                    backtracks: u.backtracks,
                    accepted: u.accepted,
                    cg_residual: u.cg_residual,
                    cg_relative_residual: u.cg_relative_residual,
                    step_norm: u.step_norm,
                    entropy: u.entropy,
                    value_loss: u.value_loss,
                    explained_variance: u.explained_variance,
                });
            }
        }
        metrics
    }

    /// The headline numbers: medians over the TRPO seeds, and per rule of the step-size
    /// experiment.
    pub fn headline(&self, cfg: &TrpoConfig) -> TrpoHeadline {
        let trpo = self.trpo();
        let reached: Vec<Option<(u64, f64)>> = trpo.iter().map(|r| r.reached(TARGET, LAST_EPISODES)).collect();
        let updates: Vec<&TrpoUpdateLog> = trpo.iter().flat_map(|r| &r.updates).collect();
        let mean_of = |f: fn(&TrpoUpdateLog) -> f64| stats::mean(&updates.iter().map(|u| f(u)).collect::<Vec<_>>());
        let mut step_sizes = BTreeMap::new();
        for (rule, runs) in self.by_rule() {
            step_sizes.insert(format!("{}_final_return_median", rule.key()), stats::median(&final_returns(&runs)));
            step_sizes.insert(format!("{}_max_kl", rule.key()), max_kl(&runs));
            step_sizes.insert(format!("{}_largest_drop", rule.key()), stats::median(&largest_drops(&runs)));
        }
        TrpoHeadline {
            cartpole_final_return_median: stats::median(&final_returns(&trpo)),
            max_kl: max_kl(&trpo),
            delta: cfg.delta,
            steps_to_475_median: median_reached(&steps_to(&reached)),
            seconds_to_475_median: median_reached(&seconds_to(&reached)),
            env_steps_per_s: stats::median(&steps_per_s(&trpo)),
            seeds_reaching_475: reached.iter().filter(|r| r.is_some()).count(),
            env_steps: cfg.updates() * cfg.batch(),
            mean_backtracks: mean_of(|u| u.backtracks as f64),
            rejected_updates: updates.iter().filter(|u| !u.accepted).count(),
            mean_cg_residual: mean_of(|u| u.cg_residual.unwrap_or(f64::NAN)),
            step_sizes,
        }
    }

    /// summary.json's details: per seed, and per rule.
    pub fn details(&self) -> serde_json::Value {
        let trpo = self.trpo();
        let reached: Vec<Option<(u64, f64)>> = trpo.iter().map(|r| r.reached(TARGET, LAST_EPISODES)).collect();
        let updates: Vec<&TrpoUpdateLog> = trpo.iter().flat_map(|r| &r.updates).collect();
        let relative: Vec<f64> = updates.iter().filter_map(|u| u.cg_relative_residual).collect();
        let kls: Vec<f64> = updates.iter().map(|u| u.kl).collect();
        serde_json::json!({
            "trpo": {
                "seeds": self.seeds,
                "final_return": final_returns(&trpo),
                "steps_to_475": steps_to(&reached),
                "seconds_to_475": seconds_to(&reached),
                "env_steps_per_s": steps_per_s(&trpo),
                "max_kl": trpo.iter().map(|r| r.max_kl()).collect::<Vec<_>>(),
                "policy_parameters": trpo.first().map_or(0, |r| r.policy.n_params()),
                "updates": updates.len(),
                "kl_p05": quantile(&kls, 0.05),
                "kl_median": stats::median(&kls),
                "cg_relative_residual_median": stats::median(&relative),
                "cg_relative_residual_p05": quantile(&relative, 0.05),
                "cg_relative_residual_p95": quantile(&relative, 0.95),
            },
            "step_sizes": self.by_rule().iter().map(|(rule, runs)| serde_json::json!({
                "rule": rule.key(),
                "label": rule.label(),
                "final_return": final_returns(runs),
                "max_kl": runs.iter().map(|r| r.max_kl()).collect::<Vec<_>>(),
                "largest_drop": largest_drops(runs),
                "lowest_return": lowest_returns(runs),
            })).collect::<Vec<_>>(),
        })
    }
}

crate::metrics_row! {
    /// A row of chapter 3's metrics.csv: one update of one run.
    pub struct TrpoMetricsRow {
        pub experiment: String,
        pub seed: u64,
        pub update: usize,
        pub env_steps: u64,
        pub seconds: String,
        /// Mean return of the last 20 episodes finished by then (empty before 20).
        pub return_last20: Option<f64>,
        pub kl: f64,
        pub surrogate_gain: f64,
        pub backtracks: usize,
        pub accepted: bool,
        /// Empty for the rules without conjugate gradient.
        pub cg_residual: Option<f64>,
        /// cg_residual / ‖g‖ (empty for the rules without conjugate gradient).
        pub cg_relative_residual: Option<f64>,
        pub step_norm: f64,
        pub entropy: f64,
        pub value_loss: f64,
        pub explained_variance: f64,
    }
}

/// Chapter 3's headline in summary.json (medians over seeds; None: not reached).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrpoHeadline {
    pub cartpole_final_return_median: f64,
    pub max_kl: f64,
    pub delta: f64,
    pub steps_to_475_median: Option<f64>,
    pub seconds_to_475_median: Option<f64>,
    pub env_steps_per_s: f64,
    pub seeds_reaching_475: usize,
    pub env_steps: usize,
    pub mean_backtracks: f64,
    pub rejected_updates: usize,
    pub mean_cg_residual: f64,
    /// Per rule of the step-size experiment (its key, e.g. `fixed_5`):
    /// `<rule>_final_return_median`, `<rule>_max_kl` and `<rule>_largest_drop`.
    #[serde(flatten)]
    pub step_sizes: BTreeMap<String, f64>,
}

/// Mean return of the last 20 episodes of each run.
pub fn final_returns(runs: &[&TrpoRun]) -> Vec<f64> {
    runs.iter().map(|r| r.final_return(LAST_EPISODES)).collect()
}

/// The largest KL of any update of any of the runs.
pub fn max_kl(runs: &[&TrpoRun]) -> f64 {
    runs.iter().map(|r| r.max_kl()).fold(0.0, f64::max)
}

/// Per run: the largest fall of the 20-episode mean return from its best value so far,
/// measured at every update: how badly a step broke a good policy.
pub fn largest_drops(runs: &[&TrpoRun]) -> Vec<f64> {
    runs.iter()
        .map(|r| {
            let grid: Vec<f64> = r.updates.iter().map(|u| u.env_steps as f64).collect();
            let mut best = f64::NEG_INFINITY;
            let mut drop = 0.0f64;
            for v in r.trailing_return_on_grid(&grid, LAST_EPISODES).into_iter().filter(|v| v.is_finite()) {
                best = best.max(v);
                drop = drop.max(best - v);
            }
            drop
        })
        .collect()
}

/// Per run: the lowest 20-episode mean return, measured at every update.
pub fn lowest_returns(runs: &[&TrpoRun]) -> Vec<f64> {
    runs.iter()
        .map(|r| {
            let grid: Vec<f64> = r.updates.iter().map(|u| u.env_steps as f64).collect();
            let curve = r.trailing_return_on_grid(&grid, LAST_EPISODES);
            curve.into_iter().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min)
        })
        .collect()
}

/// The q-quantile of `xs` (nearest rank on the sorted values; NaN when empty).
fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n => sorted[((q * (n - 1) as f64).round() as usize).min(n - 1)],
    }
}

fn steps_to(reached: &[Option<(u64, f64)>]) -> Vec<f64> {
    reached.iter().map(|r| r.map_or(f64::NAN, |(s, _)| s as f64)).collect()
}

fn seconds_to(reached: &[Option<(u64, f64)>]) -> Vec<f64> {
    reached.iter().map(|r| r.map_or(f64::NAN, |(_, t)| t)).collect()
}

fn steps_per_s(runs: &[&TrpoRun]) -> Vec<f64> {
    runs.iter().map(|r| r.env_steps as f64 / r.seconds).collect()
}
