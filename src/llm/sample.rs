//! Sampling with a KV cache, batched over many sequences, and the per-token
//! log-probabilities of given completions (the quantity GRPO's ratio and KL need).

use super::fused::MASKED;
use super::model::{Gpt, KvCache};
use super::tokenizer::{Tokenizer, EOS};
use candle_core::{Device, Tensor};
use rand::{Rng, RngExt};

/// How to draw completions.
#[derive(Clone, Debug)]
pub struct SampleConfig {
    /// Softmax temperature (eq. 3); 0 means greedy (always the most likely token).
    pub temperature: f64,
    /// Keep only the k most likely tokens before sampling; 0 keeps all.
    pub top_k: usize,
    /// At most this many new tokens per completion.
    pub max_new: usize,
}

/// Completions of a batch of prompts; completion `i` answers prompt `prompt[i]`.
#[derive(Clone, Debug, Default)]
pub struct Samples {
    pub prompt: Vec<usize>,
    /// The sampled token ids, including the end token when the sequence stopped on it.
    pub ids: Vec<Vec<u32>>,
    /// The decoded completions, without the end token.
    pub texts: Vec<String>,
    /// Whether the completion ended with the end token (not at the length limit).
    pub stopped: Vec<bool>,
}

/// Draws `n` completions for each prompt (prompt-major order: prompt 0's n, then prompt
/// 1's, ...). Prompts may differ in length: they are left-padded, and padded positions
/// are masked out of attention and do not shift the position ids. Each sequence stops at
/// the end token or after `max_new` tokens; finished rows leave the batch.
pub fn sample(
    model: &Gpt,
    tokenizer: &Tokenizer,
    prompts: &[Vec<u32>],
    n: usize,
    cfg: &SampleConfig,
    rng: &mut impl Rng,
) -> candle_core::Result<Samples> {
    let rows: Vec<usize> = (0..prompts.len()).flat_map(|p| std::iter::repeat_n(p, n)).collect();
    let width = prompts.iter().map(Vec::len).max().unwrap_or(0);
    if width == 0 || rows.is_empty() {
        candle_core::bail!("sample: needs at least one non-empty prompt and n >= 1");
    }
    let max_new = cfg.max_new.min(model.cfg.context.saturating_sub(width));
    let pad: Vec<usize> = rows.iter().map(|&p| width - prompts[p].len()).collect();
    let b = rows.len();

    // Prefill: the (left-padded) prompts in one pass.
    let mut ids = Vec::with_capacity(b * width);
    let mut pos = Vec::with_capacity(b * width);
    let mut bias = Vec::with_capacity(b * width * width);
    for (r, &p) in rows.iter().enumerate() {
        ids.extend(std::iter::repeat_n(EOS, pad[r]).chain(prompts[p].iter().copied()));
        pos.extend((0..width).map(|t| t.saturating_sub(pad[r]) as u32));
        for t in 0..width {
            // A padded query sees only itself, so no softmax row is empty.
            bias.extend((0..width).map(|j| if j <= t && (j >= pad[r] || j == t) { 0.0f32 } else { MASKED }));
        }
    }
    let dev = &Device::Cpu;
    let mut cache = KvCache::with_capacity(width + max_new);
    let logits = model.forward_with(
        &Tensor::from_vec(ids, (b, width), dev)?,
        &Tensor::from_vec(pos, (b, width), dev)?,
        &Tensor::from_vec(bias, (b, 1, width, width), dev)?,
        Some(&mut cache),
    )?;
    let mut last = logits.narrow(1, width - 1, 1)?.squeeze(1)?.to_vec2::<f32>()?;

    let mut out: Vec<Vec<u32>> = vec![Vec::new(); b];
    let mut stopped = vec![false; b];
    let mut active: Vec<usize> = (0..b).collect(); // rows still in the batch, in cache order
    for step in 0..max_new {
        let mut next = Vec::with_capacity(active.len());
        for (i, &r) in active.iter().enumerate() {
            let tok = draw(&last[i], cfg, rng);
            out[r].push(tok);
            stopped[r] = tok == EOS;
            next.push(tok);
        }
        let keep: Vec<usize> = (0..active.len()).filter(|&i| !stopped[active[i]]).collect();
        if keep.is_empty() || step + 1 == max_new {
            break;
        }
        if keep.len() < active.len() {
            cache.select_rows(&keep)?;
            next = keep.iter().map(|&i| next[i]).collect();
            active = keep.iter().map(|&i| active[i]).collect();
        }
        // One new token per row: it sees the cached keys except the row's padding.
        let t_cache = cache.len();
        let pos: Vec<u32> = active.iter().map(|&r| (width - pad[r] + step) as u32).collect();
        let bias: Vec<f32> = active
            .iter()
            .flat_map(|&r| {
                let p = pad[r];
                (0..=t_cache).map(move |j| if j >= p { 0.0 } else { MASKED })
            })
            .collect();
        let k = active.len();
        let logits = model.forward_with(
            &Tensor::from_vec(next, (k, 1), dev)?,
            &Tensor::from_vec(pos, (k, 1), dev)?,
            &Tensor::from_vec(bias, (k, 1, 1, t_cache + 1), dev)?,
            Some(&mut cache),
        )?;
        last = logits.squeeze(1)?.to_vec2::<f32>()?;
    }
    let texts = out.iter().map(|ids| tokenizer.decode_until_eos(ids)).collect();
    Ok(Samples { prompt: rows, ids: out, texts, stopped })
}

/// One token from a row of logits: greedy at temperature 0, else softmax(logits / T)
/// (eq. 3) over the top-k tokens, with one uniform draw from the run's RNG.
fn draw(logits: &[f32], cfg: &SampleConfig, rng: &mut impl Rng) -> u32 {
    let argmax = || logits.iter().enumerate().fold(0, |best, (i, &l)| if l > logits[best] { i } else { best });
    if cfg.temperature <= 0.0 {
        return argmax() as u32;
    }
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    if cfg.top_k > 0 {
        order.truncate(cfg.top_k);
    }
    let top = logits[order[0]] as f64;
    let weights: Vec<f64> = order.iter().map(|&i| ((logits[i] as f64 - top) / cfg.temperature).exp()).collect();
    let mut u = rng.random::<f64>() * weights.iter().sum::<f64>();
    for (&i, w) in order.iter().zip(&weights) {
        if u < *w {
            return i as u32;
        }
        u -= w;
    }
    order[order.len() - 1] as u32
}

/// log π_θ(completion token | prompt, earlier completion tokens) for every completion
/// token (eq. 4), as a differentiable [B, L] tensor (L = longest completion; padded
/// entries are 0), with the [B, L] mask (1 for a real token, 0 for padding).
///
/// Each row is laid out `prompt ++ completion`, right-padded: causal attention keeps
/// the padding from touching real tokens, so one forward pass serves the whole batch.
pub fn token_logprobs(
    model: &Gpt,
    prompts: &[Vec<u32>],
    completions: &[Vec<u32>],
) -> candle_core::Result<(Tensor, Tensor)> {
    let lay = CompletionLayout::new(model, prompts, completions)?;
    let (b, t, l) = (lay.b, lay.t, lay.l);
    let logits = model.forward(&lay.ids)?;
    let rows = logits.reshape((b * t, model.cfg.vocab_size))?.index_select(&lay.rows, 0)?;
    let picked = super::fused::token_log_probs(&rows, &lay.targets)?.reshape((b, l))?;
    Ok(((picked * &lay.mask)?, lay.mask))
}

/// A batch of `prompt ++ completion` rows laid out for one forward pass: the ids
/// [B, T] (right-padded), for each completion token j of row i the flat position
/// i·T + len(prompt_i) + j − 1 that predicts it (`rows`, [B·L]), its id (`targets`)
/// and the [B, L] mask. Shared by [`token_logprobs`] and chapter 7's critic, whose
/// value V(s_t) is read at the same positions.
pub struct CompletionLayout {
    pub ids: Tensor,
    pub rows: Tensor,
    pub targets: Vec<u32>,
    pub mask: Tensor,
    pub b: usize,
    pub t: usize,
    pub l: usize,
}

impl CompletionLayout {
    pub fn new(model: &Gpt, prompts: &[Vec<u32>], completions: &[Vec<u32>]) -> candle_core::Result<Self> {
        if prompts.len() != completions.len() || prompts.is_empty() {
            candle_core::bail!("token_logprobs: {} prompts for {} completions", prompts.len(), completions.len());
        }
        let b = prompts.len();
        let t = prompts.iter().zip(completions).map(|(p, c)| p.len() + c.len()).max().unwrap_or(0);
        let l = completions.iter().map(Vec::len).max().unwrap_or(0).max(1);
        if t > model.cfg.context || prompts.iter().any(Vec::is_empty) {
            candle_core::bail!(
                "token_logprobs: sequences of {t} tokens (context {}), or an empty prompt",
                model.cfg.context
            );
        }
        let mut ids = vec![EOS; b * t];
        let (mut rows, mut targets, mut mask) = (vec![0u32; b * l], vec![0u32; b * l], vec![0f32; b * l]);
        for (i, (p, c)) in prompts.iter().zip(completions).enumerate() {
            ids[i * t..i * t + p.len()].copy_from_slice(p);
            ids[i * t + p.len()..i * t + p.len() + c.len()].copy_from_slice(c);
            for (j, &tok) in c.iter().enumerate() {
                // Completion token j is predicted at position len(prompt) + j − 1.
                rows[i * l + j] = (i * t + p.len() + j - 1) as u32;
                targets[i * l + j] = tok;
                mask[i * l + j] = 1.0;
            }
        }
        let dev = &Device::Cpu;
        Ok(CompletionLayout {
            ids: Tensor::from_vec(ids, (b, t), dev)?,
            rows: Tensor::from_vec(rows, b * l, dev)?,
            targets,
            mask: Tensor::from_vec(mask, (b, l), dev)?,
            b,
            t,
            l,
        })
    }
}
