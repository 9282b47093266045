//! Next-token pre-training: cross-entropy on the generated corpus with AdamW, a linear
//! warm-up and a cosine decay of the learning rate.

use super::corpus::{self, Form};
use super::model::{Gpt, GptConfig};
use super::tokenizer::{Tokenizer, EOS};
use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::Serialize;
use std::time::Instant;

/// Pre-training hyper-parameters (the lesson's defaults are the chapter's flags).
#[derive(Clone, Debug, Serialize)]
pub struct PretrainConfig {
    pub steps: usize,
    /// Rows per batch.
    pub batch: usize,
    /// Tokens per row.
    pub seq_len: usize,
    pub lr: f64,
    /// The cosine decay ends at this learning rate.
    pub min_lr: f64,
    pub warmup: usize,
    /// AdamW weight decay on the matrices (not on biases, gains and embeddings).
    pub weight_decay: f64,
    /// Share of documents that contain a mistake.
    pub noise: f64,
}

/// The learning rate at `step`: linear warm-up to `lr`, then cosine down to `min_lr`.
pub fn learning_rate(cfg: &PretrainConfig, step: usize) -> f64 {
    if step < cfg.warmup {
        return cfg.lr * (step + 1) as f64 / cfg.warmup as f64;
    }
    let progress = (step - cfg.warmup) as f64 / (cfg.steps - cfg.warmup).max(1) as f64;
    cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
}

/// One logged step.
#[derive(Clone, Debug, Serialize)]
pub struct StepLog {
    pub step: usize,
    pub loss: f64,
    pub lr: f64,
    pub tokens: usize,
    pub seconds: f64,
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
            bias.extend((0..t).map(|j| if j <= i && doc[j] == doc[i] { 0.0f32 } else { -1e9 }));
        }
    }
    let dev = &Device::Cpu;
    let logits = model.forward_with(
        &Tensor::from_vec(inputs, (b, t), dev)?,
        &Tensor::from_vec(pos, (b, t), dev)?,
        &Tensor::from_vec(bias, (b, 1, t, t), dev)?,
        None,
    )?;
    let targets = Tensor::from_vec(targets, b * t, dev)?;
    candle_nn::loss::cross_entropy(&logits.reshape((b * t, model.cfg.vocab_size))?, &targets)
}

/// Trains a fresh model from `seed`: weights from stream 0, the corpus from stream 1.
/// `on_step` sees every logged step (for progress lines).
pub fn pretrain(
    model_cfg: &GptConfig,
    cfg: &PretrainConfig,
    mix: &[(Form, f64)],
    seed: u64,
    mut on_step: impl FnMut(&StepLog),
) -> Result<(Gpt, Vec<StepLog>)> {
    let c = |e: candle_core::Error| Error::invalid("pre-training", e, "candle failed");
    let tokenizer = Tokenizer::new();
    let model = Gpt::new(model_cfg.clone(), &mut crate::rng::seeded(seed, 0)).map_err(c)?;
    let mut data_rng = crate::rng::seeded(seed, 1);
    // Decay only the matrices, as in GPT-2: biases, gains and embeddings stay free.
    let (decay, no_decay): (Vec<_>, Vec<_>) =
        model.named_vars().into_iter().partition(|(n, v)| v.rank() == 2 && n != "wte" && n != "wpe");
    let params = |wd| ParamsAdamW { lr: cfg.lr, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: wd };
    let mut opt_decay =
        AdamW::new(decay.into_iter().map(|(_, v)| v.clone()).collect(), params(cfg.weight_decay)).map_err(c)?;
    let mut opt_free = AdamW::new(no_decay.into_iter().map(|(_, v)| v.clone()).collect(), params(0.0)).map_err(c)?;
    let started = Instant::now();
    let mut log = Vec::with_capacity(cfg.steps);
    for step in 0..cfg.steps {
        let rows = (0..cfg.batch)
            .map(|_| corpus::row(&tokenizer, mix, cfg.noise, cfg.seq_len + 1, &mut data_rng))
            .collect::<Result<Vec<_>>>()?;
        let loss = lm_loss(&model, &rows).map_err(c)?;
        let value = loss.to_scalar::<f32>().map_err(c)? as f64;
        if !value.is_finite() {
            return Err(Error::NonFinite { what: "the pre-training loss".into(), step: step as u64 });
        }
        let lr = learning_rate(cfg, step);
        opt_decay.set_learning_rate(lr);
        opt_free.set_learning_rate(lr);
        let grads = loss.backward().map_err(c)?;
        opt_decay.step(&grads).map_err(c)?;
        opt_free.step(&grads).map_err(c)?;
        let entry = StepLog {
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
