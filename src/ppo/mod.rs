//! PPO (chapter 4): advantage estimation, the clipped and KL-penalised surrogate losses,
//! the diagnostics that explain a PPO update, the actor-critic loop, and the chapter's
//! experiments and figures.

pub mod bias_variance;
pub mod experiments;
pub mod figures;
pub mod loss;
pub mod train;

pub use loss::{
    adapt_beta, clip_fraction, clipped_surrogate_loss, kl_penalty_loss, policy_loss, ratio, stop_early, surrogate_loss,
    value_loss,
};
pub use train::{evaluate, train, Actor, Categorical, Gaussian, Objective, PpoConfig, PpoRun, PpoUpdateLog};
