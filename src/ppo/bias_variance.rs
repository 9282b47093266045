//! How λ trades bias for variance (chapter 4's λ experiment), measured rather than
//! argued: for a fixed policy π and an imperfect critic V, start many continuations
//! from the same state s and first action a, compute on each the λ-return
//! R^λ = Â^λ_0 + V(s) (GAE, eq. 7, plus the baseline), and compare them with the truth
//! Q^π(s, a), estimated by independent Monte Carlo continuations.
//!
//! Â^λ_0 and R^λ differ by V(s), the same number on every continuation from s, so the
//! two have the same variance, and the baseline shifts the policy gradient's expectation
//! by nothing; R^λ is what λ controls. λ = 1 is the Monte Carlo return (unbiased, the
//! noise of a whole episode), λ = 0 the TD target r + γV(s') (one step of noise,
//! but wrong by as much as V is wrong).

use super::train::Actor;
use crate::env::Env;
use crate::error::Result;
use crate::estimators::gae;
use crate::nn::{candle_error, Mlp, PlainMlp};
use rand::Rng;

/// One continuation from a probe: what GAE needs.
struct Continuation {
    rewards: Vec<f64>,
    values: Vec<f64>,
    next_values: Vec<f64>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
}

/// Runs `env` (a copy placed at the probe state) from `first` action on with π until
/// the episode ends. With `critic` = None the values are left empty (Monte Carlo only).
fn continue_from<E, A, R>(
    mut env: E,
    first: A::Action,
    actor: &A::Plain,
    critic: Option<&PlainMlp>,
    obs: &[f32],
    rng: &mut R,
) -> Continuation
where
    E: Env<Action = A::Action>,
    E::Obs: AsRef<[f32]>,
    A: Actor,
    R: Rng + ?Sized,
{
    let mut c =
        Continuation { rewards: vec![], values: vec![], next_values: vec![], terminated: vec![], truncated: vec![] };
    let value = |o: &[f32]| critic.map_or(0.0, |v| f64::from(v.forward(o)[0]));
    let mut action = first;
    let mut obs = obs.to_vec();
    loop {
        let out = env.step(action);
        c.rewards.push(out.reward);
        if critic.is_some() {
            c.values.push(value(&obs));
            c.next_values.push(value(out.obs.as_ref()));
        }
        c.terminated.push(out.terminated);
        c.truncated.push(out.truncated);
        if out.done() {
            return c;
        }
        obs = out.obs.as_ref().to_vec();
        action = A::sample(actor, &obs, rng).0;
    }
}

/// Discounted sum Σ_t γ^t r_t.
fn discounted(rewards: &[f64], gamma: f64) -> f64 {
    rewards.iter().rev().fold(0.0, |g, r| r + gamma * g)
}

/// Population variance, computed on the samples minus the first one (the same variance,
/// and exactly 0 when every sample is equal, as the TD(0) target in a deterministic
/// environment is).
fn sample_variance(xs: &[f64]) -> f64 {
    let shifted: Vec<f64> = xs.iter().map(|x| x - xs[0]).collect();
    crate::stats::std(&shifted).powi(2)
}

/// Bias and variance of the λ-return at one λ, averaged over the probes.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LambdaStats {
    pub lambda: f64,
    /// mean over probes of (mean_i R^λ_i − Q^π(s, a))².
    pub bias_sq: f64,
    /// mean over probes of Var_i(R^λ_i).
    pub variance: f64,
}

impl LambdaStats {
    /// Mean squared error = bias² + variance.
    pub fn mse(&self) -> f64 {
        self.bias_sq + self.variance
    }
}

/// Measures [`LambdaStats`] for each of `lambdas`. Each probe is an environment placed
/// at a state s (its time limit should lie far beyond the discount horizon, so that the
/// truth is the return of the task rather than of a clock), the observation of s and the
/// first action a. From each probe, `truth_runs` continuations give Q^π(s, a) by Monte
/// Carlo, and `runs` independent ones give the estimates.
#[allow(clippy::too_many_arguments)]
pub fn lambda_return_bias_variance<E, A, R>(
    probes: &[(E, Vec<f32>, A::Action)],
    actor: &A,
    critic: &Mlp,
    gamma: f64,
    lambdas: &[f64],
    runs: usize,
    truth_runs: usize,
    rng: &mut R,
) -> Result<Vec<LambdaStats>>
where
    E: Env<Action = A::Action> + Clone,
    E::Obs: AsRef<[f32]>,
    A: Actor,
    R: Rng + ?Sized,
{
    let c = candle_error("the λ bias/variance measurement");
    let acting = actor.plain().map_err(&c)?;
    let value = critic.plain().map_err(&c)?;
    let mut bias_sq = vec![0.0; lambdas.len()];
    let mut variance = vec![0.0; lambdas.len()];
    for (env, obs, first) in probes {
        let truth: Vec<f64> = (0..truth_runs)
            .map(|_| {
                let run = continue_from::<E, A, R>(env.clone(), first.clone(), &acting, None, obs, rng);
                discounted(&run.rewards, gamma)
            })
            .collect();
        let q = crate::stats::mean(&truth);
        let mut estimates = vec![Vec::with_capacity(runs); lambdas.len()];
        for _ in 0..runs {
            let run = continue_from::<E, A, R>(env.clone(), first.clone(), &acting, Some(&value), obs, rng);
            for (k, &lambda) in lambdas.iter().enumerate() {
                let (adv, _) =
                    gae(&run.rewards, &run.values, &run.next_values, &run.terminated, &run.truncated, gamma, lambda);
                estimates[k].push(adv[0] + run.values[0]); // eq. 18: R^λ = Â^λ_0 + V(s)
            }
        }
        for k in 0..lambdas.len() {
            let m = crate::stats::mean(&estimates[k]);
            bias_sq[k] += (m - q) * (m - q) / probes.len() as f64;
            variance[k] += sample_variance(&estimates[k]) / probes.len() as f64;
        }
    }
    Ok(lambdas
        .iter()
        .enumerate()
        .map(|(k, &lambda)| LambdaStats { lambda, bias_sq: bias_sq[k], variance: variance[k] })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discounted_by_hand() {
        assert!((discounted(&[1.0, 2.0, 4.0], 0.5) - (1.0 + 1.0 + 1.0)).abs() < 1e-15);
    }

    #[test]
    fn variance_of_equal_samples_is_exactly_zero() {
        assert_eq!(sample_variance(&[0.1 + 0.2; 7]), 0.0);
        assert!((sample_variance(&[1.0, 3.0]) - 1.0).abs() < 1e-15);
    }
}
