//! The estimators every policy-gradient chapter shares, as pure functions: generalised
//! advantage estimation (Schulman et al., 2016), the critic's explained variance, and
//! the k1 and k3 estimators of the KL divergence (used by PPO, TRPO, GRPO).

/// GAE over one environment's rollout of T transitions.
///
/// For each step t: the reward `rewards[t]`, the value estimate `values[t]` = V(s_t),
/// and `next_values[t]` = V(s_{t+1}) of the state the step actually reached (for a
/// step cut by the time limit, the final observation before any reset; for the
/// rollout's last step, the state the next rollout starts from).
///
/// TD error (eq. 6 of the lesson): δ_t = r_t + γ V(s_{t+1}) (1 − terminated_t) − V(s_t). A terminal state
/// has no future, so it is never bootstrapped; a truncated one still has a value.
///
/// Advantage (eq. 7): A_t = δ_t + γλ (1 − done_t) A_{t+1}, with done = terminated or truncated,
/// so that no advantage leaks across an episode boundary. λ = 0 gives the TD error,
/// λ = 1 the Monte Carlo return minus V(s_t).
///
/// Returns (advantages, returns) with returns = A + V (eq. 8), the critic's regression target.
pub fn gae(
    rewards: &[f64],
    values: &[f64],
    next_values: &[f64],
    terminated: &[bool],
    truncated: &[bool],
    gamma: f64,
    lambda: f64,
) -> (Vec<f64>, Vec<f64>) {
    let n = rewards.len();
    assert!(
        [values.len(), next_values.len(), terminated.len(), truncated.len()].iter().all(|&l| l == n),
        "gae: every input needs one entry per step"
    );
    let mut advantages = vec![0.0; n];
    let mut next_advantage = 0.0;
    for t in (0..n).rev() {
        let bootstrap = if terminated[t] { 0.0 } else { gamma * next_values[t] };
        let delta = rewards[t] + bootstrap - values[t];
        let carry = if terminated[t] || truncated[t] { 0.0 } else { gamma * lambda * next_advantage };
        advantages[t] = delta + carry;
        next_advantage = advantages[t];
    }
    let returns = advantages.iter().zip(values).map(|(a, v)| a + v).collect();
    (advantages, returns)
}

/// How much of the returns' variance the value function explains (eq. 12):
/// 1 − Var(returns − values) / Var(returns). 1 is perfect, 0 is no better than a
/// constant, negative is worse. NaN when the returns do not vary.
pub fn explained_variance(values: &[f64], returns: &[f64]) -> f64 {
    let var = |xs: &[f64]| {
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64
    };
    let residual: Vec<f64> = returns.iter().zip(values).map(|(r, v)| r - v).collect();
    let var_returns = var(returns);
    if var_returns == 0.0 {
        f64::NAN
    } else {
        1.0 - var(&residual) / var_returns
    }
}

/// The simple KL estimator (eq. 13) from samples a ~ π_old, given log r = log π_new(a) − log π_old(a):
/// k1 = E[−log r]. Unbiased for KL(π_old ‖ π_new), but single samples can be negative.
pub fn kl_k1(log_ratios: &[f64]) -> f64 {
    -log_ratios.iter().sum::<f64>() / log_ratios.len() as f64
}

/// The low-variance estimator (eq. 14) k3 = E[(r − 1) − log r]: unbiased for KL(π_old ‖ π_new) and
/// never negative, since x − 1 ≥ log x. GRPO's KL term (Shao et al. 2024) is the same form
/// with r = π_ref / π_θ.
pub fn kl_k3(log_ratios: &[f64]) -> f64 {
    log_ratios.iter().map(|&l| l.exp_m1() - l).sum::<f64>() / log_ratios.len() as f64
}

/// Advantages scaled to mean 0 and standard deviation 1 over a minibatch (eq. 10):
/// (A − mean) / (std + 1e-8). Only the relative size of advantages then matters, so one
/// learning rate suits rewards of any scale.
pub fn normalize_advantages(advantages: &[f64]) -> Vec<f64> {
    let n = advantages.len().max(1) as f64;
    let mean = advantages.iter().sum::<f64>() / n;
    let std = (advantages.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / n).sqrt();
    advantages.iter().map(|a| (a - mean) / (std + 1e-8)).collect()
}

/// Shifts and scales `xs` in place to mean 0 and standard deviation 1, leaving a batch
/// whose entries are all equal alone: how REINFORCE and TRPO normalise a whole batch of
/// advantages. Unlike [`normalize_advantages`] (PPO's minibatches) it adds no 1e-8 to
/// the standard deviation, so the two differ in the last bits and both are kept.
pub fn normalize_batch(xs: &mut [f64]) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return;
    }
    let mean = xs.iter().sum::<f64>() / n;
    let std = (xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
    if std > 0.0 {
        xs.iter_mut().for_each(|x| *x = (*x - mean) / std);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} != {b:?}");
        }
    }

    #[test]
    fn lambda_zero_is_the_td_error_and_one_is_monte_carlo() {
        let (r, v, nv) = ([1.0, 2.0, 3.0], [0.5, 1.0, 1.5], [1.0, 1.5, 4.0]);
        let no = [false; 3];
        let (a0, _) = gae(&r, &v, &nv, &no, &no, 0.9, 0.0);
        close(&a0, &[1.0 + 0.9 - 0.5, 2.0 + 0.9 * 1.5 - 1.0, 3.0 + 0.9 * 4.0 - 1.5]);
        // λ = 1: discounted rewards to the end, bootstrapped from V = 4 after the last step.
        let (a1, ret) = gae(&r, &v, &nv, &no, &no, 0.9, 1.0);
        let g2 = 3.0 + 0.9 * 4.0;
        let g1 = 2.0 + 0.9 * g2;
        let g0 = 1.0 + 0.9 * g1;
        close(&a1, &[g0 - 0.5, g1 - 1.0, g2 - 1.5]);
        close(&ret, &[g0, g1, g2]);
    }

    #[test]
    fn hand_computed_gae_with_lambda() {
        // γ = 0.5, λ = 0.5: δ = [1 + 0.5·2 − 1, 0 + 0.5·4 − 2] = [1, 0];
        // A_1 = 0, A_0 = 1 + 0.25·0 = 1. Then with δ_1 = 1: A_0 = 1 + 0.25 = 1.25.
        let (a, _) = gae(&[1.0, 0.0], &[1.0, 2.0], &[2.0, 4.0], &[false; 2], &[false; 2], 0.5, 0.5);
        close(&a, &[1.0, 0.0]);
        let (a, _) = gae(&[1.0, 1.0], &[1.0, 2.0], &[2.0, 4.0], &[false; 2], &[false; 2], 0.5, 0.5);
        close(&a, &[1.25, 1.0]);
    }

    #[test]
    fn termination_does_not_bootstrap_and_stops_the_sum() {
        // Step 0 ends the episode by termination; step 1 starts a new one.
        let (a, _) = gae(&[1.0, 1.0], &[0.5, 0.0], &[9.0, 2.0], &[true, false], &[false, false], 0.9, 0.95);
        close(&a, &[1.0 - 0.5, 1.0 + 0.9 * 2.0]);
    }

    #[test]
    fn truncation_bootstraps_from_the_final_state_but_stops_the_sum() {
        // Step 0 hit the time limit in a state worth 9: that value counts,
        // but the next episode's advantage (step 1) must not flow back.
        let (a, _) = gae(&[1.0, 1.0], &[0.5, 0.0], &[9.0, 2.0], &[false, false], &[true, false], 0.9, 0.95);
        close(&a, &[1.0 + 0.9 * 9.0 - 0.5, 1.0 + 0.9 * 2.0]);
    }

    #[test]
    fn diagnostics_by_hand() {
        assert_eq!(explained_variance(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 1.0);
        assert_eq!(explained_variance(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]), 0.0);
        assert!(explained_variance(&[0.0, 1.0], &[1.0, 1.0]).is_nan());
        let lr = [0.1f64, -0.2];
        assert!((kl_k1(&lr) - 0.05).abs() < 1e-15);
        let k3 = ((0.1f64.exp() - 1.0 - 0.1) + ((-0.2f64).exp() - 1.0 + 0.2)) / 2.0;
        assert!((kl_k3(&lr) - k3).abs() < 1e-15);
        assert!(kl_k3(&[-3.0, 0.0, 2.0]) > 0.0 && kl_k3(&[0.0]) == 0.0);
    }
}
