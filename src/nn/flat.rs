//! A network's parameters as one flat vector θ, for the second-order methods of
//! chapter 3 (conjugate gradient and line search work on θ ∈ ℝⁿ, not on tensors).

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};

/// θ: every parameter of `vars`, flattened in order, as f64.
pub fn flat_params(vars: &[Var]) -> candle_core::Result<Vec<f64>> {
    let mut out = Vec::new();
    for v in vars {
        out.extend(v.as_tensor().flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?);
    }
    Ok(out)
}

/// Writes θ back into `vars` (the inverse of [`flat_params`]).
pub fn set_flat_params(vars: &[Var], theta: &[f64]) -> candle_core::Result<()> {
    let mut offset = 0;
    for v in vars {
        let n = v.elem_count();
        let t = Tensor::from_slice(&theta[offset..offset + n], v.shape(), v.device())?.to_dtype(v.dtype())?;
        v.set(&t)?;
        offset += n;
    }
    assert_eq!(offset, theta.len(), "θ has {} entries, the network {offset}", theta.len());
    Ok(())
}

/// ∇θ as one flat vector in the order of [`flat_params`]; a parameter the loss does
/// not depend on gets zeros.
pub fn flat_grad(grads: &GradStore, vars: &[Var]) -> candle_core::Result<Vec<f64>> {
    let mut out = Vec::new();
    for v in vars {
        match grads.get(v.as_tensor()) {
            Some(g) => out.extend(g.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?),
            None => out.extend(std::iter::repeat_n(0.0, v.elem_count())),
        }
    }
    Ok(out)
}

/// θ + α d.
pub fn axpy(theta: &[f64], alpha: f64, d: &[f64]) -> Vec<f64> {
    theta.iter().zip(d).map(|(t, x)| t + alpha * x).collect()
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Activation, Mlp};

    #[test]
    fn flat_round_trip_and_gradient_order() {
        let mut rng = crate::rng::seeded(0, 0);
        let mlp = Mlp::new(&[3, 4, 2], Activation::Tanh, 1.0, DType::F64, &mut rng).unwrap();
        let theta = flat_params(&mlp.vars()).unwrap();
        assert_eq!(theta.len(), mlp.n_params());
        let shifted = axpy(&theta, 0.5, &vec![1.0; theta.len()]);
        set_flat_params(&mlp.vars(), &shifted).unwrap();
        assert_eq!(flat_params(&mlp.vars()).unwrap(), shifted);
        // d(sum of outputs)/d(last bias) = batch size, in the last two slots.
        let x = Tensor::ones((5, 3), DType::F64, &candle_core::Device::Cpu).unwrap();
        let grads = mlp.forward(&x).unwrap().sum_all().unwrap().backward().unwrap();
        let g = flat_grad(&grads, &mlp.vars()).unwrap();
        assert_eq!(&g[g.len() - 2..], &[5.0, 5.0]);
    }
}
