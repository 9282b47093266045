//! A maze together with everything needed to judge an agent on it: the exact Q* from
//! value iteration, the shortest path length, and a Q-learning run that records,
//! after every episode, how far the table is from Q* and whether its greedy policy
//! is already optimal.

use super::{greedy_path, train, value_iteration, Model, QLearning, QTable};
use crate::env::maze::{Action, Maze, MazeEnv, Rewards};
use crate::error::Result;
use rand::Rng;
use std::collections::BTreeMap;

/// A maze with its rewards, dynamics and exact solution.
pub struct MazeTask {
    pub maze: Maze,
    pub rewards: Rewards,
    /// Probability that a move is replaced by a random one.
    pub slip: f64,
    /// Episode time limit.
    pub max_steps: usize,
    pub gamma: f64,
    pub model: Model,
    pub q_star: QTable,
    /// Moves on a shortest path from start to goal.
    pub shortest: usize,
}

/// One episode's numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct EpisodeRecord {
    pub env_steps: u64,
    pub steps: usize,
    pub ret: f64,
    pub reached_goal: bool,
    /// max |Q − Q*| after the episode.
    pub q_error: f64,
    /// The greedy policy after the episode walks a shortest path.
    pub greedy_optimal: bool,
}

/// A finished Q-learning run.
#[derive(Clone, Debug)]
pub struct MazeRun {
    pub episodes: Vec<EpisodeRecord>,
    pub q: QTable,
}

impl MazeRun {
    /// Episodes until the greedy policy first became optimal (1-based), if it did.
    pub fn episodes_to_optimal(&self) -> Option<usize> {
        self.episodes.iter().position(|e| e.greedy_optimal).map(|i| i + 1)
    }

    pub fn ever_reached_goal(&self) -> bool {
        self.episodes.iter().any(|e| e.reached_goal)
    }

    pub fn env_steps(&self) -> u64 {
        self.episodes.last().map_or(0, |e| e.env_steps)
    }

    /// max |Q − Q*| at each point of a grid of environment steps: the value after the
    /// last episode that ended at or before it (NaN before the first), so that runs
    /// with episodes of different lengths can be averaged point by point.
    pub fn q_error_on_grid(&self, grid: &[f64]) -> Vec<f64> {
        let mut i = 0;
        let mut last = f64::NAN;
        grid.iter()
            .map(|&x| {
                while i < self.episodes.len() && self.episodes[i].env_steps as f64 <= x {
                    last = self.episodes[i].q_error;
                    i += 1;
                }
                last
            })
            .collect()
    }
}

impl MazeTask {
    /// Solves the maze exactly with value iteration.
    pub fn new(maze: Maze, rewards: Rewards, slip: f64, max_steps: usize, gamma: f64) -> Result<MazeTask> {
        let model = maze.model(&rewards, slip);
        let (q_star, _) = value_iteration(&model, gamma, 1e-12)?;
        let shortest = maze.distances_to_goal()[maze.start()].expect("parsing checked the goal is reachable");
        Ok(MazeTask { maze, rewards, slip, max_steps, gamma, model, q_star, shortest })
    }

    pub fn env(&self) -> MazeEnv {
        MazeEnv::new(&self.maze, self.rewards, self.slip, self.max_steps)
    }

    /// The greedy policy's intended walk from the start (slips ignored) and whether it
    /// reaches the goal.
    pub fn greedy_path(&self, q: &QTable) -> (Vec<usize>, bool) {
        greedy_path(q, self.maze.start(), self.maze.n_cells(), |s, a| {
            let (next, _, terminal) = self.maze.outcome(s, Action::from_index(a), &self.rewards);
            (next, terminal)
        })
    }

    /// The rewards of walking `path` (a list of adjacent cells, as [`MazeTask::greedy_path`]
    /// returns), one per move, slips ignored.
    pub fn path_rewards(&self, path: &[usize]) -> Vec<f64> {
        path.windows(2)
            .map(|w| {
                let mut outcomes = (0..4).map(|a| self.maze.outcome(w[0], Action::from_index(a), &self.rewards));
                outcomes.find(|o| o.0 == w[1]).expect("a path moves between neighbouring cells").1
            })
            .collect()
    }

    /// V^π of the uniformly random policy (eq. 2), by cell name: what a robot that
    /// never learns collects.
    pub fn uniform_policy_values(&self) -> Result<BTreeMap<String, f64>> {
        let uniform = vec![1.0 / 4.0; 4];
        let v = super::policy_evaluation(&self.model, |_| uniform.clone(), self.gamma, 1e-12)?;
        Ok((0..self.maze.n_cells())
            .filter(|&s| self.maze.is_decision_state(s))
            .map(|s| (self.maze.name(s), v[s]))
            .collect())
    }

    /// The rows of `q` for every decision state, by cell name (for `summary.json`).
    pub fn named_rows(&self, q: &QTable) -> BTreeMap<String, Vec<f64>> {
        (0..self.maze.n_cells())
            .filter(|&s| self.maze.is_decision_state(s))
            .map(|s| (self.maze.name(s), q.row(s).to_vec()))
            .collect()
    }

    /// A path is optimal when it reaches the goal in the fewest moves.
    pub fn is_optimal(&self, path: &[usize], reached: bool) -> bool {
        reached && path.len() == self.shortest + 1
    }

    /// Q-learning on this maze with per-episode diagnostics.
    pub fn run<R: Rng + ?Sized>(&self, cfg: &QLearning, rng: &mut R) -> Result<MazeRun> {
        let mut env = self.env();
        let mut episodes = Vec::with_capacity(cfg.episodes.min(100_000));
        let q = train(&mut env, self.maze.n_cells(), 4, cfg, rng, |end| {
            let (path, reached) = self.greedy_path(end.q);
            episodes.push(EpisodeRecord {
                env_steps: end.env_steps,
                steps: end.steps,
                ret: end.ret,
                reached_goal: end.terminated,
                q_error: end.q.max_abs_diff(&self.q_star, &self.model),
                greedy_optimal: self.is_optimal(&path, reached),
            });
        })?;
        Ok(MazeRun { episodes, q })
    }

    /// Raw Q-learning speed: environment steps per second of the bare loop (no
    /// diagnostics), for the summary and the benchmark.
    pub fn steps_per_second<R: Rng + ?Sized>(&self, cfg: &QLearning, rng: &mut R) -> Result<(u64, f64)> {
        let mut env = self.env();
        let mut steps = 0u64;
        let started = std::time::Instant::now();
        train(&mut env, self.maze.n_cells(), 4, cfg, rng, |end| steps = end.env_steps)?;
        let secs = started.elapsed().as_secs_f64();
        Ok((steps, steps as f64 / secs.max(1e-9)))
    }
}
