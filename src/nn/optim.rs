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

/// Global gradient-norm clipping followed by Adam (β = 0.9, 0.999, no weight decay), in
/// one pass over plain f32 vectors: the same update as [`clip_grad_norm`] then
/// [`adam`]'s `step` (to float rounding; tests/ch04_ppo.rs compares them), without the
/// dozen candle operations per parameter tensor that those take (a fifth of a PPO
/// minibatch step on two small MLPs). For parameters θ with gradient g, at step t:
///
/// g ← g · min(1, max_norm / (‖g‖ + 10⁻⁶)) with ‖g‖ over all the parameters together,
/// m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,
/// θ ← θ − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε).
pub struct ClippedAdam {
    vars: Vec<Var>,
    /// First and second moments, one vector per parameter tensor.
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    t: i32,
    lr: f64,
    eps: f64,
    max_norm: f64,
}

impl ClippedAdam {
    /// Adam on f32 `vars` with learning rate `lr` and ε `eps`, clipping the global
    /// gradient norm to `max_norm` (∞: never clip).
    pub fn new(vars: Vec<Var>, lr: f64, eps: f64, max_norm: f64) -> candle_core::Result<ClippedAdam> {
        if let Some(v) = vars.iter().find(|v| v.dtype() != candle_core::DType::F32) {
            candle_core::bail!("ClippedAdam takes f32 parameters, not {:?}", v.dtype())
        }
        let zeros = |v: &Var| vec![0f32; v.elem_count()];
        Ok(ClippedAdam {
            m: vars.iter().map(zeros).collect(),
            v: vars.iter().map(zeros).collect(),
            vars,
            t: 0,
            lr,
            eps,
            max_norm,
        })
    }

    pub fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// One clipped Adam step on `grads`; returns the global norm ‖g‖ before clipping.
    /// A non-finite norm leaves the parameters alone (the caller stops the run).
    /// Parameters without a gradient are skipped, moments included.
    pub fn step(&mut self, grads: &GradStore) -> candle_core::Result<f64> {
        let g: Vec<Option<Vec<f32>>> = self
            .vars
            .iter()
            .map(|v| grads.get(v.as_tensor()).map(|g| g.flatten_all()?.to_vec1::<f32>()).transpose())
            .collect::<candle_core::Result<_>>()?;
        let norm = g.iter().flatten().flatten().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
        if !norm.is_finite() {
            return Ok(norm);
        }
        let clip = if norm > self.max_norm { (self.max_norm / (norm + 1e-6)) as f32 } else { 1.0 };
        self.t += 1;
        let (b1, b2) = (0.9f64, 0.999f64);
        let scale_m = (1.0 / (1.0 - b1.powi(self.t))) as f32;
        let scale_v = (1.0 / (1.0 - b2.powi(self.t))) as f32;
        let (b1, b2, lr, eps) = (b1 as f32, b2 as f32, self.lr as f32, self.eps as f32);
        for (k, var) in self.vars.iter().enumerate() {
            let Some(g) = &g[k] else { continue };
            let mut theta = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            let (m, v) = (&mut self.m[k], &mut self.v[k]);
            for (((theta, m), v), g) in theta.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
                let g = g * clip;
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *theta -= lr * (*m * scale_m) / ((*v * scale_v).sqrt() + eps);
            }
            var.set(&candle_core::Tensor::from_vec(theta, var.shape(), var.device())?)?;
        }
        Ok(norm)
    }
}
