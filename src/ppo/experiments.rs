//! Chapter 4's experiments, every training run in parallel threads with one intra-op
//! thread each:
//! 1. CartPole-v1 with PPO-clip and the tuned settings ([`PpoConfig`]'s defaults), over
//!    several seeds, with a deterministic evaluation, steps and seconds to a
//!    last-10-episode mean of 475;
//! 2. PPO-clip against PPO-KL (adaptive β), the unclipped surrogate with PPO's epochs
//!    (the control) and plain policy gradient, same budget;
//! 3. a λ sweep, and the bias and variance of the λ-return of a fixed policy measured
//!    against Monte Carlo ([`super::bias_variance`]);
//! 4. Pendulum-v1 with a Gaussian policy.

use super::bias_variance::{lambda_return_bias_variance, LambdaStats};
use super::{Actor, Categorical, Gaussian, Objective, PpoConfig, PpoRun, PpoUpdateLog};
use crate::agent::{self, AgentFlags, Task};
use crate::cli::MAX_SEEDS;
use crate::env::cartpole::CartPole;
use crate::env::pendulum::Pendulum;
use crate::env::Env;
use crate::error::{check_range, Error, Result};
use crate::jobs::{self, SharedProgress};
use crate::nn::candle_error;
use crate::nn::saved::Agent;
use crate::ppo::train::{FlagNames, MAX_ENVS, MAX_EPOCHS, MAX_STEPS_PER_ENV, MAX_TOTAL_STEPS, MAX_WIDTH};
use crate::report::Metrics;
use crate::rollout::{self, check_count, median_reached, EpisodeLog, Knob, LearningCurve, UpdateHistory};
use crate::{ppo, rng, stats};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// CartPole's target: a mean return of 475 over the last 10 episodes.
pub const TARGET: f64 = 475.0;
pub const CARTPOLE_LAST: usize = 10;
/// Pendulum's target: a mean return of −250 over the last 20 episodes.
pub const PENDULUM_TARGET: f64 = -250.0;
pub const PENDULUM_LAST: usize = 20;
/// The Python reference: Stable-Baselines3's PPO with the same settings on one thread, as
/// measured once on the machine of the committed run (constants; this run does not measure them).
pub const PYTHON_STEPS_TO_475: f64 = 21_000.0;
pub const PYTHON_SECONDS_TO_475: f64 = 9.0;
pub const PYTHON_STEPS_PER_S: f64 = 2_500.0;

/// Chapter 4's flags: PPO's (the CartPole runs), the evaluation's, the λ experiments'
/// and Pendulum's.
#[derive(clap::Args, Debug, Clone, Serialize)]
pub struct PpoExperimentFlags {
    #[command(flatten)]
    #[serde(flatten)]
    pub cartpole: PpoConfig,
    /// Episodes of the deterministic evaluation after training [1, 1000]
    #[arg(long, default_value_t = 20)]
    pub eval_episodes: usize,
    /// The λ values of the sweep [1 to 20 values, each in [0, 1]]
    #[arg(long, value_delimiter = ',', default_value = "0,0.5,0.8,0.95,1")]
    pub lambdas: Vec<f64>,
    /// CartPole: environment steps per run of the λ sweep [n-envs × n-steps, 10000000]
    #[arg(long, default_value_t = 50_000)]
    pub lambda_steps: u64,
    /// Seeds of the λ sweep and of the bias/variance measurement (the first of --seeds) [1, 100]
    #[arg(long, default_value_t = 3)]
    pub lambda_seeds: usize,
    /// Bias/variance: environment steps of PPO-clip that make the fixed policy and critic [n-envs × n-steps, 10000000]
    #[arg(long, default_value_t = 10_240)]
    pub snapshot_steps: u64,
    /// Bias/variance: states (with their first action) the estimates start from [1, 1000]
    #[arg(long, default_value_t = 16)]
    pub probes: usize,
    /// Bias/variance: continuations per probe for the λ-return estimates [2, 10000]
    #[arg(long, default_value_t = 64)]
    pub probe_runs: usize,
    /// Bias/variance: independent Monte Carlo continuations per probe for the truth Q(s, a) [1, 10000]
    #[arg(long, default_value_t = 192)]
    pub truth_runs: usize,
    /// Bias/variance: time limit of a continuation (far beyond the horizon 1/(1 − γ)) [1, 10000]
    #[arg(long, default_value_t = 400)]
    pub probe_horizon: usize,
    #[command(flatten)]
    #[serde(flatten)]
    pub pendulum: PendulumFlags,
}

/// The Pendulum run's flags; the rest of its settings are the CartPole runs'.
#[derive(clap::Args, Debug, Clone, Serialize)]
pub struct PendulumFlags {
    /// Pendulum: number of seeds (the first of --seeds) [1, 100]
    #[arg(long, default_value_t = 3)]
    pub pendulum_seeds: usize,
    /// Pendulum: environment steps per run [pendulum-n-envs × pendulum-n-steps, 10000000]
    #[arg(long, default_value_t = 100_000)]
    pub pendulum_steps: u64,
    /// Pendulum: environment copies [1, 1024]
    #[arg(long, default_value_t = 4)]
    pub pendulum_n_envs: usize,
    /// Pendulum: steps per copy per update; a batch has at most 1048576 rows [1, 65536]
    #[arg(long, default_value_t = 1024)]
    pub pendulum_n_steps: usize,
    /// Pendulum: rows per gradient step [1, 1048576]
    #[arg(long, default_value_t = 64)]
    pub pendulum_minibatch: usize,
    /// Pendulum: passes over each batch [1, 100]
    #[arg(long, default_value_t = 10)]
    pub pendulum_epochs: usize,
    /// Pendulum: discount γ [0, 1]
    #[arg(long, default_value_t = 0.9)]
    pub pendulum_gamma: f64,
    /// Pendulum: GAE's λ [0, 1]
    #[arg(long, default_value_t = 0.95)]
    pub pendulum_lambda: f64,
    /// Pendulum: Adam learning rate (at the start) (0, 1]
    #[arg(long, default_value_t = 1e-3)]
    pub pendulum_lr: f64,
    /// Pendulum: the clip range ε (constant) (0, 1)
    #[arg(long, default_value_t = 0.2)]
    pub pendulum_clip_range: f64,
    /// Pendulum: the starting log σ of the Gaussian policy (σ = 1 N·m at 0) [-5, 2]
    #[arg(long, default_value_t = 0.0)]
    pub pendulum_log_std: f64,
}

impl PendulumFlags {
    /// Checks these flags, naming them.
    fn validate(&self) -> Result<()> {
        check_count("--pendulum-seeds", self.pendulum_seeds as u64, 1, MAX_SEEDS as u64)?;
        check_range("--pendulum-log-std", self.pendulum_log_std, -5.0, 2.0)
        // The rest: PpoExperimentFlags::validate, through pendulum_config().
    }
}

impl PpoExperimentFlags {
    /// The CartPole settings of one objective and λ. Plain policy gradient takes one
    /// step per batch (one epoch of one minibatch), where the ratio is exactly 1.
    pub fn cartpole_config(&self, objective: Objective, lambda: f64) -> PpoConfig {
        let (epochs, minibatch) = match objective {
            Objective::Vanilla => (1, self.cartpole.batch_size()),
            _ => (self.cartpole.epochs, self.cartpole.minibatch),
        };
        PpoConfig { objective, lambda, epochs, minibatch, ..self.cartpole.clone() }
    }

    /// The settings of a job's training run.
    pub fn job_config(&self, job: &PpoJob) -> PpoConfig {
        match *job {
            PpoJob::CartPole { objective, lambda, sweep: false, .. } => self.cartpole_config(objective, lambda),
            PpoJob::CartPole { objective, lambda, sweep: true, .. } => {
                PpoConfig { total_steps: self.lambda_steps, ..self.cartpole_config(objective, lambda) }
            }
            PpoJob::Pendulum { .. } => self.pendulum_config(),
            PpoJob::BiasVariance { .. } => self.snapshot_config(),
        }
    }

    /// The fixed policy of the bias/variance measurement: PPO-clip at λ, trained for
    /// `snapshot_steps` at the full learning rate (as early in the main runs).
    fn snapshot_config(&self) -> PpoConfig {
        PpoConfig {
            total_steps: self.snapshot_steps,
            anneal_lr: false,
            anneal_clip: false,
            ..self.cartpole_config(Objective::Clip, self.cartpole.lambda)
        }
    }

    /// Pendulum's settings: its own flags, the rest as on CartPole, ε constant.
    pub fn pendulum_config(&self) -> PpoConfig {
        let p = &self.pendulum;
        PpoConfig {
            n_envs: p.pendulum_n_envs,
            n_steps: p.pendulum_n_steps,
            minibatch: p.pendulum_minibatch,
            epochs: p.pendulum_epochs,
            total_steps: p.pendulum_steps,
            gamma: p.pendulum_gamma,
            lambda: p.pendulum_lambda,
            lr: p.pendulum_lr,
            clip_range: p.pendulum_clip_range,
            anneal_clip: false,
            ..self.cartpole_config(Objective::Clip, p.pendulum_lambda)
        }
    }

    /// Checks every flag; an error names the flag, its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        for objective in OBJECTIVES {
            self.cartpole_config(objective, self.cartpole.lambda).validate()?;
        }
        if self.lambdas.is_empty() || self.lambdas.len() > 20 {
            return Err(Error::invalid("--lambdas", format!("{:?}", self.lambdas), "give one to twenty values"));
        }
        for &l in &self.lambdas {
            check_range("--lambdas", l, 0.0, 1.0)?;
        }
        check_count("--lambda-seeds", self.lambda_seeds as u64, 1, MAX_SEEDS as u64)?;
        // The CartPole settings are valid: these runs differ from them in their budget only.
        let batch = self.cartpole.batch_size() as u64;
        for (flag, steps) in [("--lambda-steps", self.lambda_steps), ("--snapshot-steps", self.snapshot_steps)] {
            if !(batch..=MAX_TOTAL_STEPS).contains(&steps) {
                let (envs, steps) = (self.cartpole.n_envs, self.cartpole.n_steps);
                let why = format!(
                    "must lie in [{batch}, {MAX_TOTAL_STEPS}]: at least one batch, --n-envs {envs} × --n-steps {steps} = {batch}"
                );
                return Err(Error::invalid(flag, steps, &why));
            }
        }
        check_count("--eval-episodes", self.eval_episodes as u64, 1, 1000)?;
        check_count("--probes", self.probes as u64, 1, 1000)?;
        check_count("--probe-runs", self.probe_runs as u64, 2, 10_000)?;
        check_count("--truth-runs", self.truth_runs as u64, 1, 10_000)?;
        check_count("--probe-horizon", self.probe_horizon as u64, 1, 10_000)?;
        self.pendulum.validate()?;
        self.pendulum_config().validate_named(&FlagNames::PENDULUM)
    }
}

/// The most environment steps of all the runs together, training and evaluation
/// (the default run makes about 3.4 million).
pub const MAX_RUN_ENV_STEPS: u64 = 50_000_000;
/// The most estimated work of all the training runs together (environment steps ×
/// (epochs + 1) × weights of the policy): about an hour and a half of one laptop core.
/// The default run takes about 2.3e11.
pub const MAX_RUN_WORK: u64 = 4_000_000_000_000;
/// The most steps of the bias/variance continuations (probes × runs × horizon × seeds).
pub const MAX_PROBE_STEPS: u64 = 200_000_000;
/// The largest batch × widest layer: one activation of a batch (2^25 values).
pub const MAX_BATCH_ACTIVATIONS: u64 = 1 << 25;

/// Flags and seed count, for [`check_budget`].
#[derive(Clone)]
struct Budget {
    flags: PpoExperimentFlags,
    seeds: u64,
}

impl Budget {
    /// (environment steps, epochs, episodes' length limit) of every training run.
    fn runs(&self) -> Vec<(u64, u64, u64, u64)> {
        let f = &self.flags;
        let of = |cfg: PpoConfig, limit: u64, runs: u64| (cfg.total_steps, cfg.epochs as u64, limit, runs);
        let lambda_seeds = (f.lambda_seeds as u64).min(self.seeds);
        vec![
            of(f.cartpole_config(Objective::Clip, f.cartpole.lambda), 500, self.seeds),
            of(f.cartpole_config(Objective::KlPenalty, f.cartpole.lambda), 500, self.seeds),
            of(f.cartpole_config(Objective::Unclipped, f.cartpole.lambda), 500, self.seeds),
            of(f.cartpole_config(Objective::Vanilla, f.cartpole.lambda), 500, self.seeds),
            of(f.pendulum_config(), 200, (f.pendulum.pendulum_seeds as u64).min(self.seeds)),
            (f.lambda_steps, f.cartpole.epochs as u64, 500, lambda_seeds.saturating_mul(f.lambdas.len() as u64)),
            (f.snapshot_steps, f.cartpole.epochs as u64, 0, lambda_seeds),
        ]
    }

    /// Training and evaluation steps of every run.
    fn env_steps(&self) -> Option<u64> {
        let eval = self.flags.eval_episodes as u64;
        self.runs().iter().try_fold(0u64, |acc, &(steps, _, limit, runs)| {
            acc.checked_add(steps.checked_add(eval.checked_mul(limit)?)?.checked_mul(runs)?)
        })
    }

    /// Weights of the policy (at least the default's 4480: small networks do not make
    /// a step cheaper than that).
    fn weights(&self) -> Option<u64> {
        let sizes: Vec<u64> = [4].iter().chain(&self.flags.cartpole.hidden).chain(&[2]).map(|&n| n as u64).collect();
        let w = sizes.windows(2).try_fold(0u64, |acc, p| acc.checked_add(p[0].checked_mul(p[1])?))?;
        Some(w.max(4480))
    }

    fn work(&self) -> Option<u64> {
        let per_weight = self.runs().iter().try_fold(0u64, |acc, &(steps, epochs, _, runs)| {
            acc.checked_add(steps.checked_mul(epochs.checked_add(1)?)?.checked_mul(runs)?)
        })?;
        per_weight.checked_mul(self.weights()?)
    }

    /// Steps of the continuations of the bias/variance measurement, counting a GAE pass
    /// per λ as a step.
    fn probe_steps(&self) -> Option<u64> {
        let f = &self.flags;
        let per_probe =
            (f.probe_runs as u64).checked_mul(f.lambdas.len() as u64 + 1)?.checked_add(f.truth_runs as u64)?;
        (f.lambda_seeds as u64)
            .min(self.seeds)
            .checked_mul(f.probes as u64)?
            .checked_mul(per_probe)?
            .checked_mul(f.probe_horizon as u64)
    }

    fn activations(&self) -> Option<u64> {
        let widest = self.flags.cartpole.hidden.iter().copied().max().unwrap_or(0).max(4) as u64;
        let batch = |envs: usize, steps: usize| (envs as u64).checked_mul(steps as u64)?.checked_mul(widest);
        let p = &self.flags.pendulum;
        Some(
            batch(self.flags.cartpole.n_envs, self.flags.cartpole.n_steps)?
                .max(batch(p.pendulum_n_envs, p.pendulum_n_steps)?),
        )
    }
}

/// Checks that the chapter's runs, with `n_seeds` seeds (`default_seeds` when --seeds
/// is not given), stay within the machine: environment steps, work, the bias/variance
/// continuations and a batch's activations, with checked arithmetic. The error names
/// the flag raised most above its default and the range it may take with the other
/// flags as given.
pub fn check_budget(flags: &PpoExperimentFlags, n_seeds: usize, default_seeds: usize) -> Result<()> {
    let b = Budget { flags: flags.clone(), seeds: n_seeds as u64 };
    let d = {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            flags: PpoExperimentFlags,
        }
        <Defaults as clap::Parser>::parse_from([""]).flags
    };
    type Set = fn(&mut Budget, u64);
    let knob = |flag, value: u64, default: u64, range, set: Set| Knob { flag, value, default, range, set };
    let (c, dc, p, dp) = (&flags.cartpole, &d.cartpole, &flags.pendulum, &d.pendulum);
    let widest = |h: &[usize]| h.iter().copied().max().unwrap_or(1) as u64;
    let seeds = knob("--seeds", b.seeds, default_seeds as u64, (1, MAX_SEEDS as u64), |b, v| b.seeds = v);
    let hidden = knob("--hidden", widest(&c.hidden), widest(&dc.hidden), (1, MAX_WIDTH as u64), |b, v| {
        b.flags.cartpole.hidden.iter_mut().for_each(|h| *h = (*h).min(v as usize))
    });
    let n_envs =
        knob("--n-envs", c.n_envs as u64, dc.n_envs as u64, (1, MAX_ENVS), |b, v| b.flags.cartpole.n_envs = v as usize);
    let n_steps = knob("--n-steps", c.n_steps as u64, dc.n_steps as u64, (1, MAX_STEPS_PER_ENV), |b, v| {
        b.flags.cartpole.n_steps = v as usize
    });
    let p_envs =
        knob("--pendulum-n-envs", p.pendulum_n_envs as u64, dp.pendulum_n_envs as u64, (1, MAX_ENVS), |b, v| {
            b.flags.pendulum.pendulum_n_envs = v as usize
        });
    let p_steps = knob(
        "--pendulum-n-steps",
        p.pendulum_n_steps as u64,
        dp.pendulum_n_steps as u64,
        (1, MAX_STEPS_PER_ENV),
        |b, v| b.flags.pendulum.pendulum_n_steps = v as usize,
    );
    let batch = c.batch_size() as u64;
    let steps = knob("--steps", c.total_steps, dc.total_steps, (batch, MAX_TOTAL_STEPS), |b, v| {
        b.flags.cartpole.total_steps = v
    });
    let epochs = knob("--epochs", c.epochs as u64, dc.epochs as u64, (1, MAX_EPOCHS), |b, v| {
        b.flags.cartpole.epochs = v as usize
    });
    let lambda_steps = knob("--lambda-steps", flags.lambda_steps, d.lambda_steps, (batch, MAX_TOTAL_STEPS), |b, v| {
        b.flags.lambda_steps = v
    });
    let snapshot_steps =
        knob("--snapshot-steps", flags.snapshot_steps, d.snapshot_steps, (batch, MAX_TOTAL_STEPS), |b, v| {
            b.flags.snapshot_steps = v
        });
    let lambda_seeds =
        knob("--lambda-seeds", flags.lambda_seeds as u64, d.lambda_seeds as u64, (1, MAX_SEEDS as u64), |b, v| {
            b.flags.lambda_seeds = v as usize
        });
    let lambdas = knob("--lambdas", flags.lambdas.len() as u64, d.lambdas.len() as u64, (1, 20), |b, v| {
        b.flags.lambdas.truncate(v as usize)
    });
    let pendulum_seeds =
        knob("--pendulum-seeds", p.pendulum_seeds as u64, dp.pendulum_seeds as u64, (1, MAX_SEEDS as u64), |b, v| {
            b.flags.pendulum.pendulum_seeds = v as usize
        });
    let p_batch = (p.pendulum_n_envs as u64).saturating_mul(p.pendulum_n_steps as u64);
    let pendulum_steps =
        knob("--pendulum-steps", p.pendulum_steps, dp.pendulum_steps, (p_batch, MAX_TOTAL_STEPS), |b, v| {
            b.flags.pendulum.pendulum_steps = v
        });
    let pendulum_epochs =
        knob("--pendulum-epochs", p.pendulum_epochs as u64, dp.pendulum_epochs as u64, (1, MAX_EPOCHS), |b, v| {
            b.flags.pendulum.pendulum_epochs = v as usize
        });
    let eval = knob("--eval-episodes", flags.eval_episodes as u64, d.eval_episodes as u64, (1, 1000), |b, v| {
        b.flags.eval_episodes = v as usize
    });
    let probes = knob("--probes", flags.probes as u64, d.probes as u64, (1, 1000), |b, v| b.flags.probes = v as usize);
    let probe_runs = knob("--probe-runs", flags.probe_runs as u64, d.probe_runs as u64, (2, 10_000), |b, v| {
        b.flags.probe_runs = v as usize
    });
    let truth_runs = knob("--truth-runs", flags.truth_runs as u64, d.truth_runs as u64, (1, 10_000), |b, v| {
        b.flags.truth_runs = v as usize
    });
    let horizon = knob("--probe-horizon", flags.probe_horizon as u64, d.probe_horizon as u64, (1, 10_000), |b, v| {
        b.flags.probe_horizon = v as usize
    });
    rollout::check_budget(
        &b,
        &[hidden.clone(), n_envs, n_steps, p_envs, p_steps],
        Budget::activations,
        MAX_BATCH_ACTIVATIONS,
        "batch rows × widest layer",
    )?;
    let runs = [
        seeds.clone(),
        steps,
        lambda_steps,
        snapshot_steps,
        lambda_seeds.clone(),
        lambdas.clone(),
        pendulum_seeds,
        pendulum_steps,
    ];
    let mut with_eval = runs.to_vec();
    with_eval.push(eval);
    rollout::check_budget(&b, &with_eval, Budget::env_steps, MAX_RUN_ENV_STEPS, "environment steps over all runs")?;
    let mut with_work = runs.to_vec();
    with_work.extend([epochs, pendulum_epochs, hidden]);
    rollout::check_budget(
        &b,
        &with_work,
        Budget::work,
        MAX_RUN_WORK,
        "units of estimated work (about an hour and a half of one core)",
    )?;
    rollout::check_budget(
        &b,
        &[seeds, lambda_seeds, lambdas, probes, probe_runs, truth_runs, horizon],
        Budget::probe_steps,
        MAX_PROBE_STEPS,
        "steps of the bias/variance continuations",
    )
}

/// One training run of the chapter, on one thread.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PpoJob {
    /// `sweep`: a run of the λ sweep (budget --lambda-steps) rather than of the main comparison.
    CartPole {
        objective: Objective,
        lambda: f64,
        seed: u64,
        sweep: bool,
    },
    Pendulum {
        seed: u64,
    },
    /// Trains the fixed policy of the bias/variance measurement, then measures.
    BiasVariance {
        seed: u64,
    },
}

impl PpoJob {
    /// The job's name in metrics.csv's `experiment` column.
    pub fn key(&self) -> String {
        match self {
            PpoJob::CartPole { objective: Objective::Clip, lambda, sweep: true, .. } => {
                format!("cartpole_lambda_sweep_{lambda}")
            }
            PpoJob::CartPole { objective: Objective::Clip, .. } => "cartpole_clip".into(),
            PpoJob::CartPole { objective: Objective::KlPenalty, .. } => "cartpole_kl".into(),
            PpoJob::CartPole { objective: Objective::Vanilla, .. } => "cartpole_pg".into(),
            PpoJob::CartPole { objective: Objective::Unclipped, .. } => "cartpole_unclipped".into(),
            PpoJob::Pendulum { .. } => "pendulum_clip".into(),
            PpoJob::BiasVariance { .. } => "bias_variance".into(),
        }
    }

    pub fn seed(&self) -> u64 {
        match *self {
            PpoJob::CartPole { seed, .. } | PpoJob::Pendulum { seed } | PpoJob::BiasVariance { seed } => seed,
        }
    }
}

/// What a training run leaves for the report: its logs, its deterministic evaluation,
/// and the trained networks as a saved-agent value (so CartPole and Pendulum runs share
/// a type).
#[derive(Clone, Debug)]
pub struct EvaluatedRun {
    pub episodes: Vec<EpisodeLog>,
    pub updates: Vec<PpoUpdateLog>,
    pub env_steps: u64,
    pub seconds: f64,
    /// Returns of the deterministic evaluation.
    pub eval: Vec<f64>,
    /// The Gaussian policy's final σ (Pendulum only).
    pub final_std: Option<f64>,
    /// The trained policy and critic (to watch, or to save with `--save`).
    pub agent: Box<Agent>,
}

impl EvaluatedRun {
    fn new<A>(run: PpoRun<A>, eval: Vec<f64>, final_std: Option<f64>, agent: Agent) -> EvaluatedRun {
        let (episodes, updates, env_steps, seconds) = (run.episodes, run.updates, run.env_steps, run.seconds);
        EvaluatedRun { episodes, updates, env_steps, seconds, eval, final_std, agent: Box::new(agent) }
    }

    /// Steps to the CartPole target (NaN: not reached).
    pub fn steps_to_target(&self) -> f64 {
        self.steps_to(TARGET, CARTPOLE_LAST).map_or(f64::NAN, |s| s as f64)
    }

    /// Seconds to the CartPole target (NaN: not reached).
    pub fn seconds_to_target(&self) -> f64 {
        self.reached(TARGET, CARTPOLE_LAST).map_or(f64::NAN, |(_, t)| t)
    }

    pub fn steps_per_second(&self) -> f64 {
        self.env_steps as f64 / self.seconds
    }

    pub fn eval_mean(&self) -> f64 {
        stats::mean(&self.eval)
    }
}

impl LearningCurve for EvaluatedRun {
    fn episodes(&self) -> &[EpisodeLog] {
        &self.episodes
    }
}

impl UpdateHistory for EvaluatedRun {
    type Update = PpoUpdateLog;
    fn updates(&self) -> &[PpoUpdateLog] {
        &self.updates
    }
    fn env_steps_at(update: &PpoUpdateLog) -> u64 {
        update.env_steps
    }
}

/// What a job produced.
pub enum PpoJobResult {
    Run(EvaluatedRun),
    BiasVariance(Vec<LambdaStats>),
}

/// Every run of the chapter and what it produced.
pub struct PpoExperiments {
    pub flags: PpoExperimentFlags,
    pub seeds: Vec<u64>,
    pub jobs: Vec<PpoJob>,
    pub results: Vec<PpoJobResult>,
}

impl PpoExperiments {
    /// Runs every job, the most expensive first so that the cores finish together.
    pub fn run(flags: &PpoExperimentFlags, seeds: &[u64]) -> Result<PpoExperiments> {
        let lambda = flags.cartpole.lambda;
        let (lambda_seeds, pendulum_seeds) =
            (&seeds[..flags.lambda_seeds.min(seeds.len())], pendulum_seeds(flags, seeds));
        let mut jobs = Vec::new();
        for objective in [Objective::Clip, Objective::KlPenalty, Objective::Unclipped] {
            jobs.extend(seeds.iter().map(|&seed| PpoJob::CartPole { objective, lambda, seed, sweep: false }));
        }
        jobs.extend(pendulum_seeds.iter().map(|&seed| PpoJob::Pendulum { seed }));
        for &lambda in &flags.lambdas {
            let sweep = |&seed| PpoJob::CartPole { objective: Objective::Clip, lambda, seed, sweep: true };
            jobs.extend(lambda_seeds.iter().map(sweep));
        }
        jobs.extend(lambda_seeds.iter().map(|&seed| PpoJob::BiasVariance { seed }));
        let vanilla = |&seed| PpoJob::CartPole { objective: Objective::Vanilla, lambda, seed, sweep: false };
        jobs.extend(seeds.iter().map(vanilla));

        let total = jobs.iter().map(|j| flags.job_config(j).updates()).sum();
        let progress = SharedProgress::new("PPO", total);
        let tick = |_: usize, _: usize| progress.tick(1, || format!("{} runs", jobs.len()));
        let results = jobs::run(jobs.len(), jobs::cores(), |i| run_job(flags, &jobs[i], tick))?;
        progress.finish();
        Ok(PpoExperiments { flags: flags.clone(), seeds: seeds.to_vec(), jobs, results })
    }

    fn runs(&self, want: impl Fn(&PpoJob) -> bool) -> Vec<&EvaluatedRun> {
        let mine = self.jobs.iter().zip(&self.results).filter(|(j, _)| want(j));
        mine.filter_map(|(_, r)| if let PpoJobResult::Run(r) = r { Some(r) } else { None }).collect()
    }

    /// The main CartPole runs of one objective (one per seed).
    pub fn cartpole(&self, objective: Objective) -> Vec<&EvaluatedRun> {
        let lambda = self.flags.cartpole.lambda;
        self.runs(|j| *j == PpoJob::CartPole { objective, lambda, seed: j.seed(), sweep: false })
    }

    /// The runs of the λ sweep, per λ.
    pub fn sweep(&self) -> Vec<(f64, Vec<&EvaluatedRun>)> {
        let of = |lambda| {
            self.runs(|j| *j == PpoJob::CartPole { objective: Objective::Clip, lambda, seed: j.seed(), sweep: true })
        };
        self.flags.lambdas.iter().map(|&l| (l, of(l))).collect()
    }

    pub fn pendulum(&self) -> Vec<&EvaluatedRun> {
        self.runs(|j| matches!(j, PpoJob::Pendulum { .. }))
    }

    /// The first seed's trained agents, watched (`cartpole.gif`: before and after
    /// training; `pendulum.gif`) and, with `--save`, saved; returns the GIFs' names.
    pub fn watch_and_save(&self, dir: &std::path::Path, chapter: &str, flags: &AgentFlags) -> Result<Vec<String>> {
        let mut figures = Vec::new();
        if let (Some(run), Some(&seed)) = (self.cartpole(Objective::Clip).first(), self.seeds.first()) {
            figures.extend(agent::cartpole_before_after(dir, "PPO", seed, &run.agent.policy)?);
            agent::save(flags, chapter, Task::CartPole, "PPO-clip", seed, &run.agent)?;
        }
        if let (Some(run), Some(&seed)) = (self.pendulum().first(), pendulum_seeds(&self.flags, &self.seeds).first()) {
            figures.extend(agent::pendulum_trained(dir, "PPO", seed, &run.agent)?);
            agent::save(flags, chapter, Task::Pendulum, "PPO-clip", seed, &run.agent)?;
        }
        Ok(figures)
    }

    /// The bias and variance of the λ-returns per λ, one list per seed.
    pub fn bias_variance(&self) -> Vec<&Vec<LambdaStats>> {
        let stats = self.results.iter();
        stats.filter_map(|r| if let PpoJobResult::BiasVariance(s) = r { Some(s) } else { None }).collect()
    }

    /// metrics.csv: every episode and every update of every run.
    pub fn metrics(&self) -> Metrics<PpoMetricsRow> {
        let mut metrics = Metrics::new();
        for (job, result) in self.jobs.iter().zip(&self.results) {
            if let PpoJobResult::Run(r) = result {
                let row = |kind: &str, index: usize, env_steps: u64, seconds: f64| PpoMetricsRow {
                    experiment: job.key(),
                    seed: job.seed(),
                    kind: kind.into(),
                    index,
                    env_steps,
                    seconds,
                    ..Default::default()
                };
                for (i, e) in r.episodes.iter().enumerate() {
                    metrics.push(&PpoMetricsRow {
                        r#return: Some(e.ret),
                        length: Some(e.len),
                        ..row("episode", i + 1, e.env_steps, e.seconds)
                    });
                }
                for (i, u) in r.updates.iter().enumerate() {
                    metrics.push(&PpoMetricsRow {
                        policy_loss: Some(u.policy_loss),
                        value_loss: Some(u.value_loss),
                        entropy: Some(u.entropy),
                        kl_k1: Some(u.kl_k1),
                        kl_k3: Some(u.kl_k3),
                        clip_fraction: Some(u.clip_fraction),
                        explained_variance: Some(u.explained_variance),
                        beta: Some(u.beta).filter(|b| !b.is_nan()),
                        lr: Some(u.lr),
                        clip_range: Some(u.clip_range),
                        grad_norm: Some(u.grad_norm),
                        gradient_steps: Some(u.gradient_steps),
                        ..row("update", i + 1, u.env_steps, u.seconds)
                    });
                }
            }
        }
        metrics
    }

    /// The headline numbers (medians over seeds; None: not reached).
    pub fn headline(&self) -> PpoHeadline {
        let (clip, kl, pg, pendulum) = (
            self.cartpole(Objective::Clip),
            self.cartpole(Objective::KlPenalty),
            self.cartpole(Objective::Vanilla),
            self.pendulum(),
        );
        let unclipped = self.cartpole(Objective::Unclipped);
        let steps_per_s = median(&clip, EvaluatedRun::steps_per_second);
        let seconds_to_475 = median_reached(&per_seed(&clip, EvaluatedRun::seconds_to_target));
        PpoHeadline {
            cartpole_final_return_median: median(&clip, cartpole_final),
            cartpole_eval_return_median: median(&clip, EvaluatedRun::eval_mean),
            steps_to_475_median: median_steps_to(&clip),
            seconds_to_475_median: seconds_to_475,
            env_steps_per_s: steps_per_s,
            pendulum_final_return_median: median(&pendulum, pendulum_final),
            pendulum_eval_return_median: median(&pendulum, EvaluatedRun::eval_mean),
            cartpole_seeds_reaching_475: clip.iter().filter(|r| r.reached(TARGET, CARTPOLE_LAST).is_some()).count(),
            kl_final_return_median: median(&kl, cartpole_final),
            kl_steps_to_475_median: median_steps_to(&kl),
            pg_final_return_median: median(&pg, cartpole_final),
            pg_steps_to_475_median: median_steps_to(&pg),
            unclipped_final_return_median: median(&unclipped, cartpole_final),
            unclipped_steps_to_475_median: median_steps_to(&unclipped),
            speedup_steps_per_s_vs_python: steps_per_s / PYTHON_STEPS_PER_S,
            speedup_seconds_to_475_vs_python: seconds_to_475.map(|s| PYTHON_SECONDS_TO_475 / s),
        }
    }

    /// summary.json's details: per seed, per objective, per λ, and Pendulum.
    pub fn details(&self) -> serde_json::Value {
        let (clip, pendulum) = (self.cartpole(Objective::Clip), self.pendulum());
        let f = &self.flags;
        let objectives: Vec<serde_json::Value> = OBJECTIVES
            .iter()
            .map(|&objective| {
                let runs = self.cartpole(objective);
                let finals = per_seed(&runs, cartpole_final);
                let (best, drop): (Vec<f64>, Vec<f64>) = runs.iter().map(|r| best_and_drop(r)).unzip();
                serde_json::json!({
                    "objective": objective_key(objective),
                    "final_return": finals,
                    "final_return_mean": stats::mean(&finals),
                    "final_return_std": stats::std(&finals),
                    "steps_to_475": per_seed(&runs, EvaluatedRun::steps_to_target),
                    "eval_return": per_seed(&runs, EvaluatedRun::eval_mean),
                    "best_return": best,
                    "largest_drop": drop,
                    "diagnostics": diagnostics(&runs, f.cartpole.total_steps, f.cartpole.target_kl),
                })
            })
            .collect();
        let bias_variance = self.bias_variance();
        serde_json::json!({
            "python_reference": {
                "steps_to_475": PYTHON_STEPS_TO_475,
                "seconds_to_475": PYTHON_SECONDS_TO_475,
                "env_steps_per_s": PYTHON_STEPS_PER_S,
            },
            "cartpole": {
                "config": f.cartpole_config(Objective::Clip, f.cartpole.lambda).record(),
                "seeds": self.seeds,
                "last_episodes": CARTPOLE_LAST,
                "final_return": per_seed(&clip, cartpole_final),
                "eval_return": per_seed(&clip, EvaluatedRun::eval_mean),
                "steps_to_475": per_seed(&clip, EvaluatedRun::steps_to_target),
                "seconds_to_475": per_seed(&clip, EvaluatedRun::seconds_to_target),
                "env_steps_per_s": per_seed(&clip, EvaluatedRun::steps_per_second),
                "run_seconds": per_seed(&clip, |r| r.seconds),
            },
            "objectives": objectives,
            "lambda_sweep": self.sweep().iter().map(|(lambda, runs)| serde_json::json!({
                "lambda": lambda,
                "seeds": &self.seeds[..f.lambda_seeds.min(self.seeds.len())],
                "final_return": per_seed(runs, cartpole_final),
                "steps_to_475": per_seed(runs, EvaluatedRun::steps_to_target),
            })).collect::<Vec<_>>(),
            "lambda_bias_variance": {
                "snapshot_steps": f.snapshot_steps,
                "probes": f.probes,
                "runs_per_probe": f.probe_runs,
                "truth_runs_per_probe": f.truth_runs,
                "per_lambda": f.lambdas.iter().enumerate().map(|(k, &lambda)| {
                    let of = |g: fn(&LambdaStats) -> f64| bias_variance.iter().map(|s| g(&s[k])).collect::<Vec<_>>();
                    serde_json::json!({
                        "lambda": lambda,
                        "bias_sq": of(|s| s.bias_sq),
                        "variance": of(|s| s.variance),
                        "bias_sq_mean": stats::mean(&of(|s| s.bias_sq)),
                        "variance_mean": stats::mean(&of(|s| s.variance)),
                        "mse_mean": stats::mean(&of(|s| s.mse())),
                    })
                }).collect::<Vec<_>>(),
            },
            "pendulum": {
                "config": f.pendulum_config().record(),
                "seeds": pendulum_seeds(f, &self.seeds),
                "last_episodes": PENDULUM_LAST,
                "final_return": per_seed(&pendulum, pendulum_final),
                "eval_return": per_seed(&pendulum, EvaluatedRun::eval_mean),
                "final_std": per_seed(&pendulum, |r| r.final_std.unwrap_or(f64::NAN)),
                "env_steps_per_s": per_seed(&pendulum, EvaluatedRun::steps_per_second),
            },
        })
    }
}

crate::metrics_row! {
    /// A row of chapter 4's metrics.csv: an episode (return, length) or an update (the
    /// diagnostics) of one run; the other kind's columns are empty.
    #[derive(Default)]
    pub struct PpoMetricsRow {
        pub experiment: String,
        pub seed: u64,
        /// "episode" or "update".
        pub kind: String,
        pub index: usize,
        pub env_steps: u64,
        pub seconds: f64,
        pub r#return: Option<f64>,
        pub length: Option<usize>,
        pub policy_loss: Option<f64>,
        pub value_loss: Option<f64>,
        pub entropy: Option<f64>,
        pub kl_k1: Option<f64>,
        pub kl_k3: Option<f64>,
        pub clip_fraction: Option<f64>,
        pub explained_variance: Option<f64>,
        /// PPO-KL's β (empty for the other objectives).
        pub beta: Option<f64>,
        pub lr: Option<f64>,
        pub clip_range: Option<f64>,
        pub grad_norm: Option<f64>,
        /// Minibatch steps the update took (fewer than epochs × minibatches if
        /// --early-stop-kl stopped it).
        pub gradient_steps: Option<usize>,
    }
}

/// Chapter 4's headline in summary.json (medians over seeds; None: not reached).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PpoHeadline {
    pub cartpole_final_return_median: f64,
    pub cartpole_eval_return_median: f64,
    pub steps_to_475_median: Option<f64>,
    pub seconds_to_475_median: Option<f64>,
    pub env_steps_per_s: f64,
    pub pendulum_final_return_median: f64,
    pub pendulum_eval_return_median: f64,
    pub cartpole_seeds_reaching_475: usize,
    pub kl_final_return_median: f64,
    pub kl_steps_to_475_median: Option<f64>,
    pub pg_final_return_median: f64,
    pub pg_steps_to_475_median: Option<f64>,
    /// The control: the unclipped surrogate with PPO's 20 epochs.
    pub unclipped_final_return_median: f64,
    pub unclipped_steps_to_475_median: Option<f64>,
    pub speedup_steps_per_s_vs_python: f64,
    pub speedup_seconds_to_475_vs_python: Option<f64>,
}

/// The seeds of the Pendulum runs: the first `--pendulum-seeds` of the run's.
fn pendulum_seeds<'a>(flags: &PpoExperimentFlags, seeds: &'a [u64]) -> &'a [u64] {
    &seeds[..flags.pendulum.pendulum_seeds.min(seeds.len())]
}

/// Trains (and evaluates, or measures with) one job's run.
fn run_job(flags: &PpoExperimentFlags, job: &PpoJob, tick: impl FnMut(usize, usize)) -> Result<PpoJobResult> {
    let cfg = flags.job_config(job);
    match *job {
        PpoJob::CartPole { seed, .. } => {
            // Every CartPole run of a seed starts from the same weights and states.
            let mut rng = rng::seeded(seed, 1);
            let actor = cartpole_actor(&cfg, &mut rng)?;
            let run = ppo::train(cartpoles(cfg.n_envs), actor, &cfg, &mut rng, tick)?;
            let eval = ppo::evaluate(&mut CartPole::new(), &run.actor, flags.eval_episodes, &mut rng::seeded(seed, 2))?;
            let agent = Agent { policy: run.actor.net.clone(), log_std: None, value: Some(run.critic.clone()) };
            Ok(PpoJobResult::Run(EvaluatedRun::new(run, eval, None, agent)))
        }
        PpoJob::Pendulum { seed } => {
            let mut rng = rng::seeded(seed, 3);
            let c = candle_error("the Gaussian policy");
            let actor =
                Gaussian::new(3, &cfg.hidden, cfg.activation, flags.pendulum.pendulum_log_std, &mut rng).map_err(&c)?;
            let envs = (0..cfg.n_envs).map(|_| Pendulum::new()).collect();
            let run = ppo::train(envs, actor, &cfg, &mut rng, tick)?;
            let eval = ppo::evaluate(&mut Pendulum::new(), &run.actor, flags.eval_episodes, &mut rng::seeded(seed, 4))?;
            let std = run.actor.std().map_err(&c)?;
            let log_std = Some(run.actor.log_std.as_tensor().to_vec1::<f32>().map_err(&c)?);
            let agent = Agent { policy: run.actor.mean.clone(), log_std, value: Some(run.critic.clone()) };
            Ok(PpoJobResult::Run(EvaluatedRun::new(run, eval, Some(std), agent)))
        }
        PpoJob::BiasVariance { seed } => {
            bias_variance_on_cartpole(flags, &cfg, seed, tick).map(PpoJobResult::BiasVariance)
        }
    }
}

fn cartpoles(n: usize) -> Vec<CartPole> {
    (0..n).map(|_| CartPole::new()).collect()
}

fn cartpole_actor<R: rand::Rng + ?Sized>(cfg: &PpoConfig, rng: &mut R) -> Result<Categorical> {
    Categorical::new(4, 2, &cfg.hidden, cfg.activation, rng).map_err(candle_error("the CartPole policy"))
}

/// Trains the fixed policy and critic (`snapshot`), picks probe states among the states
/// it visits, and measures the bias and variance of the λ-returns there.
fn bias_variance_on_cartpole(
    flags: &PpoExperimentFlags,
    snapshot: &PpoConfig,
    seed: u64,
    tick: impl FnMut(usize, usize),
) -> Result<Vec<LambdaStats>> {
    let mut rng = rng::seeded(seed, 5);
    let actor = cartpole_actor(snapshot, &mut rng)?;
    let run = ppo::train(cartpoles(snapshot.n_envs), actor, snapshot, &mut rng, tick)?;
    // States the fixed policy visits: run it and keep every state with the action taken.
    let plain = run.actor.plain().map_err(candle_error("the CartPole policy"))?;
    let mut visited = Vec::new();
    let mut env = CartPole::new();
    while visited.len() < 20 * flags.probes {
        let mut obs = env.reset(&mut rng);
        loop {
            let (action, _) = Categorical::sample(&plain, &obs, &mut rng);
            visited.push((env.state(), obs, action));
            let out = env.step(action);
            if out.done() {
                break;
            }
            obs = out.obs;
        }
    }
    visited.shuffle(&mut rng);
    let probes: Vec<(CartPole, Vec<f32>, usize)> = visited[..flags.probes]
        .iter()
        .map(|(state, obs, action)| {
            let mut env = CartPole::with_max_steps(flags.probe_horizon);
            env.set_state(*state);
            (env, obs.to_vec(), *action)
        })
        .collect();
    let gamma = flags.cartpole.gamma;
    lambda_return_bias_variance(
        &probes,
        &run.actor,
        &run.critic,
        gamma,
        &flags.lambdas,
        flags.probe_runs,
        flags.truth_runs,
        &mut rng,
    )
}

/// The CartPole objectives of the comparison, in the order of summary.json's details.
pub const OBJECTIVES: [Objective; 4] =
    [Objective::Clip, Objective::KlPenalty, Objective::Vanilla, Objective::Unclipped];

/// An objective's name in summary.json's details.
pub fn objective_key(objective: Objective) -> &'static str {
    match objective {
        Objective::Clip => "ppo_clip",
        Objective::KlPenalty => "ppo_kl",
        Objective::Vanilla => "policy_gradient",
        Objective::Unclipped => "unclipped",
    }
}

/// The best last-10-episode mean return a run reached, measured after every update, and
/// the largest fall from a best so far: how badly an update broke a good policy.
pub fn best_and_drop(run: &EvaluatedRun) -> (f64, f64) {
    let grid: Vec<f64> = run.updates.iter().map(|u| u.env_steps as f64).collect();
    let (mut best, mut drop) = (f64::NEG_INFINITY, 0.0f64);
    for v in run.trailing_return_on_grid(&grid, CARTPOLE_LAST).into_iter().filter(|v| v.is_finite()) {
        best = best.max(v);
        drop = drop.max(best - v);
    }
    (best, drop)
}

/// The numbers the lesson reads off the diagnostics figure, over the updates of all
/// seeds: per quarter of the budget (`by_quarter`: four values, the first for the
/// updates up to a quarter of the steps) or over the whole run. `target`: PPO-KL's
/// d_targ, for the shares of updates outside its range.
pub fn diagnostics(runs: &[&EvaluatedRun], total_steps: u64, target: f64) -> serde_json::Value {
    let all: Vec<&PpoUpdateLog> = runs.iter().flat_map(|r| &r.updates).collect();
    let quarter_of = |u: &PpoUpdateLog| ((4 * u.env_steps.saturating_sub(1)) / total_steps.max(1)).min(3) as usize;
    let of = |us: &[&PpoUpdateLog], f: fn(&PpoUpdateLog) -> f64| us.iter().map(|u| f(u)).collect::<Vec<_>>();
    let quarters: Vec<Vec<&PpoUpdateLog>> =
        (0..4).map(|q| all.iter().copied().filter(|u| quarter_of(u) == q).collect()).collect();
    let by_quarter = |summary: fn(&[f64]) -> f64, f: fn(&PpoUpdateLog) -> f64| {
        quarters.iter().map(|us| summary(&of(us, f))).collect::<Vec<_>>()
    };
    let share =
        |pred: &dyn Fn(&PpoUpdateLog) -> bool| all.iter().filter(|u| pred(u)).count() as f64 / all.len().max(1) as f64;
    let k1 = by_quarter(stats::mean, |u| u.kl_k1);
    let k3 = by_quarter(stats::mean, |u| u.kl_k3);
    let betas: Vec<f64> = of(&all, |u| u.beta).into_iter().filter(|b| !b.is_nan()).collect();
    let at = |pick: fn(&[PpoUpdateLog]) -> Option<&PpoUpdateLog>, f: fn(&PpoUpdateLog) -> f64| {
        stats::mean(&runs.iter().filter_map(|r| pick(&r.updates).map(f)).collect::<Vec<_>>())
    };
    serde_json::json!({
        "quarter_steps": total_steps as f64 / 4.0,
        "by_quarter": {
            "kl_k1_mean": k1,
            "kl_k3_mean": k3,
            "k1_over_k3": k1.iter().zip(&k3).map(|(a, b)| a / b).collect::<Vec<_>>(),
            "kl_k3_median": by_quarter(stats::median, |u| u.kl_k3),
            "clip_fraction_mean": by_quarter(stats::mean, |u| u.clip_fraction),
            "explained_variance_median": by_quarter(stats::median, |u| u.explained_variance),
            "explained_variance_mean": by_quarter(stats::mean, |u| u.explained_variance),
            "value_loss_median": by_quarter(stats::median, |u| u.value_loss),
            "grad_norm_median": by_quarter(stats::median, |u| u.grad_norm),
            "entropy_mean": by_quarter(stats::mean, |u| u.entropy),
        },
        "kl_k3_max": of(&all, |u| u.kl_k3).into_iter().fold(0.0, f64::max),
        "kl_k3_median": stats::median(&of(&all, |u| u.kl_k3)),
        "k1_negative_share": share(&|u| u.kl_k1 < 0.0),
        "kl_above_1_5_target_share": share(&|u| u.kl_k3 > 1.5 * target),
        "kl_below_target_over_1_5_share": share(&|u| u.kl_k3 < target / 1.5),
        "beta_min": betas.iter().copied().fold(f64::NAN, f64::min),
        "entropy_first": at(|u| u.first(), |u| u.entropy),
        "entropy_last": at(|u| u.last(), |u| u.entropy),
        "explained_variance_first": at(|u| u.first(), |u| u.explained_variance),
        "gradient_steps_mean": stats::mean(&of(&all, |u| u.gradient_steps as f64)),
    })
}

/// Mean return of the last 10 CartPole episodes.
pub fn cartpole_final(run: &EvaluatedRun) -> f64 {
    run.final_return(CARTPOLE_LAST)
}

/// Mean return of the last 20 Pendulum episodes.
pub fn pendulum_final(run: &EvaluatedRun) -> f64 {
    run.final_return(PENDULUM_LAST)
}

/// `f` of each run, in seed order.
pub fn per_seed(runs: &[&EvaluatedRun], f: impl Fn(&EvaluatedRun) -> f64) -> Vec<f64> {
    runs.iter().map(|r| f(r)).collect()
}

fn median(runs: &[&EvaluatedRun], f: impl Fn(&EvaluatedRun) -> f64) -> f64 {
    stats::median(&per_seed(runs, f))
}

/// Steps to the CartPole target, median over seeds (None: at least half never got there).
fn median_steps_to(runs: &[&EvaluatedRun]) -> Option<f64> {
    median_reached(&per_seed(runs, EvaluatedRun::steps_to_target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_defaults_are_the_lessons_and_the_record_names_every_field() {
        let cfg = PpoConfig::default();
        assert_eq!((cfg.n_envs, cfg.n_steps, cfg.epochs, cfg.total_steps), (8, 32, 20, 100_000));
        assert_eq!((cfg.objective, cfg.normalize_advantages, cfg.clip_value), (Objective::Clip, true, None));
        let record = cfg.record();
        assert_eq!(record["total_steps"], 100_000);
        assert_eq!(record["objective"], "clip");
        assert!(record.get("steps").is_none());
        // The flags' record (summary.json's hyperparameters) uses the flag names.
        let flags = serde_json::to_value(&cfg).unwrap();
        assert_eq!(flags["steps"], 100_000);
        assert!(flags.get("objective").is_none() && flags.get("total_steps").is_none());
    }

    #[test]
    fn plain_policy_gradient_takes_one_step_per_batch() {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            ppo: PpoExperimentFlags,
        }
        let flags = <Flags as clap::Parser>::parse_from(["", "--lambda-steps", "5120"]).ppo;
        let pg = flags.cartpole_config(Objective::Vanilla, 0.5);
        assert_eq!((pg.epochs, pg.minibatch, pg.lambda), (1, 256, 0.5));
        let sweep = PpoJob::CartPole { objective: Objective::Clip, lambda: 1.0, seed: 0, sweep: true };
        assert_eq!(flags.job_config(&sweep).total_steps, 5120);
        let pendulum = flags.pendulum_config();
        assert_eq!((pendulum.n_envs, pendulum.gamma, pendulum.anneal_clip), (4, 0.9, false));
        assert!(flags.validate().is_ok());
    }
}
