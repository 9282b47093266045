//! PPO's losses as small functions of tensors, each the equation of the lesson it cites
//! (chapters/04-ppo/README.md). Every policy loss takes the log-probabilities of the
//! taken actions under the policy being trained, `log_probs` `[N]`, and under the policy
//! that collected the data, `old_log_probs` `[N]` (constants), and returns a scalar to
//! MINIMISE, i.e. minus the surrogate objective.

use super::train::Objective;
use crate::estimators::kl_k3;
use candle_core::Tensor;

/// The probability ratio ρ_t(θ) = π_θ(a_t|s_t) / π_old(a_t|s_t) = exp(log π_θ − log π_old)
/// (eq. 1). It is 1 before the first step of an update.
pub fn ratio(log_probs: &Tensor, old_log_probs: &Tensor) -> candle_core::Result<Tensor> {
    (log_probs - old_log_probs.detach())?.exp()
}

/// Plain policy gradient with importance sampling (eq. 2): −mean_t ρ_t A_t. At ρ = 1
/// its gradient is −mean_t ∇log π_θ(a_t|s_t) A_t, REINFORCE with a baseline.
pub fn surrogate_loss(log_probs: &Tensor, old_log_probs: &Tensor, advantages: &Tensor) -> candle_core::Result<Tensor> {
    (ratio(log_probs, old_log_probs)? * advantages.detach())?.mean_all()?.neg()
}

/// PPO-clip, the clipped surrogate (eq. 3): −mean_t min(ρ_t A_t, clip(ρ_t, 1 − ε, 1 + ε) A_t).
///
/// The min makes it a pessimistic bound: a ratio that has moved past 1 ± ε in the
/// direction the advantage favours earns nothing more (zero gradient), while a move
/// in the wrong direction is always counted in full.
pub fn clipped_surrogate_loss(
    log_probs: &Tensor,
    old_log_probs: &Tensor,
    advantages: &Tensor,
    clip_eps: f64,
) -> candle_core::Result<Tensor> {
    let r = ratio(log_probs, old_log_probs)?;
    let advantages = advantages.detach();
    let unclipped = (&r * &advantages)?;
    let clipped = (r.clamp(1.0 - clip_eps, 1.0 + clip_eps)? * &advantages)?;
    unclipped.minimum(&clipped)?.mean_all()?.neg()
}

/// PPO-KL, the KL-penalised surrogate (eq. 4): −mean_t [ρ_t A_t − β k3_t], with the KL
/// between π_old and π_θ estimated per sample by k3 = (ρ − 1) − log ρ (eq. 14): never
/// negative, and its gradient is an unbiased estimate of ∇KL.
pub fn kl_penalty_loss(
    log_probs: &Tensor,
    old_log_probs: &Tensor,
    advantages: &Tensor,
    beta: f64,
) -> candle_core::Result<Tensor> {
    let log_r = (log_probs - old_log_probs.detach())?;
    let r = log_r.exp()?;
    let k3 = ((&r - 1.0)? - &log_r)?;
    ((r * advantages.detach())? - (k3 * beta)?)?.mean_all()?.neg()
}

/// The policy loss of `objective`: eq. 3 (clip, with `clip_eps`), eq. 4 (KL penalty, with
/// `beta`) or eq. 2 (plain policy gradient and the unclipped control: the same ρ·A; they
/// differ in how many steps they take on a batch, not in the loss).
pub fn policy_loss(
    objective: Objective,
    log_probs: &Tensor,
    old_log_probs: &Tensor,
    advantages: &Tensor,
    clip_eps: f64,
    beta: f64,
) -> candle_core::Result<Tensor> {
    match objective {
        Objective::Clip => clipped_surrogate_loss(log_probs, old_log_probs, advantages, clip_eps),
        Objective::KlPenalty => kl_penalty_loss(log_probs, old_log_probs, advantages, beta),
        Objective::Vanilla | Objective::Unclipped => surrogate_loss(log_probs, old_log_probs, advantages),
    }
}

/// Target-KL early stopping (eq. 17, as in Stable-Baselines3): true when the KL estimate k3 of
/// the samples' log-ratios log π_θ − log π_old exceeds 1.5 × `target`, i.e. the update
/// has moved the policy far enough and should take no more steps on this batch.
pub fn stop_early(log_ratios: &[f64], target: f64) -> bool {
    kl_k3(log_ratios) > 1.5 * target
}

/// The adaptive penalty coefficient of PPO-KL (eq. 5), applied after each update with the
/// KL d measured between the policy before and after it: d > 1.5·target → β·2 (the
/// step went too far: penalise more); d < target / 1.5 → β / 2; otherwise unchanged.
pub fn adapt_beta(beta: f64, kl: f64, target: f64) -> f64 {
    if kl > 1.5 * target {
        beta * 2.0
    } else if kl < target / 1.5 {
        beta / 2.0
    } else {
        beta
    }
}

/// The critic's loss (eq. 9): mean_t (V(s_t) − R_t)², or with `clip` = Some(ε_V) the
/// clipped form mean_t max((V − R)², (V_old + clip(V − V_old, −ε_V, ε_V) − R)²), which
/// like the policy's clip gives no credit for moving V more than ε_V from the values
/// that computed the advantages. `values`, `old_values`, `returns`: `[N]`.
pub fn value_loss(
    values: &Tensor,
    old_values: &Tensor,
    returns: &Tensor,
    clip: Option<f64>,
) -> candle_core::Result<Tensor> {
    let returns = returns.detach();
    let unclipped = (values - &returns)?.sqr()?;
    match clip {
        None => unclipped.mean_all(),
        Some(eps) => {
            let old = old_values.detach();
            let moved = (values - &old)?.clamp(-eps, eps)?;
            let clipped = ((old + moved)? - &returns)?.sqr()?;
            unclipped.maximum(&clipped)?.mean_all()
        }
    }
}

/// The share of samples whose ratio left [1 − ε, 1 + ε]: how much of the batch the
/// clip switched off. `log_ratios` = log π_new − log π_old.
pub fn clip_fraction(log_ratios: &[f64], clip_eps: f64) -> f64 {
    let clipped = log_ratios.iter().filter(|l| (l.exp() - 1.0).abs() > clip_eps).count();
    clipped as f64 / log_ratios.len().max(1) as f64
}

// Hand-computed values of every loss: tests/ch04_ppo.rs.
