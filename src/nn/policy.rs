//! A categorical policy head: logits → log π(·|s), sampling, entropy.
//!
//! Always `log_softmax` (differentiable in candle); never the fused
//! `softmax_last_dim`, whose backward pass silently gives no gradient.

use candle_core::{Tensor, D};
use rand::{Rng, RngExt};

/// log π(a|s) for every action: log-softmax over the last dimension of `logits`.
pub fn log_probs(logits: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::log_softmax(logits, D::Minus1)
}

/// log π(a_i|s_i) of the actions taken: `log_probs` `[N, A]`, `actions` `[N]` (u32) → `[N]`.
pub fn log_probs_of(log_probs: &Tensor, actions: &Tensor) -> candle_core::Result<Tensor> {
    log_probs.gather(&actions.unsqueeze(1)?, 1)?.squeeze(1)
}

/// Mean entropy −Σ_a π(a|s) log π(a|s) over the rows of `log_probs` `[N, A]` (in nats).
pub fn entropy(log_probs: &Tensor) -> candle_core::Result<Tensor> {
    (log_probs.exp()? * log_probs)?.sum(D::Minus1)?.mean_all()?.neg()
}

/// Draws an action from softmax(`logits`) and returns it with its log-probability
/// log π(a) = logit_a − log Σ exp(logits) (what an on-policy batch records as log π_old).
pub fn sample_with_log_prob<R: Rng + ?Sized>(logits: &[f32], rng: &mut R) -> (usize, f64) {
    let a = sample_categorical(logits, rng);
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &l| m.max(l)) as f64;
    let log_z = max + logits.iter().map(|&l| (l as f64 - max).exp()).sum::<f64>().ln();
    (a, logits[a] as f64 - log_z)
}

/// Draws an action from softmax(`logits`) by inverting the cumulative distribution
/// with one uniform draw (computed in f64, so tiny probabilities are not lost).
pub fn sample_categorical<R: Rng + ?Sized>(logits: &[f32], rng: &mut R) -> usize {
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &l| m.max(l)) as f64;
    let weights: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (a, w) in weights.iter().enumerate() {
        if u < *w {
            return a;
        }
        u -= w;
    }
    logits.len() - 1 // only reached through rounding
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampled_log_prob_is_the_log_softmax() {
        let logits = [1.0f32, -2.0, 0.5];
        let z: f64 = logits.iter().map(|&l| (l as f64).exp()).sum();
        let mut rng = crate::rng::seeded(3, 0);
        let mut counts = [0usize; 3];
        for _ in 0..20_000 {
            let (a, lp) = sample_with_log_prob(&logits, &mut rng);
            assert!((lp - ((logits[a] as f64).exp() / z).ln()).abs() < 1e-12);
            counts[a] += 1;
        }
        // Frequencies within 4 standard errors of the probabilities.
        for (a, &c) in counts.iter().enumerate() {
            let p = (logits[a] as f64).exp() / z;
            let se = (p * (1.0 - p) / 20_000.0).sqrt();
            assert!((c as f64 / 20_000.0 - p).abs() < 4.0 * se, "action {a}: {c}");
        }
    }
}
