//! Chapter 3: TRPO: natural gradient, conjugate gradient, trust region.
//!
//! Two experiments on CartPole-v1 ([`crate::trpo::experiments`]):
//! 1. TRPO itself over several seeds: return curves, and the KL of every update against δ;
//! 2. the step-size lesson: the same plain-gradient direction with a small fixed step,
//!    a large fixed step, a line search on the surrogate, and a trust region, next to
//!    TRPO's natural-gradient step.
//!
//! The lesson (chapters/03-trpo/README.md) explains every number and figure.

use crate::agent::{self, AgentFlags, Task};
use crate::cli::CommonArgs;
use crate::error::Result;
use crate::report::{print_table, Summary};
use crate::run::{ChapterArgs, RunContext};
use crate::stats;
use crate::trpo::experiments::{check_budget, final_returns, largest_drops, max_kl, StepSizeFlags, TrpoExperiments};
use crate::trpo::figures::{figure_step_sizes, figure_trpo};
use crate::trpo::train::MAX_TOTAL_STEPS;
use crate::trpo::{StepRule, TrpoConfig, TrpoRun};
use clap::Parser;
use serde::Serialize;

pub const CHAPTER: &str = "ch03-trpo";

/// Chapter 3: TRPO on CartPole, and four ways to choose a step size.
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch03-trpo", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub trpo: TrpoConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub step_sizes: StepSizeFlags,
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
        // --quick shortens a run, but leaves a value outside its range as given, so that
        // validation refuses it as it would without --quick.
        if self.common.quick {
            if self.trpo.total_steps <= MAX_TOTAL_STEPS {
                let batch = self.trpo.batch() as u64;
                self.trpo.total_steps = self.trpo.total_steps.min(batch.max(8_192));
            }
            if self.step_sizes.compare_seeds <= crate::cli::MAX_SEEDS {
                self.step_sizes.compare_seeds = self.step_sizes.compare_seeds.min(1);
            }
        }
    }

    fn validate(&self) -> Result<()> {
        self.agent.validate()?;
        self.step_sizes.validate(&self.trpo)
    }

    fn check_budget(&self, n_seeds: usize) -> Result<()> {
        let (quick, full) = Self::DEFAULT_SEEDS;
        check_budget(&self.trpo, &self.step_sizes, n_seeds, if self.common.quick { quick } else { full })
    }
}

/// Runs the chapter and writes `<out>/ch03-trpo/`.
pub fn run(mut args: Args) -> Result<Summary> {
    if args.agent.load.is_some() {
        return agent::replay(CHAPTER, &args.common, &args.agent, &[Task::CartPole]);
    }
    let ctx = RunContext::start(&mut args)?;
    args.step_sizes.compare_seeds = args.step_sizes.compare_seeds.min(ctx.seeds.len());
    let mut summary = ctx.summary(&args);

    let experiments = TrpoExperiments::run(&args.trpo, &args.step_sizes, &ctx.seeds)?;
    let by_rule = experiments.by_rule();
    summary.figures = figure_trpo(&ctx.dir, &args.trpo, &experiments.trpo())?;
    summary.figures.extend(figure_step_sizes(&ctx.dir, &args.trpo, &by_rule)?);
    summary.figures.extend(experiments.watch_and_save(&ctx.dir.dir, CHAPTER, &args.agent)?);
    summary.set_headline(&experiments.headline(&args.trpo))?;
    summary.details = experiments.details();
    let dir = ctx.finish(&mut summary, &experiments.metrics())?;

    print_results(&args, &summary, &by_rule);
    crate::say!("\nwrote {}", dir.display());
    Ok(summary)
}

fn print_results(args: &Args, summary: &Summary, by_rule: &[(StepRule, Vec<&TrpoRun>)]) {
    let rows: Vec<Vec<String>> = by_rule
        .iter()
        .map(|(rule, runs)| {
            vec![
                rule.label(),
                final_returns(runs).iter().map(|f| format!("{f:.0}")).collect::<Vec<_>>().join(" "),
                format!("{:.3}", max_kl(runs)),
                format!("{:.0}", stats::median(&largest_drops(runs))),
            ]
        })
        .collect();
    print_table(
        &format!("Step sizes: after {} steps, δ = {}", args.trpo.total_steps, args.trpo.delta),
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
