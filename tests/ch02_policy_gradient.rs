//! Chapter 2: the policy-gradient maths, tabular and neural REINFORCE, and the binary.

mod common;

use candle_core::{DType, Device, Tensor};
use rl_sandbox::course::ch02_policy_gradient::Headline;
use rl_sandbox::env::cartpole::CartPole;
use rl_sandbox::env::maze::{Action, Maze, MazeEnv, Rewards};
use rl_sandbox::env::{Env, Step};
use rl_sandbox::error::Error;
use rl_sandbox::nn::{self, Activation, Mlp};
use rl_sandbox::pg::neural::{self, NeuralConfig};
use rl_sandbox::pg::tabular::{self, Episode, SoftmaxPolicy, TabularConfig};
use rl_sandbox::pg::{self, Estimator};
use rl_sandbox::rng;
use rl_sandbox::rollout::LearningCurve;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

/// candle reads its thread counts once; give every candle test one thread, as the
/// chapter does.
fn one_thread() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| rl_sandbox::run::set_intra_op_threads(1));
}

fn maze_env(max_steps: usize) -> MazeEnv {
    MazeEnv::new(&Maze::seed(), Rewards::step_cost(), 0.0, max_steps)
}

// ---------------------------------------------------------------- the maths

#[test]
fn grad_log_pi_matches_finite_differences() {
    let theta = [0.3, -1.2, 2.0, 0.1];
    let h = 1e-6;
    for a in 0..4 {
        let analytic = pg::grad_log_softmax(&pg::softmax(&theta), a);
        for (b, &g) in analytic.iter().enumerate() {
            let log_pi = |d: f64| {
                let mut t = theta;
                t[b] += d;
                pg::softmax(&t)[a].ln()
            };
            let numeric = (log_pi(h) - log_pi(-h)) / (2.0 * h);
            assert!((g - numeric).abs() < 1e-8, "∂ log π({a}) / ∂θ{b}: {g} vs {numeric}");
        }
    }
    // The policy's own gradient is e_a − π in row s.
    let mut policy = SoftmaxPolicy::uniform(9, 4);
    policy.theta[4 * 4..5 * 4].copy_from_slice(&theta);
    let g = policy.grad_log_pi(4, 2);
    let p = pg::softmax(&theta);
    assert_eq!(g, vec![-p[0], -p[1], 1.0 - p[2], -p[3]]);
    assert!(g.iter().sum::<f64>().abs() < 1e-15, "a score sums to zero over actions");
}

#[test]
fn returns_and_reward_to_go_by_hand() {
    // Rewards 1, 2, 3 with γ = 0.5: R = 1 + 0.5·2 + 0.25·3 = 2.75.
    assert_eq!(pg::discounted_return(&[1.0, 2.0, 3.0], 0.5), 2.75);
    assert_eq!(pg::reward_to_go(&[1.0, 2.0, 3.0], 0.5, 0.0), vec![2.75, 3.5, 3.0]);
    // Cut by a time limit with V(s_T) = 4: G_2 = 3 + 0.5·4 = 5, G_1 = 2 + 2.5, G_0 = 1 + 2.25.
    assert_eq!(pg::reward_to_go(&[1.0, 2.0, 3.0], 0.5, 4.0), vec![3.25, 4.5, 5.0]);
    // A shortest path of the maze with the step-cost rewards, γ = 1: 3 moves and the goal.
    let mut env = maze_env(20);
    env.reset(&mut rng::seeded(0, 0));
    let rewards: Vec<f64> = [Action::Right, Action::Down, Action::Right, Action::Down]
        .iter()
        .map(|&a| env.step(a as usize).reward)
        .collect();
    assert_eq!(rewards, vec![-0.1, -0.1, -0.1, 1.0]);
    assert!((pg::discounted_return(&rewards, 1.0) - 0.7).abs() < 1e-12);
    let g = pg::reward_to_go(&rewards, 1.0, 0.0);
    assert!((g[0] - 0.7).abs() < 1e-12 && (g[2] - 0.9).abs() < 1e-12 && g[3] == 1.0, "{g:?}");
}

#[test]
fn trace_covariance_and_normalize() {
    let samples = vec![vec![1.0, 0.0], vec![3.0, 0.0], vec![2.0, 3.0]];
    // Coordinate variances (n − 1): 1 and 3.
    assert!((pg::trace_covariance(&samples) - 4.0).abs() < 1e-12);
    let mut xs = vec![1.0, 2.0, 3.0, 6.0];
    rl_sandbox::estimators::normalize_batch(&mut xs);
    let mean = xs.iter().sum::<f64>() / 4.0;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 4.0;
    assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
}

// ---------------------------------------------------------------- unbiasedness, exactly

/// Every episode of a corridor S . G with a time limit, with its probability under
/// `policy`, by depth-first search over the actions.
fn all_episodes(maze: &Maze, policy: &SoftmaxPolicy, max_steps: usize) -> Vec<(Episode, f64)> {
    fn walk(
        maze: &Maze,
        policy: &SoftmaxPolicy,
        max_steps: usize,
        ep: &mut Episode,
        s: usize,
        p: f64,
        out: &mut Vec<(Episode, f64)>,
    ) {
        for (a, pa) in policy.probs(s).into_iter().enumerate() {
            let (next, r, terminal) = maze.outcome(s, Action::from_index(a), &Rewards::step_cost());
            ep.states.push(s);
            ep.actions.push(a);
            ep.rewards.push(r);
            if terminal || ep.len() == max_steps {
                out.push((Episode { terminated: terminal, ..ep.clone() }, p * pa));
            } else {
                walk(maze, policy, max_steps, ep, next, p * pa, out);
            }
            ep.states.pop();
            ep.actions.pop();
            ep.rewards.pop();
        }
    }
    let mut out = Vec::new();
    let mut ep = Episode { states: vec![], actions: vec![], rewards: vec![], terminated: false };
    walk(maze, policy, max_steps, &mut ep, maze.start(), 1.0, &mut out);
    out
}

#[test]
fn every_estimator_is_unbiased_and_the_baseline_absorbs_the_shift() {
    // A 1x3 corridor, three moves at most: 61 possible episodes; batches of two are
    // enumerated exactly (61² pairs), so E[ĝ] is computed, not sampled.
    let maze = Maze::parse("S . G\n", "corridor").unwrap();
    let max_steps = 3;
    let mut policy = SoftmaxPolicy::uniform(3, 4);
    policy.theta[..8].copy_from_slice(&[0.4, -0.3, 0.1, 0.5, -0.2, 0.0, 0.7, -0.6]);
    let episodes = all_episodes(&maze, &policy, max_steps);
    assert_eq!(episodes.len(), 61);
    assert!((episodes.iter().map(|e| e.1).sum::<f64>() - 1.0).abs() < 1e-12);
    // J(θ) = Σ_τ P(τ; θ) R(τ), and its gradient by central finite differences.
    let j = |theta: &[f64]| {
        let p = SoftmaxPolicy { theta: theta.to_vec(), ..policy.clone() };
        all_episodes(&maze, &p, max_steps).iter().map(|(ep, prob)| prob * ep.rewards.iter().sum::<f64>()).sum::<f64>()
    };
    let h = 1e-6;
    let true_grad: Vec<f64> = (0..policy.theta.len())
        .map(|i| {
            let (mut up, mut down) = (policy.theta.clone(), policy.theta.clone());
            up[i] += h;
            down[i] -= h;
            (j(&up) - j(&down)) / (2.0 * h)
        })
        .collect();
    assert!(true_grad.iter().map(|g| g.abs()).sum::<f64>() > 0.1, "a non-trivial gradient");
    for estimator in Estimator::ALL {
        for shift in [0.0, 3.0] {
            let mut expected = vec![0.0; policy.theta.len()];
            for (a, pa) in &episodes {
                for (b, pb) in &episodes {
                    let g = tabular::batch_gradient(&policy, &[a.clone(), b.clone()], estimator, 1.0, shift);
                    expected.iter_mut().zip(g).for_each(|(e, g)| *e += pa * pb * g);
                }
            }
            for (i, (e, t)) in expected.iter().zip(&true_grad).enumerate() {
                assert!((e - t).abs() < 1e-8, "{estimator:?}, shift {shift}, θ[{i}]: E[ĝ] = {e}, ∇J = {t}");
            }
        }
    }
}

fn sample_batch(policy: &SoftmaxPolicy, n: usize, seed: u64) -> Vec<Episode> {
    let mut env = maze_env(20);
    let mut rng = rng::seeded(seed, 0);
    (0..n).map(|_| tabular::sample_episode(&mut env, policy, &mut rng)).collect()
}

#[test]
fn the_baseline_cancels_a_shift_to_rounding() {
    let mut policy = SoftmaxPolicy::uniform(9, 4);
    for (i, t) in policy.theta.iter_mut().enumerate() {
        *t = ((i * 7) % 5) as f64 * 0.3 - 0.6;
    }
    let batch = sample_batch(&policy, 16, 3);
    let diff = |e: Estimator| {
        let a = tabular::batch_gradient(&policy, &batch, e, 1.0, 0.0);
        let b = tabular::batch_gradient(&policy, &batch, e, 1.0, 100.0);
        a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
    };
    assert!(diff(Estimator::Baseline) < 1e-10, "{}", diff(Estimator::Baseline));
    assert!(diff(Estimator::RewardToGo) > 1.0, "without a baseline the shift moves ĝ");
    assert!(diff(Estimator::Return) > 1.0);
}

#[test]
fn the_baseline_lowers_the_gradient_variance_at_a_fixed_policy() {
    let mut env = maze_env(20);
    let shifts = [0.0, 50.0];
    let v = tabular::gradient_variance(
        &mut env,
        &SoftmaxPolicy::uniform(9, 4),
        &Estimator::ALL,
        &shifts,
        1.0,
        16,
        300,
        &mut rng::seeded(1, 0),
    );
    let [ret, rtg, base] = [0, 1, 2].map(|e| v.trace[e].clone());
    // At the uniform policy, without a shift: 68, 24 and 8 in the default run.
    assert!(rtg[0] < ret[0] && base[0] < rtg[0] / 2.0, "return {ret:?}, reward-to-go {rtg:?}, baseline {base:?}");
    // The shift inflates the variance without a baseline, and leaves it alone with one.
    assert!(rtg[1] > 20.0 * rtg[0] && ret[1] > 10.0 * ret[0]);
    assert!((base[1] - base[0]).abs() < 1e-9 * base[0]);
    assert!(v.env_steps > 300 * 16 * 4);
}

// ---------------------------------------------------------------- tabular REINFORCE

fn maze_config(estimator: Estimator, shift: f64) -> TabularConfig {
    TabularConfig { updates: 100, batch: 16, lr: 0.1, gamma: 1.0, estimator, shift }
}

fn train_maze(cfg: &TabularConfig, seed: u64) -> (SoftmaxPolicy, tabular::PolicyEvaluation) {
    let mut env = maze_env(20);
    let policy = tabular::train(&mut env, 9, 4, cfg, &mut rng::seeded(seed, 0), |_, _, _| {}).unwrap();
    let maze = Maze::seed();
    let eval = tabular::evaluate(&maze.model(&Rewards::step_cost(), 0.0), &policy, maze.start(), 20, 4);
    (policy, eval)
}

#[test]
fn tabular_reinforce_solves_the_maze_and_a_baseline_makes_the_shift_harmless() {
    let (mut plain, mut shifted) = (0.0, 0.0);
    for seed in 0..8 {
        let (policy, eval) = train_maze(&maze_config(Estimator::Baseline, 0.0), seed);
        assert!(eval.success_rate >= 0.95 && eval.shortest_rate >= 0.3, "seed {seed}: {eval:?}");
        // The most likely action leads from S1 to the goal in four moves.
        let maze = Maze::seed();
        let mut s = maze.start();
        for _ in 0..4 {
            s = maze.outcome(s, Action::from_index(policy.most_probable(s)), &Rewards::step_cost()).0;
        }
        assert_eq!(s, maze.goal(), "seed {seed}");
        // With the baseline, a shift of 50 changes nothing but rounding.
        let (policy_shifted, _) = train_maze(&maze_config(Estimator::Baseline, 50.0), seed);
        let d = policy.theta.iter().zip(&policy_shifted.theta).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(d < 1e-8, "seed {seed}: θ moved by {d}");
        // Without one, the same shift makes every sampled action look good.
        plain += train_maze(&maze_config(Estimator::RewardToGo, 0.0), seed).1.success_rate / 8.0;
        shifted += train_maze(&maze_config(Estimator::RewardToGo, 50.0), seed).1.success_rate / 8.0;
    }
    assert!(plain > 0.95 && shifted < 0.8, "reward-to-go: {plain} unshifted, {shifted} shifted");
}

#[test]
fn a_nan_in_training_stops_with_non_finite() {
    let cfg = TabularConfig { shift: f64::NAN, ..maze_config(Estimator::RewardToGo, 0.0) };
    let err = tabular::train(&mut maze_env(20), 9, 4, &cfg, &mut rng::seeded(0, 0), |_, _, _| {}).unwrap_err();
    assert!(matches!(err, Error::NonFinite { step: 1, .. }), "{err}");
    assert!(err.to_string().contains("θ[state"), "{err}");
}

// ---------------------------------------------------------------- candle

#[test]
fn candle_surrogate_gradient_equals_the_exact_policy_gradient() {
    one_thread();
    // Two states with features x_s, two actions, a 3-5-2 tanh MLP in f64:
    // J(θ) = Σ_s d(s) Σ_a π_θ(a|s) R(s,a) exactly. The surrogate
    // Σ_s d(s) Σ_a stopgrad(π(a|s)) R(s,a) log π_θ(a|s) has gradient ∇J at θ; we feed
    // it to the chapter's own loss, −mean_i log π(a_i|s_i) Â_i over the 4 (s,a) pairs.
    let mlp = Mlp::new(&[3, 5, 2], Activation::Tanh, 1.0, DType::F64, &mut rng::seeded(5, 0)).unwrap();
    let x = Tensor::from_vec(vec![1.0, -0.5, 0.3, -0.2, 0.8, 1.1], (2, 3), &Device::Cpu).unwrap();
    let (d, r) = ([0.3, 0.7], [[1.0, -2.0], [0.5, 3.0]]);
    let j = |mlp: &Mlp| -> f64 {
        let p = nn::log_probs(&mlp.forward(&x).unwrap()).unwrap().exp().unwrap().to_vec2::<f64>().unwrap();
        (0..2).map(|s| d[s] * (0..2).map(|a| p[s][a] * r[s][a]).sum::<f64>()).sum()
    };
    let probs = nn::log_probs(&mlp.forward(&x).unwrap()).unwrap().exp().unwrap().to_vec2::<f64>().unwrap();
    let rows = Tensor::from_vec(vec![0u32, 0, 1, 1], 4, &Device::Cpu).unwrap();
    let actions = Tensor::from_vec(vec![0u32, 1, 0, 1], 4, &Device::Cpu).unwrap();
    let weights: Vec<f64> =
        [(0, 0), (0, 1), (1, 0), (1, 1)].iter().map(|&(s, a)| d[s] * probs[s][a] * r[s][a]).collect();
    let weights = Tensor::from_vec(weights, 4, &Device::Cpu).unwrap();
    let log_probs = nn::log_probs(&mlp.forward(&x.index_select(&rows, 0).unwrap()).unwrap()).unwrap();
    // mean over 4 pairs: ∇J = −4 ∇loss.
    let loss = neural::policy_loss(&log_probs, &actions, &weights).unwrap();
    let grads = loss.backward().unwrap();
    let h = 1e-6;
    let mut checked = 0;
    for var in mlp.vars() {
        let g = grads.get(var.as_tensor()).expect("every parameter gets a gradient");
        let g = (g * -4.0).unwrap().flatten_all().unwrap().to_vec1::<f64>().unwrap();
        assert!(g.iter().any(|v| v.abs() > 1e-6), "a zero gradient for a {:?} parameter", var.shape());
        let original = var.as_tensor().flatten_all().unwrap().to_vec1::<f64>().unwrap();
        for i in 0..original.len() {
            let set = |delta: f64| {
                let mut w = original.clone();
                w[i] += delta;
                var.set(&Tensor::from_vec(w, var.shape(), &Device::Cpu).unwrap()).unwrap();
            };
            set(h);
            let up = j(&mlp);
            set(-h);
            let down = j(&mlp);
            set(0.0);
            let numeric = (up - down) / (2.0 * h);
            assert!(
                (g[i] - numeric).abs() < 1e-8,
                "{:?}[{i}]: candle {} vs finite differences {numeric}",
                var.shape(),
                g[i]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, mlp.n_params());
    assert_eq!(checked, 3 * 5 + 5 + 5 * 2 + 2);
}

#[test]
fn every_parameter_of_both_networks_gets_a_gradient() {
    one_thread();
    let mut rng = rng::seeded(2, 0);
    let x =
        Tensor::from_vec((0..32).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<f32>>(), (8, 4), &Device::Cpu).unwrap();
    for activation in [Activation::Tanh, Activation::Relu] {
        let policy = Mlp::new(&[4, 16, 16, 2], activation, 0.01, DType::F32, &mut rng).unwrap();
        let value = Mlp::new(&[4, 16, 16, 1], activation, 1.0, DType::F32, &mut rng).unwrap();
        let actions = Tensor::from_vec(vec![0u32, 1, 1, 0, 1, 0, 0, 1], 8, &Device::Cpu).unwrap();
        let adv = Tensor::from_vec(vec![1.0f32, -0.5, 0.3, 2.0, -1.0, 0.1, 0.7, -0.2], 8, &Device::Cpu).unwrap();
        let loss = neural::policy_loss(&nn::log_probs(&policy.forward(&x).unwrap()).unwrap(), &actions, &adv).unwrap();
        let returns = Tensor::from_vec(vec![5.0f32; 8], 8, &Device::Cpu).unwrap();
        let vloss = neural::value_loss(&value.forward(&x).unwrap(), &returns).unwrap();
        for (loss, net) in [(loss, &policy), (vloss, &value)] {
            let grads = loss.backward().unwrap();
            for (k, var) in net.vars().iter().enumerate() {
                let g = grads
                    .get(var.as_tensor())
                    .unwrap_or_else(|| panic!("{activation:?}: no gradient for parameter {k}"));
                let norm = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
                assert!(norm > 0.0, "{activation:?}: a zero gradient for parameter {k}");
            }
        }
    }
}

#[test]
fn plain_copy_acts_like_the_candle_network_and_clipping_clips() {
    one_thread();
    let mut rng = rng::seeded(4, 0);
    let mlp = Mlp::new(&[4, 64, 64, 2], Activation::Tanh, 1.0, DType::F32, &mut rng).unwrap();
    let plain = mlp.plain().unwrap();
    let inputs: Vec<f32> = (0..40).map(|i| (i as f32 * 0.91).cos()).collect();
    let batch = mlp.forward(&Tensor::from_vec(inputs.clone(), (10, 4), &Device::Cpu).unwrap()).unwrap();
    for (row, expected) in inputs.chunks(4).zip(batch.to_vec2::<f32>().unwrap()) {
        let got = plain.forward(row);
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-5, "{got:?} vs {expected:?}");
        }
    }
    // Clipping: the global norm after clipping is the maximum asked for.
    let x = Tensor::from_vec(inputs, (10, 4), &Device::Cpu).unwrap();
    let loss = mlp.forward(&x).unwrap().sqr().unwrap().sum_all().unwrap();
    let mut grads = loss.backward().unwrap();
    let before = nn::clip_grad_norm(&mut grads, &mlp.vars(), 0.5).unwrap();
    let after = nn::clip_grad_norm(&mut grads, &mlp.vars(), f64::INFINITY).unwrap();
    assert!(before > 0.5 && (after - 0.5).abs() < 1e-4, "{before} → {after}");
}

fn cartpole_config(total_steps: u64) -> NeuralConfig {
    NeuralConfig {
        hidden: vec![64, 64],
        activation: Activation::Tanh,
        gamma: 0.99,
        batch_steps: 2000,
        total_steps,
        policy_lr: 0.01,
        value_lr: 0.001,
        adam_eps: 1e-8,
        anneal_lr: false,
        baseline: true,
        normalize_advantages: false,
        value_epochs: 5,
        value_minibatch: 256,
        max_grad_norm: 1.0,
    }
}

#[test]
fn neural_reinforce_learns_cartpole() {
    one_thread();
    // Seed 0, 60,000 steps (under a second): the last 20 episodes average 500 on the
    // machine the course was written on (other seeds: 411 to 500); the threshold leaves
    // room for other floating-point libraries.
    let run =
        neural::train(CartPole::new(), 4, 2, &cartpole_config(60_000), &mut rng::seeded(0, 40), |_, _| {}).unwrap();
    let first: f64 = run.episodes[..20].iter().map(|e| e.ret).sum::<f64>() / 20.0;
    assert!(first < 60.0, "the first episodes are short: {first}");
    assert!(run.final_return(20) >= 300.0, "last 20 episodes: {}", run.final_return(20));
    assert_eq!(run.env_steps, 60_000);
    assert_eq!(run.updates.len(), 30);
    // The summaries of a run agree with its episodes.
    let threshold = run.episodes[..30].iter().map(|e| e.ret).sum::<f64>() / 30.0;
    let at = run.steps_to(threshold, 20).expect("reached");
    let curve = run.trailing_return_on_grid(&[at as f64 - 1.0, at as f64], 20);
    assert!(curve[1] >= threshold && (curve[0].is_nan() || curve[0] < threshold), "{curve:?} around {at}");
}

/// CartPole whose rewards are NaN: the loss must stop training, not the physics.
struct NanRewards(CartPole);

impl Env for NanRewards {
    type Obs = [f32; 4];
    type Action = usize;

    fn reset<R: rand::Rng + ?Sized>(&mut self, rng: &mut R) -> [f32; 4] {
        self.0.reset(rng)
    }

    fn step(&mut self, action: usize) -> Step<[f32; 4]> {
        Step { reward: f64::NAN, ..self.0.step(action) }
    }
}

#[test]
fn a_nan_loss_stops_neural_training() {
    one_thread();
    let err =
        neural::train(NanRewards(CartPole::new()), 4, 2, &cartpole_config(4000), &mut rng::seeded(0, 0), |_, _| {})
            .unwrap_err();
    assert!(matches!(err, Error::NonFinite { step: 1, .. }), "{err}");
    assert!(err.to_string().contains("policy loss"), "{err}");
}

// ---------------------------------------------------------------- the binary

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("ch02", name)
}

fn ch02(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ch02-policy-gradient")).args(args).output().unwrap()
}

#[test]
fn binary_writes_its_outputs_and_is_deterministic() {
    let (a, b) = (temp_dir("a"), temp_dir("b"));
    for dir in [&a, &b] {
        let out = ch02(&["--quick", "--out", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let read = |d: &PathBuf| {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("ch02-policy-gradient/summary.json")).unwrap())
                .unwrap();
        // Timings differ between runs; everything else must not.
        v["wall_time_s"] = 0.into();
        v["headline"]["cartpole_seconds_per_seed"] = 0.into();
        v
    };
    let (sa, sb) = (read(&a), read(&b));
    assert_eq!(sa, sb);
    let csv = |d: &PathBuf| std::fs::read_to_string(d.join("ch02-policy-gradient/metrics.csv")).unwrap();
    assert_eq!(csv(&a), csv(&b));
    // Every headline key, with its type: a missing or renamed key fails here.
    let h: Headline = serde_json::from_value(sa["headline"].clone()).unwrap();
    assert!(h.maze_success_rate > 0.9, "{h:?}");
    assert!(h.baseline_variance_ratio > 1.5, "{h:?}");
    assert!(h.cartpole_final_return_median.is_finite(), "{h:?}");
    assert_eq!(h.env_steps, 20_000);
    assert_eq!(sa["chapter"], "ch02-policy-gradient");
    assert_eq!(sa["hyperparameters"]["shift"], 50.0);
    assert_eq!(common::assert_figures(&a.join("ch02-policy-gradient"), &sa), 13);
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn bad_flags_exit_with_code_2_and_one_clear_line() {
    let out_dir = temp_dir("bad");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--maze-gamma", "1.5"], "invalid value '1.5' for --maze-gamma"),
        (vec!["--maze-batch", "1"], "--maze-batch"),
        (vec!["--policy-lr", "0"], "--policy-lr"),
        (vec!["--hidden", "64,0"], "--hidden"),
        (vec!["--cartpole-steps", "100"], "--cartpole-steps"),
        (vec!["--shift", "nan"], "--shift"),
        (vec!["--activation", "sigmoid"], "--activation"),
        (vec!["--seeds", "0"], "--seeds"),
        // Issue 19: every count bounded, products of flags bounded.
        (vec!["--maze-batch", "18446744073709551615"], "for --maze-batch: must lie in [2, 10000]"),
        (vec!["--maze-batch", "10000", "--maze-max-steps", "10000"], "for --maze-batch: with --maze-max-steps"),
        (vec!["--maze-batch", "-1"], "--maze-batch"),
        (vec!["--maze-batch", ""], "--maze-batch"),
        (vec!["--maze-updates", "18446744073709551615"], "for --maze-updates: must lie in [1, 100000]"),
        (vec!["--maze-updates", "0"], "--maze-updates"),
        (vec!["--maze-max-steps", "10001"], "--maze-max-steps"),
        (vec!["--maze-max-steps", "inf"], "--maze-max-steps"),
        (vec!["--variance-batches", "1000000000"], "for --variance-batches: must lie in [2, 100000]"),
        (vec!["--variance-updates", "100000", "--seeds", "100"], "for --variance-updates: with"),
        (vec!["--variance-updates", "100001"], "--variance-updates"),
        (vec!["--variance-updates", "-1"], "--variance-updates"),
        (vec!["--cartpole-steps", "18446744073709551615"], "for --cartpole-steps: must lie in [1, 20000000]"),
        (vec!["--cartpole-steps", "0"], "--cartpole-steps"),
        (vec!["--cartpole-seeds", "100", "--value-epochs", "100"], "for --value-epochs: with"),
        (vec!["--cartpole-seeds", "0"], "--cartpole-seeds"),
        (vec!["--cartpole-seeds", "101"], "--cartpole-seeds"),
        (vec!["--cartpole-batch", "18446744073709551615"], "for --cartpole-batch: must lie in [1, 1000000]"),
        (vec!["--cartpole-batch", "0"], "--cartpole-batch"),
        (vec!["--value-epochs", "1000000000"], "for --value-epochs: must lie in [0, 100]"),
        (vec!["--value-minibatch", "0"], "--value-minibatch"),
        (vec!["--value-minibatch", "18446744073709551615"], "--value-minibatch"),
        (vec!["--hidden", "4096,4096,4096,4096"], "for --hidden: its"),
        (vec!["--hidden", "4097"], "--hidden"),
        (vec!["--hidden", ""], "--hidden"),
        (vec!["--seed", "18446744073709551615", "--seeds", "1", "--cartpole-seeds", "2"], "for --cartpole-seeds"),
        (vec!["--maze-lr", "inf"], "--maze-lr"),
        (vec!["--maze-lr", "-inf"], "--maze-lr"),
        (vec!["--maze-gamma", "nan"], "--maze-gamma"),
        (vec!["--shift", "0"], "--shift"),
        (vec!["--shift", "1e7"], "--shift"),
        (vec!["--cartpole-gamma", "-0.1"], "--cartpole-gamma"),
        (vec!["--policy-lr", "nan"], "--policy-lr"),
        (vec!["--value-lr", "2"], "--value-lr"),
        (vec!["--adam-eps", "-inf"], "--adam-eps"),
        (vec!["--max-grad-norm", "inf"], "--max-grad-norm"),
        (vec!["--max-grad-norm", "0"], "--max-grad-norm"),
        (vec!["--max-grad-norm", "many"], "--max-grad-norm"),
    ];
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch02-policy-gradient"), &out_dir, &cases);
    let _ = std::fs::remove_dir_all(&out_dir);
}

/// Without `--quick` (which shortens the defaults), products of flags are bounded too:
/// the refusal names a flag that was given.
#[test]
fn products_of_flags_are_bounded_without_quick() {
    let out_dir = temp_dir("budget");
    let cases: [(&[&str], &str); 3] = [
        (&["--hidden", "4096", "--cartpole-batch", "100000"], "for --cartpole-batch: with --hidden 4096 hidden units"),
        (&["--cartpole-steps", "20000000", "--cartpole-seeds", "2"], "for --cartpole-steps: with --cartpole-seeds 2"),
        (&["--maze-updates", "100000", "--seeds", "100"], "for --maze-updates: with"),
    ];
    for (args, expected) in cases {
        let mut all = args.to_vec();
        all.extend(["--out", out_dir.to_str().unwrap()]);
        let out = ch02(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&out_dir);
}
