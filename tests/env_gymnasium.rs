//! CartPole and Pendulum against Gymnasium 1.4.0.
//!
//! The golden files in `tests/data/` were recorded by running the real Gymnasium
//! environments (see their "notes"): we set the same initial state, replay the same
//! actions and demand the same numbers, states to 1e-12 and f32 observations exactly.
//! The other tests pin down what the golden runs do not reach: the termination
//! thresholds, the time limits, the torque clip, the velocity clip and the resets.

use rl_sandbox::env::cartpole::{self, CartPole};
use rl_sandbox::env::pendulum::{self, Pendulum};
use rl_sandbox::env::{Env, Step};
use rl_sandbox::rng;
use serde::Deserialize;
use std::f64::consts::PI;
use std::path::PathBuf;

// ---------------------------------------------------------------- golden files

#[derive(Deserialize)]
struct CartPoleFile {
    cartpole: CartPoleGolden,
}

#[derive(Deserialize)]
struct CartPoleGolden {
    constants: CartPoleConstants,
    initial_state: [f64; 4],
    actions: Vec<usize>,
    steps: Vec<GoldenStep>,
    push_right_until_terminated: PushRight,
}

#[derive(Deserialize)]
struct CartPoleConstants {
    gravity: f64,
    masscart: f64,
    masspole: f64,
    length: f64,
    force_mag: f64,
    tau: f64,
    kinematics_integrator: String,
    theta_threshold_radians: f64,
    x_threshold: f64,
    max_episode_steps: usize,
}

#[derive(Deserialize)]
struct PushRight {
    action: usize,
    steps_until_terminated: usize,
    final_state_f64: [f64; 4],
    final_obs_f32: [f64; 4],
    last_reward: f64,
}

#[derive(Deserialize)]
struct PendulumGolden {
    constants: PendulumConstants,
    initial_state: [f64; 2],
    steps: Vec<GoldenStep>,
}

#[derive(Deserialize)]
struct PendulumConstants {
    max_speed: f64,
    max_torque: f64,
    dt: f64,
    g: f64,
    m: f64,
    l: f64,
    max_episode_steps: usize,
}

/// One recorded step. CartPole records an `action`, Pendulum a `torque`.
#[derive(Deserialize)]
struct GoldenStep {
    #[serde(default)]
    action: Option<usize>,
    #[serde(default)]
    torque: Option<f64>,
    state_f64: Vec<f64>,
    obs_f32: Vec<f64>,
    reward: f64,
    terminated: bool,
    truncated: bool,
}

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("data").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn cartpole_golden() -> CartPoleGolden {
    serde_json::from_str::<CartPoleFile>(&data("cartpole_gymnasium.json")).unwrap().cartpole
}

fn pendulum_golden() -> PendulumGolden {
    serde_json::from_str(&data("pendulum_gymnasium.json")).unwrap()
}

/// Equal to 1e-12, absolute for values up to 1 and relative above.
fn assert_close(got: f64, want: f64, what: &str) {
    let tol = 1e-12 * want.abs().max(1.0);
    assert!((got - want).abs() <= tol, "{what}: got {got:e}, Gymnasium {want:e} (diff {:e})", got - want);
}

fn assert_state_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: state length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert_close(g, w, &format!("{what}, state[{i}]"));
    }
}

/// The recorded observation was a float32 written out as a float64: casting it back
/// is exact, so the comparison is bit-for-bit.
fn assert_obs_eq(got: &[f32], want: &[f64], what: &str) {
    let want: Vec<f32> = want.iter().map(|&w| w as f32).collect();
    assert_eq!(got, want.as_slice(), "{what}: observation");
}

fn assert_step_matches<O: AsRef<[f32]>>(step: &Step<O>, state: &[f64], golden: &GoldenStep, what: &str) {
    assert_state_close(state, &golden.state_f64, what);
    assert_obs_eq(step.obs.as_ref(), &golden.obs_f32, what);
    assert_close(step.reward, golden.reward, &format!("{what}, reward"));
    assert_eq!(step.terminated, golden.terminated, "{what}: terminated");
    assert_eq!(step.truncated, golden.truncated, "{what}: truncated");
}

/// The next representable f64 away from zero: the smallest step across a threshold.
fn just_beyond(v: f64) -> f64 {
    f64::from_bits(v.to_bits() + 1)
}

// ---------------------------------------------------------------- CartPole

#[test]
fn cartpole_constants_are_gymnasiums() {
    let c = cartpole_golden().constants;
    assert_eq!(c.gravity, cartpole::GRAVITY);
    assert_eq!(c.masscart, cartpole::MASSCART);
    assert_eq!(c.masspole, cartpole::MASSPOLE);
    assert_eq!(c.length, cartpole::LENGTH);
    assert_eq!(c.force_mag, cartpole::FORCE_MAG);
    assert_eq!(c.tau, cartpole::TAU);
    assert_eq!(c.kinematics_integrator, "euler");
    assert_eq!(c.theta_threshold_radians, cartpole::THETA_THRESHOLD_RADIANS);
    assert_eq!(c.x_threshold, cartpole::X_THRESHOLD);
    assert_eq!(c.max_episode_steps, cartpole::MAX_EPISODE_STEPS);
    assert_eq!(CartPole::new().max_steps(), 500);
}

#[test]
fn cartpole_matches_gymnasium_step_by_step() {
    let golden = cartpole_golden();
    assert_eq!(golden.actions.len(), golden.steps.len());
    assert!(golden.steps.len() >= 10, "the file records {} steps", golden.steps.len());
    let mut env = CartPole::new();
    env.set_state(golden.initial_state);
    for (i, (&action, want)) in golden.actions.iter().zip(&golden.steps).enumerate() {
        assert_eq!(want.action, Some(action), "the file's step {i} replays its own action");
        let step = env.step(action);
        assert_step_matches(&step, &env.state(), want, &format!("CartPole step {}", i + 1));
    }
}

#[test]
fn cartpole_push_right_terminates_like_gymnasium() {
    let golden = cartpole_golden();
    let want = golden.push_right_until_terminated;
    let mut env = CartPole::new();
    env.set_state(golden.initial_state);
    for t in 1..want.steps_until_terminated {
        let step = env.step(want.action);
        assert!(!step.terminated && !step.truncated, "terminated early, at step {t}");
        assert_eq!(step.reward, 1.0);
    }
    let last = env.step(want.action);
    assert!(last.terminated, "did not terminate at step {}", want.steps_until_terminated);
    assert!(!last.truncated);
    assert_eq!(last.reward, want.last_reward, "the terminating step still pays 1");
    assert_state_close(&env.state(), &want.final_state_f64, "final state");
    assert_obs_eq(&last.obs, &want.final_obs_f32, "final");
    // Pushing right swings the pole to the left: it is theta that crossed -12°.
    assert!(env.state()[2] < -cartpole::THETA_THRESHOLD_RADIANS);
}

#[test]
fn cartpole_steps_after_termination_pay_zero_and_keep_moving() {
    let golden = cartpole_golden();
    let mut env = CartPole::new();
    env.set_state(golden.initial_state);
    while !env.step(cartpole::PUSH_RIGHT).terminated {}
    for _ in 0..3 {
        let before = env.state();
        let step = env.step(cartpole::PUSH_RIGHT);
        assert!(step.terminated);
        assert_eq!(step.reward, 0.0);
        assert_eq!(env.state(), cartpole::next_state(before, cartpole::PUSH_RIGHT), "the physics goes on");
    }
    // A reset starts a new episode that pays again.
    env.reset(&mut rng::seeded(0, 0));
    let step = env.step(cartpole::PUSH_LEFT);
    assert!(!step.terminated);
    assert_eq!(step.reward, 1.0);
}

/// With both velocities zero, one Euler step leaves x and theta exactly where they
/// were (positions move with the old velocities), so `x`/`theta` are the values the
/// termination test sees.
fn one_step_from(x: f64, theta: f64) -> Step<[f32; 4]> {
    let mut env = CartPole::new();
    env.set_state([x, 0.0, theta, 0.0]);
    let step = env.step(cartpole::PUSH_LEFT);
    assert_eq!(env.state()[0], x);
    assert_eq!(env.state()[2], theta);
    step
}

#[test]
fn cartpole_terminates_just_beyond_the_x_threshold() {
    let x = cartpole::X_THRESHOLD;
    assert_eq!(x, 2.4);
    for sign in [1.0, -1.0] {
        assert!(!one_step_from(sign * x, 0.0).terminated, "|x| = 2.4 is still on the track");
        assert!(!one_step_from(sign * 2.39, 0.0).terminated);
        let out = one_step_from(just_beyond(sign * x), 0.0);
        assert!(out.terminated, "x just beyond {}", sign * x);
        assert_eq!(out.reward, 1.0, "the terminating step pays 1");
        assert!(one_step_from(sign * 2.41, 0.0).terminated);
    }
}

#[test]
fn cartpole_terminates_just_beyond_twelve_degrees() {
    let th = cartpole::THETA_THRESHOLD_RADIANS;
    assert_eq!(th, 0.20943951023931953, "12 * 2 * pi / 360, bit for bit");
    // `12f64.to_radians()` is one bit larger: writing the formula as Gymnasium does matters.
    assert_eq!(just_beyond(th), 12f64.to_radians());
    for sign in [1.0, -1.0] {
        assert!(!one_step_from(0.0, sign * th).terminated, "|theta| = 12° is still up");
        assert!(!one_step_from(0.0, sign * 11.9f64.to_radians()).terminated);
        let out = one_step_from(0.0, just_beyond(sign * th));
        assert!(out.terminated, "theta just beyond {}", sign * th);
        assert_eq!(out.reward, 1.0);
        assert!(one_step_from(0.0, sign * 12.1f64.to_radians()).terminated);
    }
}

/// A hand-made linear controller: push towards the side the pole will lean to, with a
/// little attention to the cart so that it does not drift off the track.
fn balance(obs: [f32; 4]) -> usize {
    let [x, x_dot, theta, theta_dot] = obs.map(f64::from);
    let s = theta + 0.5 * theta_dot + 0.01 * x + 0.1 * x_dot;
    if s > 0.0 {
        cartpole::PUSH_RIGHT
    } else {
        cartpole::PUSH_LEFT
    }
}

#[test]
fn cartpole_truncates_at_exactly_500_steps() {
    let mut env = CartPole::new();
    env.reset(&mut rng::seeded(0, 0));
    env.set_state([0.01, 0.0, -0.01, 0.0]);
    let mut obs = env.obs();
    let mut total = 0.0;
    for t in 1..=500 {
        let step = env.step(balance(obs));
        total += step.reward;
        assert!(!step.terminated, "the controller let the pole fall at step {t}: {:?}", env.state());
        assert_eq!(step.truncated, t == 500, "truncated at step {t}");
        obs = step.obs;
    }
    assert_eq!(total, 500.0);
    assert_eq!(env.steps(), 500);
    // A reset starts the count again; a custom limit truncates on its own step.
    let mut short = CartPole::with_max_steps(20);
    let mut obs = short.reset(&mut rng::seeded(1, 0));
    for t in 1..=20 {
        let step = short.step(balance(obs));
        assert!(!step.terminated);
        assert_eq!(step.truncated, t == 20, "with_max_steps(20), step {t}");
        obs = step.obs;
    }
    let mut obs = short.reset(&mut rng::seeded(1, 0));
    assert_eq!(short.steps(), 0);
    for _ in 1..20 {
        let step = short.step(balance(obs));
        assert!(!step.done());
        obs = step.obs;
    }
}

#[test]
fn cartpole_reset_draws_four_uniforms_in_order_within_005() {
    let mut env = CartPole::new();
    let mut r = rng::seeded(7, 3);
    let (mut lo, mut hi) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
    for _ in 0..2000 {
        let obs = env.reset(&mut r);
        let s = env.state();
        assert_eq!(obs, s.map(|v| v as f32), "the reset observation is the state as f32");
        for i in 0..4 {
            assert!(s[i].abs() <= cartpole::RESET_BOUND, "state[{i}] = {}", s[i]);
            lo[i] = lo[i].min(s[i]);
            hi[i] = hi[i].max(s[i]);
        }
    }
    for i in 0..4 {
        assert!(lo[i] < -0.049 && hi[i] > 0.049, "state[{i}] does not fill ±0.05: [{}, {}]", lo[i], hi[i]);
    }
    // Same seed, same start; the four values are the rng's next four uniform draws.
    let mut a = CartPole::new();
    let mut b = CartPole::new();
    a.reset(&mut rng::seeded(42, 0));
    b.reset(&mut rng::seeded(42, 0));
    assert_eq!(a.state(), b.state());
    let mut r = rng::seeded(42, 0);
    let draws: [f64; 4] = std::array::from_fn(|_| rand::RngExt::random_range(&mut r, -0.05..0.05));
    assert_eq!(a.state(), draws);
    b.reset(&mut rng::seeded(43, 0));
    assert_ne!(a.state(), b.state());
}

// ---------------------------------------------------------------- Pendulum

#[test]
fn pendulum_constants_are_gymnasiums() {
    let c = pendulum_golden().constants;
    assert_eq!(c.max_speed, pendulum::MAX_SPEED);
    assert_eq!(c.max_torque, f64::from(pendulum::MAX_TORQUE));
    assert_eq!(c.dt, pendulum::DT);
    assert_eq!(c.g, pendulum::G);
    assert_eq!(c.m, pendulum::M);
    assert_eq!(c.l, pendulum::L);
    assert_eq!(c.max_episode_steps, pendulum::MAX_EPISODE_STEPS);
    assert_eq!(Pendulum::new().max_steps(), 200);
}

#[test]
fn pendulum_matches_gymnasium_step_by_step() {
    let golden = pendulum_golden();
    assert!(golden.steps.len() >= 10, "the file records {} steps", golden.steps.len());
    assert!(golden.steps.iter().any(|s| s.torque.unwrap().abs() > 2.0), "the file exercises the clip");
    let mut env = Pendulum::new();
    env.set_state(golden.initial_state);
    for (i, want) in golden.steps.iter().enumerate() {
        let step = env.step(want.torque.expect("pendulum steps record a torque"));
        assert_step_matches(&step, &env.state(), want, &format!("Pendulum step {}", i + 1));
    }
}

#[test]
fn pendulum_clips_torque_to_two() {
    let start = [0.5, -0.3];
    let run = |torque: f64| {
        let mut env = Pendulum::new();
        env.set_state(start);
        let step = env.step(torque);
        (step, env.state())
    };
    assert_eq!(run(5.0), run(2.0), "a torque of 5 acts like 2");
    assert_eq!(run(-5.0), run(-2.0));
    assert_eq!(run(1e9), run(2.0));
    assert_ne!(run(1.0), run(2.0), "torques inside the range are not clipped");
    assert_ne!(run(2.0), run(-2.0));
    // The reward charges the clipped torque: 0.001 * 2² (in f32), not 0.001 * 5².
    let (step, _) = run(5.0);
    let want = -(0.25 + 0.1 * 0.09 + f64::from(0.001f32 * 4.0f32));
    assert_eq!(step.reward, want);
}

#[test]
fn pendulum_reward_uses_the_state_before_the_step() {
    // Upright and at rest: zero cost whatever the step does next, except the effort.
    let mut env = Pendulum::new();
    env.set_state([0.0, 0.0]);
    assert_eq!(env.step(0.0).reward, 0.0);
    env.set_state([0.0, 0.0]);
    assert_eq!(env.step(2.0).reward, -f64::from(0.001f32 * 4.0f32));
    // Hanging down, spinning at full speed, pushing hard: the worst reward.
    env.set_state([PI, 8.0]);
    let worst = env.step(-2.0).reward;
    assert!((worst - -16.2736044).abs() < 1e-6, "{worst}");
    // The angle is normalised: a full turn costs nothing.
    let mut a = Pendulum::new();
    a.set_state([0.3 + 2.0 * PI, 0.2]);
    let mut b = Pendulum::new();
    b.set_state([0.3, 0.2]);
    assert_close(a.step(0.7).reward, b.step(0.7).reward, "reward after a full turn");
    assert_close(pendulum::angle_normalize(1.5 * PI), -0.5 * PI, "angle_normalize(3π/2)");
    assert_close(pendulum::angle_normalize(-1.5 * PI), 0.5 * PI, "angle_normalize(-3π/2)");
    assert_eq!(pendulum::angle_normalize(PI), -PI, "[-π, π): π wraps to -π");
}

#[test]
fn pendulum_clips_velocity_before_moving_the_angle() {
    // From θ = π/2, θ̇ = 7.9 and full torque, θ̇ would reach 7.9 + (15 + 6)·0.05 = 8.95.
    let mut env = Pendulum::new();
    env.set_state([PI / 2.0, 7.9]);
    let step = env.step(2.0);
    let [th, thdot] = env.state();
    assert_eq!(thdot, 8.0, "clipped to max_speed");
    assert_eq!(th, PI / 2.0 + 8.0 * 0.05, "the angle moves with the CLIPPED velocity");
    assert_eq!(step.obs[2], 8.0);
    env.set_state([-PI / 2.0, -7.9]);
    env.step(-2.0);
    assert_eq!(env.state(), [-PI / 2.0 - 8.0 * 0.05, -8.0]);
}

#[test]
fn pendulum_never_terminates_and_truncates_at_200() {
    let mut env = Pendulum::new();
    let mut r = rng::seeded(3, 0);
    for episode in 0..3 {
        env.reset(&mut r);
        for t in 1..=200 {
            let torque = if t % 7 < 3 { 2.5 } else { -1.0 };
            let step = env.step(torque);
            assert!(!step.terminated);
            assert_eq!(step.truncated, t == 200, "episode {episode}, step {t}");
            assert!(step.reward <= 0.0 && step.reward >= -16.2736045);
            assert!(env.state()[1].abs() <= 8.0);
        }
    }
    let mut short = Pendulum::with_max_steps(5);
    short.reset(&mut r);
    let truncated: Vec<bool> = (0..5).map(|_| short.step(0.0).truncated).collect();
    assert_eq!(truncated, [false, false, false, false, true]);
}

#[test]
fn pendulum_reset_draws_theta_then_velocity() {
    let mut env = Pendulum::new();
    let mut r = rng::seeded(11, 0);
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for _ in 0..2000 {
        let obs = env.reset(&mut r);
        let s = env.state();
        assert_eq!(obs, [s[0].cos() as f32, s[0].sin() as f32, s[1] as f32]);
        assert!(s[0].abs() <= PI && s[1].abs() <= 1.0, "{s:?}");
        for i in 0..2 {
            lo[i] = lo[i].min(s[i]);
            hi[i] = hi[i].max(s[i]);
        }
    }
    assert!(lo[0] < -3.1 && hi[0] > 3.1, "theta does not fill [-π, π]: [{}, {}]", lo[0], hi[0]);
    assert!(lo[1] < -0.99 && hi[1] > 0.99, "theta_dot does not fill [-1, 1]: [{}, {}]", lo[1], hi[1]);
    let mut a = Pendulum::new();
    a.reset(&mut rng::seeded(5, 1));
    let mut r = rng::seeded(5, 1);
    let th = rand::RngExt::random_range(&mut r, -PI..PI);
    let thdot = rand::RngExt::random_range(&mut r, -1.0..1.0);
    assert_eq!(a.state(), [th, thdot]);
    let mut b = Pendulum::new();
    b.reset(&mut rng::seeded(5, 2));
    assert_ne!(a.state(), b.state());
}
