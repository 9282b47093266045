//! Conjugate gradient: solve F x = g using only products F v.
//!
//! TRPO's natural-gradient direction is x = F⁻¹ g, with F the Fisher matrix of the
//! policy (the Hessian of the mean KL). F has as many rows as the network has
//! parameters, so it is never built: conjugate gradient needs only Fisher-vector
//! products, and a few iterations (10 in the TRPO paper) give a good direction.

/// What the solver found.
#[derive(Clone, Debug, PartialEq)]
pub struct CgResult {
    pub x: Vec<f64>,
    /// ‖g − F x‖ at the end.
    pub residual: f64,
    pub iterations: usize,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves (F + damping·I) x = g for a symmetric positive-definite F given as the
/// product `fvp(v) = F v`. Stops after `max_iters` or when ‖residual‖² < `tol`.
/// Damping keeps the system well conditioned when F is nearly singular (directions
/// the policy does not depend on).
pub fn conjugate_gradient(
    mut fvp: impl FnMut(&[f64]) -> Vec<f64>,
    g: &[f64],
    damping: f64,
    max_iters: usize,
    tol: f64,
) -> CgResult {
    let mut x = vec![0.0; g.len()];
    let mut r = g.to_vec(); // residual g − A x, with x = 0
    let mut p = r.clone(); // search direction
    let mut rr = dot(&r, &r);
    let mut iterations = 0;
    while iterations < max_iters && rr >= tol {
        let mut ap = fvp(&p);
        for (a, pi) in ap.iter_mut().zip(&p) {
            *a += damping * pi;
        }
        let step = rr / dot(&p, &ap);
        for i in 0..x.len() {
            x[i] += step * p[i];
            r[i] -= step * ap[i];
        }
        let rr_new = dot(&r, &r);
        // The next direction is A-conjugate to all previous ones.
        let beta = rr_new / rr;
        for i in 0..p.len() {
            p[i] = r[i] + beta * p[i];
        }
        rr = rr_new;
        iterations += 1;
    }
    CgResult { x, residual: rr.sqrt(), iterations }
}

/// The factor that puts a step s on the trust region's edge: with the quadratic model
/// KL ≈ ½ sᵀF s, the step β s has KL δ when β = √(2δ / sᵀF s).
pub fn trust_region_scale(s: &[f64], fs: &[f64], delta: f64) -> f64 {
    (2.0 * delta / dot(s, fs)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng;
    use rand::RngExt;

    /// A random symmetric positive-definite matrix M Mᵀ + 0.1 I.
    fn spd(n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut r = rng::seeded(seed, 0);
        let m: Vec<Vec<f64>> = (0..n).map(|_| (0..n).map(|_| r.random_range(-1.0..1.0)).collect()).collect();
        (0..n).map(|i| (0..n).map(|j| dot(&m[i], &m[j]) + if i == j { 0.1 } else { 0.0 }).collect()).collect()
    }

    fn mul(a: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
        a.iter().map(|row| dot(row, v)).collect()
    }

    /// Gaussian elimination with partial pivoting: the direct solve to compare with.
    fn solve(a: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
        let n = b.len();
        let mut m: Vec<Vec<f64>> =
            a.iter().zip(b).map(|(row, bi)| row.iter().copied().chain([*bi]).collect()).collect();
        for c in 0..n {
            let p = (c..n).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs())).unwrap();
            m.swap(c, p);
            let pivot = m[c].clone();
            for row in m.iter_mut().skip(c + 1) {
                let f = row[c] / pivot[c];
                for (x, p) in row.iter_mut().zip(&pivot).skip(c) {
                    *x -= f * p;
                }
            }
        }
        let mut x = vec![0.0; n];
        for i in (0..n).rev() {
            x[i] = (m[i][n] - (i + 1..n).map(|j| m[i][j] * x[j]).sum::<f64>()) / m[i][i];
        }
        x
    }

    #[test]
    fn matches_a_direct_solve_on_random_spd_systems() {
        for (seed, n) in [(1, 3), (2, 10), (3, 25)] {
            let a = spd(n, seed);
            let mut r = rng::seeded(seed, 1);
            let b: Vec<f64> = (0..n).map(|_| r.random_range(-1.0..1.0)).collect();
            let exact = solve(&a, &b);
            let res = conjugate_gradient(|v| mul(&a, v), &b, 0.0, 10 * n, 1e-24);
            for (x, y) in res.x.iter().zip(&exact) {
                assert!((x - y).abs() < 1e-8 * (1.0 + y.abs()), "n = {n}: {x} vs {y}");
            }
            assert!(res.residual < 1e-10);
        }
    }

    #[test]
    fn damping_solves_the_shifted_system_and_few_iterations_leave_a_residual() {
        let a = spd(8, 4);
        let b = vec![1.0; 8];
        let shifted: Vec<Vec<f64>> = a
            .iter()
            .enumerate()
            .map(|(i, row)| row.iter().enumerate().map(|(j, v)| v + if i == j { 0.5 } else { 0.0 }).collect())
            .collect();
        let exact = solve(&shifted, &b);
        let res = conjugate_gradient(|v| mul(&a, v), &b, 0.5, 100, 1e-24);
        for (x, y) in res.x.iter().zip(&exact) {
            assert!((x - y).abs() < 1e-8);
        }
        let two = conjugate_gradient(|v| mul(&a, v), &b, 0.0, 2, 0.0);
        assert_eq!(two.iterations, 2);
        assert!(two.residual > 1e-6, "two iterations cannot solve an 8-dimensional system exactly");
    }

    #[test]
    fn trust_region_step_has_kl_delta_under_the_quadratic_model() {
        let a = spd(5, 5);
        let s = vec![0.3, -0.2, 0.1, 0.0, 0.5];
        let beta = trust_region_scale(&s, &mul(&a, &s), 0.01);
        let step: Vec<f64> = s.iter().map(|v| beta * v).collect();
        let kl = 0.5 * dot(&step, &mul(&a, &step));
        assert!((kl - 0.01).abs() < 1e-12);
    }
}
