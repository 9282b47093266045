//! Policy gradient (chapter 2): REINFORCE.
//!
//! The maths as small pure functions, then one training loop per setting:
//! [`tabular`] (a softmax table on the maze, plain gradient ascent, exact gradients
//! written by hand) and [`neural`] (an MLP policy and value baseline in candle, on
//! CartPole). Equation numbers refer to the lesson, chapters/02-policy-gradient/README.md.

pub mod experiments;
pub mod figures;
pub mod neural;
pub mod tabular;

/// What multiplies ∇ log π(a_t|s_t) in the REINFORCE estimator (eqs. 3, 5, 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Estimator {
    /// The whole episode's return R(τ) at every step (eq. 3).
    Return,
    /// The reward-to-go G_t: only rewards that come after the action (eq. 5).
    RewardToGo,
    /// G_t minus a baseline b(s_t) that does not depend on the action (eq. 6).
    Baseline,
}

impl Estimator {
    pub const ALL: [Estimator; 3] = [Estimator::Return, Estimator::RewardToGo, Estimator::Baseline];

    /// A short key for file and CSV names.
    pub fn key(self) -> &'static str {
        match self {
            Estimator::Return => "return",
            Estimator::RewardToGo => "reward_to_go",
            Estimator::Baseline => "baseline",
        }
    }

    /// The label of figures and tables.
    pub fn label(self) -> &'static str {
        match self {
            Estimator::Return => "return R(τ)",
            Estimator::RewardToGo => "reward-to-go G_t",
            Estimator::Baseline => "G_t − b(s_t), with baseline",
        }
    }
}

/// Eq. (1): the discounted return of a whole episode, R(τ) = Σ_t γ^t r_t (chapter 1's
/// eq. 1, shared with it).
pub use crate::tabular::discounted_return;

/// Eq. (5): the reward-to-go G_t = r_t + γ r_{t+1} + γ² r_{t+2} + … for every step,
/// computed backwards. `tail` is the value of what comes after the last reward: 0 when
/// the episode terminated, an estimate V(s_T) when a time limit (or the end of a batch)
/// cut it short.
pub fn reward_to_go(rewards: &[f64], gamma: f64, tail: f64) -> Vec<f64> {
    let mut out = vec![0.0; rewards.len()];
    let mut g = tail;
    for t in (0..rewards.len()).rev() {
        g = rewards[t] + gamma * g;
        out[t] = g;
    }
    out
}

/// Eq. (4): π(a) = exp(θ_a) / Σ_b exp(θ_b), with the maximum subtracted first so that
/// large preferences do not overflow.
pub fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &l| m.max(l));
    let e: Vec<f64> = logits.iter().map(|&l| (l - max).exp()).collect();
    let total: f64 = e.iter().sum();
    e.into_iter().map(|x| x / total).collect()
}

/// Eq. (4): the gradient of log π(a) with respect to the preferences θ of a softmax,
/// e_a − π: +1 − π(a) for the action taken, −π(b) for every other action b.
pub fn grad_log_softmax(probs: &[f64], a: usize) -> Vec<f64> {
    probs.iter().enumerate().map(|(b, &p)| if b == a { 1.0 - p } else { -p }).collect()
}

/// Eq. (7): the total variance of a vector estimate, the trace of the sample covariance of
/// `samples` (K vectors), Σ_k ‖g_k − ḡ‖² / (K − 1). NaN for fewer than two samples.
pub fn trace_covariance(samples: &[Vec<f64>]) -> f64 {
    let k = samples.len();
    if k < 2 {
        return f64::NAN;
    }
    let dim = samples[0].len();
    let mean: Vec<f64> = (0..dim).map(|i| samples.iter().map(|g| g[i]).sum::<f64>() / k as f64).collect();
    let ss: f64 = samples.iter().map(|g| g.iter().zip(&mean).map(|(x, m)| (x - m) * (x - m)).sum::<f64>()).sum();
    ss / (k - 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 1000.0, 0.0]);
        assert!((p[0] - 0.5).abs() < 1e-12 && p[2] < 1e-300);
        assert!((softmax(&[0.3, -1.0, 2.0]).iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn trace_covariance_of_two_points() {
        // Two points (0,0) and (2,2): each coordinate has sample variance 2; the trace is 4.
        assert_eq!(trace_covariance(&[vec![0.0, 0.0], vec![2.0, 2.0]]), 4.0);
    }
}
