//! Next-token pre-training: cross-entropy on the generated corpus with AdamW, a linear
//! warm-up and a cosine decay of the learning rate.

use super::corpus::{self, Form};
use super::fused::MASKED;
use super::model::{Gpt, GptConfig};
use super::tokenizer::{Tokenizer, EOS};
use crate::error::{check_range, Error, Result};
use crate::nn::candle_error;
use crate::report::Progress;
use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::Rng;
use serde::Serialize;
use std::time::Instant;

/// Pre-training hyper-parameters: the chapter's flags, with the lesson's defaults.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct PretrainConfig {
    /// Pre-training steps (AdamW updates) [1, 100000]
    #[arg(long, default_value_t = 1200)]
    pub steps: usize,
    /// Rows per pre-training batch (also the speed measurement's batch) [1, 4096]
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Tokens per row [8, 1024]
    #[arg(long, default_value_t = 80)]
    pub seq_len: usize,
    /// Peak learning rate, reached after the warm-up [1e-8, 1]
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Learning rate at the end of the cosine decay [0, --lr]
    #[arg(long, default_value_t = 3e-4)]
    pub min_lr: f64,
    /// Warm-up steps (linear from 0 to --lr; at most --steps are used) [0, 100000]
    #[arg(long, default_value_t = 50)]
    pub warmup: usize,
    /// AdamW weight decay on the weight matrices [0, 1]
    #[arg(long, default_value_t = 0.1)]
    pub weight_decay: f64,
    /// Share of corpus documents that contain a mistake [0, 1]
    #[arg(long, default_value_t = 0.1)]
    pub noise: f64,
}

/// The most steps, batch rows and tokens per row the flags accept.
pub const MAX_STEPS: usize = 100_000;
pub const MAX_BATCH: usize = 4096;
pub const MAX_SEQ_LEN: usize = 1024;

impl PretrainConfig {
    /// Checks the flags; an error names the flag, its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        check_range("--steps", self.steps as f64, 1.0, MAX_STEPS as f64)?;
        check_range("--batch", self.batch as f64, 1.0, MAX_BATCH as f64)?;
        check_range("--seq-len", self.seq_len as f64, 8.0, MAX_SEQ_LEN as f64)?;
        check_range("--warmup", self.warmup as f64, 0.0, MAX_STEPS as f64)?;
        check_range("--lr", self.lr, 1e-8, 1.0)?;
        check_range("--min-lr", self.min_lr, 0.0, self.lr)?;
        check_range("--weight-decay", self.weight_decay, 0.0, 1.0)?;
        check_range("--noise", self.noise, 0.0, 1.0)
    }

    /// The configuration that runs: a warm-up never longer than the run.
    pub fn effective(&self) -> PretrainConfig {
        PretrainConfig { warmup: self.warmup.min(self.steps), ..self.clone() }
    }
}

/// An estimate of the memory (bytes) of one training step, forward and backward, on
/// `batch` rows of `seq_len` tokens: the activations each layer keeps for the backward
/// pass (about 40 floats per token and width, and 4 per attention score), the logits,
/// and the parameters four times over (weights, gradients, AdamW's moments). `None`
/// past u64.
pub fn training_bytes(shape: &GptConfig, batch: usize, seq_len: usize) -> Option<u64> {
    let (b, t) = (batch as u64, seq_len as u64);
    let (d, h, l, v) = (shape.d_model as u64, shape.n_heads as u64, shape.n_layers as u64, shape.vocab_size as u64);
    let per_token =
        d.checked_mul(40)?.checked_add(h.checked_mul(t)?.checked_mul(4)?)?.checked_mul(l)?.checked_add(v * 4)?;
    let activations = b.checked_mul(t)?.checked_mul(per_token)?;
    activations.checked_add(shape.param_count()?.checked_mul(4)?)?.checked_mul(4)
}

/// The learning rate at `step`: linear warm-up to `lr`, then cosine down to `min_lr`.
pub fn learning_rate(cfg: &PretrainConfig, step: usize) -> f64 {
    if step < cfg.warmup {
        return cfg.lr * (step + 1) as f64 / cfg.warmup as f64;
    }
    let progress = (step - cfg.warmup) as f64 / (cfg.steps - cfg.warmup).max(1) as f64;
    cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
}

crate::metrics_row! {
    /// One logged pre-training step: a row of chapter 5's `metrics.csv`.
    #[derive(Clone, Debug, Serialize)]
    pub struct PretrainStepLog {
        pub step: usize,
        /// Tokens seen so far, this step's included.
        pub tokens: usize,
        pub loss: f64,
        pub lr: f64,
        /// Seconds since pre-training started.
        pub seconds: f64,
    }
}

/// The mean next-token cross-entropy (eq. 5) of a batch of rows [B, T+1].
///
/// A row packs several documents. Each document gets its own positions from 0 and
/// attends only to itself (a block-diagonal causal mask), exactly as a prompt is seen
/// at test time: the digits of `347+285` always sit at the same positions.
pub fn lm_loss(model: &Gpt, rows: &[Vec<u32>]) -> candle_core::Result<Tensor> {
    let (b, t) = (rows.len(), rows[0].len() - 1);
    let inputs: Vec<u32> = rows.iter().flat_map(|r| r[..t].iter().copied()).collect();
    let targets: Vec<u32> = rows.iter().flat_map(|r| r[1..].iter().copied()).collect();
    let (mut pos, mut bias) = (Vec::with_capacity(b * t), Vec::with_capacity(b * t * t));
    for r in rows {
        // doc[i]: which document token i belongs to (an end token closes its document).
        let doc: Vec<usize> = (0..t)
            .scan(0, |d, i| {
                let here = *d;
                *d += (r[i] == EOS) as usize;
                Some(here)
            })
            .collect();
        let mut start = 0;
        for i in 0..t {
            if i > 0 && doc[i] != doc[i - 1] {
                start = i;
            }
            pos.push((i - start) as u32);
            bias.extend((0..t).map(|j| if j <= i && doc[j] == doc[i] { 0.0f32 } else { MASKED }));
        }
    }
    let dev = &Device::Cpu;
    let logits = model.forward_with(
        &Tensor::from_vec(inputs, (b, t), dev)?,
        &Tensor::from_vec(pos, (b, t), dev)?,
        &Tensor::from_vec(bias, (b, 1, t, t), dev)?,
        None,
    )?;
    // Cross-entropy: the mean of −log p(target) over every position.
    let logp = super::fused::token_log_probs(&logits.reshape((b * t, model.cfg.vocab_size))?, &targets)?;
    logp.mean_all()?.neg()
}

/// Trains a fresh model from `seed` on the corpus of the tokenizer's task (its
/// vocabulary must match `model_cfg.vocab_size`): weights from stream 0, the corpus
/// from stream 1. `on_step` sees every logged step (for progress lines).
pub fn pretrain(
    model_cfg: &GptConfig,
    cfg: &PretrainConfig,
    tokenizer: &Tokenizer,
    mix: &[(Form, f64)],
    seed: u64,
    mut on_step: impl FnMut(&PretrainStepLog),
) -> Result<(Gpt, Vec<PretrainStepLog>)> {
    let c = candle_error("pre-training");
    let model = Gpt::new(model_cfg.clone(), &mut crate::rng::seeded(seed, 0)).map_err(&c)?;
    let mut data_rng = crate::rng::seeded(seed, 1);
    // Decay only the matrices, as in GPT-2: biases, gains and embeddings stay free.
    let (decay, no_decay): (Vec<_>, Vec<_>) =
        model.named_vars().into_iter().partition(|(n, v)| v.rank() == 2 && n != "wte" && n != "wpe");
    let params = |wd| ParamsAdamW { lr: cfg.lr, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: wd };
    let mut opt_decay =
        AdamW::new(decay.into_iter().map(|(_, v)| v.clone()).collect(), params(cfg.weight_decay)).map_err(&c)?;
    let mut opt_free = AdamW::new(no_decay.into_iter().map(|(_, v)| v.clone()).collect(), params(0.0)).map_err(&c)?;
    let started = Instant::now();
    let mut log = Vec::with_capacity(cfg.steps);
    for step in 0..cfg.steps {
        let rows = (0..cfg.batch)
            .map(|_| corpus::row(tokenizer, mix, cfg.noise, cfg.seq_len + 1, &mut data_rng))
            .collect::<Result<Vec<_>>>()?;
        let loss = lm_loss(&model, &rows).map_err(&c)?;
        let value = loss.to_scalar::<f32>().map_err(&c)? as f64;
        if !value.is_finite() {
            return Err(Error::NonFinite { what: "the pre-training loss".into(), step: step as u64 });
        }
        let lr = learning_rate(cfg, step);
        opt_decay.set_learning_rate(lr);
        opt_free.set_learning_rate(lr);
        let grads = loss.backward().map_err(&c)?;
        opt_decay.step(&grads).map_err(&c)?;
        opt_free.step(&grads).map_err(&c)?;
        let entry = PretrainStepLog {
            step: step + 1,
            loss: value,
            lr,
            tokens: (step + 1) * cfg.batch * cfg.seq_len,
            seconds: started.elapsed().as_secs_f64(),
        };
        on_step(&entry);
        log.push(entry);
    }
    Ok((model, log))
}

/// [`pretrain`] with a progress line on a terminal, and a line every 20 s otherwise
/// (a log file still shows that a long run is alive). Runs `cfg.effective()`.
pub fn pretrain_with_progress(
    model_cfg: &GptConfig,
    cfg: &PretrainConfig,
    tokenizer: &Tokenizer,
    mix: &[(Form, f64)],
    seed: u64,
) -> Result<(Gpt, Vec<PretrainStepLog>)> {
    let cfg = cfg.effective();
    let mut progress = Progress::new("pre-training", cfg.steps);
    let mut last_print = Instant::now();
    let quiet = !std::io::IsTerminal::is_terminal(&std::io::stdout());
    let out = pretrain(model_cfg, &cfg, tokenizer, mix, seed, |s| {
        progress.update(s.step, || format!("step {} loss {:.3} lr {:.1e}", s.step, s.loss, s.lr));
        if quiet && (last_print.elapsed().as_secs() >= 20 || s.step == cfg.steps) {
            crate::say!("  pre-training step {}/{}: loss {:.3}, {:.0} s", s.step, cfg.steps, s.loss, s.seconds);
            last_print = Instant::now();
        }
    })?;
    progress.finish();
    Ok(out)
}

/// The mean loss of the last 10% of steps (a single batch is noisy).
pub fn smoothed_final_loss(log: &[PretrainStepLog]) -> f64 {
    let n = (log.len() / 10).max(1);
    log[log.len() - n..].iter().map(|s| s.loss).sum::<f64>() / n as f64
}

/// Training throughput in tokens per second: `reps` forward + backward passes of a
/// full batch of `cfg`'s shape, drawn from the corpus with `rng`.
pub fn train_tokens_per_s(
    model: &Gpt,
    cfg: &PretrainConfig,
    tokenizer: &Tokenizer,
    reps: usize,
    rng: &mut impl Rng,
) -> Result<f64> {
    let mix = corpus::mix(tokenizer.task());
    let rows = (0..cfg.batch)
        .map(|_| corpus::row(tokenizer, mix, cfg.noise, cfg.seq_len + 1, rng))
        .collect::<Result<Vec<_>>>()?;
    let started = Instant::now();
    for _ in 0..reps {
        lm_loss(model, &rows).map_err(candle_error("speed measurement"))?.backward()?;
    }
    Ok((reps * cfg.batch * cfg.seq_len) as f64 / started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(step: usize, loss: f64) -> PretrainStepLog {
        PretrainStepLog { step, tokens: 64 * step, loss, lr: 1e-3, seconds: 0.0 }
    }

    #[test]
    fn the_final_loss_averages_the_last_tenth_of_the_steps() {
        let log: Vec<_> = (1..=20).map(|i| step(i, i as f64)).collect();
        assert_eq!(smoothed_final_loss(&log), 19.5);
        assert_eq!(smoothed_final_loss(&log[..3]), 3.0);
    }

    #[test]
    fn the_warm_up_rises_linearly_then_the_cosine_ends_at_min_lr() {
        let cfg = PretrainConfig {
            steps: 10,
            batch: 1,
            seq_len: 8,
            lr: 1.0,
            min_lr: 0.1,
            warmup: 4,
            weight_decay: 0.0,
            noise: 0.0,
        };
        let lr: Vec<f64> = (0..10).map(|s| learning_rate(&cfg, s)).collect();
        assert_eq!(&lr[..4], &[0.25, 0.5, 0.75, 1.0]);
        assert!(lr[4..].windows(2).all(|w| w[1] < w[0]), "{lr:?}");
        assert!((learning_rate(&cfg, 10) - 0.1).abs() < 1e-12);
        assert_eq!(PretrainConfig { warmup: 50, ..cfg }.effective().warmup, 10);
    }
}
