//! TRPO speed (`cargo bench --bench trpo`): one thread, the chapter's default settings.
//! - the cost of one Fisher-vector product (4-64-64-2 policy, f64);
//! - time and environment steps until the mean return of the last 20 episodes reaches
//!   475 on CartPole, and steps per second including training, over 5 seeds.
//!
//! For comparison, sb3-contrib's TRPO with the same settings needed a median of 39.2 s
//! (74k environment steps) to reach 475 on a 2-core machine, one thread.

use candle_core::{DType, Device, Tensor};
use rl_sandbox::env::cartpole::CartPole;
use rl_sandbox::nn::flat::flat_params;
use rl_sandbox::nn::{Activation, Mlp};
use rl_sandbox::rollout::LearningCurve;
use rl_sandbox::trpo::{self, TrpoConfig};
use rl_sandbox::{rng, stats};
use std::time::Instant;

fn main() {
    rl_sandbox::run::set_intra_op_threads(1);
    let quick = std::env::args().any(|a| a == "--quick");
    let mut r = rng::seeded(0, 0);
    let policy = Mlp::new(&[4, 64, 64, 2], Activation::Tanh, 0.01, DType::F64, &mut r).expect("policy");
    let v = vec![1.0; flat_params(&policy.vars()).expect("θ").len()];
    println!("TRPO benchmark (one thread)");
    for states in [256, 1024, 5000] {
        let xs: Vec<f64> = (0..states * 4).map(|i| (i as f64 * 0.1).sin()).collect();
        let obs = Tensor::from_vec(xs, (states, 4), &Device::Cpu).expect("obs");
        let reps = 20;
        let t = Instant::now();
        for _ in 0..reps {
            trpo::fisher_vector_product(&policy, &obs, &v).expect("fvp");
        }
        println!(
            "  Fisher-vector product, {states:>4} states: {:>6.2} ms",
            t.elapsed().as_secs_f64() * 1e3 / reps as f64
        );
    }
    let cfg = TrpoConfig::default();
    let seeds = if quick { 1 } else { 5 };
    let (mut seconds, mut steps, mut rates) = (vec![], vec![], vec![]);
    for seed in 0..seeds {
        let envs = (0..cfg.n_envs).map(|_| CartPole::new()).collect();
        let run = trpo::train(envs, 2, &cfg, &mut rng::seeded(seed, 30), |_, _| {}).expect("training");
        let (s, t) = run.reached(475.0, 20).map_or((f64::NAN, f64::NAN), |(s, t)| (s as f64, t));
        println!(
            "  seed {seed}: 475 reached after {s} steps, {t:.2} s; {:.0} steps/s",
            run.env_steps as f64 / run.seconds
        );
        seconds.push(t);
        steps.push(s);
        rates.push(run.env_steps as f64 / run.seconds);
    }
    println!(
        "  median over {seeds} seeds: {:.2} s and {:.0} env steps to 475; {:.0} env steps/s including training",
        stats::median_missing_high(&seconds),
        stats::median_missing_high(&steps),
        stats::median(&rates)
    );
}
