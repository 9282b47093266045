//! Value iteration: the Bellman optimality equation applied until nothing changes.
//! With the model known this gives the exact Q* that Q-learning must find by trial.
//! Policy evaluation does the same with the Bellman expectation equation: the exact
//! V^π of a given policy.

use super::{Model, QTable};
use crate::error::{Error, Result};

/// The Bellman optimality backup for one (s, a), eq. (3):
/// Q(s,a) = Σ_s' p(s'|s,a) [r + γ max_a' Q(s',a')], with no future after a terminal state.
pub fn backup(model: &Model, q: &QTable, s: usize, a: usize, gamma: f64) -> f64 {
    model.outcomes[s * model.n_actions + a]
        .iter()
        .map(|o| o.prob * (o.reward + if o.terminal { 0.0 } else { gamma * q.max(o.next) }))
        .sum()
}

/// Sweeps the backup over all decision states until the largest change is below
/// `tol`. Returns Q* and the number of sweeps. Fails (with the flag to blame) when
/// the values do not settle, e.g. γ = 1 with a positive step reward.
pub fn value_iteration(model: &Model, gamma: f64, tol: f64) -> Result<(QTable, usize)> {
    let mut q = QTable::zeros(model.n_states, model.n_actions);
    for sweep in 1..=MAX_SWEEPS {
        let mut change: f64 = 0.0;
        for s in (0..model.n_states).filter(|&s| model.decision[s]) {
            for a in 0..model.n_actions {
                let new = backup(model, &q, s, a, gamma);
                change = change.max((new - q.get(s, a)).abs());
                *q.get_mut(s, a) = new;
            }
        }
        if !change.is_finite() {
            break;
        }
        if change < tol {
            return Ok((q, sweep));
        }
    }
    Err(diverged(gamma))
}

/// Sweeps of the backups before giving up.
const MAX_SWEEPS: usize = 100_000;

fn diverged(gamma: f64) -> Error {
    Error::invalid(
        "--gamma",
        gamma,
        "value iteration does not converge: with this discount, wandering forever collects unbounded reward",
    )
}

/// Policy evaluation: the Bellman expectation equation, eq. (2),
/// V^π(s) = Σ_a π(a|s) Σ_s' p(s'|s,a) [r + γ V^π(s')] (no future after a terminal
/// state), swept over the decision states until the largest change is below `tol`.
/// `policy(s)` gives π(·|s). Returns V^π per state (0 where nothing is decided).
pub fn policy_evaluation(model: &Model, policy: impl Fn(usize) -> Vec<f64>, gamma: f64, tol: f64) -> Result<Vec<f64>> {
    let mut v = vec![0.0; model.n_states];
    for _ in 0..MAX_SWEEPS {
        let mut change: f64 = 0.0;
        for s in (0..model.n_states).filter(|&s| model.decision[s]) {
            let pi = policy(s);
            let new: f64 = (0..model.n_actions)
                .map(|a| {
                    let outcomes = &model.outcomes[s * model.n_actions + a];
                    let value: f64 = outcomes
                        .iter()
                        .map(|o| o.prob * (o.reward + if o.terminal { 0.0 } else { gamma * v[o.next] }))
                        .sum();
                    pi[a] * value
                })
                .sum();
            change = change.max((new - v[s]).abs());
            v[s] = new;
        }
        if !change.is_finite() {
            break;
        }
        if change < tol {
            return Ok(v);
        }
    }
    Err(diverged(gamma))
}
