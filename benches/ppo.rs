//! PPO throughput on CartPole-v1 with the lesson's settings, one thread, one run at a
//! time (`cargo bench --bench ppo`, `-- --quick` for one seed, `-- --seeds N` for N):
//! environment steps per second including training, steps and seconds until the
//! last-10-episode mean reaches 475, and the cost of one minibatch step, against
//! Stable-Baselines3 with the same settings (the constants below).

use candle_core::{Device, Tensor};
use rl_sandbox::env::cartpole::CartPole;
use rl_sandbox::nn::{self, Mlp};
use rl_sandbox::ppo::{self, Actor, Categorical, PpoConfig};
use rl_sandbox::rollout::LearningCurve;
use rl_sandbox::{rng, stats};
use std::time::Instant;

/// Stable-Baselines3's PPO with the same RL-Zoo settings, one thread, measured on the
/// machine of the committed runs: environment steps per second including training,
/// seconds and environment steps until the last-10-episode mean reaches 475 (medians).
const SB3_STEPS_PER_S: f64 = 1_908.0;
const SB3_SECONDS_TO_475: f64 = 12.1;
const SB3_STEPS_TO_475: f64 = 21_500.0;

fn main() {
    rl_sandbox::run::set_intra_op_threads(1);
    rl_sandbox::llm::tune_allocator();
    let quick = std::env::args().any(|a| a == "--quick");
    // `-- --seeds N` for a tighter median of the steps to 475 (their spread is wide).
    let args: Vec<String> = std::env::args().collect();
    let flag = args.iter().position(|a| a == "--seeds").and_then(|i| args.get(i + 1)?.parse().ok());
    let seeds: u64 = flag.unwrap_or(if quick { 1 } else { 3 });
    let cfg = PpoConfig::default();

    // One gradient step of actor + critic on a full batch of 256 rows, as in the loop.
    let mut rng = rng::seeded(0, 0);
    let actor = Categorical::new(4, 2, &cfg.hidden, cfg.activation, &mut rng).expect("actor");
    let critic = Mlp::new(&[4, 64, 64, 1], cfg.activation, 1.0, candle_core::DType::F32, &mut rng).expect("critic");
    let mut vars = actor.vars();
    vars.extend(critic.vars());
    let mut opt = nn::ClippedAdam::new(vars, cfg.lr, cfg.adam_eps, cfg.max_grad_norm).expect("adam");
    let n = cfg.batch_size();
    let f = |v: Vec<f32>, shape: &[usize]| Tensor::from_vec(v, shape, &Device::Cpu).expect("tensor");
    let obs = f((0..n * 4).map(|i| (i as f32 * 0.37).sin()).collect(), &[n, 4]);
    let actions = Categorical::actions_tensor(&(0..n).map(|i| i % 2).collect::<Vec<_>>()).expect("actions");
    let old = f(vec![-std::f32::consts::LN_2; n], &[n]);
    let adv = f((0..n).map(|i| (i as f32 * 0.11).cos()).collect(), &[n]);
    let ret = f((0..n).map(|i| (i as f32 * 0.13).cos()).collect(), &[n]);
    let mut step = || {
        let (lp, _) = actor.log_probs(&obs, &actions).expect("log π");
        let policy = ppo::clipped_surrogate_loss(&lp, &old, &adv, 0.2).expect("loss");
        let v = critic.forward_batch(&obs).and_then(|v| v.squeeze(1)).expect("V");
        let loss = (policy + (ppo::value_loss(&v, &ret, &ret, None).expect("value loss") * 0.5)).expect("sum");
        let grads = loss.backward().expect("backward");
        opt.step(&grads).expect("clip and Adam");
    };
    for _ in 0..50 {
        step();
    }
    let trials: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..200 {
                step();
            }
            t.elapsed().as_secs_f64() / 200.0 * 1e3
        })
        .collect();
    println!("PPO on CartPole-v1, one thread ({} copies × {} steps, {} epochs)", cfg.n_envs, cfg.n_steps, cfg.epochs);
    println!(
        "  one minibatch step (256 rows, actor + critic, clip, Adam): {:.3} ms (median of 5)",
        stats::median(&trials)
    );

    let mut rates = Vec::new();
    let (mut to_475, mut steps_475) = (Vec::new(), Vec::new());
    for seed in 0..seeds {
        let mut rng = rng::seeded(seed, 1);
        let actor = Categorical::new(4, 2, &cfg.hidden, cfg.activation, &mut rng).expect("actor");
        let envs = (0..cfg.n_envs).map(|_| CartPole::new()).collect();
        let run = ppo::train(envs, actor, &cfg, &mut rng, |_, _| {}).expect("training");
        let reached = run.reached(475.0, 10);
        println!(
            "  seed {seed}: {:>6.0} env steps/s over {} steps; 475 reached at {}",
            run.steps_per_second(),
            run.env_steps,
            reached.map_or("never".into(), |(s, t)| format!("{s} steps, {t:.2} s"))
        );
        rates.push(run.steps_per_second());
        to_475.push(reached.map_or(f64::NAN, |r| r.1));
        steps_475.push(reached.map_or(f64::NAN, |r| r.0 as f64));
    }
    let rate = stats::median(&rates);
    let seconds = stats::median_missing_high(&to_475);
    let steps = stats::median_missing_high(&steps_475);
    println!(
        "  median over {seeds} seeds: {rate:.0} env steps/s ({:.1}x SB3's {SB3_STEPS_PER_S}), {seconds:.2} s to 475 \
         ({:.1}x faster than its {SB3_SECONDS_TO_475} s), {steps:.0} env steps to 475 (SB3: {SB3_STEPS_TO_475})",
        rate / SB3_STEPS_PER_S,
        SB3_SECONDS_TO_475 / seconds
    );
}
