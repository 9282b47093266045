//! PPO (chapter 4): advantage estimation, the clipped and KL-penalised surrogate losses,
//! and the diagnostics that explain a PPO update.

pub mod bias_variance;
pub mod loss;

pub use loss::{adapt_beta, clip_fraction, clipped_surrogate_loss, kl_penalty_loss, ratio, surrogate_loss, value_loss};
pub mod train;

pub use train::{evaluate, train, Actor, Categorical, Gaussian, Objective, PpoConfig, PpoRun, UpdateLog};
