//! CartPole-v1, step for step the same as Gymnasium 1.4.0's `CartPoleEnv`.
//!
//! A pole stands on a hinge on top of a cart that rolls on a frictionless track. Each
//! step the agent pushes the cart left or right with a fixed force; the equations of
//! motion (Barto, Sutton & Anderson, 1983, corrected by Florian, 2007) give the cart's
//! and the pole's accelerations, and one explicit Euler step of 0.02 s moves the state.
//! The episode ends when the pole leans more than 12° or the cart leaves the track,
//! and every step the pole stays up is worth 1.
//!
//! Everything is computed in f64 in Gymnasium's exact order of operations, so the
//! golden tests in `tests/env_gymnasium.rs` can compare states to 1e-12; only the
//! observation is rounded to f32, as Gymnasium's is.

use super::{Env, Step};
use rand::{Rng, RngExt};
use std::f64::consts::PI;

/// Gravity in m/s².
pub const GRAVITY: f64 = 9.8;
/// Mass of the cart in kg.
pub const MASSCART: f64 = 1.0;
/// Mass of the pole in kg.
pub const MASSPOLE: f64 = 0.1;
/// Cart plus pole: the mass the push accelerates.
pub const TOTAL_MASS: f64 = MASSPOLE + MASSCART;
/// HALF the pole's length in m (the distance from the hinge to the pole's centre of
/// mass), which is what the equations use; Gymnasium calls it `length`.
pub const LENGTH: f64 = 0.5;
/// Pole mass times half-length, a factor that appears in every equation.
pub const POLEMASS_LENGTH: f64 = MASSPOLE * LENGTH;
/// Magnitude of the push in N: action 1 pushes with +10 N, action 0 with -10 N.
pub const FORCE_MAG: f64 = 10.0;
/// Seconds between two states (one Euler step).
pub const TAU: f64 = 0.02;
/// The pole has fallen when |θ| exceeds 12° (written as Gymnasium writes it, so the
/// value is bit-identical: 0.20943951023931953).
pub const THETA_THRESHOLD_RADIANS: f64 = 12.0 * 2.0 * PI / 360.0;
/// The cart has left the track when |x| exceeds 2.4 m.
pub const X_THRESHOLD: f64 = 2.4;
/// CartPole-v1's time limit (Gymnasium's `TimeLimit` wrapper).
pub const MAX_EPISODE_STEPS: usize = 500;
/// `reset` draws each of the four state variables uniformly in ±this.
pub const RESET_BOUND: f64 = 0.05;

/// Push the cart to the left.
pub const PUSH_LEFT: usize = 0;
/// Push the cart to the right.
pub const PUSH_RIGHT: usize = 1;

/// The state after one step of `action` (0 push left, 1 push right) from
/// `[x, x_dot, theta, theta_dot]`.
///
/// Explicit Euler, as Gymnasium's default `kinematics_integrator = "euler"`: positions
/// move with the OLD velocities, then the velocities change. Every product is grouped
/// as Gymnasium groups it, so the result is bit-for-bit the same.
///
/// # Panics
/// If `action` is not 0 or 1 (Gymnasium asserts the same).
#[inline]
pub fn next_state(state: [f64; 4], action: usize) -> [f64; 4] {
    assert!(action < 2, "CartPole actions are 0 (push left) and 1 (push right), got {action}");
    let [x, x_dot, theta, theta_dot] = state;
    let force = if action == PUSH_RIGHT { FORCE_MAG } else { -FORCE_MAG };
    let (xacc, thetaacc) = accelerations(theta, theta_dot, force);
    [x + TAU * x_dot, x_dot + TAU * xacc, theta + TAU * theta_dot, theta_dot + TAU * thetaacc]
}

/// Accelerations of the cart and of the pole angle under `force`.
///
/// `temp` is the cart's acceleration if the pole were not pushing back; the pole's
/// angular acceleration follows from it, and the cart's true acceleration subtracts
/// the reaction of the accelerating pole.
#[inline]
fn accelerations(theta: f64, theta_dot: f64, force: f64) -> (f64, f64) {
    let (sintheta, costheta) = (theta.sin(), theta.cos());
    let temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS;
    let thetaacc =
        (GRAVITY * sintheta - costheta * temp) / (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS));
    let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
    (xacc, thetaacc)
}

/// True when the cart is off the track or the pole has fallen. The bounds themselves
/// are still inside (Gymnasium uses strict comparisons).
#[inline]
pub fn out_of_bounds(state: [f64; 4]) -> bool {
    let [x, _, theta, _] = state;
    !(-X_THRESHOLD..=X_THRESHOLD).contains(&x) || !(-THETA_THRESHOLD_RADIANS..=THETA_THRESHOLD_RADIANS).contains(&theta)
}

/// The observation: the state rounded to f32, as Gymnasium returns it.
#[inline]
pub fn observe(state: [f64; 4]) -> [f32; 4] {
    state.map(|v| v as f32)
}

/// CartPole-v1 with its 500-step time limit.
///
/// Observation `[x, x_dot, theta, theta_dot]` as f32 (x in m, theta in radians,
/// positive = leaning right); action 0 pushes left, 1 pushes right; reward 1 per step.
#[derive(Clone, Debug, PartialEq)]
pub struct CartPole {
    state: [f64; 4],
    max_steps: usize,
    /// Steps since the last reset, for the time limit.
    t: usize,
    /// Gymnasium's `steps_beyond_terminated`: `None` until a step terminates, then the
    /// number of out-of-bounds steps taken after that one (they pay 0).
    steps_beyond_terminated: Option<usize>,
}

impl CartPole {
    /// CartPole-v1 with the standard 500-step limit. Call [`Env::reset`] before stepping
    /// (until then the state is all zeros).
    pub fn new() -> CartPole {
        CartPole::with_max_steps(MAX_EPISODE_STEPS)
    }

    /// The same environment with another time limit: `truncated` becomes true on step
    /// `max_steps` of an episode.
    pub fn with_max_steps(max_steps: usize) -> CartPole {
        CartPole { state: [0.0; 4], max_steps, t: 0, steps_beyond_terminated: None }
    }

    /// The exact internal state `[x, x_dot, theta, theta_dot]`.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Overwrites the physical state, like assigning `env.unwrapped.state` in Gymnasium:
    /// the step count and Gymnasium's `steps_beyond_terminated` are left as they are.
    pub fn set_state(&mut self, state: [f64; 4]) {
        self.state = state;
    }

    /// The current observation (the state rounded to f32).
    pub fn obs(&self) -> [f32; 4] {
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

impl Default for CartPole {
    fn default() -> Self {
        CartPole::new()
    }
}

impl Env for CartPole {
    type Obs = [f32; 4];
    type Action = usize;

    /// Draws x, x_dot, theta, theta_dot (in that order) uniformly in ±0.05.
    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> [f32; 4] {
        for v in &mut self.state {
            *v = rng.random_range(-RESET_BOUND..RESET_BOUND);
        }
        self.t = 0;
        self.steps_beyond_terminated = None;
        self.obs()
    }

    /// One step. Stepping on after `terminated` is a bug in the caller; like Gymnasium
    /// it warns once, keeps integrating the physics and pays 0 for every step that
    /// ends out of bounds. `truncated` follows Gymnasium's `TimeLimit`: true from step
    /// `max_steps` on, even when that step also terminates.
    #[inline]
    fn step(&mut self, action: usize) -> Step<[f32; 4]> {
        self.state = next_state(self.state, action);
        self.t += 1;
        let terminated = out_of_bounds(self.state);
        let reward = match (terminated, self.steps_beyond_terminated) {
            (false, _) => 1.0,
            (true, None) => {
                self.steps_beyond_terminated = Some(0); // the pole just fell: this step counts
                1.0
            }
            (true, Some(n)) => {
                if n == 0 {
                    warn_stepping_after_termination();
                }
                self.steps_beyond_terminated = Some(n + 1);
                0.0
            }
        };
        Step { obs: self.obs(), reward, terminated, truncated: self.t >= self.max_steps }
    }
}

/// Gymnasium's warning, printed once per episode: a training loop that forgets to
/// reset would otherwise learn from meaningless zero rewards without a sign.
#[cold]
fn warn_stepping_after_termination() {
    eprintln!(
        "warning: CartPole::step called after the episode terminated; call reset() once a \
         step returns terminated = true (further steps are meaningless and pay 0)"
    );
}
