//! Chapter 1: Q-learning on the 3x3 maze of the source article.
//!
//! Three experiments, one per problem the article names:
//! 1. exploitation versus exploration: ε = 0, a constant ε, and a decaying ε;
//! 2. the solution is not unique: which shortest path each seed's greedy policy takes;
//! 3. Q values depend on each other: max |Q − Q*| with constant and decaying α, on the
//!    deterministic maze and on a slippery one.
//!
//! The lesson (README.md beside this file) explains every number and figure.

use crate::cli::CommonArgs;
use crate::env::maze::{Maze, Rewards};
use crate::error::{check_min, check_range, Result};
use crate::plot::{self, Band, CurvePlot};
use crate::report::{print_table, Progress, RunDir, Summary, UntypedMetrics};
use crate::tabular::{EpisodeRecord, MazeRun, MazeTask, QLearning, Schedule, StepSize};
use crate::{rng, stats};
use clap::Parser;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

pub const CHAPTER: &str = "ch01-q-learning";

/// Chapter 1: Q-learning on the article's 3x3 maze (or a maze file).
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch01-q-learning", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    /// Maze file (S start, G goal, . free, # wall) [default: the article's 3x3 maze]
    #[arg(long)]
    pub maze: Option<PathBuf>,
    /// Training episodes per seed and run
    #[arg(long, default_value_t = 300)]
    pub episodes: usize,
    /// Reward scheme [default: article on the built-in maze, step-cost on a maze file]
    #[arg(long, value_enum)]
    pub rewards: Option<RewardScheme>,
    /// Discount factor γ of eq. (1) [default: 0.9 with article rewards, 0.99 with step-cost]
    #[arg(long)]
    pub gamma: Option<f64>,
    /// Reward for a move into a free cell [default: the scheme's, +1 or -0.1]
    #[arg(long)]
    pub reward_step: Option<f64>,
    /// Reward for bumping into a wall or the edge, the agent stays [default: -1]
    #[arg(long)]
    pub reward_bump: Option<f64>,
    /// Reward for entering the goal, which ends the episode [default: the scheme's, +20 or +1]
    #[arg(long)]
    pub reward_goal: Option<f64>,
    /// Episode time limit in steps [default: 100, or 4 x the open cells of a big maze]
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// ε of the constant-ε run
    #[arg(long, default_value_t = 0.1)]
    pub epsilon: f64,
    /// Decaying ε: value in the first episode
    #[arg(long, default_value_t = 1.0)]
    pub epsilon_start: f64,
    /// Decaying ε: final value
    #[arg(long, default_value_t = 0.01)]
    pub epsilon_end: f64,
    /// Decaying ε: episodes of the linear decay from start to end
    #[arg(long, default_value_t = 100)]
    pub epsilon_decay_episodes: usize,
    /// Constant learning rate α (the exploration runs, and the "constant α" curves)
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,
    /// A second, smaller constant α for the step-size experiment
    #[arg(long, default_value_t = 0.1)]
    pub alpha_small: f64,
    /// Decaying learning rate α = 1/n(s,a)^ω: the exponent ω, in (0.5, 1]
    #[arg(long, default_value_t = 0.7)]
    pub alpha_omega: f64,
    /// Slip probability of the slippery maze in the step-size experiment
    #[arg(long, default_value_t = 0.2)]
    pub slip: f64,
    /// Environment steps per run in the step-size experiment
    #[arg(long, default_value_t = 200_000)]
    pub step_size_steps: u64,
}

impl Args {
    fn validate(&self) -> Result<()> {
        check_min("--episodes", self.episodes, 1)?;
        check_range("--gamma", self.gamma(), 0.0, 1.0)?;
        let r = self.reward_values();
        for (name, v) in [("--reward-step", r.step), ("--reward-bump", r.bump), ("--reward-goal", r.goal)] {
            check_range(name, v, -1e6, 1e6)?;
        }
        check_range("--epsilon", self.epsilon, 0.0, 1.0)?;
        check_range("--epsilon-start", self.epsilon_start, 0.0, 1.0)?;
        check_range("--epsilon-end", self.epsilon_end, 0.0, 1.0)?;
        check_min("--epsilon-decay-episodes", self.epsilon_decay_episodes, 1)?;
        check_range("--alpha", self.alpha, f64::MIN_POSITIVE, 1.0)?;
        check_range("--alpha-small", self.alpha_small, f64::MIN_POSITIVE, 1.0)?;
        check_range("--alpha-omega", self.alpha_omega, 0.5 + 1e-9, 1.0)?;
        check_range("--slip", self.slip, 0.0, 1.0)?;
        check_min("--step-size-steps", self.step_size_steps as usize, 100)?;
        if let Some(m) = self.max_steps {
            check_min("--max-steps", m, 1)?;
        }
        Ok(())
    }
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

impl Args {
    /// Fills every defaulted option with its value, so the summary records what ran.
    fn resolve(&mut self) {
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
    }

    fn gamma(&self) -> f64 {
        self.gamma.unwrap_or(0.9)
    }

    fn reward_values(&self) -> Rewards {
        let base = Rewards::article();
        Rewards {
            step: self.reward_step.unwrap_or(base.step),
            bump: self.reward_bump.unwrap_or(base.bump),
            goal: self.reward_goal.unwrap_or(base.goal),
        }
    }
}

/// One curve of the exploration experiment.
struct Variant {
    key: &'static str,
    label: String,
    epsilon: Schedule,
}

/// Runs the chapter and writes `<out>/ch01-q-learning/`.
pub fn run(mut args: Args) -> Result<Summary> {
    args.resolve();
    args.validate()?;
    let started = Instant::now();
    let seeds = args.common.seed_list(if args.common.quick { 5 } else { 20 })?;
    if args.common.quick {
        args.episodes = args.episodes.min(150);
        args.step_size_steps = args.step_size_steps.min(50_000);
    }
    let maze = match &args.maze {
        Some(path) => Maze::load(path)?,
        None => Maze::seed(),
    };
    let open_cells = (0..maze.n_cells()).filter(|&s| maze.cell(s) != crate::env::maze::Cell::Wall).count();
    let max_steps = args.max_steps.unwrap_or(100.max(4 * open_cells));
    let task = MazeTask::new(maze, args.reward_values(), 0.0, max_steps, args.gamma())?;
    let dir = RunDir::create(&args.common.out, CHAPTER)?;
    let mut summary = Summary::new(CHAPTER, &seeds, args.common.quick, &args);

    print_ground_truth(&task);

    // Experiment 1: exploitation versus exploration.
    let variants = [
        Variant { key: "greedy", label: "ε = 0 (pure exploitation)".into(), epsilon: Schedule::Constant(0.0) },
        Variant { key: "constant", label: format!("ε = {}", args.epsilon), epsilon: Schedule::Constant(args.epsilon) },
        Variant {
            key: "decaying",
            label: format!(
                "ε: {} → {} over {} episodes",
                args.epsilon_start, args.epsilon_end, args.epsilon_decay_episodes
            ),
            epsilon: Schedule::Linear {
                start: args.epsilon_start,
                end: args.epsilon_end,
                episodes: args.epsilon_decay_episodes,
            },
        },
    ];
    let mut metrics = UntypedMetrics::new(&[
        "experiment",
        "seed",
        "episode",
        "env_steps",
        "steps",
        "return",
        "reached_goal",
        "q_error",
        "greedy_optimal",
    ]);
    let mut runs: Vec<Vec<MazeRun>> = Vec::new();
    for (v, variant) in variants.iter().enumerate() {
        let cfg = QLearning {
            episodes: args.episodes,
            gamma: args.gamma(),
            epsilon: variant.epsilon,
            alpha: StepSize::Constant(args.alpha),
            step_budget: None,
        };
        let mut progress = Progress::new(&format!("exploration, {}", variant.label), seeds.len());
        let mut per_seed = Vec::new();
        for (i, &seed) in seeds.iter().enumerate() {
            let run = task.run(&cfg, &mut rng::seeded(seed, v as u64))?;
            record(&mut metrics, variant.key, seed, &run);
            per_seed.push(run);
            progress.update(i + 1, || format!("seed {seed}"));
        }
        progress.finish();
        runs.push(per_seed);
    }
    let main_runs = &runs[2];

    // Experiment 2: the solution is not unique.
    let greedy: Vec<(Vec<usize>, bool)> = main_runs.iter().map(|r| task.greedy_path(&r.q)).collect();
    let optimal_paths = paths_to_show(&task, &greedy);
    let path_counts: Vec<usize> = optimal_paths.iter().map(|p| greedy.iter().filter(|(g, _)| g == p).count()).collect();
    let distinct_found = {
        let mut found: Vec<&Vec<usize>> =
            greedy.iter().filter(|(p, r)| task.is_optimal(p, *r)).map(|(p, _)| p).collect();
        found.sort();
        found.dedup();
        found.len()
    };

    // Experiment 3: step sizes, deterministic and slippery.
    let step_size = step_size_experiment(&args, &task, &seeds, &mut metrics)?;

    // Figures.
    let mut figures = Vec::new();
    figures.extend(figure_steps(&dir, &args, &task, &variants, &runs, seeds.len())?);
    figures.extend(figure_q_error(&dir, &args, &step_size, seeds.len())?);
    // Show a greedy-only run that got stuck, if any seed did (most do).
    let stuck = runs[0].iter().position(|r| !r.ever_reached_goal()).unwrap_or(0);
    figures.extend(figure_q_table(&dir, &task, (&main_runs[0], seeds[0]), (&runs[0][stuck], seeds[stuck]))?);
    figures.extend(figure_paths(&dir, &task, &optimal_paths, &path_counts, seeds.len())?);

    // Headline numbers.
    let names = |p: &[usize]| p.iter().map(|&s| task.maze.name(s)).collect::<Vec<_>>();
    let (path0, reached0) = &greedy[0];
    let optimal_seeds = greedy.iter().filter(|(p, r)| task.is_optimal(p, *r)).count();
    let to_optimal: Vec<f64> =
        main_runs.iter().map(|r| r.episodes_to_optimal().map_or(f64::NAN, |e| e as f64)).collect();
    let q_error_final: Vec<f64> = main_runs.iter().map(|r| r.episodes.last().map_or(f64::NAN, |e| e.q_error)).collect();
    let success = |runs: &[MazeRun]| runs.iter().filter(|r| r.ever_reached_goal()).count() as f64 / runs.len() as f64;
    let (bench_steps, steps_per_s) = task.steps_per_second(
        &QLearning {
            episodes: usize::MAX,
            gamma: args.gamma(),
            epsilon: Schedule::Constant(args.epsilon),
            alpha: StepSize::Constant(args.alpha),
            step_budget: Some(if args.common.quick { 200_000 } else { 5_000_000 }),
        },
        &mut rng::seeded(seeds[0], 99),
    )?;
    summary.headline("greedy_path", names(path0));
    summary.headline("greedy_path_length", path0.len() - 1);
    summary.headline("greedy_path_optimal", task.is_optimal(path0, *reached0));
    summary.headline("greedy_optimal_seeds", optimal_seeds);
    summary.headline("shortest_path_length", task.shortest);
    summary.headline("optimal_path_count", u64::try_from(task.maze.count_shortest_paths()).unwrap_or(u64::MAX));
    summary.headline("distinct_optimal_paths_found", distinct_found);
    summary.headline("episodes_to_optimal_median", stats::median_missing_high(&to_optimal));
    summary.headline("q_error_final", stats::median(&q_error_final));
    summary.headline("q_error_final_decaying_alpha", step_size.final_error("deterministic", "decaying"));
    summary.headline("q_error_final_slippery_constant_alpha", step_size.final_error("slippery", "constant"));
    summary.headline("q_error_final_slippery_decaying_alpha", step_size.final_error("slippery", "decaying"));
    summary.headline("v_star_start", task.q_star.max(task.maze.start()));
    summary.headline("greedy_only_success_rate", success(&runs[0]));
    summary.headline("constant_epsilon_success_rate", success(&runs[1]));
    summary.headline("decaying_epsilon_success_rate", success(&runs[2]));
    summary.headline("env_steps_per_s", steps_per_s.round());
    summary.details = serde_json::json!({
        "maze": args.maze.as_ref().map_or("(the article's 3x3 maze)".to_string(), |p| p.display().to_string()),
        "max_steps": max_steps,
        "greedy_paths": greedy.iter().map(|(p, _)| names(p)).collect::<Vec<_>>(),
        "shown_optimal_paths": optimal_paths.iter().map(|p| names(p)).collect::<Vec<_>>(),
        "shown_optimal_path_counts": path_counts,
        "episodes_to_optimal": to_optimal,
        "q_error_final": q_error_final,
        "greedy_only_reached_goal": runs[0].iter().map(MazeRun::ever_reached_goal).collect::<Vec<_>>(),
        "q_star": (0..task.maze.n_cells()).filter(|&s| task.maze.is_decision_state(s)).map(|s| (task.maze.name(s), task.q_star.row(s).to_vec())).collect::<std::collections::BTreeMap<_, _>>(),
        "steps_per_s_measured_over": bench_steps,
    });
    summary.figures = figures;
    summary.wall_time_s = started.elapsed().as_secs_f64();
    metrics.write(&dir)?;
    summary.write(&dir)?;

    print_results(&summary, &variants, &runs);
    println!("\nwrote {}", dir.dir.display());
    Ok(summary)
}

fn record(metrics: &mut UntypedMetrics, experiment: &str, seed: u64, run: &MazeRun) {
    for (i, e) in run.episodes.iter().enumerate() {
        metrics.push(&[
            &experiment,
            &seed,
            &(i + 1),
            &e.env_steps,
            &e.steps,
            &e.ret,
            &e.reached_goal,
            &e.q_error,
            &e.greedy_optimal,
        ]);
    }
}

fn print_ground_truth(task: &MazeTask) {
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

fn print_results(summary: &Summary, variants: &[Variant], runs: &[Vec<MazeRun>]) {
    let rows: Vec<Vec<String>> = variants
        .iter()
        .zip(runs)
        .map(|(v, rs)| {
            let reached = rs.iter().filter(|r| r.ever_reached_goal()).count();
            let last: Vec<f64> = rs.iter().map(|r| r.episodes.last().map_or(f64::NAN, |e| e.steps as f64)).collect();
            let optimal: Vec<f64> = rs.iter().map(|r| r.episodes_to_optimal().map_or(f64::NAN, |e| e as f64)).collect();
            let median = stats::median_missing_high(&optimal);
            let median = if median.is_nan() { "never (most seeds)".to_string() } else { format!("{median}") };
            vec![v.label.clone(), format!("{reached}/{}", rs.len()), format!("{:.1}", stats::mean(&last)), median]
        })
        .collect();
    print_table(
        "Q-learning, per exploration schedule",
        &["run", "reached goal", "steps in last episode (mean)", "episodes to optimal (median)"],
        &rows,
    );
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
}

/// Max |Q − Q*| curves of the step-size experiment, on a common grid of env steps.
struct StepSizeResult {
    grid: Vec<f64>,
    /// (maze kind, α kind, label, one curve per seed)
    curves: Vec<(&'static str, &'static str, String, Vec<Vec<f64>>)>,
}

impl StepSizeResult {
    fn final_error(&self, maze: &str, alpha: &str) -> f64 {
        let finals: Vec<f64> = self
            .curves
            .iter()
            .filter(|c| c.0 == maze && c.1 == alpha)
            .flat_map(|c| c.3.iter().map(|run| *run.last().unwrap_or(&f64::NAN)))
            .collect();
        stats::median(&finals)
    }
}

/// Uniformly random behaviour (ε = 1) isolates the step size: every (s, a) is tried
/// often, and Q-learning learns Q* whatever the behaviour (it is off-policy).
fn step_size_experiment(
    args: &Args,
    task: &MazeTask,
    seeds: &[u64],
    metrics: &mut UntypedMetrics,
) -> Result<StepSizeResult> {
    let points = 200;
    let grid: Vec<f64> =
        (1..=points).map(|i| (args.step_size_steps as f64 * i as f64 / points as f64).round()).collect();
    let slippery = MazeTask::new(task.maze.clone(), task.rewards, args.slip, task.max_steps, args.gamma())?;
    let alphas = [
        ("constant", format!("α = {}", args.alpha), StepSize::Constant(args.alpha)),
        ("small", format!("α = {}", args.alpha_small), StepSize::Constant(args.alpha_small)),
        ("decaying", format!("α = 1/n(s,a)^{}", args.alpha_omega), StepSize::Visits { omega: args.alpha_omega }),
    ];
    let mut curves = Vec::new();
    for (m, (kind, t)) in [("deterministic", task), ("slippery", &slippery)].into_iter().enumerate() {
        for (a, (alpha_kind, label, alpha)) in alphas.iter().enumerate() {
            let cfg = QLearning {
                episodes: usize::MAX,
                gamma: args.gamma(),
                epsilon: Schedule::Constant(1.0),
                alpha: *alpha,
                step_budget: Some(args.step_size_steps),
            };
            let mut per_seed = Vec::new();
            let mut progress = Progress::new(&format!("step size, {kind} maze, {label}"), seeds.len());
            for (i, &seed) in seeds.iter().enumerate() {
                let run = t.run(&cfg, &mut rng::seeded(seed, 10 + 3 * m as u64 + a as u64))?;
                record(metrics, &format!("step_size_{kind}_{alpha_kind}"), seed, &run);
                per_seed.push(run.q_error_on_grid(&grid));
                progress.update(i + 1, || format!("seed {seed}"));
            }
            progress.finish();
            curves.push((kind, *alpha_kind, label.clone(), per_seed));
        }
    }
    Ok(StepSizeResult { grid, curves })
}

fn figure_steps(
    dir: &RunDir,
    args: &Args,
    task: &MazeTask,
    variants: &[Variant],
    runs: &[Vec<MazeRun>],
    n_seeds: usize,
) -> Result<Vec<String>> {
    let x: Vec<f64> = (1..=args.episodes).map(|e| e as f64).collect();
    let bands = |value: fn(&EpisodeRecord) -> f64| -> Vec<Band> {
        variants
            .iter()
            .zip(runs)
            .map(|(v, rs)| Band {
                label: format!("{} (mean ± std, {n_seeds} seeds)", v.label),
                x: x.clone(),
                runs: rs.iter().map(|r| r.episodes.iter().map(value).collect()).collect(),
            })
            .collect()
    };
    let success = CurvePlot {
        title: "Share of seeds that reach the goal".into(),
        x_label: "episode".into(),
        y_label: "episodes ending at the goal (fraction of seeds)".into(),
        bands: variants
            .iter()
            .zip(bands(|e| if e.reached_goal { 1.0 } else { 0.0 }))
            .map(|(v, b)| Band {
                label: format!("{} ({n_seeds} seeds)", v.label),
                runs: vec![mean_per_x(&b.runs)],
                ..b
            })
            .collect(),
        smooth: 1,
        ..Default::default()
    };
    let steps = CurvePlot {
        title: "Steps per episode".into(),
        x_label: "episode".into(),
        y_label: "steps in the episode".into(),
        bands: bands(|e| e.steps as f64),
        hlines: vec![
            (task.shortest as f64, format!("shortest path: {} steps", task.shortest)),
            (task.max_steps as f64, format!("time limit: {} steps", task.max_steps)),
        ],
        smooth: 1,
        ..Default::default()
    };
    Ok(plot::curves_panels(&dir.path("steps_to_goal"), "Exploration versus exploitation", &[success, steps], 2)?)
}

/// The mean over runs at each x: one curve.
fn mean_per_x(runs: &[Vec<f64>]) -> Vec<f64> {
    (0..runs.first().map_or(0, Vec::len)).map(|i| stats::mean(&runs.iter().map(|r| r[i]).collect::<Vec<_>>())).collect()
}

fn figure_q_error(dir: &RunDir, args: &Args, result: &StepSizeResult, n_seeds: usize) -> Result<Vec<String>> {
    let panel = |kind: &str, title: String| CurvePlot {
        title,
        x_label: "environment steps (uniformly random behaviour, ε = 1)".into(),
        y_label: "max |Q(s,a) − Q*(s,a)|".into(),
        log_y: true,
        bands: result
            .curves
            .iter()
            .filter(|c| c.0 == kind)
            .map(|c| Band {
                label: format!("{} (mean ± std, {n_seeds} seeds)", c.2),
                x: result.grid.clone(),
                runs: c.3.clone(),
            })
            .collect(),
        hlines: vec![],
        smooth: 1,
    };
    Ok(plot::curves_panels(
        &dir.path("q_error"),
        "Step size: distance to Q* (constant α stalls once outcomes are random)",
        &[
            panel("deterministic", "Deterministic maze".into()),
            panel("slippery", format!("Slippery maze (a move slips with probability {})", args.slip)),
        ],
        2,
    )?)
}

fn figure_q_table(
    dir: &RunDir,
    task: &MazeTask,
    learned: (&MazeRun, u64),
    greedy_only: (&MazeRun, u64),
) -> Result<Vec<String>> {
    let names = |p: &[usize]| p.iter().map(|&s| task.maze.name(s)).collect::<Vec<_>>().join("→");
    let pics = [
        plot::maze_picture(
            &task.maze,
            &format!("Learned Q, decaying ε (seed {})", learned.1),
            Some(&learned.0.q),
            true,
        ),
        plot::maze_picture(&task.maze, "Q* from value iteration", Some(&task.q_star), true),
    ];
    let mut files = plot::grid_panels(
        &dir.path("q_table"),
        "The Q-table as a picture: greedy arrows, colour = max_a Q(s,a)",
        &pics,
        2,
    )?;
    let (path, reached) = task.greedy_path(&greedy_only.0.q);
    let verdict = if reached { "reached the goal".to_string() } else { format!("stuck in the loop {}", names(&path)) };
    let title = format!("Pure exploitation, ε = 0 (seed {}): {verdict}", greedy_only.1);
    files.extend(plot::grid(
        &dir.path("greedy_trap"),
        &plot::maze_picture(&task.maze, &title, Some(&greedy_only.0.q), true),
    )?);
    Ok(files)
}

/// At most 8 shortest paths to draw: all of them on a small maze (in a fixed order);
/// on a big one, those the seeds' greedy policies took, most taken first, then others.
fn paths_to_show(task: &MazeTask, greedy: &[(Vec<usize>, bool)]) -> Vec<Vec<usize>> {
    const SHOWN: usize = 8;
    let all = task.maze.shortest_paths(SHOWN + 1);
    if all.len() <= SHOWN {
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
    shown.truncate(SHOWN);
    shown
}

fn figure_paths(
    dir: &RunDir,
    task: &MazeTask,
    paths: &[Vec<usize>],
    counts: &[usize],
    n_seeds: usize,
) -> Result<Vec<String>> {
    let shown = paths.len().min(8);
    let pics: Vec<_> = paths[..shown]
        .iter()
        .zip(counts)
        .map(|(p, c)| {
            let names: Vec<String> = p.iter().map(|&s| task.maze.name(s)).collect();
            let title = if task.maze.n_cells() <= 16 {
                format!("{}: {c} of {n_seeds} seeds", names.join("→"))
            } else {
                format!("{c} of {n_seeds} seeds")
            };
            plot::path_picture(&task.maze, &title, p)
        })
        .collect();
    let total = task.maze.count_shortest_paths();
    let title = if total as usize > shown {
        format!(
            "The solution is not unique: {total} shortest paths of {} moves (the first {shown} shown)",
            task.shortest
        )
    } else {
        format!("The solution is not unique: {total} shortest paths of {} moves", task.shortest)
    };
    Ok(plot::grid_panels(&dir.path("optimal_paths"), &title, &pics, shown.min(4))?)
}
