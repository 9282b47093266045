//! Chapter 4: PPO with GAE.
//!
//! Four experiments, all training runs in parallel threads with one intra-op thread
//! each:
//! 1. CartPole-v1 with PPO-clip and the tuned settings (8 copies × 32 steps, 20 epochs,
//!    γ 0.98, λ 0.8, lr 1e-3 and ε 0.2 annealed), over 5 seeds, with a deterministic
//!    evaluation, steps and seconds to a last-10-episode mean of 475;
//! 2. PPO-clip against PPO-KL (adaptive β) and plain policy gradient, same budget;
//! 3. a λ sweep, and the bias and variance of the λ-return of a fixed policy measured
//!    against Monte Carlo;
//! 4. Pendulum-v1 with a Gaussian policy.
//!
//! The lesson (README.md beside this file) explains every number and figure.

use crate::cli::CommonArgs;
use crate::env::cartpole::CartPole;
use crate::env::pendulum::Pendulum;
use crate::env::Env;
use crate::error::{check_min, check_range, Error, Result};
use crate::nn::{self, Activation};
use crate::plot::{self, Band, CurvePlot};
use crate::ppo::bias_variance::{lambda_return_bias_variance, LambdaStats};
use crate::ppo::{self, Actor, Categorical, Gaussian, Objective, PpoConfig, PpoRun, UpdateLog};
use crate::report::{print_table, Progress, RunDir, Summary, UntypedMetrics};
use crate::rollout::EpisodeLog;
use crate::{rng, stats};
use clap::{ArgAction, Parser};
use rand::seq::SliceRandom;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub const CHAPTER: &str = "ch04-ppo";

/// CartPole's target: a mean return of 475 over the last 10 episodes.
const TARGET: f64 = 475.0;
const CARTPOLE_LAST: usize = 10;
/// Pendulum's target: a mean return of −250 over the last 20 episodes.
const PENDULUM_TARGET: f64 = -250.0;
const PENDULUM_LAST: usize = 20;
/// The Python reference (the same settings, one thread), as the issue quotes it.
const PYTHON_STEPS_TO_475: f64 = 21_000.0;
const PYTHON_SECONDS_TO_475: f64 = 9.0;
const PYTHON_STEPS_PER_S: f64 = 2_500.0;

/// Chapter 4: PPO with GAE (clip and adaptive KL) on CartPole and Pendulum.
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch04-ppo", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    /// CartPole: environment steps per run (the budget of every CartPole curve)
    #[arg(long, default_value_t = 100_000)]
    pub steps: u64,
    /// CartPole: environment copies stepped together (N)
    #[arg(long, default_value_t = 8)]
    pub n_envs: usize,
    /// CartPole: steps per copy per update (T); a batch has N·T rows
    #[arg(long, default_value_t = 32)]
    pub n_steps: usize,
    /// CartPole: rows per gradient step
    #[arg(long, default_value_t = 256)]
    pub minibatch: usize,
    /// CartPole: passes over each batch (K)
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// CartPole: discount γ
    #[arg(long, default_value_t = 0.98)]
    pub gamma: f64,
    /// CartPole: GAE's λ of the main runs
    #[arg(long, default_value_t = 0.8)]
    pub lambda: f64,
    /// CartPole: Adam learning rate (at the start)
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Decay the learning rates linearly to 0 over each run (true/false)
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub anneal_lr: bool,
    /// CartPole: the clip range ε of PPO-clip (at the start)
    #[arg(long, default_value_t = 0.2)]
    pub clip_range: f64,
    /// CartPole: decay ε linearly to 0 over each run (true/false)
    #[arg(long, default_value_t = true, action = ArgAction::Set)]
    pub anneal_clip: bool,
    /// PPO-KL: the KL target d_targ of the adaptive β
    #[arg(long, default_value_t = 0.01)]
    pub target_kl: f64,
    /// PPO-KL: the starting β
    #[arg(long, default_value_t = 1.0)]
    pub init_beta: f64,
    /// Clip the value function's change per update to ± this (default: no clipping)
    #[arg(long)]
    pub clip_value: Option<f64>,
    /// Weight c_V of the value loss
    #[arg(long, default_value_t = 0.5)]
    pub vf_coef: f64,
    /// Weight c_H of the entropy bonus
    #[arg(long, default_value_t = 0.0)]
    pub ent_coef: f64,
    /// Clip the global gradient norm of actor and critic to this
    #[arg(long, default_value_t = 0.5)]
    pub max_grad_norm: f64,
    /// Adam's ε
    #[arg(long, default_value_t = 1e-5)]
    pub adam_eps: f64,
    /// Hidden layer sizes of the actor and of the critic, e.g. 64,64
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    pub hidden: Vec<usize>,
    /// Hidden-layer non-linearity
    #[arg(long, value_enum, default_value_t = Activation::Tanh)]
    pub activation: Activation,
    /// Episodes of the deterministic evaluation after training
    #[arg(long, default_value_t = 20)]
    pub eval_episodes: usize,
    /// The λ values of the sweep
    #[arg(long, value_delimiter = ',', default_value = "0,0.5,0.8,0.95,1")]
    pub lambdas: Vec<f64>,
    /// CartPole: environment steps per run of the λ sweep
    #[arg(long, default_value_t = 50_000)]
    pub lambda_steps: u64,
    /// Seeds of the λ sweep and of the bias/variance measurement (the first of --seeds)
    #[arg(long, default_value_t = 3)]
    pub lambda_seeds: usize,
    /// Bias/variance: environment steps of PPO-clip that make the fixed policy and critic
    #[arg(long, default_value_t = 10_240)]
    pub snapshot_steps: u64,
    /// Bias/variance: states (with their first action) the estimates start from
    #[arg(long, default_value_t = 16)]
    pub probes: usize,
    /// Bias/variance: continuations per probe for the λ-return estimates
    #[arg(long, default_value_t = 64)]
    pub probe_runs: usize,
    /// Bias/variance: independent Monte Carlo continuations per probe for the truth Q(s, a)
    #[arg(long, default_value_t = 192)]
    pub truth_runs: usize,
    /// Bias/variance: time limit of a continuation (far beyond the horizon 1/(1 − γ))
    #[arg(long, default_value_t = 400)]
    pub probe_horizon: usize,
    /// Pendulum: number of seeds (the first of --seeds)
    #[arg(long, default_value_t = 3)]
    pub pendulum_seeds: usize,
    /// Pendulum: environment steps per run
    #[arg(long, default_value_t = 100_000)]
    pub pendulum_steps: u64,
    /// Pendulum: environment copies
    #[arg(long, default_value_t = 4)]
    pub pendulum_n_envs: usize,
    /// Pendulum: steps per copy per update
    #[arg(long, default_value_t = 1024)]
    pub pendulum_n_steps: usize,
    /// Pendulum: rows per gradient step
    #[arg(long, default_value_t = 64)]
    pub pendulum_minibatch: usize,
    /// Pendulum: passes over each batch
    #[arg(long, default_value_t = 10)]
    pub pendulum_epochs: usize,
    /// Pendulum: discount γ
    #[arg(long, default_value_t = 0.9)]
    pub pendulum_gamma: f64,
    /// Pendulum: GAE's λ
    #[arg(long, default_value_t = 0.95)]
    pub pendulum_lambda: f64,
    /// Pendulum: Adam learning rate (at the start)
    #[arg(long, default_value_t = 1e-3)]
    pub pendulum_lr: f64,
    /// Pendulum: the clip range ε (constant)
    #[arg(long, default_value_t = 0.2)]
    pub pendulum_clip_range: f64,
    /// Pendulum: the starting log σ of the Gaussian policy (σ = 1 N·m at 0)
    #[arg(long, default_value_t = 0.0)]
    pub pendulum_log_std: f64,
}

impl Args {
    /// The CartPole settings of one objective and λ. Plain policy gradient takes one
    /// step per batch (one epoch of one minibatch), where the ratio is exactly 1.
    fn cartpole_config(&self, objective: Objective, lambda: f64) -> PpoConfig {
        let (epochs, minibatch) = match objective {
            Objective::Vanilla => (1, self.n_envs * self.n_steps),
            _ => (self.epochs, self.minibatch),
        };
        PpoConfig {
            hidden: self.hidden.clone(),
            activation: self.activation,
            n_envs: self.n_envs,
            n_steps: self.n_steps,
            minibatch,
            epochs,
            total_steps: self.steps,
            gamma: self.gamma,
            lambda,
            objective,
            lr: self.lr,
            anneal_lr: self.anneal_lr,
            adam_eps: self.adam_eps,
            clip_range: self.clip_range,
            anneal_clip: self.anneal_clip,
            target_kl: self.target_kl,
            init_beta: self.init_beta,
            clip_value: self.clip_value,
            vf_coef: self.vf_coef,
            ent_coef: self.ent_coef,
            normalize_advantages: true,
            max_grad_norm: self.max_grad_norm,
        }
    }

    /// A run of the main comparison, or of the λ sweep (with its own budget).
    fn job_config(&self, objective: Objective, lambda: f64, sweep: bool) -> PpoConfig {
        let cfg = self.cartpole_config(objective, lambda);
        if sweep {
            PpoConfig { total_steps: self.lambda_steps, ..cfg }
        } else {
            cfg
        }
    }

    /// The fixed policy of the bias/variance measurement: PPO-clip at λ, trained for
    /// `snapshot_steps` at the full learning rate (as early in the main runs).
    fn snapshot_config(&self) -> PpoConfig {
        PpoConfig {
            total_steps: self.snapshot_steps,
            anneal_lr: false,
            anneal_clip: false,
            ..self.cartpole_config(Objective::Clip, self.lambda)
        }
    }

    fn pendulum_config(&self) -> PpoConfig {
        PpoConfig {
            n_envs: self.pendulum_n_envs,
            n_steps: self.pendulum_n_steps,
            minibatch: self.pendulum_minibatch,
            epochs: self.pendulum_epochs,
            total_steps: self.pendulum_steps,
            gamma: self.pendulum_gamma,
            lambda: self.pendulum_lambda,
            lr: self.pendulum_lr,
            clip_range: self.pendulum_clip_range,
            anneal_clip: false,
            ..self.cartpole_config(Objective::Clip, self.pendulum_lambda)
        }
    }

    fn validate(&self) -> Result<()> {
        for objective in [Objective::Clip, Objective::KlPenalty, Objective::Vanilla] {
            self.cartpole_config(objective, self.lambda).validate()?;
        }
        if self.lambdas.is_empty() || self.lambdas.len() > 20 {
            return Err(Error::invalid("--lambdas", format!("{:?}", self.lambdas), "give one to twenty values"));
        }
        for &l in &self.lambdas {
            check_range("--lambdas", l, 0.0, 1.0)?;
        }
        check_range("--lambda-seeds", self.lambda_seeds as f64, 1.0, 1000.0)?;
        self.job_config(Objective::Clip, self.lambda, true).validate().map_err(|_| {
            Error::invalid(
                "--lambda-steps",
                self.lambda_steps,
                &format!("must be at least one batch, --n-envs × --n-steps = {}", self.n_envs * self.n_steps),
            )
        })?;
        check_range("--eval-episodes", self.eval_episodes as f64, 1.0, 10_000.0)?;
        check_min("--probes", self.probes, 1)?;
        check_min("--probe-runs", self.probe_runs, 2)?;
        check_min("--truth-runs", self.truth_runs, 1)?;
        check_range("--probe-horizon", self.probe_horizon as f64, 1.0, 100_000.0)?;
        self.snapshot_config().validate().map_err(|_| {
            Error::invalid(
                "--snapshot-steps",
                self.snapshot_steps,
                &format!("must be at least one batch, --n-envs × --n-steps = {}", self.n_envs * self.n_steps),
            )
        })?;
        check_range("--pendulum-seeds", self.pendulum_seeds as f64, 1.0, 1000.0)?;
        check_range("--pendulum-log-std", self.pendulum_log_std, -5.0, 2.0)?;
        check_range("--pendulum-n-envs", self.pendulum_n_envs as f64, 1.0, 1024.0)?;
        check_min("--pendulum-n-steps", self.pendulum_n_steps, 1)?;
        check_min("--pendulum-minibatch", self.pendulum_minibatch, 1)?;
        check_range("--pendulum-epochs", self.pendulum_epochs as f64, 1.0, 1000.0)?;
        let batch = self.pendulum_n_envs * self.pendulum_n_steps;
        if self.pendulum_steps < batch as u64 {
            return Err(Error::invalid(
                "--pendulum-steps",
                self.pendulum_steps,
                &format!("must be at least one batch, --pendulum-n-envs × --pendulum-n-steps = {batch}"),
            ));
        }
        check_range("--pendulum-gamma", self.pendulum_gamma, 0.0, 1.0)?;
        check_range("--pendulum-lambda", self.pendulum_lambda, 0.0, 1.0)?;
        check_range("--pendulum-lr", self.pendulum_lr, f64::MIN_POSITIVE, 1.0)?;
        if !(self.pendulum_clip_range > 0.0 && self.pendulum_clip_range < 1.0) {
            return Err(Error::invalid("--pendulum-clip-range", self.pendulum_clip_range, "must be in (0, 1)"));
        }
        self.pendulum_config().validate()
    }
}

/// One training run to do, on one thread.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Job {
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
    BiasVariance {
        seed: u64,
    },
}

/// What a training run leaves for the report.
#[derive(Clone, Debug)]
struct RunResult {
    episodes: Vec<EpisodeLog>,
    updates: Vec<UpdateLog>,
    env_steps: u64,
    seconds: f64,
    /// Returns of the deterministic evaluation.
    eval: Vec<f64>,
    /// The Gaussian policy's final σ (Pendulum only).
    final_std: f64,
}

impl RunResult {
    fn new<A: Actor>(run: PpoRun<A>, eval: Vec<f64>, final_std: f64) -> RunResult {
        RunResult {
            episodes: run.episodes,
            updates: run.updates,
            env_steps: run.env_steps,
            seconds: run.seconds,
            eval,
            final_std,
        }
    }

    fn final_return(&self, k: usize) -> f64 {
        crate::rollout::final_return(&self.episodes, k)
    }

    /// (steps, seconds) to the CartPole target.
    fn reached(&self) -> Option<(u64, f64)> {
        crate::rollout::first_reaching(&self.episodes, TARGET, CARTPOLE_LAST).map(|e| (e.env_steps, e.seconds))
    }

    fn steps_to(&self) -> f64 {
        self.reached().map_or(f64::NAN, |r| r.0 as f64)
    }

    fn seconds_to(&self) -> f64 {
        self.reached().map_or(f64::NAN, |r| r.1)
    }

    fn steps_per_second(&self) -> f64 {
        self.env_steps as f64 / self.seconds
    }
}

enum Outcome {
    Run(RunResult),
    BiasVariance(Vec<LambdaStats>),
}

/// Runs the chapter and writes `<out>/ch04-ppo/`.
pub fn run(mut args: Args) -> Result<Summary> {
    // Before candle starts its thread pools: runs in parallel, one thread each.
    nn::one_thread_per_run();
    crate::llm::tune_allocator();
    let started = Instant::now();
    if args.common.quick {
        args.steps = args.steps.min(10_240);
        args.lambda_steps = args.lambda_steps.min(5_120);
        args.lambda_seeds = args.lambda_seeds.min(1);
        args.snapshot_steps = args.snapshot_steps.min(2_560);
        args.probes = args.probes.min(4);
        args.probe_runs = args.probe_runs.min(16);
        args.truth_runs = args.truth_runs.min(32);
        args.pendulum_seeds = args.pendulum_seeds.min(1);
        args.pendulum_steps = args.pendulum_steps.min(8_192);
        args.eval_episodes = args.eval_episodes.min(5);
    }
    args.validate()?;
    let seeds = args.common.seed_list(if args.common.quick { 2 } else { 5 })?;
    let lambda_seeds = &seeds[..args.lambda_seeds.min(seeds.len())];
    let pendulum_seeds = &seeds[..args.pendulum_seeds.min(seeds.len())];
    let dir = RunDir::create(&args.common.out, CHAPTER)?;
    let mut summary = Summary::new(CHAPTER, &seeds, args.common.quick, &args);

    // Every run, the most expensive first so that the two cores finish together.
    let mut jobs = Vec::new();
    for objective in [Objective::Clip, Objective::KlPenalty] {
        jobs.extend(seeds.iter().map(|&seed| Job::CartPole { objective, lambda: args.lambda, seed, sweep: false }));
    }
    jobs.extend(pendulum_seeds.iter().map(|&seed| Job::Pendulum { seed }));
    for &lambda in &args.lambdas {
        jobs.extend(lambda_seeds.iter().map(|&seed| Job::CartPole {
            objective: Objective::Clip,
            lambda,
            seed,
            sweep: true,
        }));
    }
    jobs.extend(lambda_seeds.iter().map(|&seed| Job::BiasVariance { seed }));
    jobs.extend(seeds.iter().map(|&seed| Job::CartPole {
        objective: Objective::Vanilla,
        lambda: args.lambda,
        seed,
        sweep: false,
    }));

    let outcomes = run_jobs(&args, &jobs)?;
    let find = |want: &dyn Fn(&Job) -> bool| -> Vec<&RunResult> {
        jobs.iter()
            .zip(&outcomes)
            .filter(|(j, _)| want(j))
            .filter_map(|(_, o)| if let Outcome::Run(r) = o { Some(r) } else { None })
            .collect()
    };
    let cartpole = |objective: Objective, lambda: f64, sweep: bool| {
        find(
            &|j: &Job| matches!(j, Job::CartPole { objective: o, lambda: l, sweep: s, .. } if *o == objective && *l == lambda && *s == sweep),
        )
    };
    let clip = cartpole(Objective::Clip, args.lambda, false);
    let kl = cartpole(Objective::KlPenalty, args.lambda, false);
    let pg = cartpole(Objective::Vanilla, args.lambda, false);
    let pendulum = find(&|j: &Job| matches!(j, Job::Pendulum { .. }));
    let sweep: Vec<(f64, Vec<&RunResult>)> =
        args.lambdas.iter().map(|&l| (l, cartpole(Objective::Clip, l, true))).collect();
    let bias_variance: Vec<&Vec<LambdaStats>> =
        outcomes.iter().filter_map(|o| if let Outcome::BiasVariance(s) = o { Some(s) } else { None }).collect();

    // metrics.csv: every episode and every update of every run.
    let mut metrics = UntypedMetrics::new(&[
        "experiment",
        "seed",
        "kind",
        "index",
        "env_steps",
        "seconds",
        "return",
        "length",
        "policy_loss",
        "value_loss",
        "entropy",
        "kl_k1",
        "kl_k3",
        "clip_fraction",
        "explained_variance",
        "beta",
        "lr",
        "clip_range",
        "grad_norm",
    ]);
    for (job, outcome) in jobs.iter().zip(&outcomes) {
        if let Outcome::Run(r) = outcome {
            record(&mut metrics, job, r);
        }
    }

    // Figures.
    let mut figures = Vec::new();
    figures.extend(figure_cartpole(&dir, &args, &clip)?);
    figures.extend(figure_objectives(&dir, &args, &clip, &kl, &pg)?);
    figures.extend(figure_diagnostics(&dir, &args, &clip, &kl, &pg)?);
    figures.extend(figure_lambda_sweep(&dir, &args, &sweep)?);
    figures.extend(figure_bias_variance(&dir, &args, &bias_variance)?);
    figures.extend(figure_pendulum(&dir, &args, &pendulum)?);

    // Headline numbers (medians over seeds).
    let median = |runs: &[&RunResult], f: &dyn Fn(&RunResult) -> f64| {
        stats::median(&runs.iter().map(|r| f(r)).collect::<Vec<_>>())
    };
    let median_missing = |runs: &[&RunResult], f: &dyn Fn(&RunResult) -> f64| {
        stats::median_missing_high(&runs.iter().map(|r| f(r)).collect::<Vec<_>>())
    };
    let final_cartpole = |r: &RunResult| r.final_return(CARTPOLE_LAST);
    let eval_mean = |r: &RunResult| stats::mean(&r.eval);
    let steps_to_475 = median_missing(&clip, &|r| r.steps_to());
    let seconds_to_475 = median_missing(&clip, &|r| r.seconds_to());
    let steps_per_s = median(&clip, &|r| r.steps_per_second());
    summary.headline("cartpole_final_return_median", median(&clip, &final_cartpole));
    summary.headline("cartpole_eval_return_median", median(&clip, &eval_mean));
    summary.headline("steps_to_475_median", steps_to_475);
    summary.headline("seconds_to_475_median", seconds_to_475);
    summary.headline("env_steps_per_s", steps_per_s);
    summary.headline("pendulum_final_return_median", median(&pendulum, &|r| r.final_return(PENDULUM_LAST)));
    summary.headline("pendulum_eval_return_median", median(&pendulum, &eval_mean));
    summary.headline("cartpole_seeds_reaching_475", clip.iter().filter(|r| r.reached().is_some()).count());
    summary.headline("kl_final_return_median", median(&kl, &final_cartpole));
    summary.headline("kl_steps_to_475_median", median_missing(&kl, &|r| r.steps_to()));
    summary.headline("pg_final_return_median", median(&pg, &final_cartpole));
    summary.headline("pg_steps_to_475_median", median_missing(&pg, &|r| r.steps_to()));
    summary.headline("speedup_steps_per_s_vs_python", steps_per_s / PYTHON_STEPS_PER_S);
    summary.headline("speedup_seconds_to_475_vs_python", PYTHON_SECONDS_TO_475 / seconds_to_475);
    let per_seed = |runs: &[&RunResult], f: &dyn Fn(&RunResult) -> f64| runs.iter().map(|r| f(r)).collect::<Vec<_>>();
    let objectives_json: Vec<serde_json::Value> = [("ppo_clip", &clip), ("ppo_kl", &kl), ("policy_gradient", &pg)]
        .iter()
        .map(|(name, runs)| {
            let finals = per_seed(runs, &final_cartpole);
            serde_json::json!({
                "objective": name,
                "final_return": finals,
                "final_return_mean": stats::mean(&finals),
                "final_return_std": stats::std(&finals),
                "steps_to_475": per_seed(runs, &|r| r.steps_to()),
                "eval_return": per_seed(runs, &eval_mean),
            })
        })
        .collect();
    summary.details = serde_json::json!({
        "python_reference": {
            "steps_to_475": PYTHON_STEPS_TO_475,
            "seconds_to_475": PYTHON_SECONDS_TO_475,
            "env_steps_per_s": PYTHON_STEPS_PER_S,
        },
        "cartpole": {
            "config": args.cartpole_config(Objective::Clip, args.lambda),
            "seeds": seeds,
            "last_episodes": CARTPOLE_LAST,
            "final_return": per_seed(&clip, &final_cartpole),
            "eval_return": per_seed(&clip, &eval_mean),
            "steps_to_475": per_seed(&clip, &|r| r.steps_to()),
            "seconds_to_475": per_seed(&clip, &|r| r.seconds_to()),
            "env_steps_per_s": per_seed(&clip, &|r| r.steps_per_second()),
            "run_seconds": per_seed(&clip, &|r| r.seconds),
        },
        "objectives": objectives_json,
        "lambda_sweep": sweep.iter().map(|(lambda, runs)| serde_json::json!({
            "lambda": lambda,
            "seeds": lambda_seeds,
            "final_return": per_seed(runs, &final_cartpole),
            "steps_to_475": per_seed(runs, &|r| r.steps_to()),
        })).collect::<Vec<_>>(),
        "lambda_bias_variance": {
            "snapshot_steps": args.snapshot_steps,
            "probes": args.probes,
            "runs_per_probe": args.probe_runs,
            "truth_runs_per_probe": args.truth_runs,
            "per_lambda": args.lambdas.iter().enumerate().map(|(k, &lambda)| {
                let of = |f: fn(&LambdaStats) -> f64| bias_variance.iter().map(|s| f(&s[k])).collect::<Vec<_>>();
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
            "config": args.pendulum_config(),
            "seeds": pendulum_seeds,
            "last_episodes": PENDULUM_LAST,
            "final_return": per_seed(&pendulum, &|r| r.final_return(PENDULUM_LAST)),
            "eval_return": per_seed(&pendulum, &eval_mean),
            "final_std": per_seed(&pendulum, &|r| r.final_std),
            "env_steps_per_s": per_seed(&pendulum, &|r| r.steps_per_second()),
        },
    });
    summary.figures = figures;
    summary.wall_time_s = started.elapsed().as_secs_f64();
    metrics.write(&dir)?;
    summary.write(&dir)?;

    print_results(
        &args,
        &summary,
        &[("PPO-clip", &clip), ("PPO-KL", &kl), ("policy gradient", &pg)],
        &sweep,
        &bias_variance,
    );
    println!("\nwrote {}", dir.dir.display());
    Ok(summary)
}

// ---------------------------------------------------------------- the runs

/// Updates a job will make (for the progress line).
fn job_updates(args: &Args, job: &Job) -> usize {
    match job {
        Job::CartPole { objective, lambda, sweep, .. } => args.job_config(*objective, *lambda, *sweep).updates(),
        Job::Pendulum { .. } => args.pendulum_config().updates(),
        Job::BiasVariance { .. } => args.snapshot_config().updates(),
    }
}

fn run_jobs(args: &Args, jobs: &[Job]) -> Result<Vec<Outcome>> {
    let total: usize = jobs.iter().map(|j| job_updates(args, j)).sum();
    let done = AtomicUsize::new(0);
    let mut progress = Progress::new("PPO", total);
    let tick = |_: usize, _: usize| {
        done.fetch_add(1, Ordering::SeqCst);
    };
    let outcomes = nn::parallel_runs(
        jobs.len(),
        |i| match jobs[i] {
            Job::CartPole { objective, lambda, seed, sweep } => {
                // Every CartPole run of a seed starts from the same weights and states.
                let mut rng = rng::seeded(seed, 1);
                let cfg = args.job_config(objective, lambda, sweep);
                let actor = cartpole_actor(args, &mut rng)?;
                let envs = (0..cfg.n_envs).map(|_| CartPole::new()).collect();
                let run = ppo::train(envs, actor, &cfg, &mut rng, tick)?;
                let eval =
                    ppo::evaluate(&mut CartPole::new(), &run.actor, args.eval_episodes, &mut rng::seeded(seed, 2))?;
                Ok(Outcome::Run(RunResult::new(run, eval, f64::NAN)))
            }
            Job::Pendulum { seed } => {
                let mut rng = rng::seeded(seed, 3);
                let cfg = args.pendulum_config();
                let actor = Gaussian::new(3, &cfg.hidden, cfg.activation, args.pendulum_log_std, &mut rng)
                    .map_err(nn::candle_error("the Gaussian policy"))?;
                let envs = (0..cfg.n_envs).map(|_| Pendulum::new()).collect();
                let run = ppo::train(envs, actor, &cfg, &mut rng, tick)?;
                let eval =
                    ppo::evaluate(&mut Pendulum::new(), &run.actor, args.eval_episodes, &mut rng::seeded(seed, 4))?;
                let std = run.actor.std().map_err(nn::candle_error("the Gaussian policy"))?;
                Ok(Outcome::Run(RunResult::new(run, eval, std)))
            }
            Job::BiasVariance { seed } => bias_variance_job(args, seed, tick).map(Outcome::BiasVariance),
        },
        || progress.update(done.load(Ordering::SeqCst), || format!("{} runs", jobs.len())),
    )?;
    progress.finish();
    Ok(outcomes)
}

fn cartpole_actor<R: rand::Rng + ?Sized>(args: &Args, rng: &mut R) -> Result<Categorical> {
    Categorical::new(4, 2, &args.hidden, args.activation, rng).map_err(nn::candle_error("the CartPole policy"))
}

/// Trains the fixed policy and critic, picks probe states among the states it visits,
/// and measures the bias and variance of the λ-returns there.
fn bias_variance_job(args: &Args, seed: u64, tick: impl FnMut(usize, usize)) -> Result<Vec<LambdaStats>> {
    let mut rng = rng::seeded(seed, 5);
    let cfg = args.snapshot_config();
    let actor = cartpole_actor(args, &mut rng)?;
    let envs = (0..cfg.n_envs).map(|_| CartPole::new()).collect();
    let run = ppo::train(envs, actor, &cfg, &mut rng, tick)?;
    // States the fixed policy visits: run it and keep every state with the action taken.
    let plain = run.actor.plain().map_err(nn::candle_error("the CartPole policy"))?;
    let mut visited = Vec::new();
    let mut env = CartPole::new();
    while visited.len() < 20 * args.probes {
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
    let probes: Vec<(CartPole, Vec<f32>, usize)> = visited[..args.probes]
        .iter()
        .map(|(state, obs, action)| {
            let mut env = CartPole::with_max_steps(args.probe_horizon);
            env.set_state(*state);
            (env, obs.to_vec(), *action)
        })
        .collect();
    lambda_return_bias_variance(
        &probes,
        &run.actor,
        &run.critic,
        args.gamma,
        &args.lambdas,
        args.probe_runs,
        args.truth_runs,
        &mut rng,
    )
}

fn experiment_key(job: &Job) -> String {
    match job {
        Job::CartPole { objective: Objective::Clip, lambda, sweep: true, .. } => {
            format!("cartpole_lambda_sweep_{lambda}")
        }
        Job::CartPole { objective: Objective::Clip, .. } => "cartpole_clip".into(),
        Job::CartPole { objective: Objective::KlPenalty, .. } => "cartpole_kl".into(),
        Job::CartPole { objective: Objective::Vanilla, .. } => "cartpole_pg".into(),
        Job::Pendulum { .. } => "pendulum_clip".into(),
        Job::BiasVariance { .. } => "bias_variance".into(),
    }
}

fn record(metrics: &mut UntypedMetrics, job: &Job, r: &RunResult) {
    let key = experiment_key(job);
    let seed = match job {
        Job::CartPole { seed, .. } | Job::Pendulum { seed } | Job::BiasVariance { seed } => *seed,
    };
    for (i, e) in r.episodes.iter().enumerate() {
        #[rustfmt::skip]
        metrics.push(&[&key, &seed, &"episode", &(i + 1), &e.env_steps, &e.seconds, &e.ret, &e.len,
            &"", &"", &"", &"", &"", &"", &"", &"", &"", &"", &""]);
    }
    for (i, u) in r.updates.iter().enumerate() {
        let beta: &dyn std::fmt::Display = if u.beta.is_nan() { &"" } else { &u.beta };
        #[rustfmt::skip]
        metrics.push(&[&key, &seed, &"update", &(i + 1), &u.env_steps, &u.seconds, &"", &"",
            &u.policy_loss, &u.value_loss, &u.entropy, &u.kl_k1, &u.kl_k3, &u.clip_fraction,
            &u.explained_variance, beta, &u.lr, &u.clip_range, &u.grad_norm]);
    }
}

// ---------------------------------------------------------------- figures

/// 200 points from 0 to `steps`, the common x axis of the return curves.
fn grid(steps: u64) -> Vec<f64> {
    (1..=200).map(|i| (steps as f64 * i as f64 / 200.0).round()).collect()
}

fn return_band(label: &str, runs: &[&RunResult], grid: &[f64], last: usize) -> Band {
    Band {
        label: label.into(),
        x: grid.to_vec(),
        runs: runs.iter().map(|r| crate::rollout::trailing_return_on_grid(&r.episodes, grid, last)).collect(),
    }
}

fn cartpole_hlines() -> Vec<(f64, String)> {
    vec![(500.0, "maximum (500 steps)".into()), (TARGET, format!("target: {TARGET}"))]
}

fn figure_cartpole(dir: &RunDir, args: &Args, clip: &[&RunResult]) -> Result<Vec<String>> {
    let grid = grid(args.steps);
    let plot = CurvePlot {
        title: format!(
            "CartPole-v1: PPO-clip, {} copies × {} steps, {} epochs, λ = {} (mean ± std over {} seeds)",
            args.n_envs,
            args.n_steps,
            args.epochs,
            args.lambda,
            clip.len()
        ),
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {CARTPOLE_LAST} episodes"),
        bands: vec![return_band("PPO-clip", clip, &grid, CARTPOLE_LAST)],
        hlines: cartpole_hlines(),
        smooth: 1,
        ..Default::default()
    };
    Ok(plot::curves(&dir.path("cartpole_return"), &plot)?)
}

fn figure_objectives(
    dir: &RunDir,
    args: &Args,
    clip: &[&RunResult],
    kl: &[&RunResult],
    pg: &[&RunResult],
) -> Result<Vec<String>> {
    let grid = grid(args.steps);
    let plot = CurvePlot {
        title: format!("CartPole-v1: three objectives, same data budget (mean ± std over {} seeds)", clip.len()),
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {CARTPOLE_LAST} episodes"),
        bands: vec![
            return_band(Objective::Clip.label(), clip, &grid, CARTPOLE_LAST),
            return_band(Objective::KlPenalty.label(), kl, &grid, CARTPOLE_LAST),
            return_band(Objective::Vanilla.label(), pg, &grid, CARTPOLE_LAST),
        ],
        hlines: cartpole_hlines(),
        smooth: 1,
        ..Default::default()
    };
    Ok(plot::curves(&dir.path("cartpole_objectives"), &plot)?)
}

fn update_band(label: &str, runs: &[&RunResult], f: fn(&UpdateLog) -> f64) -> Band {
    Band {
        label: label.into(),
        x: runs.first().map_or(vec![], |r| r.updates.iter().map(|u| u.env_steps as f64).collect()),
        runs: runs.iter().map(|r| r.updates.iter().map(f).collect()).collect(),
    }
}

fn figure_diagnostics(
    dir: &RunDir,
    args: &Args,
    clip: &[&RunResult],
    kl: &[&RunResult],
    pg: &[&RunResult],
) -> Result<Vec<String>> {
    let (c, k, p) = (Objective::Clip.label(), Objective::KlPenalty.label(), Objective::Vanilla.label());
    let panel = |title: &str, y_label: &str, log_y: bool, bands: Vec<Band>, hlines: Vec<(f64, String)>| CurvePlot {
        title: title.into(),
        x_label: "environment steps".into(),
        y_label: y_label.into(),
        log_y,
        bands,
        hlines,
        smooth: 5,
    };
    let t = args.target_kl;
    let panels = vec![
        panel(
            "PPO-clip: KL(π_old ‖ π_new) of each update",
            "KL estimate (nats)",
            false,
            vec![
                update_band("k1 = mean(−log r)", clip, |u| u.kl_k1),
                update_band("k3 = mean(r − 1 − log r)", clip, |u| u.kl_k3),
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
            vec![
                update_band(c, clip, |u| u.entropy),
                update_band(k, kl, |u| u.entropy),
                update_band(p, pg, |u| u.entropy),
            ],
            vec![(std::f64::consts::LN_2, "uniform: ln 2".into())],
        ),
        panel(
            "Explained variance of the critic",
            "1 − Var(R − V) / Var(R)",
            false,
            vec![
                update_band(c, clip, |u| u.explained_variance.max(-1.0)),
                update_band(k, kl, |u| u.explained_variance.max(-1.0)),
                update_band(p, pg, |u| u.explained_variance.max(-1.0)),
            ],
            vec![],
        ),
        panel(
            "Value loss",
            "mean (V − R)² (log scale)",
            true,
            vec![
                update_band(c, clip, |u| u.value_loss),
                update_band(k, kl, |u| u.value_loss),
                update_band(p, pg, |u| u.value_loss),
            ],
            vec![],
        ),
        panel(
            "Gradient norm before clipping",
            "‖∇ loss‖ (log scale)",
            true,
            vec![
                update_band(c, clip, |u| u.grad_norm),
                update_band(k, kl, |u| u.grad_norm),
                update_band(p, pg, |u| u.grad_norm),
            ],
            vec![(args.max_grad_norm, format!("clipped to {}", args.max_grad_norm))],
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

fn figure_lambda_sweep(dir: &RunDir, args: &Args, sweep: &[(f64, Vec<&RunResult>)]) -> Result<Vec<String>> {
    let grid = grid(args.lambda_steps);
    let n_seeds = sweep.first().map_or(0, |s| s.1.len());
    let label = |l: f64| match l {
        0.0 => "λ = 0 (TD(0))".to_string(),
        1.0 => "λ = 1 (Monte Carlo)".to_string(),
        _ => format!("λ = {l}"),
    };
    let plot = CurvePlot {
        title: format!("CartPole-v1: PPO-clip with GAE(λ) (mean ± std over {n_seeds} seeds)"),
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {CARTPOLE_LAST} episodes"),
        bands: sweep.iter().map(|(l, runs)| return_band(&label(*l), runs, &grid, CARTPOLE_LAST)).collect(),
        hlines: cartpole_hlines(),
        smooth: 1,
        ..Default::default()
    };
    Ok(plot::curves(&dir.path("lambda_sweep"), &plot)?)
}

fn figure_bias_variance(dir: &RunDir, args: &Args, stats: &[&Vec<LambdaStats>]) -> Result<Vec<String>> {
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

fn figure_pendulum(dir: &RunDir, args: &Args, runs: &[&RunResult]) -> Result<Vec<String>> {
    let grid = grid(args.pendulum_steps);
    let plot = CurvePlot {
        title: format!("Pendulum-v1: PPO-clip with a Gaussian policy (mean ± std over {} seeds)", runs.len()),
        x_label: "environment steps".into(),
        y_label: format!("mean return of the last {PENDULUM_LAST} episodes"),
        bands: vec![return_band("PPO-clip, Gaussian policy", runs, &grid, PENDULUM_LAST)],
        hlines: vec![(PENDULUM_TARGET, format!("target: {PENDULUM_TARGET}"))],
        smooth: 1,
        ..Default::default()
    };
    Ok(plot::curves(&dir.path("pendulum_return"), &plot)?)
}

// ---------------------------------------------------------------- the tables

fn fmt_steps(x: f64) -> String {
    if x.is_nan() {
        "not reached".into()
    } else {
        format!("{x:.0}")
    }
}

fn print_results(
    args: &Args,
    summary: &Summary,
    objectives: &[(&str, &Vec<&RunResult>)],
    sweep: &[(f64, Vec<&RunResult>)],
    bias_variance: &[&Vec<LambdaStats>],
) {
    let rows: Vec<Vec<String>> = objectives
        .iter()
        .map(|(name, runs)| {
            let finals: Vec<f64> = runs.iter().map(|r| r.final_return(CARTPOLE_LAST)).collect();
            let steps: Vec<f64> = runs.iter().map(|r| r.steps_to()).collect();
            vec![
                name.to_string(),
                finals.iter().map(|f| format!("{f:.0}")).collect::<Vec<_>>().join(" "),
                format!("{:.1} ± {:.1}", stats::mean(&finals), stats::std(&finals)),
                fmt_steps(stats::median_missing_high(&steps)),
            ]
        })
        .collect();
    print_table(
        &format!("CartPole: mean return of the last {CARTPOLE_LAST} episodes after {} steps", args.steps),
        &["objective", "per seed", "mean ± std", "steps to 475 (median)"],
        &rows,
    );
    let rows: Vec<Vec<String>> = sweep
        .iter()
        .enumerate()
        .map(|(k, (lambda, runs))| {
            let finals: Vec<f64> = runs.iter().map(|r| r.final_return(CARTPOLE_LAST)).collect();
            let steps: Vec<f64> = runs.iter().map(|r| r.steps_to()).collect();
            let of =
                |f: fn(&LambdaStats) -> f64| stats::mean(&bias_variance.iter().map(|s| f(&s[k])).collect::<Vec<_>>());
            vec![
                format!("{lambda}"),
                format!("{:.1}", stats::mean(&finals)),
                fmt_steps(stats::median_missing_high(&steps)),
                format!("{:.3}", of(|s| s.bias_sq)),
                format!("{:.3}", of(|s| s.variance)),
            ]
        })
        .collect();
    print_table(
        &format!(
            "GAE(λ): PPO-clip after {} steps, and the λ-return's bias² and variance at a fixed policy",
            args.lambda_steps
        ),
        &["λ", "final return", "steps to 475", "bias²", "variance"],
        &rows,
    );
    summary.print_headline(
        "Headline (medians over seeds)",
        &[
            "cartpole_final_return_median",
            "cartpole_eval_return_median",
            "steps_to_475_median",
            "seconds_to_475_median",
            "env_steps_per_s",
            "pendulum_final_return_median",
            "pendulum_eval_return_median",
        ],
    );
}
