//! Pendulum-v1, step for step the same as Gymnasium 1.4.0's `PendulumEnv`.
//!
//! A rigid rod hangs from a motor; the agent applies a torque (at most 2 N·m, too weak
//! to lift the rod straight up) and must swing it up and balance it upright. θ = 0 is
//! upright, gravity pulls it away with angular acceleration (3g/2l)·sin θ, the torque
//! adds 3u/(ml²), and a semi-implicit Euler step of 0.05 s first updates the angular
//! velocity (capped at ±8 rad/s) and then the angle with the new velocity. The reward
//! is minus a cost that penalises the angle, the speed and the effort; the task never
//! terminates, only the 200-step time limit ends it.
//!
//! Gymnasium's torque is a float32 (the dtype of its action space), and NumPy keeps
//! float32 arithmetic float32: the clip, u², 0.001·u² and 3·u are all computed in f32
//! before they meet the f64 state. This module does the same, so the golden tests in
//! `tests/env_gymnasium.rs` can compare states and rewards to 1e-12.

use super::{Env, Step};
use rand::{Rng, RngExt};
use std::f64::consts::PI;

/// The angular velocity is clipped to ±this (rad/s).
pub const MAX_SPEED: f64 = 8.0;
/// The torque is clipped to ±this (N·m).
pub const MAX_TORQUE: f32 = 2.0;
/// Seconds per step.
pub const DT: f64 = 0.05;
/// Gravity (m/s²), rounded to 10 as in Gymnasium's default.
pub const G: f64 = 10.0;
/// Mass of the rod (kg).
pub const M: f64 = 1.0;
/// Length of the rod (m).
pub const L: f64 = 1.0;
/// Pendulum-v1's time limit (Gymnasium's `TimeLimit` wrapper).
pub const MAX_EPISODE_STEPS: usize = 200;

/// `x` wrapped into [-π, π), like Gymnasium's `angle_normalize`
/// (Python's `%` takes the sign of the divisor, as `rem_euclid` does for 2π > 0).
#[inline]
pub fn angle_normalize(x: f64) -> f64 {
    (x + PI).rem_euclid(2.0 * PI) - PI
}

/// The torque Gymnasium actually applies: rounded to f32, then clipped to ±2.
#[inline]
pub fn clip_torque(torque: f64) -> f32 {
    (torque as f32).clamp(-MAX_TORQUE, MAX_TORQUE)
}

/// The cost of being in `[theta, theta_dot]` and applying the (clipped) torque `u`:
/// θ² (normalised to [-π, π)) + 0.1·θ̇² + 0.001·u². The reward is minus this.
/// The torque term is computed in f32, as NumPy computes it.
#[inline]
pub fn cost(state: [f64; 2], u: f32) -> f64 {
    let [th, thdot] = state;
    let effort = 0.001_f32 * (u * u);
    angle_normalize(th) * angle_normalize(th) + 0.1 * (thdot * thdot) + f64::from(effort)
}

/// The state after one step of the (clipped) torque `u` from `[theta, theta_dot]`.
///
/// The new angular velocity is clipped to ±[`MAX_SPEED`] BEFORE it moves the angle
/// (Gymnasium ≥ 0.26; the older gym moved the angle with the unclipped velocity).
#[inline]
pub fn next_state(state: [f64; 2], u: f32) -> [f64; 2] {
    let [th, thdot] = state;
    let torque_term = f64::from(3.0_f32 * u); // 3/(m l²)·u, with m = l = 1, in f32
    let gravity_term = 3.0 * G / (2.0 * L) * th.sin();
    let newthdot = (thdot + (gravity_term + torque_term) * DT).clamp(-MAX_SPEED, MAX_SPEED);
    [th + newthdot * DT, newthdot]
}

/// The observation `[cos θ, sin θ, θ̇]` rounded to f32: the angle as a point on the
/// circle, so that θ and θ + 2π look the same to the agent.
#[inline]
pub fn observe(state: [f64; 2]) -> [f32; 3] {
    let [th, thdot] = state;
    [th.cos() as f32, th.sin() as f32, thdot as f32]
}

/// Pendulum-v1 with its 200-step time limit.
///
/// Observation `[cos θ, sin θ, θ̇]` as f32; action = torque in N·m (clipped to ±2);
/// reward in [-16.27, 0]; never terminates.
#[derive(Clone, Debug, PartialEq)]
pub struct Pendulum {
    state: [f64; 2],
    max_steps: usize,
    /// Steps since the last reset, for the time limit.
    t: usize,
}

impl Pendulum {
    /// Pendulum-v1 with the standard 200-step limit. Call [`Env::reset`] before
    /// stepping (until then the pendulum is upright and at rest).
    pub fn new() -> Pendulum {
        Pendulum::with_max_steps(MAX_EPISODE_STEPS)
    }

    /// The same environment with another time limit: `truncated` becomes true on step
    /// `max_steps` of an episode.
    pub fn with_max_steps(max_steps: usize) -> Pendulum {
        Pendulum { state: [0.0; 2], max_steps, t: 0 }
    }

    /// The exact internal state `[theta, theta_dot]` (theta is not wrapped: it keeps
    /// counting turns).
    pub fn state(&self) -> [f64; 2] {
        self.state
    }

    /// Overwrites the physical state, like assigning `env.unwrapped.state` in Gymnasium;
    /// the step count is left as it is.
    pub fn set_state(&mut self, state: [f64; 2]) {
        self.state = state;
    }

    /// The current observation.
    pub fn obs(&self) -> [f32; 3] {
        observe(self.state)
    }

    /// Steps taken since the last reset.
    pub fn steps(&self) -> usize {
        self.t
    }

    pub fn max_steps(&self) -> usize {
        self.max_steps
    }
}

impl Default for Pendulum {
    fn default() -> Self {
        Pendulum::new()
    }
}

impl Env for Pendulum {
    type Obs = [f32; 3];
    type Action = f64;

    /// Draws θ uniformly in [-π, π) and then θ̇ uniformly in [-1, 1).
    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> [f32; 3] {
        let th = rng.random_range(-PI..PI);
        let thdot = rng.random_range(-1.0..1.0);
        self.state = [th, thdot];
        self.t = 0;
        self.obs()
    }

    /// Applies `torque` (rounded to f32 and clipped to ±2, see the module docs). The
    /// reward is computed from the state BEFORE the step, as in Gymnasium.
    #[inline]
    fn step(&mut self, torque: f64) -> Step<[f32; 3]> {
        let u = clip_torque(torque);
        let reward = -cost(self.state, u);
        self.state = next_state(self.state, u);
        self.t += 1;
        Step { obs: self.obs(), reward, terminated: false, truncated: self.t >= self.max_steps }
    }
}
