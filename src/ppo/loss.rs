//! PPO's losses as small functions of tensors, each the equation of the lesson it cites
//! (chapters/04-ppo/README.md). Every policy loss takes the log-probabilities of the
//! taken actions under the policy being trained, `log_probs` `[N]`, and under the policy
//! that collected the data, `old_log_probs` `[N]` (constants), and returns a scalar to
//! MINIMISE, i.e. minus the surrogate objective.

use candle_core::Tensor;

/// The probability ratio r_t(θ) = π_θ(a_t|s_t) / π_old(a_t|s_t) = exp(log π_θ − log π_old)
/// (eq. 1). It is 1 before the first step of an update.
pub fn ratio(log_probs: &Tensor, old_log_probs: &Tensor) -> candle_core::Result<Tensor> {
    (log_probs - old_log_probs.detach())?.exp()
}

/// Plain policy gradient with importance sampling (eq. 2): −mean_t r_t A_t. At r = 1
/// its gradient is −mean_t ∇log π_θ(a_t|s_t) A_t, REINFORCE with a baseline.
pub fn surrogate_loss(log_probs: &Tensor, old_log_probs: &Tensor, advantages: &Tensor) -> candle_core::Result<Tensor> {
    (ratio(log_probs, old_log_probs)? * advantages.detach())?.mean_all()?.neg()
}

/// PPO2, the clipped surrogate (eq. 3): −mean_t min(r_t A_t, clip(r_t, 1 − ε, 1 + ε) A_t).
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

/// PPO1, the KL-penalised surrogate (eq. 4): −mean_t [r_t A_t − β k3_t], with the KL
/// between π_old and π_θ estimated per sample by k3 = (ρ − 1) − log ρ, ρ = π_θ/π_old =
/// r_t (eq. 13): never negative, and its gradient is an unbiased estimate of ∇KL.
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

/// The adaptive penalty coefficient of PPO1 (eq. 5), applied after each update with the
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

/// Advantages scaled to mean 0 and standard deviation 1 over a minibatch (eq. 10):
/// (A − mean) / (std + 1e-8). Only the relative size of advantages then matters, so one
/// learning rate suits rewards of any scale.
pub fn normalize_advantages(advantages: &[f64]) -> Vec<f64> {
    let n = advantages.len().max(1) as f64;
    let mean = advantages.iter().sum::<f64>() / n;
    let std = (advantages.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / n).sqrt();
    advantages.iter().map(|a| (a - mean) / (std + 1e-8)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn t(v: &[f64]) -> Tensor {
        Tensor::from_vec(v.to_vec(), v.len(), &Device::Cpu).unwrap()
    }

    fn scalar(x: Tensor) -> f64 {
        x.to_scalar::<f64>().unwrap()
    }

    /// Ratios 1.5 and 0.5, advantages +1 and −1, ε = 0.2.
    fn ln(x: f64) -> f64 {
        x.ln()
    }

    #[test]
    fn clipped_surrogate_by_hand() {
        let (lp, old) = (t(&[ln(1.5), ln(0.5), ln(1.1), ln(0.7)]), t(&[0.0; 4]));
        let adv = t(&[1.0, 1.0, -2.0, -1.0]);
        // min(1.5·1, 1.2·1) = 1.2; min(0.5·1, 0.8·1) = 0.5; min(1.1·−2, 1.1·−2) = −2.2;
        // min(0.7·−1, 0.8·−1) = −0.8. Mean = (1.2 + 0.5 − 2.2 − 0.8)/4 = −0.325.
        let loss = scalar(clipped_surrogate_loss(&lp, &old, &adv, 0.2).unwrap());
        assert!((loss - 0.325).abs() < 1e-12, "{loss}");
        // Without the clip: (1.5 + 0.5 − 2.2 − 0.7)/4 = −0.225.
        let loss = scalar(surrogate_loss(&lp, &old, &adv).unwrap());
        assert!((loss - 0.225).abs() < 1e-12, "{loss}");
    }

    #[test]
    fn the_clip_removes_the_gradient_only_on_the_favoured_side() {
        // d loss / d log π_i = −r_i A_i / N where the unclipped term is the min, else 0.
        let lp = Var::from_tensor(&t(&[ln(1.5), ln(0.5), ln(1.5), ln(0.5)])).unwrap();
        let adv = t(&[1.0, 1.0, -1.0, -1.0]);
        let loss = clipped_surrogate_loss(lp.as_tensor(), &t(&[0.0; 4]), &adv, 0.2).unwrap();
        let g = loss.backward().unwrap().get(lp.as_tensor()).unwrap().to_vec1::<f64>().unwrap();
        // 1: r = 1.5 > 1.2 with A > 0: clipped, no gradient. 2: r = 0.5 with A > 0: the
        // unclipped 0.5 is the min, gradient −0.5/4. 3: r = 1.5 with A < 0: unclipped −1.5
        // is the min, gradient 1.5/4. 4: r = 0.5 < 0.8 with A < 0: clipped, no gradient.
        let want = [0.0, -0.125, 0.375, 0.0];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{g:?}");
        }
    }

    #[test]
    fn kl_penalty_by_hand() {
        let (lp, old, adv) = (t(&[ln(2.0), 0.0]), t(&[0.0, 0.0]), t(&[1.0, 3.0]));
        // r = (2, 1); k3 = (2 − 1 − ln 2, 0); objective = mean(2·1 − β k3, 1·3).
        let beta = 0.5;
        let want = -((2.0 - beta * (1.0 - 2f64.ln())) + 3.0) / 2.0;
        let loss = scalar(kl_penalty_loss(&lp, &old, &adv, beta).unwrap());
        assert!((loss - want).abs() < 1e-12, "{loss} vs {want}");
    }

    #[test]
    fn beta_doubles_above_the_target_range_and_halves_below() {
        let target = 0.01;
        assert_eq!(adapt_beta(1.0, 0.02, target), 2.0);
        assert_eq!(adapt_beta(1.0, 0.005, target), 0.5);
        assert_eq!(adapt_beta(1.0, 0.01, target), 1.0);
        // The edges of the range [target/1.5, 1.5·target] leave β alone.
        assert_eq!(adapt_beta(1.0, 0.015, target), 1.0);
        assert_eq!(adapt_beta(1.0, 0.01 / 1.5, target), 1.0);
    }

    #[test]
    fn value_loss_plain_and_clipped_by_hand() {
        let (v, old, ret) = (t(&[1.0, 3.0]), t(&[0.0, 2.5]), t(&[2.0, 2.0]));
        // Plain: ((1 − 2)² + (3 − 2)²)/2 = 1.
        assert!((scalar(value_loss(&v, &old, &ret, None).unwrap()) - 1.0).abs() < 1e-12);
        // Clipped at 0.2: V_clip = (0.2, 2.7); max((1−2)², (0.2−2)²) = 3.24, max(1, 0.49) = 1.
        let clipped = scalar(value_loss(&v, &old, &ret, Some(0.2)).unwrap());
        assert!((clipped - (3.24 + 1.0) / 2.0).abs() < 1e-12, "{clipped}");
    }

    #[test]
    fn clip_fraction_and_normalisation_by_hand() {
        assert_eq!(clip_fraction(&[ln(1.3), ln(0.9), ln(0.7), 0.0], 0.2), 0.5);
        let a = normalize_advantages(&[1.0, 3.0]);
        assert!((a[0] + 1.0).abs() < 1e-7 && (a[1] - 1.0).abs() < 1e-7, "{a:?}");
    }
}
