//! Chapter 1: Q-learning on the 3x3 maze of the source article.
//!
//! Three experiments, one per problem the article names (see [`crate::tabular::experiments`]):
//! 1. exploitation versus exploration: ε = 0, a constant ε, and a decaying ε;
//! 2. the solution is not unique: which shortest path each seed's greedy policy takes;
//! 3. Q values depend on each other: max |Q − Q*| with constant and decaying α, on the
//!    deterministic maze and on a slippery one.
//!
//! The lesson (chapters/01-q-learning/README.md) explains every number and figure.

use crate::cli::CommonArgs;
use crate::error::Result;
use crate::report::{Metrics, Summary};
use crate::run::{ChapterArgs, RunContext};
use crate::stats;
use crate::tabular::experiments::{self as exp, EpisodeRow, PathCensus, QLearningFlags};
use crate::tabular::{figures, MazeRun};
use clap::Parser;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const CHAPTER: &str = "ch01-q-learning";

/// Chapter 1: Q-learning on the article's 3x3 maze (or a maze file).
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch01-q-learning", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub q: QLearningFlags,
    /// The flags as given, before `--quick` shortened them: their ranges are checked too.
    #[arg(skip)]
    #[serde(skip)]
    pub given: Option<QLearningFlags>,
}

impl ChapterArgs for Args {
    const CHAPTER: &'static str = CHAPTER;
    const DEFAULT_SEEDS: (usize, usize) = (5, 20);

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn prepare(&mut self) {
        self.given = Some(self.q.clone());
        self.q.prepare(self.common.quick);
    }

    fn validate(&self) -> Result<()> {
        if let Some(given) = &self.given {
            given.validate()?;
        }
        self.q.validate()
    }

    fn check_budget(&self, n_seeds: usize) -> Result<()> {
        self.q.check_budget(n_seeds, self.common.seeds.is_some(), self.common.quick)
    }
}

/// The headline of `summary.json`: what the lesson quotes first.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Headline {
    /// The first seed's greedy walk (decaying ε), as cell names.
    pub greedy_path: Vec<String>,
    pub greedy_path_length: usize,
    pub greedy_path_optimal: bool,
    /// Seeds whose greedy policy walks a shortest path.
    pub greedy_optimal_seeds: usize,
    pub shortest_path_length: usize,
    pub optimal_path_count: u64,
    pub distinct_optimal_paths_found: usize,
    /// None (null) when most seeds never got there.
    pub episodes_to_optimal_median: Option<f64>,
    /// max |Q − Q*| after the last episode, median over seeds (decaying ε, constant α).
    pub q_error_final: f64,
    pub q_error_final_decaying_alpha: f64,
    pub q_error_final_slippery_constant_alpha: f64,
    pub q_error_final_slippery_decaying_alpha: f64,
    pub v_star_start: f64,
    pub greedy_only_success_rate: f64,
    pub constant_epsilon_success_rate: f64,
    pub decaying_epsilon_success_rate: f64,
    pub env_steps_per_s: f64,
}

/// Runs the chapter and writes `<out>/ch01-q-learning/`.
pub fn run(mut args: Args) -> Result<Summary> {
    let ctx = RunContext::start(&mut args)?;
    let (flags, seeds) = (&args.q, &ctx.seeds);
    let task = flags.task()?;
    let mut summary = ctx.summary(&args);
    let mut metrics = Metrics::<EpisodeRow>::new();
    exp::print_ground_truth(&task);

    // The three experiments.
    let schedules = exp::exploration(flags, &task, seeds, &mut metrics)?;
    let (greedy_only, decaying) = (&schedules[0].runs, &schedules[2].runs);
    let census = PathCensus::of(&task, decaying);
    let step_size = exp::step_sizes(flags, &task, seeds, &mut metrics)?;

    // Figures. The ε = 0 panel shows a run that got stuck, if any seed did (most do).
    let stuck = greedy_only.iter().position(|r| !r.ever_reached_goal()).unwrap_or(0);
    let mut figures = figures::steps_to_goal(&ctx.dir, &task, &schedules)?;
    figures.extend(figures::q_error(&ctx.dir, &step_size, flags.slip)?);
    figures.extend(figures::q_table(&ctx.dir, &task, (&decaying[0], seeds[0]), (&greedy_only[stuck], seeds[stuck]))?);
    figures.extend(figures::optimal_paths(&ctx.dir, &task, &census)?);
    let greedy = |s: &usize, _: &mut _| decaying[0].q.argmax(*s);
    figures.extend(crate::agent::maze_before_after(&ctx.dir.dir, &task, seeds[0], "greedy after Q-learning", greedy)?);

    // The headline.
    let names = |p: &[usize]| p.iter().map(|&s| task.maze.name(s)).collect::<Vec<_>>();
    let (path0, reached0) = &census.greedy[0];
    let to_optimal = schedules[2].episodes_to_optimal();
    let q_error_final: Vec<f64> = decaying.iter().map(|r| r.episodes.last().map_or(f64::NAN, |e| e.q_error)).collect();
    let (bench_steps, steps_per_s) = flags.steps_per_second(&task, seeds[0], ctx.quick)?;
    summary.set_headline(&Headline {
        greedy_path: names(path0),
        greedy_path_length: path0.len() - 1,
        greedy_path_optimal: task.is_optimal(path0, *reached0),
        greedy_optimal_seeds: census.optimal(&task).count(),
        shortest_path_length: task.shortest,
        optimal_path_count: u64::try_from(task.maze.count_shortest_paths()).unwrap_or(u64::MAX),
        distinct_optimal_paths_found: census.distinct_optimal(&task),
        episodes_to_optimal_median: Some(stats::median_missing_high(&to_optimal)).filter(|m| !m.is_nan()),
        q_error_final: stats::median(&q_error_final),
        q_error_final_decaying_alpha: step_size.final_error("deterministic", "decaying"),
        q_error_final_slippery_constant_alpha: step_size.final_error("slippery", "constant"),
        q_error_final_slippery_decaying_alpha: step_size.final_error("slippery", "decaying"),
        v_star_start: task.q_star.max(task.maze.start()),
        greedy_only_success_rate: schedules[0].success_rate(),
        constant_epsilon_success_rate: schedules[1].success_rate(),
        decaying_epsilon_success_rate: schedules[2].success_rate(),
        env_steps_per_s: steps_per_s.round(),
    })?;
    let by_schedule = |f: fn(&exp::ExplorationRuns) -> serde_json::Value| {
        schedules.iter().map(|v| (v.key, f(v))).collect::<BTreeMap<_, _>>()
    };
    summary.details = serde_json::json!({
        "maze": flags.maze.as_ref().map_or("(the article's 3x3 maze)".to_string(), |p| p.display().to_string()),
        "max_steps": task.max_steps,
        "greedy_paths": census.greedy.iter().map(|(p, _)| names(p)).collect::<Vec<_>>(),
        "shown_optimal_paths": census.shown.iter().map(|p| names(p)).collect::<Vec<_>>(),
        "shown_optimal_path_counts": census.counts,
        "episodes_to_optimal": to_optimal,
        "q_error_final": q_error_final,
        "greedy_only_reached_goal": greedy_only.iter().map(MazeRun::ever_reached_goal).collect::<Vec<_>>(),
        "q_star": task.named_rows(&task.q_star),
        "v_uniform_policy": task.uniform_policy_values()?,
        // Eq. (1) along the first seed's greedy path: V* of the start when the path is optimal.
        "greedy_path_return": crate::tabular::discounted_return(&task.path_rewards(path0), flags.gamma()),
        "greedy_path_rewards": task.path_rewards(path0),
        "learned_q": task.named_rows(&decaying[0].q),
        "greedy_trap": { "seed": seeds[stuck], "path": names(&task.greedy_path(&greedy_only[stuck].q).0), "q": task.named_rows(&greedy_only[stuck].q) },
        "first_goal_episode": by_schedule(|v| serde_json::json!(v.first_goal_episodes())),
        "last_episode_steps": by_schedule(|v| serde_json::json!(v.last_episode_steps())),
        "q_error_final_step_sizes": step_size.final_errors(),
        "steps_per_s_measured_over": bench_steps,
    });
    summary.figures = figures;
    let dir = ctx.finish(&mut summary, &metrics)?;

    exp::print_exploration(&schedules);
    summary.print_headline(
        "Headline",
        &[
            "greedy_path",
            "greedy_path_length",
            "greedy_path_optimal",
            "greedy_optimal_seeds",
            "optimal_path_count",
            "distinct_optimal_paths_found",
            "episodes_to_optimal_median",
            "q_error_final",
            "q_error_final_decaying_alpha",
            "q_error_final_slippery_constant_alpha",
            "q_error_final_slippery_decaying_alpha",
            "env_steps_per_s",
        ],
    );
    crate::say!("\nwrote {}", dir.display());
    Ok(summary)
}
