//! Adam without weight decay, and global gradient-norm clipping (candle-nn has none).

use candle_core::backprop::GradStore;
use candle_core::Var;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

/// Adam (β = 0.9, 0.999) as candle-nn's AdamW with weight decay 0 (its default is 0.01,
/// which would pull every weight towards zero). `eps` is added to √v̂ in the update.
pub fn adam(vars: Vec<Var>, lr: f64, eps: f64) -> candle_core::Result<AdamW> {
    AdamW::new(vars, ParamsAdamW { lr, beta1: 0.9, beta2: 0.999, eps, weight_decay: 0.0 })
}

/// Scales every gradient by min(1, max_norm / ‖g‖), where ‖g‖ is the norm of all the
/// gradients of `vars` together, and returns ‖g‖ before clipping. An infinite
/// `max_norm` only measures. Parameters without a gradient are skipped.
pub fn clip_grad_norm(grads: &mut GradStore, vars: &[Var], max_norm: f64) -> candle_core::Result<f64> {
    let mut sum_sq = 0.0f64;
    for v in vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            sum_sq += g.sqr()?.sum_all()?.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        }
    }
    let norm = sum_sq.sqrt();
    if norm.is_finite() && norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        for v in vars {
            if let Some(g) = grads.remove(v.as_tensor()) {
                grads.insert(v.as_tensor(), (g * scale)?);
            }
        }
    }
    Ok(norm)
}
