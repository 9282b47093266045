//! Q-learning (Watkins, 1989): learn Q* from experience alone.
//!
//! Equation numbers refer to chapter 1's lesson.

use super::QTable;
use crate::env::Env;
use crate::error::{Error, Result};
use rand::{Rng, RngExt};

/// A value that changes with the episode number (used for ε).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Schedule {
    Constant(f64),
    /// From `start` to `end` linearly over the first `episodes` episodes, then `end`.
    Linear {
        start: f64,
        end: f64,
        episodes: usize,
    },
}

impl Schedule {
    pub fn at(&self, episode: usize) -> f64 {
        match *self {
            Schedule::Constant(v) => v,
            Schedule::Linear { start, end, episodes } => {
                let f = (episode as f64 / episodes.max(1) as f64).min(1.0);
                start + f * (end - start)
            }
        }
    }
}

/// The learning rate α of eq. (4).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum StepSize {
    Constant(f64),
    /// Eq. (7): α = 1 / n(s,a)^ω, n the number of updates of (s, a) so far, this one included.
    /// For 0.5 < ω ≤ 1 the steps satisfy Σα = ∞ and Σα² < ∞ (Robbins-Monro), which
    /// averages the noise away; ω = 1 is the plain running mean.
    Visits {
        omega: f64,
    },
}

impl StepSize {
    #[inline]
    pub fn alpha(&self, visits: u32) -> f64 {
        match *self {
            StepSize::Constant(a) => a,
            StepSize::Visits { omega } => (visits as f64).powf(-omega),
        }
    }
}

/// The Q-learning update, eq. (4): Q(s,a) ← Q(s,a) + α [r + γ max_a' Q(s',a') − Q(s,a)].
/// A terminal s' has no future, so its max is replaced by 0. Returns the new Q(s,a).
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn bellman_update(
    q: &mut QTable,
    s: usize,
    a: usize,
    r: f64,
    s_next: usize,
    terminal: bool,
    gamma: f64,
    alpha: f64,
) -> f64 {
    let future = if terminal { 0.0 } else { q.max(s_next) };
    let target = r + gamma * future;
    let qsa = q.get_mut(s, a);
    *qsa += alpha * (target - *qsa);
    *qsa
}

/// The greedy action of eq. (5): argmax over `row`, ties broken uniformly at random
/// (a fixed lowest-index rule would bias a zero-initialised agent towards "up").
#[inline]
pub fn argmax_random_ties<R: Rng + ?Sized>(row: &[f64], rng: &mut R) -> usize {
    let mut best = 0;
    let mut ties = 1u32;
    for a in 1..row.len() {
        if row[a] > row[best] {
            best = a;
            ties = 1;
        } else if row[a] == row[best] {
            // Reservoir sampling: keep the k-th tie with probability 1/k.
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                best = a;
            }
        }
    }
    best
}

/// ε-greedy, eq. (6): a random action with probability ε, otherwise the greedy one.
#[inline]
pub fn epsilon_greedy<R: Rng + ?Sized>(row: &[f64], epsilon: f64, rng: &mut R) -> usize {
    if epsilon > 0.0 && rng.random::<f64>() < epsilon {
        rng.random_range(0..row.len())
    } else {
        argmax_random_ties(row, rng)
    }
}

/// The discounted return of eq. (1), G_0 = r_0 + γ r_1 + γ² r_2 + …, of the rewards
/// of one episode (r_t follows the action a_t), computed backwards. Chapter 2 uses the
/// same function as its R(τ).
pub fn discounted_return(rewards: &[f64], gamma: f64) -> f64 {
    rewards.iter().rev().fold(0.0, |g, r| r + gamma * g)
}

/// Hyper-parameters of a Q-learning run.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct QLearning {
    pub episodes: usize,
    pub gamma: f64,
    pub epsilon: Schedule,
    pub alpha: StepSize,
    /// Stop after the episode in which this many environment steps were reached.
    pub step_budget: Option<u64>,
}

/// What the training loop reports after every episode.
pub struct EpisodeEnd<'a> {
    pub episode: usize,
    /// Environment steps since training began, this episode included.
    pub env_steps: u64,
    /// Steps in this episode.
    pub steps: usize,
    /// The undiscounted sum of the episode's rewards (what `metrics.csv` calls
    /// `return`); the discounted return of eq. (1) is [`discounted_return`].
    pub ret: f64,
    /// The episode ended in a terminal state (the goal) rather than the time limit.
    pub terminated: bool,
    pub q: &'a QTable,
}

/// The Q-learning loop: ε-greedy acting and the Bellman update on every step, starting
/// from an all-zero table. Calls `on_episode` after every episode.
pub fn train<E, R>(
    env: &mut E,
    n_states: usize,
    n_actions: usize,
    cfg: &QLearning,
    rng: &mut R,
    mut on_episode: impl FnMut(&EpisodeEnd),
) -> Result<QTable>
where
    E: Env<Obs = usize, Action = usize>,
    R: Rng + ?Sized,
{
    let mut q = QTable::zeros(n_states, n_actions);
    let mut visits = vec![0u32; n_states * n_actions];
    let mut env_steps = 0u64;
    for episode in 0..cfg.episodes {
        let epsilon = cfg.epsilon.at(episode);
        let mut s = env.reset(rng);
        let (mut steps, mut ret) = (0usize, 0.0);
        loop {
            let a = epsilon_greedy(q.row(s), epsilon, rng);
            let step = env.step(a);
            let n = &mut visits[s * n_actions + a];
            *n = n.saturating_add(1);
            let alpha = cfg.alpha.alpha(*n);
            let new = bellman_update(&mut q, s, a, step.reward, step.obs, step.terminated, cfg.gamma, alpha);
            env_steps += 1;
            if !new.is_finite() {
                return Err(Error::NonFinite { what: format!("Q(state {s}, action {a})"), step: env_steps });
            }
            steps += 1;
            ret += step.reward;
            s = step.obs;
            if step.done() {
                on_episode(&EpisodeEnd { episode, env_steps, steps, ret, terminated: step.terminated, q: &q });
                break;
            }
        }
        if cfg.step_budget.is_some_and(|b| env_steps >= b) {
            break;
        }
    }
    Ok(q)
}

/// Follows the greedy policy (lowest index among ties) from `start` with the
/// deterministic transition `next(s, a) -> (s', terminal)`. Stops at a terminal
/// state, at a repeated state (a loop), or after `max_len` moves. Returns the states
/// visited and whether a terminal state was reached.
pub fn greedy_path(
    q: &QTable,
    start: usize,
    max_len: usize,
    next: impl Fn(usize, usize) -> (usize, bool),
) -> (Vec<usize>, bool) {
    let mut path = vec![start];
    let mut s = start;
    for _ in 0..max_len {
        let (n, terminal) = next(s, q.argmax(s));
        path.push(n);
        if terminal {
            return (path, true);
        }
        if path[..path.len() - 1].contains(&n) {
            break;
        }
        s = n;
    }
    (path, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn bellman_update_by_hand() {
        // Q(0,1) = 0 + 0.5 * (1 + 0.9 * 2 - 0) = 1.4
        let mut q = QTable::zeros(2, 2);
        *q.get_mut(1, 0) = 2.0;
        let new = bellman_update(&mut q, 0, 1, 1.0, 1, false, 0.9, 0.5);
        assert!((new - 1.4).abs() < 1e-12);
        // Terminal: no future. Q(0,0) = 0 + 1.0 * (5 - 0) = 5
        assert_eq!(bellman_update(&mut q, 0, 0, 5.0, 1, true, 0.9, 1.0), 5.0);
    }

    #[test]
    fn ties_are_broken_uniformly() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut counts = [0usize; 4];
        for _ in 0..40_000 {
            counts[argmax_random_ties(&[0.0, 1.0, 1.0, 1.0], &mut rng)] += 1;
        }
        assert_eq!(counts[0], 0);
        for c in &counts[1..] {
            assert!((*c as f64 / 40_000.0 - 1.0 / 3.0).abs() < 0.02, "{counts:?}");
        }
    }

    #[test]
    fn discounted_return_by_hand() {
        // 1 + 0.5 * 2 + 0.25 * 3 = 2.75; γ = 1 is the plain sum.
        assert_eq!(discounted_return(&[1.0, 2.0, 3.0], 0.5), 2.75);
        assert_eq!(discounted_return(&[1.0, 2.0, 3.0], 1.0), 6.0);
        assert_eq!(discounted_return(&[], 0.9), 0.0);
    }

    #[test]
    fn schedules() {
        let s = Schedule::Linear { start: 1.0, end: 0.1, episodes: 10 };
        assert_eq!(s.at(0), 1.0);
        assert!((s.at(5) - 0.55).abs() < 1e-12);
        assert!((s.at(100) - 0.1).abs() < 1e-12);
        assert_eq!(StepSize::Visits { omega: 1.0 }.alpha(4), 0.25);
    }
}
