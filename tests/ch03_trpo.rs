//! Chapter 3: the TRPO surrogate, the update's guarantees, learning CartPole, the binary.
//! (The Fisher-vector product against an explicit Hessian and conjugate gradient against
//! a direct solve are unit tests in src/trpo/.)

mod common;

use candle_core::{DType, Device, Tensor};
use rl_sandbox::env::cartpole::CartPole;
use rl_sandbox::env::{Env, Step};
use rl_sandbox::error::Error;
use rl_sandbox::nn::flat::flat_grad;
use rl_sandbox::nn::{self, Activation, Mlp};
use rl_sandbox::report::Summary;
use rl_sandbox::rng;
use rl_sandbox::rollout::LearningCurve;
use rl_sandbox::trpo::experiments::TrpoHeadline;
use rl_sandbox::trpo::{self, StepRule, TrpoConfig};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Once;

fn one_thread() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| rl_sandbox::run::set_intra_op_threads(1));
}

fn config(rule: StepRule, total_steps: u64) -> TrpoConfig {
    TrpoConfig { rule, total_steps, ..TrpoConfig::default() }
}

fn cartpoles(n: usize) -> Vec<CartPole> {
    (0..n).map(|_| CartPole::new()).collect()
}

#[test]
fn surrogate_by_hand_and_its_gradient_is_the_policy_gradient() {
    // Ratios e^{0.1}, e^{−0.2}, 1 with advantages 1, −2, 0.5: L = (e^{0.1} − 2e^{−0.2} + 0.5)/3.
    let t = |v: Vec<f64>| Tensor::from_vec(v, 3, &Device::Cpu).unwrap();
    let l = trpo::train::surrogate(&t(vec![-1.0, -2.2, -0.5]), &t(vec![-1.1, -2.0, -0.5]), &t(vec![1.0, -2.0, 0.5]))
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    let by_hand = (0.1f64.exp() - 2.0 * (-0.2f64).exp() + 0.5) / 3.0;
    assert!((l - by_hand).abs() < 1e-15, "{l} vs {by_hand}");

    // At θ = θ_old every ratio is 1, so ∇L = mean ∇log π(a|s) Â: REINFORCE's gradient.
    let mut r = rng::seeded(1, 0);
    let policy = Mlp::new(&[4, 8, 2], Activation::Tanh, 1.0, DType::F64, &mut r).unwrap();
    let obs =
        Tensor::from_vec((0..24).map(|i| (i as f64 * 0.37).sin()).collect::<Vec<_>>(), (6, 4), &Device::Cpu).unwrap();
    let actions = Tensor::from_vec(vec![0u32, 1, 1, 0, 1, 0], 6, &Device::Cpu).unwrap();
    let adv = Tensor::from_vec(vec![1.0, -0.5, 2.0, 0.3, -1.0, 0.7], 6, &Device::Cpu).unwrap();
    let logp = nn::log_probs_of(&nn::log_probs(&policy.forward(&obs).unwrap()).unwrap(), &actions).unwrap();
    let l = trpo::train::surrogate(&logp, &logp.detach(), &adv).unwrap();
    assert!((l.to_scalar::<f64>().unwrap() - adv.mean_all().unwrap().to_scalar::<f64>().unwrap()).abs() < 1e-15);
    let g_surrogate = flat_grad(&l.backward().unwrap(), &policy.vars()).unwrap();
    let pg = (logp * &adv).unwrap().mean_all().unwrap();
    let g_pg = flat_grad(&pg.backward().unwrap(), &policy.vars()).unwrap();
    for (a, b) in g_surrogate.iter().zip(&g_pg) {
        assert!((a - b).abs() < 1e-14, "{a} vs {b}");
    }
}

#[test]
fn trpo_learns_cartpole_and_every_step_keeps_kl_within_delta() {
    one_thread();
    let cfg = config(StepRule::Trpo, 100_000);
    let run = trpo::train(cartpoles(4), 2, &cfg, &mut rng::seeded(0, 30), |_, _| {}).unwrap();
    assert!(run.final_return(20) >= 475.0, "last 20 episodes: {}", run.final_return(20));
    assert!(run.reached(475.0, 20).is_some());
    for u in &run.updates {
        // The line search takes a step only if it is inside the trust region and
        // improves the surrogate; otherwise the policy stays where it was.
        if u.accepted {
            assert!(u.kl <= cfg.delta && u.surrogate_gain > 0.0, "{u:?}");
        } else {
            assert_eq!((u.kl, u.step_norm), (0.0, 0.0), "{u:?}");
        }
        assert!(u.cg_residual.is_some_and(|r| r.is_finite() && r >= 0.0), "{u:?}");
    }
    assert!(run.max_kl() <= cfg.delta);
    // The trust region is used, not avoided: most steps end within a factor 4 of δ.
    let near = run.updates.iter().filter(|u| u.kl > cfg.delta / 4.0).count();
    assert!(near * 2 > run.updates.len(), "{near} of {} updates", run.updates.len());
}

#[test]
fn a_large_fixed_step_leaves_the_trust_region_and_a_small_one_barely_moves() {
    one_thread();
    let budget = 20_480;
    let large = trpo::train(cartpoles(4), 2, &config(StepRule::Fixed(5.0), budget), &mut rng::seeded(0, 30), |_, _| {})
        .unwrap();
    let small =
        trpo::train(cartpoles(4), 2, &config(StepRule::Fixed(0.05), budget), &mut rng::seeded(0, 30), |_, _| {})
            .unwrap();
    assert!(large.max_kl() > 0.1, "large step: max KL {}", large.max_kl());
    assert!(small.max_kl() < 0.01, "small step: max KL {}", small.max_kl());
}

#[test]
fn same_seed_same_run() {
    one_thread();
    let cfg = config(StepRule::Trpo, 4096);
    let a = trpo::train(cartpoles(4), 2, &cfg, &mut rng::seeded(5, 30), |_, _| {}).unwrap();
    let b = trpo::train(cartpoles(4), 2, &cfg, &mut rng::seeded(5, 30), |_, _| {}).unwrap();
    let key = |r: &trpo::TrpoRun| {
        (
            r.episodes.iter().map(|e| (e.env_steps, e.ret)).collect::<Vec<_>>(),
            r.updates.iter().map(|u| (u.kl, u.surrogate_gain, u.backtracks)).collect::<Vec<_>>(),
        )
    };
    assert_eq!(key(&a), key(&b));
}

/// CartPole whose rewards are NaN: the update must stop with the step named.
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
fn nan_rewards_stop_training_at_step_1() {
    one_thread();
    let envs = (0..4).map(|_| NanRewards(CartPole::new())).collect();
    let err = trpo::train(envs, 2, &config(StepRule::Trpo, 4096), &mut rng::seeded(0, 0), |_, _| {}).unwrap_err();
    assert!(matches!(err, Error::NonFinite { step: 1, .. }), "{err}");
}

// ---------------------------------------------------------------- the binary

fn temp_dir(name: &str) -> PathBuf {
    common::temp_dir("ch03", name)
}

fn ch03(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ch03-trpo")).args(args).output().unwrap()
}

#[test]
fn binary_writes_its_outputs_and_is_deterministic() {
    let (a, b) = (temp_dir("a"), temp_dir("b"));
    for dir in [&a, &b] {
        let out = ch03(&["--quick", "--out", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let read = |d: &PathBuf| Summary::read(&d.join("ch03-trpo/summary.json")).unwrap();
    let (sa, sb) = (read(&a), read(&b));
    // Every headline key, typed: a missing or misspelt key fails here.
    let headline = |s: &Summary| -> TrpoHeadline { serde_json::from_value(s.headline.clone().into()).unwrap() };
    let (h, hb) = (headline(&sa), headline(&sb));
    assert!(h.max_kl <= h.delta, "{h:?}");
    // --quick: 8 updates of 4 × 256 steps; two seeds, one of them compared per rule.
    assert_eq!((h.env_steps, sa.seeds.len()), (8_192, 2));
    for key in ["trpo", "fixed_0.05", "fixed_5", "line_search", "trust_region"] {
        assert!(h.step_sizes.contains_key(&format!("{key}_max_kl")), "no rule {key}: {h:?}");
    }
    // The headline's speed is the median of the seeds' speeds (to the last bits: JSON
    // parsing of a float may be off by one unit in the last place).
    let per_seed: Vec<f64> = serde_json::from_value(sa.details["trpo"]["env_steps_per_s"].clone()).unwrap();
    let median = rl_sandbox::stats::median(&per_seed);
    assert!((h.env_steps_per_s - median).abs() <= 1e-12 * median.abs(), "{} vs {median}", h.env_steps_per_s);
    // Everything but the clock is the same in both runs.
    let no_clock = |h: &TrpoHeadline| TrpoHeadline { env_steps_per_s: 0.0, seconds_to_475_median: None, ..h.clone() };
    assert_eq!(no_clock(&h), no_clock(&hb));
    let csv = |d: &PathBuf| -> Vec<String> {
        let text = std::fs::read_to_string(d.join("ch03-trpo/metrics.csv")).unwrap();
        // Drop the `seconds` column (the 5th).
        text.lines()
            .map(|l| l.split(',').enumerate().filter(|(i, _)| *i != 4).map(|(_, c)| c).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(csv(&a), csv(&b));
    assert_eq!(common::assert_figures(&a.join("ch03-trpo"), &serde_json::to_value(&sa).unwrap()), 9);
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn bad_flags_exit_with_code_2_and_one_clear_line() {
    let out_dir = temp_dir("bad");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--delta", "0"], "--delta"),
        (vec!["--delta", "nan"], "--delta"),
        (vec!["--gamma", "1.5"], "--gamma"),
        (vec!["--lambda", "-0.1"], "--lambda"),
        (vec!["--envs", "0"], "--envs"),
        (vec!["--hidden", "64,0"], "--hidden"),
        (vec!["--large-step", "-1"], "--large-step"),
        (vec!["--fisher-subsample", "0"], "--fisher-subsample"),
        (vec!["--total-steps", "10"], "--total-steps"),
        (vec!["--seeds", "0"], "--seeds"),
    ];
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch03-trpo"), &out_dir, &cases);
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
        ("--delta", &[]),
        ("--envs", &[]),
        ("--steps", &[]),
        ("--total-steps", &[]),
        ("--gamma", &["0"]),
        ("--lambda", &["0"]),
        ("--cg-iters", &[]),
        ("--cg-damping", &["0"]),
        ("--fisher-subsample", &[]),
        ("--max-backtracks", &["0"]),
        ("--hidden", &[]),
        ("--value-lr", &[]),
        ("--value-epochs", &[]),
        ("--value-minibatch", &[]),
        ("--small-step", &[]),
        ("--large-step", &[]),
        ("--line-search-start", &[]),
        ("--compare-seeds", &[]),
        ("--seeds", &[]),
        ("--seed", &["0", "18446744073709551615"]),
    ];
    let mut cases = common::hostile_cases(flags);
    let more: Vec<(Vec<&str>, &str)> = vec![
        // The example: a count with no upper bound ran for hours.
        (vec!["--value-epochs", "1000000000"], "--value-epochs"),
        (vec!["--hidden", "64,64,64,64,64"], "--hidden"),
        (vec!["--hidden", "1025"], "--hidden"),
        (vec!["--hidden", "64,-1"], "--hidden"),
        (vec!["--total-steps", "10000001"], "[1024, 10000000]"),
        // Products of flags: the batch, the batch's activations, the whole run's work.
        (vec!["--envs", "256", "--steps", "65536"], "invalid value '65536' for --steps: must lie in [1, 4096]"),
        // (--envs is raised most above its default: 64 times.)
        (
            vec!["--envs", "256", "--steps", "4096", "--total-steps", "1048576", "--hidden", "1024"],
            "invalid value '256' for --envs: must lie in [1, 8]",
        ),
        (
            vec!["--hidden", "1024,1024,1024,1024", "--seeds", "100"],
            "invalid value '100' for --seeds: must lie in [1, ",
        ),
        (vec!["--seed", "18446744073709551615", "--seeds", "2"], "--seed"),
        (vec!["--fisher-subsample", "1025"], "--fisher-subsample"),
    ];
    for (args, expected) in more {
        cases.push((args.iter().map(|a| a.to_string()).collect(), expected));
    }
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch03-trpo"), &out_dir, &cases);
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn the_budget_of_a_full_run_blames_the_flag_that_was_raised() {
    use rl_sandbox::trpo::experiments::{check_budget, StepSizeFlags};
    let flags = StepSizeFlags { small_step: 0.05, large_step: 5.0, line_search_start: 0.05, compare_seeds: 3 };
    // The defaults fit, with the most seeds too.
    check_budget(&TrpoConfig::default(), &flags, 5, 5).unwrap();
    check_budget(&TrpoConfig::default(), &flags, 100, 5).unwrap();
    // 100 seeds and 10 million steps per run: 5 billion environment steps.
    let cfg = TrpoConfig { total_steps: 10_000_000, ..TrpoConfig::default() };
    let err = check_budget(&cfg, &flags, 100, 5).unwrap_err().to_string();
    assert!(err.contains("invalid value '10000000' for --total-steps: must lie in [1024, "), "{err}");
    let err = check_budget(&cfg, &flags, 5, 5).unwrap_err().to_string();
    assert!(err.contains("--total-steps"), "{err}");
    // Many value epochs on a long run: the work, blamed on the flag raised most.
    let cfg = TrpoConfig { total_steps: 1_500_000, value_epochs: 100, ..TrpoConfig::default() };
    let err = check_budget(&cfg, &flags, 5, 5).unwrap_err().to_string();
    assert!(err.contains("for --value-epochs: must lie in [1, "), "{err}");
}
