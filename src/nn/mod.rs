//! Shared candle pieces for the neural chapters: an MLP, a categorical policy head,
//! Adam and gradient clipping, and the finiteness check that stops a diverging run.
//!
//! Small on purpose (nanoGPT-style): every piece is a function or a struct you can
//! read in a minute. Two measured pitfalls of candle shape it:
//! - candle's RNG cannot be seeded, so weights are drawn from the run's `StdRng` and
//!   turned into tensors with `Tensor::from_vec`;
//! - the fused `softmax_last_dim` (and the fast norms) silently drop gradients, so the
//!   policy head uses `candle_nn::ops::log_softmax`.

pub mod flat;
pub mod fused;
pub mod gaussian;
pub mod mlp;
pub mod optim;
pub mod policy;
pub mod saved;
pub mod value;

pub use gaussian::{gaussian_entropy, gaussian_log_prob, gaussian_log_prob_plain, sample_gaussian};
pub use mlp::{Activation, Mlp, PlainMlp};
pub use optim::{adam, clip_grad_norm, ClippedAdam};
pub use policy::{entropy, log_probs, log_probs_of, sample_categorical, sample_with_log_prob};

use crate::error::{Error, Result};

/// Turns a candle error into the chapter's error type, naming what was being done.
pub fn candle_error(context: &str) -> impl Fn(candle_core::Error) -> Error + '_ {
    move |e| Error::candle(context, e)
}

/// NaN or ±inf in `value` stops training with [`Error::NonFinite`] naming `what` and
/// the update `step`, instead of letting a broken network keep "learning".
pub fn check_finite(value: f64, what: &str, step: u64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::NonFinite { what: format!("{what} ({value})"), step })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_stop_training() {
        assert_eq!(check_finite(1.5, "loss", 3).unwrap(), 1.5);
        let e = check_finite(f64::NAN, "the policy loss", 7).unwrap_err().to_string();
        assert!(e.contains("the policy loss") && e.contains("step 7"), "{e}");
        assert!(check_finite(f64::INFINITY, "x", 0).is_err());
    }
}
