//! PPO's building blocks (chapter 4): advantage estimation and the diagnostics that
//! explain a PPO update.

pub mod gae;

pub use gae::{explained_variance, gae, kl_k1, kl_k3};
