//! Chapter 2: policy gradient (REINFORCE).
//!
//! Two settings, one idea (see [`crate::pg::experiments`]):
//! 1. the article's 3x3 maze with a tabular softmax policy: REINFORCE with the return,
//!    with the reward-to-go and with a baseline, each with and without a constant
//!    shift of every return; and the variance of the gradient estimate they produce;
//! 2. CartPole-v1 with an MLP policy and a learned value baseline (candle), with and
//!    without the baseline.
//!
//! The lesson (chapters/02-policy-gradient/README.md) explains every number and figure.

use crate::agent::{self, AgentFlags, Task};
use crate::cli::CommonArgs;
use crate::error::Result;
use crate::pg::experiments::{self as exp, CartPoleFlags, MazeReinforceFlags, ReinforceRow, ShiftedEstimator};
use crate::pg::{figures, Estimator};
use crate::report::{Metrics, Summary};
use crate::run::{ChapterArgs, RunContext};
use crate::stats;
use clap::Parser;
use serde::{Deserialize, Serialize};

pub const CHAPTER: &str = "ch02-policy-gradient";

/// Chapter 2: REINFORCE on the article's maze (tabular softmax) and on CartPole (MLP).
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch02-policy-gradient", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub maze: MazeReinforceFlags,
    #[command(flatten)]
    #[serde(flatten)]
    pub cartpole: CartPoleFlags,
    #[command(flatten)]
    #[serde(skip)]
    pub agent: AgentFlags,
    /// The flags as given, before `--quick` shortened them: their ranges are checked too.
    #[arg(skip)]
    #[serde(skip)]
    pub given: Option<(MazeReinforceFlags, CartPoleFlags)>,
}

impl ChapterArgs for Args {
    const CHAPTER: &'static str = CHAPTER;
    const DEFAULT_SEEDS: (usize, usize) = (5, 20);

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn prepare(&mut self) {
        self.given = Some((self.maze.clone(), self.cartpole.clone()));
        if self.common.quick {
            self.maze.quick();
            self.cartpole.quick();
        }
    }

    fn validate(&self) -> Result<()> {
        if let Some((maze, cartpole)) = &self.given {
            maze.validate()?;
            cartpole.validate_ranges()?;
        }
        self.maze.validate()?;
        self.agent.validate()?;
        self.cartpole.validate()
    }

    fn check_budget(&self, n_seeds: usize) -> Result<()> {
        self.maze.check_budget(n_seeds, self.common.seeds.is_some(), self.common.quick)?;
        self.cartpole.check_budget(self.common.seed, self.common.quick)
    }
}

/// The headline of `summary.json`: what the lesson quotes first.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Headline {
    /// Final maze policies with the baseline, unshifted: P(reach the goal), mean over seeds.
    pub maze_success_rate: f64,
    pub maze_shortest_path_rate: f64,
    pub maze_success_rate_return_shifted: f64,
    pub maze_success_rate_reward_to_go_shifted: f64,
    pub maze_success_rate_baseline_shifted: f64,
    /// Var(reward-to-go) / Var(with baseline), median over seeds, at the uniform policy.
    pub baseline_variance_ratio: f64,
    pub baseline_variance_ratio_shifted: f64,
    pub baseline_variance_ratio_partly_trained: f64,
    pub cartpole_final_return_median: f64,
    pub cartpole_final_return_median_no_baseline: f64,
    /// None (null) when most seeds never reached 475.
    pub cartpole_steps_to_475_median: Option<f64>,
    pub cartpole_steps_to_475_median_no_baseline: Option<f64>,
    pub cartpole_seeds_reaching_475: usize,
    /// Environment steps of one CartPole run.
    pub env_steps: u64,
    pub env_steps_total: u64,
    pub cartpole_seconds_per_seed: f64,
}

/// Runs the chapter and writes `<out>/ch02-policy-gradient/`.
pub fn run(mut args: Args) -> Result<Summary> {
    if args.agent.load.is_some() {
        return agent::replay(CHAPTER, &args.common, &args.agent, &[Task::CartPole]);
    }
    let ctx = RunContext::start(&mut args)?;
    let (maze, seeds) = (&args.maze, &ctx.seeds);
    let cartpole_seeds = args.cartpole.seeds(args.common.seed);
    let mut summary = ctx.summary(&args);
    let mut metrics = Metrics::<ReinforceRow>::new();
    let task = maze.task()?;

    // The experiments: the maze estimators, their gradient variance, CartPole.
    let variants = ShiftedEstimator::all(maze.shift);
    let maze_runs = exp::maze_runs(maze, &task, &variants, seeds, &mut metrics)?;
    let variance = exp::gradient_variance(maze, &task, seeds)?;
    let cartpole = exp::cartpole(&args.cartpole, &cartpole_seeds)?;
    cartpole.record(&mut metrics, &cartpole_seeds);

    let mut figures = figures::maze_curves(&ctx.dir, &task, maze.maze_batch, &variants, &maze_runs)?;
    let (batches, updates) = (maze.variance_batches, maze.variance_updates);
    figures.extend(figures::gradient_variance(&ctx.dir, &variance, batches, maze.maze_batch, updates)?);
    figures.extend(figures::maze_policy(&ctx.dir, &task.maze, &variants, &maze_runs, seeds)?);
    figures.extend(figures::cartpole(&ctx.dir, &cartpole, args.cartpole.cartpole_steps, args.cartpole.max_grad_norm)?);
    figures.extend(exp::watch_maze(&ctx.dir.dir, &task, &variants, &maze_runs, seeds[0])?);
    exp::save_cartpole(CHAPTER, &cartpole, &cartpole_seeds, &args.agent)?;

    // The headline: maze scores are means over seeds of the exact evaluation.
    let maze_mean = |e: Estimator, shifted: bool, f: fn(&exp::TabularReinforceRun) -> f64| {
        let v = variants.iter().position(|v| v.estimator == e && v.shifted() == shifted).unwrap_or(0);
        stats::mean(&maze_runs[v].iter().map(f).collect::<Vec<_>>())
    };
    let success = |e, shifted| maze_mean(e, shifted, |r| r.eval.success_rate);
    let (finals, finals_without) = (exp::final_returns(&cartpole.with), exp::final_returns(&cartpole.without));
    let (steps_to, steps_to_without) = (exp::steps_to_target(&cartpole.with), exp::steps_to_target(&cartpole.without));
    let median_steps = |s: &[f64]| Some(stats::median_missing_high(s)).filter(|m| !m.is_nan());
    let maze_steps: u64 = maze_runs.iter().flatten().map(|r| r.records.last().map_or(0, |x| x.env_steps)).sum();
    let cartpole_total: u64 = cartpole.with.iter().chain(&cartpole.without).map(|r| r.env_steps).sum();
    summary.set_headline(&Headline {
        maze_success_rate: success(Estimator::Baseline, false),
        maze_shortest_path_rate: maze_mean(Estimator::Baseline, false, |r| r.eval.shortest_rate),
        maze_success_rate_return_shifted: success(Estimator::Return, true),
        maze_success_rate_reward_to_go_shifted: success(Estimator::RewardToGo, true),
        maze_success_rate_baseline_shifted: success(Estimator::Baseline, true),
        baseline_variance_ratio: variance.ratio(0, 0.0),
        baseline_variance_ratio_shifted: variance.ratio(0, maze.shift),
        baseline_variance_ratio_partly_trained: variance.ratio(1, 0.0),
        cartpole_final_return_median: stats::median(&finals),
        cartpole_final_return_median_no_baseline: stats::median(&finals_without),
        cartpole_steps_to_475_median: median_steps(&steps_to),
        cartpole_steps_to_475_median_no_baseline: median_steps(&steps_to_without),
        cartpole_seeds_reaching_475: finals.iter().filter(|&&r| r >= exp::TARGET).count(),
        env_steps: cartpole.with.first().map_or(0, |r| r.env_steps),
        env_steps_total: maze_steps + variance.env_steps + cartpole_total,
        cartpole_seconds_per_seed: stats::median(&cartpole.with.iter().map(|r| r.seconds).collect::<Vec<_>>()),
    })?;
    summary.details = exp::details(&task, maze, &variants, &maze_runs, seeds, &variance, &cartpole, &cartpole_seeds);
    summary.figures = figures;
    let dir = ctx.finish(&mut summary, &metrics)?;

    exp::print_maze(&variants, &maze_runs);
    exp::print_variance(&variance, maze.shift);
    exp::print_cartpole(&cartpole, args.cartpole.cartpole_steps);
    summary.print_headline("Headline", &exp::HEADLINE_KEYS);
    crate::say!("\nwrote {}", dir.display());
    Ok(summary)
}
