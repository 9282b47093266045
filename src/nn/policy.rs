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
