//! Chapter 4: PPO with GAE.
//!
//! Four experiments ([`crate::ppo::experiments`]), all training runs in parallel threads
//! with one intra-op thread each:
//! 1. CartPole-v1 with PPO-clip and the tuned settings (8 copies × 32 steps, 20 epochs,
//!    γ 0.98, λ 0.8, lr 1e-3 and ε 0.2 annealed), over 5 seeds, with a deterministic
//!    evaluation, steps and seconds to a last-10-episode mean of 475;
//! 2. PPO-clip against PPO-KL (adaptive β), the unclipped surrogate with the same epochs
//!    (the control) and plain policy gradient, same budget;
//! 3. a λ sweep, and the bias and variance of the λ-return of a fixed policy measured
//!    against Monte Carlo;
//! 4. Pendulum-v1 with a Gaussian policy.
//!
//! The lesson (chapters/04-ppo/README.md) explains every number and figure.

use crate::agent::{self, AgentFlags, Task};
use crate::cli::CommonArgs;
use crate::error::Result;
use crate::ppo::bias_variance::LambdaStats;
use crate::ppo::experiments::{
    cartpole_final, check_budget, per_seed, EvaluatedRun, PpoExperimentFlags, PpoExperiments, CARTPOLE_LAST,
};
use crate::ppo::figures;
use crate::ppo::train::MAX_TOTAL_STEPS;
use crate::ppo::Objective;
use crate::report::{print_table, Summary};
use crate::run::{ChapterArgs, RunContext};
use crate::stats;
use clap::Parser;
use serde::Serialize;

pub const CHAPTER: &str = "ch04-ppo";

/// Chapter 4: PPO with GAE (clip and adaptive KL) on CartPole and Pendulum.
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch04-ppo", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub ppo: PpoExperimentFlags,
    #[command(flatten)]
    #[serde(skip)]
    pub agent: AgentFlags,
}

impl ChapterArgs for Args {
    const CHAPTER: &'static str = CHAPTER;
    const DEFAULT_SEEDS: (usize, usize) = (2, 5);

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn prepare(&mut self) {
        // --quick shortens a run (never below one batch), but leaves a value outside its
        // range as given, so that validation refuses it as it would without --quick.
        if self.common.quick {
            let a = &mut self.ppo;
            let batch = a.cartpole.batch_size() as u64;
            let p_batch = (a.pendulum.pendulum_n_envs as u64).saturating_mul(a.pendulum.pendulum_n_steps as u64);
            let steps = |v: u64, cap: u64, batch: u64| if v > MAX_TOTAL_STEPS { v } else { v.min(cap.max(batch)) };
            let count = |v: usize, cap: usize, max: usize| if v > max { v } else { v.min(cap) };
            a.cartpole.total_steps = steps(a.cartpole.total_steps, 10_240, batch);
            a.lambda_steps = steps(a.lambda_steps, 5_120, batch);
            a.lambda_seeds = count(a.lambda_seeds, 1, crate::cli::MAX_SEEDS);
            a.snapshot_steps = steps(a.snapshot_steps, 2_560, batch);
            a.probes = count(a.probes, 4, 1000);
            a.probe_runs = count(a.probe_runs, 16, 10_000);
            a.truth_runs = count(a.truth_runs, 32, 10_000);
            a.pendulum.pendulum_seeds = count(a.pendulum.pendulum_seeds, 1, crate::cli::MAX_SEEDS);
            a.pendulum.pendulum_steps = steps(a.pendulum.pendulum_steps, 8_192, p_batch);
            a.eval_episodes = count(a.eval_episodes, 5, 1000);
        }
    }

    fn validate(&self) -> Result<()> {
        self.agent.validate()?;
        self.ppo.validate()
    }

    fn check_budget(&self, n_seeds: usize) -> Result<()> {
        let (quick, full) = Self::DEFAULT_SEEDS;
        check_budget(&self.ppo, n_seeds, if self.common.quick { quick } else { full })
    }
}

/// Runs the chapter and writes `<out>/ch04-ppo/`.
pub fn run(mut args: Args) -> Result<Summary> {
    if args.agent.load.is_some() {
        return agent::replay(CHAPTER, &args.common, &args.agent, &[Task::CartPole, Task::Pendulum]);
    }
    let ctx = RunContext::start(&mut args)?;
    let mut summary = ctx.summary(&args);

    let exps = PpoExperiments::run(&args.ppo, &ctx.seeds)?;
    for figure in [
        figures::figure_cartpole,
        figures::figure_objectives,
        figures::figure_diagnostics,
        figures::figure_lambda_sweep,
        figures::figure_bias_variance,
        figures::figure_pendulum,
    ] {
        summary.figures.extend(figure(&ctx.dir, &exps)?);
    }
    summary.figures.extend(exps.watch_and_save(&ctx.dir.dir, CHAPTER, &args.agent)?);
    summary.set_headline(&exps.headline())?;
    summary.details = exps.details();
    let dir = ctx.finish(&mut summary, &exps.metrics())?;

    print_results(&args, &summary, &exps);
    crate::say!("\nwrote {}", dir.display());
    Ok(summary)
}

fn fmt_steps(x: f64) -> String {
    if x.is_nan() {
        "not reached".into()
    } else {
        format!("{x:.0}")
    }
}

fn print_results(args: &Args, summary: &Summary, exps: &PpoExperiments) {
    let steps_to = |runs: &[&EvaluatedRun]| stats::median_missing_high(&per_seed(runs, EvaluatedRun::steps_to_target));
    let objectives = [
        ("PPO-clip", Objective::Clip),
        ("PPO-KL", Objective::KlPenalty),
        ("unclipped, same epochs", Objective::Unclipped),
        ("policy gradient", Objective::Vanilla),
    ];
    let rows: Vec<Vec<String>> = objectives
        .iter()
        .map(|(name, objective)| {
            let runs = exps.cartpole(*objective);
            let finals = per_seed(&runs, cartpole_final);
            vec![
                name.to_string(),
                finals.iter().map(|f| format!("{f:.0}")).collect::<Vec<_>>().join(" "),
                format!("{:.1} ± {:.1}", stats::mean(&finals), stats::std(&finals)),
                fmt_steps(steps_to(&runs)),
            ]
        })
        .collect();
    print_table(
        &format!(
            "CartPole: mean return of the last {CARTPOLE_LAST} episodes after {} steps",
            args.ppo.cartpole.total_steps
        ),
        &["objective", "per seed", "mean ± std", "steps to 475 (median)"],
        &rows,
    );
    let bias_variance = exps.bias_variance();
    let rows: Vec<Vec<String>> = exps
        .sweep()
        .iter()
        .enumerate()
        .map(|(k, (lambda, runs))| {
            let of =
                |f: fn(&LambdaStats) -> f64| stats::mean(&bias_variance.iter().map(|s| f(&s[k])).collect::<Vec<_>>());
            vec![
                format!("{lambda}"),
                format!("{:.1}", stats::mean(&per_seed(runs, cartpole_final))),
                fmt_steps(steps_to(runs)),
                format!("{:.3}", of(|s| s.bias_sq)),
                format!("{:.3}", of(|s| s.variance)),
            ]
        })
        .collect();
    print_table(
        &format!(
            "GAE(λ): PPO-clip after {} steps, and the λ-return's bias² and variance at a fixed policy",
            args.ppo.lambda_steps
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
