//! Supervised fine-tuning (SFT): next-token cross-entropy on chosen responses, counted
//! on the response tokens only (chapter 7: the cold start, rejection-sampling SFT and
//! distillation of the R1 pipeline all use this one loop).
//!
//! Pre-training (chapter 5) learns every token of a document. SFT learns to *answer*:
//! the prompt is given, so its tokens are context and carry no loss (eq. 8 of
//! chapters/07-r1-pipeline/README.md).

use super::eval::prompts;
use super::grpo::greedy_eval;
use super::model::Gpt;
use super::sample::token_logprobs;
use super::task::Problem;
use super::tokenizer::{Tokenizer, EOS};
use crate::error::{Error, Result};
use candle_core::Tensor;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::RngExt;
use serde::Serialize;
use std::time::Instant;

/// One supervised example: the prompt (context, no loss) and the response to learn,
/// which ends with the end token so that the model also learns to stop.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub prompt: Vec<u32>,
    pub completion: Vec<u32>,
}

impl Example {
    /// The R1-Zero prompt of `problem` and `response` (text after `Assistant:`) + end token.
    pub fn new(tokenizer: &Tokenizer, problem: &Problem, response: &str) -> Result<Example> {
        let prompt = prompts(tokenizer, std::slice::from_ref(problem))?.remove(0);
        let mut completion = tokenizer.encode(response)?;
        completion.push(EOS);
        Ok(Example { prompt, completion })
    }
}

/// The SFT loss on plain numbers (eq. 8): the mean of −log π over every response token
/// of the batch, given log π of each response token (the prompt's tokens are not in
/// the rows: they carry no loss). Every token weighs the same.
pub fn masked_nll(logp: &[Vec<f64>]) -> f64 {
    let tokens = logp.iter().map(Vec::len).sum::<usize>().max(1) as f64;
    -logp.iter().flatten().sum::<f64>() / tokens
}

/// The SFT loss (eq. 8) as a differentiable scalar: −Σ m log π / Σ m over the response
/// tokens of a batch, with log π from [`token_logprobs`] (prompt tokens are masked out
/// by construction, padding by the mask).
pub fn sft_loss(model: &Gpt, batch: &[&Example]) -> candle_core::Result<Tensor> {
    let p: Vec<Vec<u32>> = batch.iter().map(|e| e.prompt.clone()).collect();
    let c: Vec<Vec<u32>> = batch.iter().map(|e| e.completion.clone()).collect();
    let (logp, mask) = token_logprobs(model, &p, &c)?;
    let tokens = mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64;
    (logp * &mask)?.sum_all()?.neg()? / tokens
}

/// SFT's hyper-parameters.
#[derive(Clone, Debug, Serialize)]
pub struct SftConfig {
    /// AdamW updates.
    pub steps: usize,
    /// Examples per update (drawn without replacement, epoch after epoch).
    pub batch: usize,
    pub lr: f64,
    /// Held-out greedy evaluation every this many steps (and at the first and last).
    pub eval_every: usize,
    pub eval_problems: usize,
    /// Longest response of the held-out evaluation.
    pub max_new: usize,
}

/// One SFT step's record.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SftLog {
    pub step: usize,
    /// The loss of the step's batch (before its update); None on the last record, which
    /// holds only the final evaluation.
    pub loss: Option<f64>,
    /// Response tokens learned from so far.
    pub tokens: usize,
    pub seconds: f64,
    pub heldout_accuracy: Option<f64>,
    pub heldout_format: Option<f64>,
}

/// Fine-tunes a copy of `init` on `data` (eq. 8) with AdamW; batches are drawn from
/// `seeded(seed, stream)`. `on_step` sees every record.
pub fn train(
    init: &Gpt,
    tokenizer: &Tokenizer,
    data: &[Example],
    cfg: &SftConfig,
    seed: u64,
    stream: u64,
    mut on_step: impl FnMut(&SftLog),
) -> Result<(Gpt, Vec<SftLog>)> {
    if data.is_empty() {
        return Err(Error::invalid("SFT data", 0, "needs at least one example"));
    }
    let mut rng = crate::rng::seeded(seed, stream);
    let model = init.duplicate()?;
    let params = ParamsAdamW { lr: cfg.lr, beta1: 0.9, beta2: 0.99, eps: 1e-8, weight_decay: 0.0 };
    let mut opt = AdamW::new(model.vars(), params)?;
    let heldout = tokenizer.task().test_problems(cfg.eval_problems);
    let started = Instant::now();
    let mut order: Vec<usize> = Vec::new();
    let (mut log, mut tokens) = (Vec::with_capacity(cfg.steps + 1), 0usize);
    for step in 0..=cfg.steps {
        let mut entry = SftLog { step, ..SftLog::default() };
        if step % cfg.eval_every.max(1) == 0 || step == cfg.steps {
            let (acc, fmt) = greedy_eval(&model, tokenizer, &heldout, cfg.max_new)?;
            (entry.heldout_accuracy, entry.heldout_format) = (Some(acc), Some(fmt));
        }
        if step < cfg.steps {
            let mut batch = Vec::with_capacity(cfg.batch);
            while batch.len() < cfg.batch.min(data.len()) {
                if order.is_empty() {
                    // A new epoch: a fresh random order (Fisher-Yates from the run's RNG).
                    order = (0..data.len()).collect();
                    for i in (1..order.len()).rev() {
                        order.swap(i, rng.random_range(0..=i));
                    }
                }
                batch.push(&data[order.pop().expect("refilled above")]);
            }
            let loss = sft_loss(&model, &batch)?;
            let value = loss.to_scalar::<f32>()? as f64;
            if !value.is_finite() {
                return Err(Error::NonFinite { what: "the SFT loss".into(), step: step as u64 });
            }
            entry.loss = Some(value);
            opt.backward_step(&loss)?;
            tokens += batch.iter().map(|e| e.completion.len()).sum::<usize>();
        }
        entry.tokens = tokens;
        entry.seconds = started.elapsed().as_secs_f64();
        on_step(&entry);
        log.push(entry);
    }
    Ok((model, log))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_nll_by_hand() {
        // Two responses of 2 and 1 tokens: −(ln 0.5 + ln 0.25 + ln 0.8) / 3.
        let l = |p: f64| p.ln();
        let want = -(l(0.5) + l(0.25) + l(0.8)) / 3.0;
        assert!((masked_nll(&[vec![l(0.5), l(0.25)], vec![l(0.8)]]) - want).abs() < 1e-12);
        assert_eq!(masked_nll(&[]), 0.0);
    }
}
