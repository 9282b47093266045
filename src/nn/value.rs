//! The value baseline's regression: V(s) fitted to the returns G_t by minimising the
//! mean squared error, a few passes of shuffled minibatches of Adam. REINFORCE
//! (chapter 2) and TRPO (chapter 3) fit their baselines with this one function.

use super::{candle_error, check_finite, clip_grad_norm, Mlp};
use crate::error::Result;
use candle_core::{Device, Tensor};
use candle_nn::Optimizer;
use rand::seq::SliceRandom;
use rand::Rng;

/// Mean squared error of the value predictions `values` `[N, 1]` against `returns` `[N]`.
pub fn value_loss(values: &Tensor, returns: &Tensor) -> candle_core::Result<Tensor> {
    (values.squeeze(1)? - returns)?.sqr()?.mean_all()
}

/// How the value network is fitted to a batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueFit {
    /// Passes over the batch.
    pub epochs: usize,
    /// Rows per Adam step.
    pub minibatch: usize,
    /// Global gradient-norm clipping of each step (∞: none).
    pub max_grad_norm: f64,
}

/// `fit.epochs` passes of Adam on the mean squared error of `value` against `returns`,
/// over `obs` (`returns.len()` rows, flattened), in minibatches of a fresh shuffle of
/// the rows each pass (drawn from `rng`). A non-finite loss stops training at `step`.
pub fn fit_value<R: Rng + ?Sized>(
    value: &Mlp,
    opt: &mut candle_nn::AdamW,
    obs: &[f32],
    returns: &[f64],
    fit: &ValueFit,
    rng: &mut R,
    step: u64,
) -> Result<()> {
    let c = candle_error("the value regression");
    let n = returns.len();
    let obs_t = Tensor::from_vec(obs.to_vec(), (n, obs.len() / n.max(1)), &Device::Cpu).map_err(&c)?;
    let returns: Vec<f32> = returns.iter().map(|&g| g as f32).collect();
    let mut order: Vec<u32> = (0..n as u32).collect();
    for _ in 0..fit.epochs {
        order.shuffle(rng);
        for chunk in order.chunks(fit.minibatch) {
            let idx = Tensor::from_slice(chunk, chunk.len(), &Device::Cpu).map_err(&c)?;
            let x = obs_t.index_select(&idx, 0).map_err(&c)?;
            let g: Vec<f32> = chunk.iter().map(|&i| returns[i as usize]).collect();
            let g = Tensor::from_vec(g, chunk.len(), &Device::Cpu).map_err(&c)?;
            let loss = value_loss(&value.forward(&x).map_err(&c)?, &g).map_err(&c)?;
            check_finite(loss.to_scalar::<f32>().map_err(&c)? as f64, "the value loss", step)?;
            let mut grads = loss.backward().map_err(&c)?;
            clip_grad_norm(&mut grads, &value.vars(), fit.max_grad_norm).map_err(&c)?;
            opt.step(&grads).map_err(&c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{adam, Activation};
    use candle_core::DType;

    #[test]
    fn fitting_brings_v_to_the_returns() {
        let mut rng = crate::rng::seeded(0, 0);
        let value = Mlp::new(&[2, 16, 1], Activation::Tanh, 1.0, DType::F32, &mut rng).unwrap();
        let mut opt = adam(value.vars(), 0.01, 1e-8).unwrap();
        // V(s) should learn s0 + 2 s1 on 64 points.
        let obs: Vec<f32> = (0..128).map(|i| ((i * 37) % 17) as f32 / 17.0 - 0.5).collect();
        let returns: Vec<f64> = obs.chunks(2).map(|s| (s[0] + 2.0 * s[1]) as f64).collect();
        let mse = |v: &[f64]| v.iter().zip(&returns).map(|(v, g)| (v - g) * (v - g)).sum::<f64>() / 64.0;
        let before = mse(&value.values(&obs).unwrap());
        let fit = ValueFit { epochs: 200, minibatch: 16, max_grad_norm: 1.0 };
        fit_value(&value, &mut opt, &obs, &returns, &fit, &mut rng, 1).unwrap();
        let after = mse(&value.values(&obs).unwrap());
        assert!(after < 0.05 * before && after < 0.01, "{before} → {after}");
    }
}
