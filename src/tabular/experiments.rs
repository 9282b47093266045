//! Chapter 1's three experiments on a maze, one per problem the article names:
//! 1. exploitation versus exploration: ε = 0, a constant ε and a decaying ε
//!    ([`exploration`]);
//! 2. the solution is not unique: which shortest path each greedy policy takes
//!    ([`PathCensus`]);
//! 3. Q values depend on each other: max |Q − Q*| with constant and decaying α, on the
//!    deterministic maze and on a slippery one ([`step_sizes`]).
//!
//! Every run draws from its own seeded RNG stream, so the experiments can run in any
//! order and give the same numbers.

use super::{MazeRun, MazeTask, QLearning, Schedule, StepSize};
use crate::env::maze::{Cell, Maze, Rewards, MAX_SIDE};
use crate::error::{check_range, Error, Result};
use crate::report::{print_table, Metrics, Progress};
use crate::{metrics_row, rng, stats};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The largest `--episodes` and `--epsilon-decay-episodes`.
pub const MAX_EPISODES: u64 = 100_000;
/// The largest `--max-steps`.
pub const MAX_MAX_STEPS: u64 = 100_000;
/// The largest `--step-size-steps`.
pub const MAX_STEP_SIZE_STEPS: u64 = 10_000_000;
/// Seeds × episodes × max steps: the exploration experiment's environment steps (× 3).
pub const MAX_EXPLORATION_STEPS: u64 = 1_000_000_000;
/// Seeds × episodes: `metrics.csv` rows of the exploration experiment (× 3).
pub const MAX_EPISODE_ROWS: u64 = 2_000_000;
/// Seeds × step-size steps per step of the shortest episode: rows of the step-size
/// experiment (× 6); the defaults on a maze file (20 × 200,000, 1-step episodes) fit.
pub const MAX_STEP_SIZE_ROWS: u64 = 4_000_000;

pub use crate::error::check_count;

/// One factor of a bounded product of flags: `value + offset` enters the product.
#[derive(Clone, Copy, Debug)]
pub struct Factor {
    pub flag: &'static str,
    pub value: u64,
    /// Whether the user gave the flag (only such a flag is blamed).
    pub given: bool,
    /// Added to `value` in the product (e.g. 2 + value epochs).
    pub offset: u64,
    /// Said after the value in messages (e.g. " parameters"); usually empty.
    pub unit: &'static str,
}

impl Factor {
    /// A flag whose value enters the product as it is.
    pub fn new(flag: &'static str, value: u64, given: bool) -> Factor {
        Factor { flag, value, given, offset: 0, unit: "" }
    }

    fn term(&self) -> Option<u64> {
        self.value.checked_add(self.offset)
    }
}

/// Checks that the product of `factors` is at most `limit`, with checked arithmetic. The
/// error blames the first factor the user gave (the last one, `--seeds` by convention,
/// if none was) and says how large it may be with the others as they are.
pub fn check_product(factors: &[Factor], limit: u64, what: &str) -> Result<()> {
    let product = factors.iter().try_fold(1u64, |p, f| p.checked_mul(f.term()?));
    if product.is_some_and(|p| p <= limit) {
        return Ok(());
    }
    let blamed = factors.iter().position(|f| f.given).unwrap_or(factors.len() - 1);
    let others: Vec<&Factor> = factors.iter().enumerate().filter(|&(i, _)| i != blamed).map(|(_, f)| f).collect();
    let f = &factors[blamed];
    let others_product = others.iter().try_fold(1u64, |p, f| p.checked_mul(f.term()?.max(1)));
    let max = others_product.map_or(0, |o| (limit / o).saturating_sub(f.offset));
    let with: Vec<String> = others.iter().map(|f| format!("{} {}{}", f.flag, f.value, f.unit)).collect();
    let why = format!("with {} it must be at most {max}{} ({what} may not exceed {limit})", with.join(" and "), f.unit);
    Err(Error::invalid(f.flag, format!("{}{}", f.value, f.unit), &why))
}

/// The flags of chapter 1: the maze, its rewards, and the three experiments' settings.
#[derive(clap::Args, Debug, Clone, Serialize)]
pub struct QLearningFlags {
    /// Maze file (S start, G goal, . free, # wall) [default: the article's 3x3 maze]
    #[arg(long)]
    pub maze: Option<PathBuf>,
    /// Training episodes per seed and run [1, 100000]
    #[arg(long, default_value_t = 300)]
    pub episodes: usize,
    /// Reward scheme [default: article on the built-in maze, step-cost on a maze file]
    #[arg(long, value_enum)]
    pub rewards: Option<RewardScheme>,
    /// Discount factor γ of eq. (1) [default: 0.9 with article rewards, 0.99 with step-cost] [0, 1]
    #[arg(long)]
    pub gamma: Option<f64>,
    /// Reward for a move into a free cell [default: the scheme's, +1 or -0.1] [-1000000, 1000000]
    #[arg(long)]
    pub reward_step: Option<f64>,
    /// Reward for bumping into a wall or the edge, the agent stays [default: -1] [-1000000, 1000000]
    #[arg(long)]
    pub reward_bump: Option<f64>,
    /// Reward for entering the goal, which ends the episode [default: the scheme's, +20 or +1] [-1000000, 1000000]
    #[arg(long)]
    pub reward_goal: Option<f64>,
    /// Episode time limit in steps [default: 100, or 4 x the open cells of a big maze] [1, 100000]
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// ε of the constant-ε run [0, 1]
    #[arg(long, default_value_t = 0.1)]
    pub epsilon: f64,
    /// Decaying ε: value in the first episode [0, 1]
    #[arg(long, default_value_t = 1.0)]
    pub epsilon_start: f64,
    /// Decaying ε: final value [0, 1]
    #[arg(long, default_value_t = 0.01)]
    pub epsilon_end: f64,
    /// Decaying ε: episodes of the linear decay from start to end [1, 100000]
    #[arg(long, default_value_t = 100)]
    pub epsilon_decay_episodes: usize,
    /// Constant learning rate α (the exploration runs, and the "constant α" curves) (0, 1]
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// A second, smaller constant α for the step-size experiment (0, 1]
    #[arg(long, default_value_t = 0.1)]
    pub alpha_small: f64,
    /// Decaying learning rate α = 1/n(s,a)^ω: the exponent ω, in (0.5, 1]
    #[arg(long, default_value_t = 0.7)]
    pub alpha_omega: f64,
    /// Slip probability of the slippery maze in the step-size experiment [0, 1]
    #[arg(long, default_value_t = 0.2)]
    pub slip: f64,
    /// Environment steps per run in the step-size experiment [100, 10000000]
    #[arg(long, default_value_t = 200_000)]
    pub step_size_steps: u64,
}

/// The two reward schemes of the lesson (see [`Rewards`]).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RewardScheme {
    /// The article's scores: move +1, bump -1, goal +20 (γ 0.9)
    Article,
    /// A cost per move: move -0.1, bump -1, goal +1 (γ 0.99)
    StepCost,
}

impl QLearningFlags {
    /// Fills every defaulted option with its value, so the summary records what ran;
    /// with `quick`, shortens the runs.
    pub fn prepare(&mut self, quick: bool) {
        let scheme = *self.rewards.get_or_insert(if self.maze.is_some() {
            RewardScheme::StepCost
        } else {
            RewardScheme::Article
        });
        let (base, gamma) = match scheme {
            RewardScheme::Article => (Rewards::article(), 0.9),
            RewardScheme::StepCost => (Rewards::step_cost(), 0.99),
        };
        self.gamma.get_or_insert(gamma);
        self.reward_step.get_or_insert(base.step);
        self.reward_bump.get_or_insert(base.bump);
        self.reward_goal.get_or_insert(base.goal);
        if quick {
            self.episodes = self.episodes.min(150);
            self.step_size_steps = self.step_size_steps.min(50_000);
        }
    }

    /// Checks every flag; an error names the flag, its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        check_count("--episodes", self.episodes as u64, 1, MAX_EPISODES)?;
        check_range("--gamma", self.gamma(), 0.0, 1.0)?;
        let r = self.reward_values();
        for (name, v) in [("--reward-step", r.step), ("--reward-bump", r.bump), ("--reward-goal", r.goal)] {
            check_range(name, v, -1e6, 1e6)?;
        }
        check_range("--epsilon", self.epsilon, 0.0, 1.0)?;
        check_range("--epsilon-start", self.epsilon_start, 0.0, 1.0)?;
        check_range("--epsilon-end", self.epsilon_end, 0.0, 1.0)?;
        check_count("--epsilon-decay-episodes", self.epsilon_decay_episodes as u64, 1, MAX_EPISODES)?;
        check_range("--alpha", self.alpha, f64::MIN_POSITIVE, 1.0)?;
        check_range("--alpha-small", self.alpha_small, f64::MIN_POSITIVE, 1.0)?;
        check_range("--alpha-omega", self.alpha_omega, 0.5 + 1e-9, 1.0)?;
        check_range("--slip", self.slip, 0.0, 1.0)?;
        check_count("--step-size-steps", self.step_size_steps, 100, MAX_STEP_SIZE_STEPS)?;
        if let Some(m) = self.max_steps {
            check_count("--max-steps", m as u64, 1, MAX_MAX_STEPS)?;
        }
        Ok(())
    }

    /// Bounds the products of flags (with checked arithmetic), so that no accepted
    /// combination runs for hours or fills memory with `metrics.csv` rows:
    /// - exploration: 3 runs × seeds × episodes × max steps environment steps;
    /// - one `metrics.csv` row per episode: seeds × episodes, and, in the step-size
    ///   experiment, up to seeds × step-size steps / (the shortest possible episode).
    ///
    /// `seeds_given` says whether the user gave `--seeds`; `quick` whether `--quick`
    /// shortened the defaults (to tell which flags the user gave, for the message).
    pub fn check_budget(&self, n_seeds: usize, seeds_given: bool, quick: bool) -> Result<()> {
        let seeds = Factor::new("--seeds", n_seeds as u64, seeds_given);
        let episodes_default = if quick { 150 } else { 300 };
        let episodes = Factor::new("--episodes", self.episodes as u64, self.episodes != episodes_default);
        // The default time limit on a maze file is 4 x its open cells: at most 4 x 40 x 40.
        let default_max_steps = if self.maze.is_some() { 4 * (MAX_SIDE * MAX_SIDE) as u64 } else { 100 };
        let max_steps_value = self.max_steps.map_or(default_max_steps, |m| m as u64);
        let max_steps = Factor::new("--max-steps", max_steps_value, self.max_steps.is_some());
        check_product(&[episodes, max_steps, seeds], MAX_EXPLORATION_STEPS, "seeds × episodes × max steps")?;
        check_product(&[episodes, seeds], MAX_EPISODE_ROWS, "seeds × episodes")?;
        // An episode lasts at least min(max steps, shortest path): 4 moves on the
        // article's maze, 1 on a maze file (the goal may be next to the start).
        let shortest = if self.maze.is_some() { 1 } else { 4 };
        let min_episode = max_steps.value.min(shortest);
        let steps_default = if quick { 50_000 } else { 200_000 };
        let steps_given = self.step_size_steps != steps_default;
        let steps = Factor::new("--step-size-steps", self.step_size_steps, steps_given);
        let limit = MAX_STEP_SIZE_ROWS * min_episode;
        let rows = steps.value.checked_mul(seeds.value);
        if rows.is_none_or(|r| r > limit) && !steps.given && !seeds.given && max_steps.given {
            let why = format!(
                "episodes this short make the step-size experiment too long for --step-size-steps {} and {} seeds",
                steps.value, seeds.value
            );
            return Err(Error::invalid(max_steps.flag, max_steps.value, &why));
        }
        check_product(&[steps, seeds], limit, "seeds × step-size steps / shortest episode")
    }
    pub fn gamma(&self) -> f64 {
        self.gamma.unwrap_or(0.9)
    }

    pub fn reward_values(&self) -> Rewards {
        let base = Rewards::article();
        Rewards {
            step: self.reward_step.unwrap_or(base.step),
            bump: self.reward_bump.unwrap_or(base.bump),
            goal: self.reward_goal.unwrap_or(base.goal),
        }
    }

    /// The maze (the file's, or the article's), solved exactly. The time limit leaves a
    /// big maze room to explore: 4 moves per open cell.
    pub fn task(&self) -> Result<MazeTask> {
        let maze = match &self.maze {
            Some(path) => Maze::load(path)?,
            None => Maze::seed(),
        };
        let open_cells = (0..maze.n_cells()).filter(|&s| maze.cell(s) != Cell::Wall).count();
        let max_steps = self.max_steps.unwrap_or(100.max(4 * open_cells));
        MazeTask::new(maze, self.reward_values(), 0.0, max_steps, self.gamma())
    }

    /// A Q-learning configuration of these flags.
    fn q_learning(&self, epsilon: Schedule, alpha: StepSize, step_budget: Option<u64>) -> QLearning {
        let episodes = if step_budget.is_some() { usize::MAX } else { self.episodes };
        QLearning { episodes, gamma: self.gamma(), epsilon, alpha, step_budget }
    }

    /// The bare loop's speed: steps per second with the constant ε and α (for the summary).
    pub fn steps_per_second(&self, task: &MazeTask, seed: u64, quick: bool) -> Result<(u64, f64)> {
        let budget = if quick { 200_000 } else { 5_000_000 };
        let cfg = self.q_learning(Schedule::Constant(self.epsilon), StepSize::Constant(self.alpha), Some(budget));
        task.steps_per_second(&cfg, &mut rng::seeded(seed, 99))
    }
}

metrics_row! {
    /// One episode of one run: a row of chapter 1's `metrics.csv`.
    pub struct EpisodeRow {
        pub experiment: String,
        pub seed: u64,
        pub episode: usize,
        pub env_steps: u64,
        pub steps: usize,
        pub r#return: f64,
        pub reached_goal: bool,
        pub q_error: f64,
        pub greedy_optimal: bool,
    }
}

/// Appends one row per episode of `run`.
pub fn record(metrics: &mut Metrics<EpisodeRow>, experiment: &str, seed: u64, run: &MazeRun) {
    for (i, e) in run.episodes.iter().enumerate() {
        metrics.push(&EpisodeRow {
            experiment: experiment.to_string(),
            seed,
            episode: i + 1,
            env_steps: e.env_steps,
            steps: e.steps,
            r#return: e.ret,
            reached_goal: e.reached_goal,
            q_error: e.q_error,
            greedy_optimal: e.greedy_optimal,
        });
    }
}

/// One exploration schedule of experiment 1.
pub struct ExplorationRuns {
    pub key: &'static str,
    pub label: String,
    /// One run per seed.
    pub runs: Vec<MazeRun>,
}

impl ExplorationRuns {
    /// The share of seeds that ever reached the goal.
    pub fn success_rate(&self) -> f64 {
        self.runs.iter().filter(|r| r.ever_reached_goal()).count() as f64 / self.runs.len() as f64
    }

    /// The first episode (1-based) that reached the goal, per seed (None: never).
    pub fn first_goal_episodes(&self) -> Vec<Option<usize>> {
        self.runs.iter().map(|r| r.episodes.iter().position(|e| e.reached_goal).map(|i| i + 1)).collect()
    }

    /// The steps of each seed's last episode.
    pub fn last_episode_steps(&self) -> Vec<usize> {
        self.runs.iter().map(|r| r.episodes.last().map_or(0, |e| e.steps)).collect()
    }

    /// Episodes until the greedy policy became optimal, per seed (NaN: never).
    pub fn episodes_to_optimal(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.episodes_to_optimal().map_or(f64::NAN, |e| e as f64)).collect()
    }
}

/// Experiment 1: ε = 0 (pure exploitation), a constant ε and a decaying ε, each with
/// the constant α, one run per seed (RNG stream = the schedule's index).
pub fn exploration(
    flags: &QLearningFlags,
    task: &MazeTask,
    seeds: &[u64],
    metrics: &mut Metrics<EpisodeRow>,
) -> Result<Vec<ExplorationRuns>> {
    let decay =
        format!("ε: {} → {} over {} episodes", flags.epsilon_start, flags.epsilon_end, flags.epsilon_decay_episodes);
    let schedules = [
        ("greedy", "ε = 0 (pure exploitation)".to_string(), Schedule::Constant(0.0)),
        ("constant", format!("ε = {}", flags.epsilon), Schedule::Constant(flags.epsilon)),
        (
            "decaying",
            decay,
            Schedule::Linear {
                start: flags.epsilon_start,
                end: flags.epsilon_end,
                episodes: flags.epsilon_decay_episodes,
            },
        ),
    ];
    let mut out = Vec::new();
    for (v, (key, label, epsilon)) in schedules.into_iter().enumerate() {
        let cfg = flags.q_learning(epsilon, StepSize::Constant(flags.alpha), None);
        let mut progress = Progress::new(&format!("exploration, {label}"), seeds.len());
        let mut runs = Vec::new();
        for (i, &seed) in seeds.iter().enumerate() {
            let run = task.run(&cfg, &mut rng::seeded(seed, v as u64))?;
            record(metrics, key, seed, &run);
            runs.push(run);
            progress.update(i + 1, || format!("seed {seed}"));
        }
        progress.finish();
        out.push(ExplorationRuns { key, label, runs });
    }
    Ok(out)
}

/// Experiment 2: the greedy path of every seed's final Q-table, and which of the
/// shortest paths they took.
pub struct PathCensus {
    /// Each seed's greedy walk from the start and whether it reached the goal.
    pub greedy: Vec<(Vec<usize>, bool)>,
    /// The shortest paths to draw (at most [`PathCensus::SHOWN`]).
    pub shown: Vec<Vec<usize>>,
    /// How many seeds took each shown path.
    pub counts: Vec<usize>,
}

impl PathCensus {
    pub const SHOWN: usize = 8;

    pub fn of(task: &MazeTask, runs: &[MazeRun]) -> PathCensus {
        let greedy: Vec<(Vec<usize>, bool)> = runs.iter().map(|r| task.greedy_path(&r.q)).collect();
        let shown = paths_to_show(task, &greedy);
        let counts = shown.iter().map(|p| greedy.iter().filter(|(g, _)| g == p).count()).collect();
        PathCensus { greedy, shown, counts }
    }

    /// The seeds whose greedy path is a shortest one.
    pub fn optimal<'a>(&'a self, task: &'a MazeTask) -> impl Iterator<Item = &'a Vec<usize>> + 'a {
        self.greedy.iter().filter(|(p, r)| task.is_optimal(p, *r)).map(|(p, _)| p)
    }

    /// How many different shortest paths the seeds found.
    pub fn distinct_optimal(&self, task: &MazeTask) -> usize {
        let mut found: Vec<&Vec<usize>> = self.optimal(task).collect();
        found.sort();
        found.dedup();
        found.len()
    }
}

/// At most 8 shortest paths to draw: all of them on a small maze (in a fixed order);
/// on a big one, those the seeds' greedy policies took, most taken first, then others.
fn paths_to_show(task: &MazeTask, greedy: &[(Vec<usize>, bool)]) -> Vec<Vec<usize>> {
    let all = task.maze.shortest_paths(PathCensus::SHOWN + 1);
    if all.len() <= PathCensus::SHOWN {
        return all;
    }
    let mut taken: Vec<(usize, Vec<usize>)> = Vec::new();
    for (p, _) in greedy.iter().filter(|(p, r)| task.is_optimal(p, *r)) {
        match taken.iter_mut().find(|(_, q)| q == p) {
            Some((count, _)) => *count += 1,
            None => taken.push((1, p.clone())),
        }
    }
    taken.sort_by_key(|t| std::cmp::Reverse(t.0)); // stable: ties keep the seed order
    let mut shown: Vec<Vec<usize>> = taken.into_iter().map(|(_, p)| p).collect();
    for p in all {
        if !shown.contains(&p) {
            shown.push(p);
        }
    }
    shown.truncate(PathCensus::SHOWN);
    shown
}

/// One step size on one maze of experiment 3: max |Q − Q*| per seed on a common grid.
pub struct StepSizeCurves {
    /// "deterministic" or "slippery".
    pub maze: &'static str,
    /// "constant", "small" or "decaying".
    pub alpha: &'static str,
    pub label: String,
    pub runs: Vec<Vec<f64>>,
}

/// Experiment 3's curves, on a common grid of environment steps.
pub struct StepSizes {
    pub grid: Vec<f64>,
    pub curves: Vec<StepSizeCurves>,
}

impl StepSizes {
    /// [`StepSizes::final_error`] of every maze and step size: `{maze: {alpha: error}}`.
    pub fn final_errors(&self) -> BTreeMap<&'static str, BTreeMap<&'static str, f64>> {
        let mut out: BTreeMap<&str, BTreeMap<&str, f64>> = BTreeMap::new();
        for c in &self.curves {
            out.entry(c.maze).or_default().insert(c.alpha, self.final_error(c.maze, c.alpha));
        }
        out
    }

    /// The median over seeds of the final max |Q − Q*| of one maze and step size.
    pub fn final_error(&self, maze: &str, alpha: &str) -> f64 {
        let finals: Vec<f64> = self
            .curves
            .iter()
            .filter(|c| c.maze == maze && c.alpha == alpha)
            .flat_map(|c| c.runs.iter().map(|run| *run.last().unwrap_or(&f64::NAN)))
            .collect();
        stats::median(&finals)
    }
}

/// Experiment 3. Uniformly random behaviour (ε = 1) isolates the step size: every
/// (s, a) is tried often, and Q-learning learns Q* whatever the behaviour (it is
/// off-policy).
pub fn step_sizes(
    flags: &QLearningFlags,
    task: &MazeTask,
    seeds: &[u64],
    metrics: &mut Metrics<EpisodeRow>,
) -> Result<StepSizes> {
    let grid = stats::curve_grid(flags.step_size_steps as f64, stats::CURVE_POINTS);
    let slippery = MazeTask::new(task.maze.clone(), task.rewards, flags.slip, task.max_steps, flags.gamma())?;
    let alphas = [
        ("constant", format!("α = {}", flags.alpha), StepSize::Constant(flags.alpha)),
        ("small", format!("α = {}", flags.alpha_small), StepSize::Constant(flags.alpha_small)),
        ("decaying", format!("α = 1/n(s,a)^{}", flags.alpha_omega), StepSize::Visits { omega: flags.alpha_omega }),
    ];
    let mut curves = Vec::new();
    for (m, (maze, t)) in [("deterministic", task), ("slippery", &slippery)].into_iter().enumerate() {
        for (a, (alpha_kind, label, alpha)) in alphas.iter().enumerate() {
            let cfg = flags.q_learning(Schedule::Constant(1.0), *alpha, Some(flags.step_size_steps));
            let mut runs = Vec::new();
            let mut progress = Progress::new(&format!("step size, {maze} maze, {label}"), seeds.len());
            for (i, &seed) in seeds.iter().enumerate() {
                let run = t.run(&cfg, &mut rng::seeded(seed, 10 + 3 * m as u64 + a as u64))?;
                record(metrics, &format!("step_size_{maze}_{alpha_kind}"), seed, &run);
                runs.push(run.q_error_on_grid(&grid));
                progress.update(i + 1, || format!("seed {seed}"));
            }
            progress.finish();
            curves.push(StepSizeCurves { maze, alpha: alpha_kind, label: label.clone(), runs });
        }
    }
    Ok(StepSizes { grid, curves })
}

/// Prints V* and Q* of every decision state: the ground truth the runs are judged by.
pub fn print_ground_truth(task: &MazeTask) {
    let rows: Vec<Vec<String>> = (0..task.maze.n_cells())
        .filter(|&s| task.maze.is_decision_state(s))
        .map(|s| {
            let mut row = vec![task.maze.name(s), format!("{:.3}", task.q_star.max(s))];
            row.extend(task.q_star.row(s).iter().map(|q| format!("{q:.3}")));
            row
        })
        .collect();
    print_table(
        "Value iteration: exact V* and Q* (the ground truth)",
        &["state", "V*", "Q* up", "Q* down", "Q* left", "Q* right"],
        &rows,
    );
}

/// Prints how each exploration schedule did.
pub fn print_exploration(schedules: &[ExplorationRuns]) {
    let rows: Vec<Vec<String>> = schedules
        .iter()
        .map(|v| {
            let reached = v.runs.iter().filter(|r| r.ever_reached_goal()).count();
            let last: Vec<f64> =
                v.runs.iter().map(|r| r.episodes.last().map_or(f64::NAN, |e| e.steps as f64)).collect();
            let median = stats::median_missing_high(&v.episodes_to_optimal());
            let median = if median.is_nan() { "never (most seeds)".to_string() } else { format!("{median}") };
            vec![v.label.clone(), format!("{reached}/{}", v.runs.len()), format!("{:.1}", stats::mean(&last)), median]
        })
        .collect();
    print_table(
        "Q-learning, per exploration schedule",
        &["run", "reached goal", "steps in last episode (mean)", "episodes to optimal (median)"],
        &rows,
    );
}
