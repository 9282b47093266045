//! The Fisher matrix of a categorical policy, used only through products F v.
//!
//! F is the Hessian of the mean KL divergence between the old policy and the new one,
//! taken at θ = θ_old (lesson eq. 8). candle cannot differentiate a gradient a second
//! time, so the product is built from first-order pieces. With
//! z_s = f_θ(s) the logits and p_s = softmax(z_s), the chain rule gives the
//! Gauss-Newton form, exact at θ_old because ∂KL/∂z vanishes there (eq. 10):
//!
//!   F v = (1/N) Σ_s J_sᵀ (diag p_s − p_s p_sᵀ) J_s v,   J_s = ∂z_s/∂θ.
//!
//! J_s v, the change of the logits along v, comes from central finite differences of
//! two forward passes in f64; J_sᵀ u is one backward pass of Σ_s z_s · u_s.

use crate::nn::flat::{flat_grad, flat_params, set_flat_params};
use crate::nn::{log_probs, Mlp};
use candle_core::{Tensor, D};

/// Eq. (6): the mean over states of KL(π_old(·|s) ‖ π_θ(·|s)) = Σ_a π_old (log π_old − log π_θ),
/// from log-probabilities `[N, A]`. `logp_old` is treated as a constant.
pub fn mean_kl(logp_old: &Tensor, logp_new: &Tensor) -> candle_core::Result<Tensor> {
    let logp_old = logp_old.detach();
    (logp_old.exp()? * (&logp_old - logp_new)?)?.sum(D::Minus1)?.mean_all()
}

/// The policy's logits on `obs` with its parameters moved to θ + h v (then put back).
fn logits_at(policy: &Mlp, theta: &[f64], v: &[f64], h: f64, obs: &Tensor) -> candle_core::Result<Tensor> {
    let vars = policy.vars();
    set_flat_params(&vars, &crate::nn::flat::axpy(theta, h, v))?;
    let z = policy.forward(obs)?.detach();
    set_flat_params(&vars, theta)?;
    Ok(z)
}

/// Eq. (10): F v for the categorical policy `policy` (f64 weights) on the states `obs`
/// `[N, obs_dim]`, at the policy's current parameters.
pub fn fisher_vector_product(policy: &Mlp, obs: &Tensor, v: &[f64]) -> candle_core::Result<Vec<f64>> {
    let vars = policy.vars();
    let theta = flat_params(&vars)?;
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm == 0.0 {
        return Ok(vec![0.0; v.len()]);
    }
    // J v: central differences with a step of length 1e-5 along v (error ~1e-10 in f64).
    let h = 1e-5 / norm;
    let jv = ((logits_at(policy, &theta, v, h, obs)? - logits_at(policy, &theta, v, -h, obs)?)? / (2.0 * h))?;
    // u = (diag p − p pᵀ) J v, row by row.
    let logits = policy.forward(obs)?;
    let p = log_probs(&logits)?.exp()?.detach();
    let pjv = (&p * &jv)?;
    let u = (&pjv - p.broadcast_mul(&pjv.sum_keepdim(D::Minus1)?)?)?;
    // Jᵀ u / N: the gradient of (1/N) Σ_s z_s · u_s with u held constant.
    let n = obs.dim(0)? as f64;
    let grads = ((logits * u.detach())?.sum_all()? / n)?.backward()?;
    flat_grad(&grads, &vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::flat::dot;
    use crate::nn::Activation;
    use candle_core::{DType, Device};
    use rand::RngExt;

    /// ∇θ KL(π_old ‖ π_θ) at θ, for fixed old log-probabilities.
    fn kl_grad(policy: &Mlp, obs: &Tensor, logp_old: &Tensor, theta: &[f64]) -> Vec<f64> {
        set_flat_params(&policy.vars(), theta).unwrap();
        let kl = mean_kl(logp_old, &log_probs(&policy.forward(obs).unwrap()).unwrap()).unwrap();
        flat_grad(&kl.backward().unwrap(), &policy.vars()).unwrap()
    }

    #[test]
    fn equals_the_hessian_of_the_mean_kl_times_v() {
        let mut rng = crate::rng::seeded(7, 0);
        let policy = Mlp::new(&[3, 6, 3], Activation::Tanh, 1.0, DType::F64, &mut rng).unwrap();
        let xs: Vec<f64> = (0..20 * 3).map(|_| rng.random_range(-2.0..2.0)).collect();
        let obs = Tensor::from_vec(xs, (20, 3), &Device::Cpu).unwrap();
        let theta = flat_params(&policy.vars()).unwrap();
        let n = theta.len();
        let logp_old = log_probs(&policy.forward(&obs).unwrap()).unwrap().detach();
        // The explicit Hessian, column by column: H e_j = (∇KL(θ + h e_j) − ∇KL(θ − h e_j)) / 2h.
        let h = 1e-5;
        let columns: Vec<Vec<f64>> = (0..n)
            .map(|j| {
                let mut plus = theta.clone();
                plus[j] += h;
                let mut minus = theta.clone();
                minus[j] -= h;
                let (gp, gm) = (kl_grad(&policy, &obs, &logp_old, &plus), kl_grad(&policy, &obs, &logp_old, &minus));
                gp.iter().zip(&gm).map(|(a, b)| (a - b) / (2.0 * h)).collect()
            })
            .collect();
        set_flat_params(&policy.vars(), &theta).unwrap();
        for trial in 0..3 {
            let v: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            let hv: Vec<f64> = (0..n).map(|i| (0..n).map(|j| columns[j][i] * v[j]).sum()).collect();
            let fv = fisher_vector_product(&policy, &obs, &v).unwrap();
            let err = hv.iter().zip(&fv).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
            let rel = err / dot(&hv, &hv).sqrt();
            assert!(rel < 1e-6, "trial {trial}: relative error {rel:e}");
            // F is positive semi-definite: vᵀ F v ≥ 0.
            assert!(dot(&v, &fv) >= 0.0);
        }
        // The parameters are left as they were.
        assert_eq!(flat_params(&policy.vars()).unwrap(), theta);
    }

    #[test]
    fn kl_of_a_policy_with_itself_is_zero_and_known_by_hand() {
        let lp = |p: &[f64]| Tensor::from_vec(p.iter().map(|x| x.ln()).collect::<Vec<_>>(), (1, 2), &Device::Cpu);
        let same = mean_kl(&lp(&[0.3, 0.7]).unwrap(), &lp(&[0.3, 0.7]).unwrap()).unwrap();
        assert_eq!(same.to_scalar::<f64>().unwrap(), 0.0);
        let kl = mean_kl(&lp(&[0.5, 0.5]).unwrap(), &lp(&[0.2, 0.8]).unwrap()).unwrap().to_scalar::<f64>().unwrap();
        let by_hand = 0.5 * (0.5f64 / 0.2).ln() + 0.5 * (0.5f64 / 0.8).ln();
        assert!((kl - by_hand).abs() < 1e-15);
    }
}
