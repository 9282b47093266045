//! Tabular methods: value iteration (the model-based ground truth) and Q-learning.
//!
//! Equation numbers refer to chapter 1's lesson (`chapters/01-q-learning/README.md`).

pub mod experiments;
pub mod figures;
pub mod maze_task;
pub mod q_learning;
pub mod value_iteration;

pub use maze_task::{EpisodeRecord, MazeRun, MazeTask};
pub use q_learning::{
    argmax_random_ties, bellman_update, discounted_return, epsilon_greedy, greedy_path, train, EpisodeEnd, QLearning,
    Schedule, StepSize,
};
pub use value_iteration::{policy_evaluation, value_iteration};

pub use crate::env::{Model, Outcome};

/// Q(s, a) for every state and action, stored row by row.
#[derive(Clone, Debug, PartialEq)]
pub struct QTable {
    n_actions: usize,
    values: Vec<f64>,
}

impl QTable {
    /// The all-zero table the article starts from.
    pub fn zeros(n_states: usize, n_actions: usize) -> QTable {
        QTable { n_actions, values: vec![0.0; n_states * n_actions] }
    }

    pub fn n_states(&self) -> usize {
        self.values.len() / self.n_actions
    }

    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    #[inline]
    pub fn row(&self, s: usize) -> &[f64] {
        &self.values[s * self.n_actions..(s + 1) * self.n_actions]
    }

    #[inline]
    pub fn get(&self, s: usize, a: usize) -> f64 {
        self.values[s * self.n_actions + a]
    }

    #[inline]
    pub fn get_mut(&mut self, s: usize, a: usize) -> &mut f64 {
        &mut self.values[s * self.n_actions + a]
    }

    /// V(s) = max_a Q(s, a).
    #[inline]
    pub fn max(&self, s: usize) -> f64 {
        self.row(s).iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// The best action, the lowest index among ties (a fixed rule for reporting).
    pub fn argmax(&self, s: usize) -> usize {
        let row = self.row(s);
        (0..row.len()).fold(0, |best, a| if row[a] > row[best] { a } else { best })
    }

    /// Every action within `tol` of the best one.
    pub fn best_actions(&self, s: usize, tol: f64) -> Vec<usize> {
        let v = self.max(s);
        (0..self.n_actions).filter(|&a| self.get(s, a) >= v - tol).collect()
    }

    /// max |Q(s,a) - other(s,a)| over the decision states of `model`.
    pub fn max_abs_diff(&self, other: &QTable, model: &Model) -> f64 {
        (0..self.n_states())
            .filter(|&s| model.decision[s])
            .flat_map(|s| self.row(s).iter().zip(other.row(s)).map(|(x, y)| (x - y).abs()))
            .fold(0.0, f64::max)
    }
}
