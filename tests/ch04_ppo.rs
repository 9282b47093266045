//! Chapter 4: PPO's losses, GAE, the adaptive β, the Gaussian head, learning on
//! CartPole and Pendulum, the λ bias/variance measurement, and the binary.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, RngExt};
use rl_sandbox::env::cartpole::CartPole;
use rl_sandbox::env::pendulum::Pendulum;
use rl_sandbox::env::{Env, Step};
use rl_sandbox::nn::{self, Activation, Mlp};
use rl_sandbox::ppo::bias_variance::lambda_return_bias_variance;
use rl_sandbox::ppo::experiments::PpoHeadline;
use rl_sandbox::ppo::{self, Categorical, Gaussian, Objective, PpoConfig};
use rl_sandbox::report::Summary;
use rl_sandbox::rollout::LearningCurve;
use rl_sandbox::{estimators, rng, stats};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

/// candle reads its thread counts once; one thread per test, as the chapter runs.
fn one_thread() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| rl_sandbox::run::set_intra_op_threads(1));
}

fn t(v: &[f64]) -> Tensor {
    Tensor::from_vec(v.to_vec(), v.len(), &Device::Cpu).unwrap()
}

fn scalar(x: Tensor) -> f64 {
    x.to_scalar::<f64>().unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-12, "{what}: {a} vs {b}");
}

// ---------------------------------------------------------------- the losses

#[test]
fn clipped_surrogate_by_hand() {
    // Ratios 1.5, 0.5, 1.1, 0.7 with advantages 1, 1, −2, −1 and ε = 0.2:
    // min(1.5, 1.2) = 1.2; min(0.5, 0.8) = 0.5; min(−2.2, −2.2) = −2.2; min(−0.7, −0.8) = −0.8.
    let lp = t(&[1.5f64.ln(), 0.5f64.ln(), 1.1f64.ln(), 0.7f64.ln()]);
    let (old, adv) = (t(&[0.0; 4]), t(&[1.0, 1.0, -2.0, -1.0]));
    close(scalar(ppo::clipped_surrogate_loss(&lp, &old, &adv, 0.2).unwrap()), 0.325, "−mean of the clipped terms");
    // Unclipped: (1.5 + 0.5 − 2.2 − 0.7)/4 = −0.225.
    close(scalar(ppo::surrogate_loss(&lp, &old, &adv).unwrap()), 0.225, "−mean r·A");
    // The ratio is exp(log π − log π_old) whatever the old log-probabilities are.
    let r = ppo::ratio(&t(&[-0.5]), &t(&[-0.5 - 2f64.ln()])).unwrap().to_vec1::<f64>().unwrap();
    close(r[0], 2.0, "ratio");
}

#[test]
fn the_clip_stops_the_gradient_only_on_the_side_the_advantage_favours() {
    // d loss / d log π_i = −r_i A_i / N where the unclipped term is the minimum, else 0.
    let lp = Var::from_tensor(&t(&[1.5f64.ln(), 0.5f64.ln(), 1.5f64.ln(), 0.5f64.ln()])).unwrap();
    let adv = t(&[1.0, 1.0, -1.0, -1.0]);
    let loss = ppo::clipped_surrogate_loss(lp.as_tensor(), &t(&[0.0; 4]), &adv, 0.2).unwrap();
    let g = loss.backward().unwrap().get(lp.as_tensor()).unwrap().to_vec1::<f64>().unwrap();
    // r = 1.5, A > 0: clipped, no gradient. r = 0.5, A > 0: the unclipped 0.5 is the min,
    // −0.5/4. r = 1.5, A < 0: the unclipped −1.5 is the min, 1.5/4. r = 0.5, A < 0: clipped.
    for (got, want) in g.iter().zip([0.0, -0.125, 0.375, 0.0]) {
        close(*got, want, "gradient");
    }
}

#[test]
fn the_unclipped_control_has_the_plain_surrogate_loss_and_gradient() {
    // The control of the objectives comparison: −mean ρ·A with no clip and no penalty,
    // however far the ratios have moved. Ratios 1.5, 0.5, 3, 0.2 with advantages
    // 1, 1, −1, −1 (and ε = 0.2, β = 7, which it must ignore):
    // loss = −(1.5 + 0.5 − 3 − 0.2)/4 = 0.3; d loss / d log π_i = −ρ_i A_i / 4.
    let ratios = [1.5f64, 0.5, 3.0, 0.2];
    let lp = Var::from_tensor(&t(&ratios.map(f64::ln))).unwrap();
    let adv = t(&[1.0, 1.0, -1.0, -1.0]);
    let loss = ppo::policy_loss(Objective::Unclipped, lp.as_tensor(), &t(&[0.0; 4]), &adv, 0.2, 7.0).unwrap();
    close(loss.to_scalar::<f64>().unwrap(), 0.3, "−mean ρ·A");
    let g = loss.backward().unwrap().get(lp.as_tensor()).unwrap().to_vec1::<f64>().unwrap();
    for (got, want) in g.iter().zip([-0.375, -0.125, 0.75, 0.05]) {
        close(*got, want, "gradient of the unclipped loss");
    }
    // Where PPO-clip would have stopped pushing (ρ = 1.5 > 1.2 with A > 0), the control
    // still pushes; the clipped loss gives that sample no gradient.
    let clip = ppo::policy_loss(Objective::Clip, lp.as_tensor(), &t(&[0.0; 4]), &adv, 0.2, 7.0).unwrap();
    let g_clip = clip.backward().unwrap().get(lp.as_tensor()).unwrap().to_vec1::<f64>().unwrap();
    close(g_clip[0], 0.0, "the clip's gradient at ρ = 1.5, A > 0");
}

#[test]
fn target_kl_stops_when_the_batch_has_moved_past_one_and_a_half_targets() {
    // k3 of log-ratios ±0.2: mean(e^0.2 − 1.2, e^−0.2 − 0.8) ≈ 0.020067.
    let log_ratios = [0.2, -0.2];
    let k3 = estimators::kl_k3(&log_ratios);
    assert!((k3 - 0.020_067).abs() < 1e-6, "{k3}");
    assert!(ppo::stop_early(&log_ratios, 0.01), "0.0201 > 1.5 × 0.01 = 0.015");
    assert!(!ppo::stop_early(&log_ratios, 0.014), "0.0201 < 1.5 × 0.014 = 0.021");
    assert!(!ppo::stop_early(&[0.0; 4], 1e-8), "an unmoved policy never stops");
}

#[test]
fn target_kl_early_stopping_cuts_the_epoch_loop() {
    one_thread();
    // 20 epochs of one 256-row minibatch. With a tiny KL target, the first step (ρ = 1,
    // KL = 0) is taken and the second finds the policy already moved: one step per
    // update. Without the option every update takes all 20.
    let base = PpoConfig { objective: Objective::Unclipped, total_steps: 256 * 3, ..PpoConfig::default() };
    let run = |cfg: &PpoConfig| {
        let mut rng = rng::seeded(0, 1);
        let actor = Categorical::new(4, 2, &cfg.hidden, cfg.activation, &mut rng).unwrap();
        let envs = (0..cfg.n_envs).map(|_| CartPole::new()).collect();
        ppo::train(envs, actor, cfg, &mut rng, |_, _| {}).unwrap()
    };
    let full = run(&base);
    assert!(full.updates.iter().all(|u| u.gradient_steps == 20), "{:?}", full.updates);
    let stopped = run(&PpoConfig { early_stop_kl: Some(1e-8), ..base.clone() });
    assert!(stopped.updates.iter().all(|u| u.gradient_steps == 1), "{:?}", stopped.updates);
    // One step moves the policy less than twenty.
    assert!(stopped.updates[0].kl_k3 < full.updates[0].kl_k3);
    // A target the batch never reaches changes nothing: the same numbers as without it.
    let loose = run(&PpoConfig { early_stop_kl: Some(10.0), ..base });
    assert_eq!(
        loose.updates.iter().map(|u| u.kl_k3).collect::<Vec<_>>(),
        full.updates.iter().map(|u| u.kl_k3).collect::<Vec<_>>()
    );
}

#[test]
fn kl_penalty_loss_by_hand() {
    // r = (2, 1), A = (1, 3): k3 = (2 − 1 − ln 2, 0); objective = mean(2 − β k3, 3).
    let (lp, old, adv) = (t(&[2f64.ln(), 0.0]), t(&[0.0, 0.0]), t(&[1.0, 3.0]));
    let beta = 0.5;
    let want = -((2.0 - beta * (1.0 - 2f64.ln())) + 3.0) / 2.0;
    close(scalar(ppo::kl_penalty_loss(&lp, &old, &adv, beta).unwrap()), want, "KL-penalised loss");
}

#[test]
fn beta_doubles_above_the_target_range_and_halves_below() {
    let target = 0.01;
    assert_eq!(ppo::adapt_beta(1.0, 0.02, target), 2.0);
    assert_eq!(ppo::adapt_beta(1.0, 0.005, target), 0.5);
    assert_eq!(ppo::adapt_beta(3.0, 0.01, target), 3.0);
    // The edges of [target / 1.5, 1.5 · target] leave β alone.
    assert_eq!(ppo::adapt_beta(1.0, 0.015, target), 1.0);
    assert_eq!(ppo::adapt_beta(1.0, 0.01 / 1.5, target), 1.0);
}

#[test]
fn value_loss_plain_and_clipped_by_hand() {
    let (v, old, ret) = (t(&[1.0, 3.0]), t(&[0.0, 2.5]), t(&[2.0, 2.0]));
    // ((1 − 2)² + (3 − 2)²) / 2 = 1.
    close(scalar(ppo::value_loss(&v, &old, &ret, None).unwrap()), 1.0, "MSE");
    // Clipped at 0.2: V_clip = (0.2, 2.7); max(1, 3.24) = 3.24, max(1, 0.49) = 1.
    close(scalar(ppo::value_loss(&v, &old, &ret, Some(0.2)).unwrap()), 2.12, "clipped value loss");
}

#[test]
fn diagnostics_by_hand() {
    // Ratios 1.3, 0.9, 0.7, 1: two of four outside [0.8, 1.2].
    assert_eq!(ppo::clip_fraction(&[1.3f64.ln(), 0.9f64.ln(), 0.7f64.ln(), 0.0], 0.2), 0.5);
    let a = estimators::normalize_advantages(&[1.0, 3.0]);
    assert!((a[0] + 1.0).abs() < 1e-7 && (a[1] - 1.0).abs() < 1e-7, "{a:?}");
    // k1 can be negative on a sample, k3 cannot.
    let lr = [0.3, -0.1];
    close(estimators::kl_k1(&lr), -0.1, "k1");
    close(estimators::kl_k3(&lr), ((0.3f64.exp() - 1.0 - 0.3) + ((-0.1f64).exp() - 1.0 + 0.1)) / 2.0, "k3");
}

// ---------------------------------------------------------------- GAE

#[test]
fn gae_through_a_termination_and_a_truncation_by_hand() {
    // γ = 0.5, λ = 0.5 (γλ = 0.25). Steps 0-1: an episode that terminates at step 1;
    // steps 2-3: one truncated by the time limit at step 3 in a state worth 8.
    let r = [1.0, 1.0, 1.0, 1.0];
    let v = [2.0, 1.0, 2.0, 4.0];
    let next_v = [1.0, 100.0, 4.0, 8.0]; // 100: the terminal state's value must be ignored
    let terminated = [false, true, false, false];
    let truncated = [false, false, false, true];
    let (adv, ret) = estimators::gae(&r, &v, &next_v, &terminated, &truncated, 0.5, 0.5);
    // δ_0 = 1 + 0.5·1 − 2 = −0.5; δ_1 = 1 − 1 = 0 (no bootstrap);
    // δ_2 = 1 + 0.5·4 − 2 = 1;   δ_3 = 1 + 0.5·8 − 4 = 1 (bootstrapped from V = 8).
    // A_3 = 1; A_2 = 1 + 0.25·1 = 1.25; A_1 = 0 (nothing after the end); A_0 = −0.5 + 0.25·0.
    let want = [-0.5, 0.0, 1.25, 1.0];
    for k in 0..4 {
        close(adv[k], want[k], &format!("A_{k}"));
        close(ret[k], want[k] + v[k], &format!("R_{k}"));
    }
    assert_eq!(estimators::explained_variance(&[1.0, 2.0], &[1.0, 2.0]), 1.0);
}

// ---------------------------------------------------------------- the networks

/// candle's gradient of Σ_i w_i log π(a_i|s_i) for a Gaussian head, against central
/// finite differences in f64, for the mean and the log standard deviation.
#[test]
fn gaussian_log_prob_gradient_matches_finite_differences() {
    let (mean0, log_std0) = (vec![0.3, -1.2, 0.8, 0.1], vec![-0.4, 0.25]);
    let shape = |v: &[f64], s: &[usize]| Tensor::from_vec(v.to_vec(), s, &Device::Cpu).unwrap();
    let actions = shape(&[1.0, -0.5, 0.2, 0.9], &[2, 2]);
    let weights = t(&[1.5, -0.7]);
    let objective = |mean: &Tensor, log_std: &Tensor| -> Tensor {
        (nn::gaussian_log_prob(mean, log_std, &actions).unwrap() * &weights).unwrap().sum_all().unwrap()
    };
    let mean = Var::from_tensor(&shape(&mean0, &[2, 2])).unwrap();
    let log_std = Var::from_tensor(&shape(&log_std0, &[2])).unwrap();
    let grads = objective(mean.as_tensor(), log_std.as_tensor()).backward().unwrap();
    let g_mean = grads.get(mean.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
    let g_log_std = grads.get(log_std.as_tensor()).unwrap().to_vec1::<f64>().unwrap();
    let value = |m: &[f64], ls: &[f64]| scalar(objective(&shape(m, &[2, 2]), &shape(ls, &[2])));
    let h = 1e-6;
    let fd = |f: &dyn Fn(f64) -> f64| (f(h) - f(-h)) / (2.0 * h);
    for i in 0..4 {
        let numeric = fd(&|d| {
            let mut m = mean0.clone();
            m[i] += d;
            value(&m, &log_std0)
        });
        assert!((numeric - g_mean[i]).abs() < 1e-7, "∂/∂μ[{i}]: {} vs {numeric}", g_mean[i]);
    }
    for i in 0..2 {
        let numeric = fd(&|d| {
            let mut ls = log_std0.clone();
            ls[i] += d;
            value(&mean0, &ls)
        });
        assert!((numeric - g_log_std[i]).abs() < 1e-7, "∂/∂log σ[{i}]: {} vs {numeric}", g_log_std[i]);
    }
    // The plain log-probability used when acting is the same number.
    let plain = nn::gaussian_log_prob_plain(&[0.3, -1.2], &[-0.4, 0.25], &[1.0, -0.5]);
    let batch = nn::gaussian_log_prob(&shape(&mean0, &[2, 2]), &shape(&log_std0, &[2]), &actions).unwrap();
    assert!((plain - batch.to_vec1::<f64>().unwrap()[0]).abs() < 1e-6);
}

/// The largest |a − b| of two tensors of the same shape.
fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    let d = (a.to_dtype(DType::F64).unwrap() - b.to_dtype(DType::F64).unwrap()).unwrap();
    d.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f64>().unwrap()
}

fn f32_tensor<R: Rng + ?Sized>(rng: &mut R, shape: &[usize], scale: f64) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| (rng.random_range(-1.0..1.0) * scale) as f32).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// The composed dense layer the fused one replaces: matmul, broadcast bias, then tanh as
/// 2σ(2z) − 1 (how `Mlp::forward` computes it) or ReLU.
fn composed_dense(x: &Tensor, w: &Tensor, b: &Tensor, act: Option<Activation>) -> Tensor {
    let z = x.matmul(w).unwrap().broadcast_add(b).unwrap();
    match act {
        Some(Activation::Tanh) => {
            candle_nn::ops::sigmoid(&z.affine(2.0, 0.0).unwrap()).unwrap().affine(2.0, -1.0).unwrap()
        }
        Some(Activation::Relu) => z.relu().unwrap(),
        None => z,
    }
}

/// The fused dense layer (`nn::fused::dense`) equals the composed candle ops, forward
/// and backward, and its gradients equal central finite differences of itself.
#[test]
fn fused_dense_layer_matches_composed_ops_and_finite_differences() {
    one_thread();
    let mut rng = rng::seeded(11, 0);
    for act in [Some(Activation::Tanh), Some(Activation::Relu), None] {
        let x = Var::from_tensor(&f32_tensor(&mut rng, &[33, 5], 2.0)).unwrap();
        let w = Var::from_tensor(&f32_tensor(&mut rng, &[5, 7], 1.0)).unwrap();
        let b = Var::from_tensor(&f32_tensor(&mut rng, &[7], 0.5)).unwrap();
        // A loss whose upstream gradient differs per entry: L = Σ y ⊙ r.
        let r = f32_tensor(&mut rng, &[33, 7], 1.0);
        let loss = |y: &Tensor| (y * &r).unwrap().sum_all().unwrap();
        let fused = nn::fused::dense(&x, &w, &b, act).unwrap();
        let composed = composed_dense(&x, &w, &b, act);
        assert!(max_diff(&fused, &composed) < 1e-6, "{act:?}: forward differs by {}", max_diff(&fused, &composed));
        let (gf, gc) = (loss(&fused).backward().unwrap(), loss(&composed).backward().unwrap());
        for (name, v) in [("x", &x), ("W", &w), ("b", &b)] {
            let (a, c) = (gf.get(v.as_tensor()).unwrap(), gc.get(v.as_tensor()).unwrap());
            assert!(max_diff(a, c) < 1e-5, "{act:?}: ∂L/∂{name} differs by {}", max_diff(a, c));
        }
        // Central differences of the fused layer itself, entry by entry (h = 10⁻², f32).
        for (name, v) in [("x", &x), ("W", &w), ("b", &b)] {
            let g = gf.get(v.as_tensor()).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let theta = v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for i in (0..theta.len()).step_by(3) {
                let at = |delta: f32| {
                    let mut t = theta.clone();
                    t[i] += delta;
                    v.set(&Tensor::from_vec(t, v.shape(), &Device::Cpu).unwrap()).unwrap();
                    let l = loss(&nn::fused::dense(&x, &w, &b, act).unwrap()).to_scalar::<f32>().unwrap();
                    l as f64
                };
                let h = 1e-2;
                let fd = (at(h) - at(-h)) / (2.0 * h as f64);
                v.set(&Tensor::from_vec(theta.clone(), v.shape(), &Device::Cpu).unwrap()).unwrap();
                // ReLU's kink: skip the entries whose step crosses it.
                let tol = 2e-3 * (1.0 + fd.abs());
                if act == Some(Activation::Relu) && (fd - g[i] as f64).abs() > tol {
                    continue;
                }
                assert!(
                    (fd - g[i] as f64).abs() < tol,
                    "{act:?}: ∂L/∂{name}[{i}] = {} but differences give {fd}",
                    g[i]
                );
            }
        }
    }
}

/// The rational tanh of the fused layer is tanh to a few f32 ulps over the whole line.
#[test]
fn fused_tanh_is_tanh() {
    let mut worst = 0.0f64;
    for i in -200_000..=200_000 {
        let x = i as f64 * 1e-4;
        worst = worst.max((nn::fused::tanh_f32(x as f32) as f64 - x.tanh()).abs());
    }
    assert!(worst < 5e-7, "max error {worst}");
    assert_eq!(nn::fused::tanh_f32(1e4), 1.0);
    assert_eq!(nn::fused::tanh_f32(-1e4), -1.0);
}

/// `forward_batch` (one fused node per layer) computes the same function and the same
/// gradients as `forward` (composed candle ops), to f32 rounding.
#[test]
fn forward_batch_matches_forward() {
    one_thread();
    let mut rng = rng::seeded(7, 0);
    for act in [Activation::Tanh, Activation::Relu] {
        let mlp = Mlp::new(&[4, 64, 64, 2], act, 1.0, DType::F32, &mut rng).unwrap();
        let x = f32_tensor(&mut rng, &[256, 4], 2.0);
        let (a, b) = (mlp.forward(&x).unwrap(), mlp.forward_batch(&x).unwrap());
        assert!(max_diff(&a, &b) < 1e-5, "{act:?}: outputs differ by {}", max_diff(&a, &b));
        let ga = a.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let gb = b.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        for v in mlp.vars() {
            let (ga, gb) = (ga.get(v.as_tensor()).unwrap(), gb.get(v.as_tensor()).unwrap());
            let scale = ga.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap() as f64;
            assert!(max_diff(ga, gb) < 1e-4 * (1.0 + scale), "{act:?}: gradients differ by {}", max_diff(ga, gb));
        }
    }
}

/// `ClippedAdam` takes the same steps as global-norm clipping followed by candle's
/// Adam (`nn::clip_grad_norm` + `nn::adam`), with the clip active and inactive.
#[test]
fn clipped_adam_matches_clip_then_candle_adam() {
    use candle_nn::Optimizer;
    one_thread();
    let mut rng = rng::seeded(5, 0);
    let a = Mlp::new(&[4, 16, 2], Activation::Tanh, 1.0, DType::F32, &mut rng).unwrap();
    let b = Mlp::from_tensors(
        a.vars().chunks(2).map(|p| (p[0].as_tensor().copy().unwrap(), p[1].as_tensor().copy().unwrap())).collect(),
        Activation::Tanh,
    )
    .unwrap();
    let x = f32_tensor(&mut rng, &[32, 4], 1.0);
    let mut fused = nn::ClippedAdam::new(a.vars(), 1e-2, 1e-5, 0.5).unwrap();
    let mut reference = nn::adam(b.vars(), 1e-2, 1e-5).unwrap();
    for step in 0..20 {
        // Large losses early (clipped), small later (not clipped).
        let scale = if step < 10 { 10.0 } else { 0.01 };
        let loss = |m: &Mlp| (m.forward(&x).unwrap().sqr().unwrap().sum_all().unwrap() * scale).unwrap();
        let norm = fused.step(&loss(&a).backward().unwrap()).unwrap();
        let mut grads = loss(&b).backward().unwrap();
        let norm_ref = nn::clip_grad_norm(&mut grads, &b.vars(), 0.5).unwrap();
        reference.step(&grads).unwrap();
        assert!((norm - norm_ref).abs() < 1e-4 * norm_ref, "step {step}: norms {norm} vs {norm_ref}");
        assert_eq!(norm > 0.5, step < 10, "step {step}: norm {norm}");
        for (va, vb) in a.vars().iter().zip(b.vars()) {
            assert!(max_diff(va.as_tensor(), vb.as_tensor()) < 1e-5, "step {step}: parameters differ");
        }
    }
}

// ---------------------------------------------------------------- training

#[test]
fn ppo_clip_balances_cartpole_within_50k_steps() {
    one_thread();
    // The lesson's settings with a 50k-step budget (the limit).
    let cfg = PpoConfig { total_steps: 50_176, ..PpoConfig::default() };
    let mut rng = rng::seeded(0, 1);
    let actor = Categorical::new(4, 2, &cfg.hidden, cfg.activation, &mut rng).unwrap();
    let envs = (0..cfg.n_envs).map(|_| CartPole::new()).collect();
    let run = ppo::train(envs, actor, &cfg, &mut rng, |_, _| {}).unwrap();
    // The budget is exactly 196 updates of 8 × 32 steps, and the run stops there.
    assert_eq!((run.updates.len(), run.env_steps), (196, 50_176));
    assert_eq!(run.updates.last().map(|u| u.env_steps), Some(50_176));
    assert!(run.reached(475.0, 10).is_some(), "the last-10-episode mean should reach 475 within the budget");
    let eval = ppo::evaluate(&mut CartPole::new(), &run.actor, 20, &mut rng::seeded(0, 2)).unwrap();
    assert!(stats::mean(&eval) >= 475.0, "deterministic evaluation: {eval:?}");
    // The logs carry the diagnostics, with the annealed schedules.
    let (first, last) = (run.updates[0], run.updates[run.updates.len() - 1]);
    assert_eq!(first.lr, 1e-3);
    assert!(last.lr < 1e-5 && last.clip_range < 0.002);
    assert!(first.entropy > 0.65 && last.entropy < 0.5, "{} → {}", first.entropy, last.entropy);
    assert!(run.updates.iter().all(|u| u.kl_k3 >= 0.0 && (0.0..=1.0).contains(&u.clip_fraction)));
    assert!(stats::mean(&run.updates.iter().map(|u| u.explained_variance).collect::<Vec<_>>()) > 0.5);
}

#[test]
fn ppo_kl_adapts_beta_after_every_update_by_the_rule() {
    one_thread();
    let cfg = PpoConfig { objective: Objective::KlPenalty, total_steps: 256 * 24, ..PpoConfig::default() };
    let mut rng = rng::seeded(1, 1);
    let actor = Categorical::new(4, 2, &cfg.hidden, cfg.activation, &mut rng).unwrap();
    let envs = (0..cfg.n_envs).map(|_| CartPole::new()).collect();
    let run = ppo::train(envs, actor, &cfg, &mut rng, |_, _| {}).unwrap();
    assert_eq!(run.updates[0].beta, cfg.init_beta);
    for pair in run.updates.windows(2) {
        assert_eq!(pair[1].beta, ppo::adapt_beta(pair[0].beta, pair[0].kl_k3, cfg.target_kl));
    }
    let betas: Vec<f64> = run.updates.iter().map(|u| u.beta).collect();
    assert!(betas.iter().any(|&b| b > 1.0) || betas.iter().any(|&b| b < 1.0), "β never moved: {betas:?}");
}

#[test]
fn gaussian_ppo_swings_up_the_pendulum() {
    one_thread();
    let cfg = PpoConfig {
        n_envs: 4,
        n_steps: 1024,
        minibatch: 64,
        epochs: 10,
        total_steps: 4096 * 12,
        gamma: 0.9,
        lambda: 0.95,
        anneal_clip: false,
        ..PpoConfig::default()
    };
    // Three seeds: a single run this short ends anywhere from -240 to -560 (its path
    // turns on the last bits of the float arithmetic), the median of three does not.
    let (mut ends, mut stds) = (Vec::new(), Vec::new());
    for seed in 0..3 {
        let mut rng = rng::seeded(seed, 3);
        let actor = Gaussian::new(3, &cfg.hidden, cfg.activation, 0.0, &mut rng).unwrap();
        let envs = (0..cfg.n_envs).map(|_| Pendulum::new()).collect();
        let run = ppo::train(envs, actor, &cfg, &mut rng, |_, _| {}).unwrap();
        let start = rl_sandbox::rollout::final_return(&run.episodes[..20], 20);
        assert!(start < -900.0, "seed {seed} starts at {start}");
        ends.push(run.final_return(20));
        stds.push(run.actor.std().unwrap());
    }
    let end = rl_sandbox::stats::median(&ends);
    assert!(end > -500.0, "median return after training {end} ({ends:?}), from below -900");
    assert!(rl_sandbox::stats::median(&stds) < 0.8, "σ should shrink from 1 as the policy improves: {stds:?}");
}

// ---------------------------------------------------------------- λ bias and variance

/// A deterministic corridor: reward 1 per step, terminates after `len` steps.
#[derive(Clone)]
struct Corridor {
    t: usize,
    len: usize,
}

impl Env for Corridor {
    type Obs = [f32; 1];
    type Action = usize;
    fn reset<R: Rng + ?Sized>(&mut self, _rng: &mut R) -> [f32; 1] {
        self.t = 0;
        [0.0]
    }
    fn step(&mut self, _action: usize) -> Step<[f32; 1]> {
        self.t += 1;
        Step { obs: [self.t as f32], reward: 1.0, terminated: self.t == self.len, truncated: false }
    }
}

#[test]
fn lambda_returns_with_a_zero_critic_are_biased_except_monte_carlo() {
    one_thread();
    let mut rng = rng::seeded(0, 0);
    let actor = Categorical::new(1, 1, &[4], Activation::Tanh, &mut rng).unwrap();
    // A critic whose last layer is zero: V ≡ 0.
    let critic = Mlp::new(&[1, 4, 1], Activation::Tanh, 0.0, DType::F32, &mut rng).unwrap();
    let probes = vec![(Corridor { t: 0, len: 3 }, vec![0.0f32], 0usize)];
    let gamma = 0.5;
    let stats = lambda_return_bias_variance(&probes, &actor, &critic, gamma, &[0.0, 0.5, 1.0], 4, 2, &mut rng).unwrap();
    // Q = 1 + 0.5 + 0.25 = 1.75. λ = 0: R = r_0 = 1, bias² = 0.5625.
    // λ = 0.5: R = 1 + 0.25·(1 + 0.25·1) = 1.3125, bias² = 0.4375² ; λ = 1: R = Q.
    let want = [0.5625, 0.4375f64.powi(2), 0.0];
    for (s, w) in stats.iter().zip(want) {
        close(s.bias_sq, w, &format!("bias² at λ = {}", s.lambda));
        assert_eq!(s.variance, 0.0, "a deterministic corridor has no variance");
    }
}

// ---------------------------------------------------------------- the binary

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("ch04", name)
}

fn ch04(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ch04-ppo")).args(args).output().unwrap()
}

#[test]
fn quick_run_writes_the_headline_and_figures() {
    let dir = temp_dir("quick");
    let out = ch04(&["--quick", "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = Summary::read(&dir.join("ch04-ppo/summary.json")).unwrap();
    // Every headline key, typed: a missing or misspelt key fails here.
    let h: PpoHeadline = serde_json::from_value(summary.headline.clone().into()).unwrap();
    for x in [h.cartpole_final_return_median, h.cartpole_eval_return_median, h.pendulum_final_return_median] {
        assert!(x.is_finite(), "{h:?}");
    }
    // Not reached in a quick run (two seeds, none reaching 475): null rather than a
    // made-up number, and the speed-up that depends on it too.
    assert_eq!(h.cartpole_seeds_reaching_475, 0, "{h:?}");
    for key in ["steps_to_475_median", "seconds_to_475_median", "speedup_seconds_to_475_vs_python"] {
        assert!(summary.headline[key].is_null(), "{key}: {}", summary.headline[key]);
    }
    assert_eq!(common::assert_figures(&dir.join("ch04-ppo"), &serde_json::to_value(&summary).unwrap()), 16);
    let csv = std::fs::read_to_string(dir.join("ch04-ppo/metrics.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for col in [
        "kl_k1",
        "kl_k3",
        "clip_fraction",
        "entropy",
        "explained_variance",
        "value_loss",
        "beta",
        "lr",
        "gradient_steps",
    ] {
        assert!(header.split(',').any(|c| c == col), "metrics.csv lacks {col}: {header}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_exit_with_code_2_and_one_clear_line() {
    let out_dir = temp_dir("bad");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--lambda", "1.5"], "invalid value '1.5' for --lambda"),
        (vec!["--gamma", "-0.1"], "--gamma"),
        (vec!["--clip-range", "0"], "--clip-range"),
        (vec!["--epochs", "0"], "--epochs"),
        (vec!["--steps", "100"], "--steps"),
        (vec!["--lambdas", "0,2"], "--lambdas"),
        (vec!["--target-kl", "-1"], "--target-kl"),
        (vec!["--early-stop-kl", "0"], "--early-stop-kl"),
        (vec!["--clip-value", "0"], "--clip-value"),
        (vec!["--hidden", "64,0"], "--hidden"),
        (vec!["--pendulum-n-steps", "0"], "--pendulum-n-steps"),
        (vec!["--pendulum-steps", "10"], "--pendulum-steps"),
        (vec!["--anneal-lr", "maybe"], "--anneal-lr"),
        (vec!["--seeds", "0"], "--seeds"),
    ];
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch04-ppo"), &out_dir, &cases);
    let _ = std::fs::remove_dir_all(&out_dir);
}

/// Every numeric flag refuses each class of hostile value (negative, zero where zero
/// means nothing, huge, NaN, ±inf, empty, not a number) with exit code 2 and one line
/// naming it; products of flags are bounded with checked arithmetic and blame a flag
/// that was given.
#[test]
fn hostile_values_for_every_flag_are_refused() {
    let out_dir = temp_dir("hostile");
    // (flag, values it accepts among `common::HOSTILE`)
    let flags: &[(&str, &[&str])] = &[
        ("--steps", &[]),
        ("--n-envs", &[]),
        ("--n-steps", &[]),
        ("--minibatch", &[]),
        ("--epochs", &[]),
        ("--gamma", &["0"]),
        ("--lambda", &["0"]),
        ("--lr", &[]),
        ("--clip-range", &[]),
        ("--target-kl", &[]),
        ("--early-stop-kl", &[]),
        ("--init-beta", &[]),
        ("--clip-value", &[]),
        ("--vf-coef", &["0"]),
        ("--ent-coef", &["0"]),
        ("--max-grad-norm", &[]),
        ("--adam-eps", &[]),
        ("--hidden", &[]),
        ("--eval-episodes", &[]),
        ("--lambdas", &["0"]),
        ("--lambda-steps", &[]),
        ("--lambda-seeds", &[]),
        ("--snapshot-steps", &[]),
        ("--probes", &[]),
        ("--probe-runs", &[]),
        ("--truth-runs", &[]),
        ("--probe-horizon", &[]),
        ("--pendulum-seeds", &[]),
        ("--pendulum-steps", &[]),
        ("--pendulum-n-envs", &[]),
        ("--pendulum-n-steps", &[]),
        ("--pendulum-minibatch", &[]),
        ("--pendulum-epochs", &[]),
        ("--pendulum-gamma", &["0"]),
        ("--pendulum-lambda", &["0"]),
        ("--pendulum-lr", &[]),
        ("--pendulum-clip-range", &[]),
        ("--pendulum-log-std", &["-1", "0"]),
        ("--seeds", &[]),
        ("--seed", &["0", "18446744073709551615"]),
    ];
    let mut cases = common::hostile_cases(flags);
    let more: Vec<(Vec<&str>, &str)> = vec![
        // The example: n-envs × n-steps wrapped to 0 and the error blamed
        // --minibatch, a flag not given.
        (
            vec!["--n-envs", "4", "--n-steps", "4611686018427387904"],
            "invalid value '4611686018427387904' for --n-steps",
        ),
        (vec!["--n-envs", "1024", "--n-steps", "65536"], "invalid value '65536' for --n-steps: must lie in [1, 1024]"),
        (
            vec!["--pendulum-n-envs", "1024", "--pendulum-n-steps", "2048"],
            "for --pendulum-n-envs: must lie in [1, 512]",
        ),
        (vec!["--n-envs", "64", "--n-steps", "4096"], "--n-envs 64 × --n-steps 4096"),
        (vec!["--steps", "10000001"], "[256, 10000000]"),
        (vec!["--lambda-steps", "99999999999"], "--lambda-steps"),
        (vec!["--snapshot-steps", "10"], "--snapshot-steps"),
        (vec!["--epochs", "1000000000"], "--epochs"),
        (vec!["--lambdas", "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"], "--lambdas"),
        (vec!["--lambdas", "0,2"], "--lambdas"),
        (vec!["--hidden", "1025"], "--hidden"),
        // Products of flags: the work of the whole run, blamed on the flag raised most.
        (vec!["--hidden", "1024,1024,1024,1024"], "invalid value '1024' for --hidden: must lie in [1, "),
        (vec!["--seed", "18446744073709551615", "--seeds", "2"], "--seed"),
    ];
    for (args, expected) in more {
        cases.push((args.iter().map(|a| a.to_string()).collect(), expected));
    }
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch04-ppo"), &out_dir, &cases);
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn the_budget_of_a_full_run_blames_the_flag_that_was_raised() {
    use rl_sandbox::ppo::experiments::{check_budget, PpoExperimentFlags};
    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        ppo: PpoExperimentFlags,
    }
    let parse = |args: &[&str]| {
        let argv: Vec<&str> = std::iter::once("ch04").chain(args.iter().copied()).collect();
        <Flags as clap::Parser>::parse_from(argv).ppo
    };
    check_budget(&parse(&[]), 5, 5).unwrap();
    // 10 million steps per run over 5 seeds: 150 million steps of the main runs alone.
    let err = check_budget(&parse(&["--steps", "10000000"]), 5, 5).unwrap_err().to_string();
    assert!(err.contains("invalid value '10000000' for --steps: must lie in [256, "), "{err}");
    // 100 seeds fit (about an hour of one core); with twice the epochs they do not,
    // and the seed count is the flag raised most.
    check_budget(&parse(&[]), 100, 5).unwrap();
    let err = check_budget(&parse(&["--epochs", "40"]), 100, 5).unwrap_err().to_string();
    assert!(err.contains("invalid value '100' for --seeds: must lie in [1, "), "{err}");
    // The bias/variance continuations.
    let err = check_budget(&parse(&["--probes", "1000"]), 5, 5).unwrap_err().to_string();
    assert!(err.contains("for --probes: must lie in [1, "), "{err}");
}
