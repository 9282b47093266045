//! Environments behind one small trait, close to Gymnasium's API.
//!
//! `reset` takes the run's seeded RNG (Gymnasium's `reset(seed=...)`), `step` returns
//! the next observation, the reward and the two ways an episode can end:
//! `terminated` (the MDP reached a terminal state: do not bootstrap) and `truncated`
//! (a time limit cut the episode: the state still has a value).

pub mod cartpole;
pub mod maze;
pub mod pendulum;

use rand::Rng;

/// One possible result of taking an action: probability, next state, reward, and
/// whether the next state is terminal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    pub prob: f64,
    pub next: usize,
    pub reward: f64,
    pub terminal: bool,
}

/// A finite MDP written out: `outcomes[s * n_actions + a]` lists what can happen.
/// `decision[s]` is false for states where nothing is decided (walls, terminal states):
/// their Q values stay 0 and they are left out of error measures.
#[derive(Clone, Debug)]
pub struct Model {
    pub n_states: usize,
    pub n_actions: usize,
    pub outcomes: Vec<Vec<Outcome>>,
    pub decision: Vec<bool>,
}

/// What one call of [`Env::step`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<O> {
    pub obs: O,
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
}

impl<O> Step<O> {
    /// True when the episode is over, for either reason.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// An episodic environment.
pub trait Env {
    type Obs;
    type Action;

    /// Starts a new episode. Any randomness (start state, noise) is drawn from `rng`.
    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Self::Obs;

    /// Applies one action and advances the environment by one step.
    fn step(&mut self, action: Self::Action) -> Step<Self::Obs>;
}
