//! A diagonal Gaussian policy head for continuous actions (chapter 4, Pendulum):
//! a ~ N(μ(s), diag σ²), the mean μ(s) from an MLP and log σ a free parameter vector
//! that does not depend on the state.
//!
//! log π(a|s) = Σ_d [ −½ ((a_d − μ_d) / σ_d)² − log σ_d − ½ log 2π ]   (eq. 15 of chapter 4)
//! H(π(·|s))  = Σ_d [ log σ_d + ½ (1 + log 2π) ]                        (eq. 16)
//!
//! The entropy does not depend on s: with a state-independent σ, exploring more or
//! less is one decision for the whole state space, which the gradient of log σ makes.
//! The tensor functions are differentiable in candle (for the update); the plain ones
//! compute the same numbers for acting, one state at a time.

use candle_core::{Tensor, D};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// ½ log 2π.
const HALF_LOG_2PI: f64 = 0.918_938_533_204_672_8;

/// log π(a_i|s_i) for each row: `mean` `[N, D]`, `log_std` `[D]`, `actions` `[N, D]` → `[N]`.
pub fn gaussian_log_prob(mean: &Tensor, log_std: &Tensor, actions: &Tensor) -> candle_core::Result<Tensor> {
    let dim = log_std.elem_count() as f64;
    // z = (a − μ) / σ = (a − μ)·exp(−log σ)
    let z = (actions - mean)?.broadcast_mul(&log_std.neg()?.exp()?)?;
    let quadratic = (z.sqr()?.sum(D::Minus1)? * -0.5)?;
    quadratic.broadcast_sub(&log_std.sum_all()?)?.affine(1.0, -dim * HALF_LOG_2PI)
}

/// Entropy of N(μ, diag σ²) in nats, the same for every state: Σ_d log σ_d + D·½(1 + log 2π).
pub fn gaussian_entropy(log_std: &Tensor) -> candle_core::Result<Tensor> {
    let dim = log_std.elem_count() as f64;
    log_std.sum_all()?.affine(1.0, dim * (0.5 + HALF_LOG_2PI))
}

/// log π(a|s) of one action, in plain f64 (the same formula as [`gaussian_log_prob`]).
pub fn gaussian_log_prob_plain(mean: &[f32], log_std: &[f32], action: &[f32]) -> f64 {
    mean.iter()
        .zip(log_std)
        .zip(action)
        .map(|((&m, &ls), &a)| {
            let z = (f64::from(a) - f64::from(m)) * (-f64::from(ls)).exp();
            -0.5 * z * z - f64::from(ls) - HALF_LOG_2PI
        })
        .sum()
}

/// Draws a ~ N(mean, diag exp(log_std)²): a_d = μ_d + σ_d·ξ_d with ξ_d ~ N(0, 1) from
/// the run's seeded `rng`.
pub fn sample_gaussian<R: Rng + ?Sized>(mean: &[f32], log_std: &[f32], rng: &mut R) -> Vec<f32> {
    mean.iter()
        .zip(log_std)
        .map(|(&m, &ls)| {
            let xi: f64 = StandardNormal.sample(rng);
            (f64::from(m) + f64::from(ls).exp() * xi) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f64], shape: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn log_prob_and_entropy_by_hand() {
        // One dimension, μ = 1, σ = e^0.5, a = 2: z = e^−0.5,
        // log π = −½ e^−1 − 0.5 − ½ log 2π.
        let lp = gaussian_log_prob(&t(&[1.0], &[1, 1]), &t(&[0.5], &[1]), &t(&[2.0], &[1, 1])).unwrap();
        let want = -0.5 * (-1.0f64).exp() - 0.5 - HALF_LOG_2PI;
        assert!((lp.to_vec1::<f64>().unwrap()[0] - want).abs() < 1e-12);
        // Two dimensions add up; the standard normal at 0 has density 1/(2π).
        let lp = gaussian_log_prob(&t(&[0.0, 0.0], &[1, 2]), &t(&[0.0, 0.0], &[2]), &t(&[0.0, 0.0], &[1, 2])).unwrap();
        assert!((lp.to_vec1::<f64>().unwrap()[0] + (2.0 * std::f64::consts::PI).ln()).abs() < 1e-12);
        assert!((gaussian_log_prob_plain(&[1.0], &[0.5], &[2.0]) - want).abs() < 1e-6);
        // H = log σ + ½(1 + log 2π) ≈ 1.4189 for σ = 1.
        let h = gaussian_entropy(&t(&[0.0], &[1])).unwrap().to_scalar::<f64>().unwrap();
        assert!((h - 1.418_938_533_204_672_7).abs() < 1e-12);
    }

    #[test]
    fn samples_have_the_right_mean_and_spread() {
        let mut rng = crate::rng::seeded(0, 0);
        let xs: Vec<f64> = (0..20_000).map(|_| f64::from(sample_gaussian(&[1.5], &[-1.0], &mut rng)[0])).collect();
        let (m, s) = (crate::stats::mean(&xs), crate::stats::std(&xs));
        assert!((m - 1.5).abs() < 0.01 && (s - (-1.0f64).exp()).abs() < 0.01, "mean {m}, std {s}");
    }

    // The gradient against finite differences: tests/ch04_ppo.rs.
}
