//! A decoder-only transformer (GPT), small enough to read in one sitting.
//!
//! tokens → token + position embeddings → n × [x + attn(ln(x)); x + mlp(ln(x))] → ln → logits.
//! Layer norm and attention are the fused kernels of [`super::fused`], with their own
//! backward passes (candle's fused `softmax_last_dim` and `layer_norm` have none: they
//! silently drop gradients).

use super::fused::{self, AttnDims, Bias, HeadRows, MASKED};
use crate::nn::Activation;
use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

/// The shape of the model; saved beside the weights as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GptConfig {
    pub vocab_size: usize,
    /// Longest sequence (prompt + completion) the position embedding covers.
    pub context: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub n_layers: usize,
    /// Output head = token embedding transposed (fewer parameters).
    pub tied_head: bool,
}

/// The model's shape as command-line flags (chapter 5 pre-trains with them).
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct GptArgs {
    /// Width of the residual stream d, a multiple of --heads [1, 1024]
    #[arg(long, default_value_t = 128)]
    pub d_model: usize,
    /// Attention heads per layer [1, 64]
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Transformer blocks [1, 32]
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Context length in tokens (prompt + response) [max(--seq-len, 16), 1024]
    #[arg(long, default_value_t = 80)]
    pub context: usize,
}

/// The largest shapes a model may have, from the flags or from a checkpoint: the
/// ranges of `--d-model`, `--heads`, `--layers` and `--context`.
pub const MAX_D_MODEL: usize = 1024;
pub const MAX_HEADS: usize = 64;
pub const MAX_LAYERS: usize = 32;
pub const MAX_CONTEXT: usize = 1024;
/// The most parameters a model may have (256 MB of f32 weights; training holds four
/// copies: weights, gradients and AdamW's two moments).
pub const MAX_PARAMS: u64 = 1 << 26;

impl GptConfig {
    /// The parameters' names and shapes, in the order of [`Gpt::named_vars`] (the
    /// checkpoint's tensors), computed without allocating any tensor.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let (d, v) = (self.d_model, self.vocab_size);
        let mut out = vec![("wte".to_string(), vec![v, d]), ("wpe".to_string(), vec![self.context, d])];
        for i in 0..self.n_layers {
            for (name, w, b) in [
                ("ln1", vec![d], d),
                ("qkv", vec![d, 3 * d], 3 * d),
                ("proj", vec![d, d], d),
                ("ln2", vec![d], d),
                ("fc", vec![d, 4 * d], 4 * d),
                ("fc_out", vec![4 * d, d], d),
            ] {
                out.push((format!("h{i}.{name}.w"), w));
                out.push((format!("h{i}.{name}.b"), vec![b]));
            }
        }
        out.push(("ln_f.w".to_string(), vec![d]));
        out.push(("ln_f.b".to_string(), vec![d]));
        if !self.tied_head {
            out.push(("head".to_string(), vec![d, v]));
        }
        out
    }

    /// The number of parameters, with checked arithmetic (`None` past u64).
    pub fn param_count(&self) -> Option<u64> {
        let (d, v) = (self.d_model as u64, self.vocab_size as u64);
        let per_layer = d.checked_mul(d)?.checked_mul(12)?.checked_add(d.checked_mul(13)?)?;
        let embeddings = v.checked_add(self.context as u64)?.checked_mul(d)?;
        let head = if self.tied_head { 0 } else { d.checked_mul(v)? };
        per_layer.checked_mul(self.n_layers as u64)?.checked_add(embeddings)?.checked_add(2 * d)?.checked_add(head)
    }

    /// Checks every field against the ranges of the shape flags and the parameter
    /// limit, before anything is allocated: why not, in words, or Ok.
    pub fn check_shape(&self) -> std::result::Result<(), String> {
        let within = |name: &str, v: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} {v} must lie in [{lo}, {hi}]"))
            }
        };
        within("d_model", self.d_model, 1, MAX_D_MODEL)?;
        within("n_heads", self.n_heads, 1, MAX_HEADS)?;
        within("n_layers", self.n_layers, 1, MAX_LAYERS)?;
        within("context", self.context, 1, MAX_CONTEXT)?;
        within("vocab_size", self.vocab_size, 1, 1 << 16)?;
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(format!("d_model {} is not a multiple of n_heads {}", self.d_model, self.n_heads));
        }
        match self.param_count() {
            Some(n) if n <= MAX_PARAMS => Ok(()),
            n => Err(format!(
                "{} parameters, more than the limit of {MAX_PARAMS}",
                n.map_or("too many".into(), |n| n.to_string())
            )),
        }
    }
}

impl GptArgs {
    /// Checks the flags; the context must hold a training row of `seq_len` tokens.
    pub fn validate(&self, seq_len: usize) -> crate::error::Result<()> {
        use crate::error::{check_range, Error};
        check_range("--heads", self.heads as f64, 1.0, MAX_HEADS as f64)?;
        check_range("--layers", self.layers as f64, 1.0, MAX_LAYERS as f64)?;
        check_range("--d-model", self.d_model as f64, 1.0, MAX_D_MODEL as f64)?;
        if !self.d_model.is_multiple_of(self.heads) {
            return Err(Error::invalid("--d-model", self.d_model, "must be a positive multiple of --heads"));
        }
        check_range("--context", self.context as f64, seq_len.max(16) as f64, MAX_CONTEXT as f64)
    }

    /// The model these flags describe, with a tied output head.
    pub fn config(&self, vocab_size: usize) -> GptConfig {
        GptConfig {
            vocab_size,
            context: self.context,
            d_model: self.d_model,
            n_heads: self.heads,
            n_layers: self.layers,
            tied_head: true,
        }
    }
}

/// One pre-norm block: causal multi-head self-attention, then an MLP (ReLU: GELU cost
/// 40% of a training step here, for no visible gain at this size).
pub struct Block {
    ln1: (Var, Var),
    qkv: (Var, Var),
    proj: (Var, Var),
    ln2: (Var, Var),
    fc: (Var, Var),
    fc_out: (Var, Var),
}

pub struct Gpt {
    pub cfg: GptConfig,
    wte: Var,
    wpe: Var,
    blocks: Vec<Block>,
    ln_f: (Var, Var),
    head: Option<Var>,
}

/// Keys and values of the tokens seen so far, per layer, each [B, capacity, d] with the
/// first `len` positions of every row filled: a sampling step writes its one new token in
/// place instead of copying the whole cache. The capacity doubles when full (up to the
/// context), so memory follows the tokens actually generated. Read only by sampling: no
/// gradient flows through it.
#[derive(Default)]
pub struct KvCache {
    rows: usize,
    capacity: usize,
    /// Positions to make room for at the first growth (see [`KvCache::with_capacity`]).
    planned: usize,
    width: usize,
    layers: Vec<LayerCache>,
}

struct LayerCache {
    k: Vec<f32>,
    v: Vec<f32>,
    len: usize,
}

impl KvCache {
    /// An empty cache that makes room for `tokens` positions per row at once (a sampler
    /// that knows its prompt and response lengths never has to grow it).
    pub fn with_capacity(tokens: usize) -> KvCache {
        KvCache { planned: tokens, ..KvCache::default() }
    }

    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, |c| c.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps only the given rows of the batch, in increasing order (drops finished
    /// sequences while sampling).
    pub fn select_rows(&mut self, keep: &[usize]) -> candle_core::Result<()> {
        if keep.windows(2).any(|w| w[0] >= w[1]) || keep.last().is_some_and(|&r| r >= self.rows) {
            candle_core::bail!("KvCache::select_rows: {keep:?} is not an increasing subset of {} rows", self.rows);
        }
        let row = self.capacity * self.width;
        for c in self.layers.iter_mut() {
            for (new, &old) in keep.iter().enumerate() {
                c.k.copy_within(old * row..(old + 1) * row, new * row);
                c.v.copy_within(old * row..(old + 1) * row, new * row);
            }
            c.k.truncate(keep.len() * row);
            c.v.truncate(keep.len() * row);
        }
        self.rows = keep.len();
        Ok(())
    }

    /// Room for `needed` positions per row: every row's filled positions move to a
    /// layout of at least twice the capacity (so each token is copied O(1) times on
    /// average), never more than `context`.
    fn grow(&mut self, needed: usize, context: usize) {
        let capacity = needed.max(2 * self.capacity).min(context);
        let (old, new) = (self.capacity * self.width, capacity * self.width);
        for c in self.layers.iter_mut() {
            for buffer in [&mut c.k, &mut c.v] {
                let mut wider = vec![0.0; self.rows * new];
                for r in 0..self.rows {
                    wider[r * new..r * new + c.len * self.width]
                        .copy_from_slice(&buffer[r * old..r * old + c.len * self.width]);
                }
                *buffer = wider;
            }
        }
        self.capacity = capacity;
    }

    /// Layer `l`: appends the keys and values of the new tokens (from `qkv` [B·T, 3d]),
    /// then attends from their queries to every cached key (eq. 1).
    fn attend(
        &mut self,
        l: usize,
        qkv: &Tensor,
        bias: &Tensor,
        (b, t, heads, context): (usize, usize, usize, usize),
    ) -> candle_core::Result<Tensor> {
        let width = qkv.dim(1)? / 3;
        if self.layers.is_empty() {
            (self.rows, self.width) = (b, width);
        }
        let len = self.layers.get(l).map_or(0, |c| c.len);
        if b != self.rows || width != self.width || len + t > context {
            candle_core::bail!(
                "KvCache: {b} rows of {t} new tokens after {len} (cache: {} rows, context {context})",
                self.rows
            );
        }
        if len + t > self.capacity {
            self.grow((len + t).max(self.planned), context);
        }
        if self.layers.len() == l {
            let n = self.rows * self.capacity * width;
            self.layers.push(LayerCache { k: vec![0.0; n], v: vec![0.0; n], len: 0 });
        }
        let cap = self.capacity;
        let c = &mut self.layers[l];
        let dims = AttnDims { batch: b, heads, head_dim: width / heads, tq: t, tk: c.len + t };
        let batched = fused::check_bias(bias, dims)?;
        let (mut out, mut probs) = (vec![0.0f32; b * t * width], vec![0.0f32; b * heads * t * dims.tk]);
        fused::with_f32(qkv, |qkv| {
            for (r, new) in qkv.chunks_exact(3 * width).enumerate() {
                let at = ((r / t) * cap + c.len + r % t) * width;
                c.k[at..at + width].copy_from_slice(&new[width..2 * width]);
                c.v[at..at + width].copy_from_slice(&new[2 * width..]);
            }
            c.len += t;
            let q = HeadRows { data: qkv, batch_stride: t * 3 * width, row_stride: 3 * width, offset: 0 };
            let cached = |data| HeadRows { data, batch_stride: cap * width, row_stride: width, offset: 0 };
            fused::with_f32(bias, |bias| {
                let bias = Bias { values: bias, batched };
                fused::attention_forward(q, cached(&c.k), cached(&c.v), bias, dims, &mut out, &mut probs)
            })
        })??;
        Tensor::from_vec(out, (b * t, width), &Device::Cpu)
    }
}

/// Additive attention bias that lets position t see positions ≤ t (eq. 2): 0 or −1e9.
pub fn causal_bias(t: usize) -> candle_core::Result<Tensor> {
    let v: Vec<f32> = (0..t * t).map(|i| if i % t <= i / t { 0.0 } else { MASKED }).collect();
    Tensor::from_vec(v, (1, 1, t, t), &Device::Cpu)
}

fn var(shape: &[usize], values: Vec<f32>) -> candle_core::Result<Var> {
    Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu)?)
}

fn normal(shape: &[usize], std: f32, rng: &mut impl Rng) -> candle_core::Result<Var> {
    let n: usize = shape.iter().product();
    let dist = Normal::new(0.0f32, std).expect("std is positive");
    var(shape, (0..n).map(|_| dist.sample(rng)).collect())
}

fn constant(n: usize, value: f32) -> candle_core::Result<Var> {
    var(&[n], vec![value; n])
}

/// x [N, in] · w [in, out] + b, then the activation if any: one fused graph node.
fn dense(x: &Tensor, (w, b): &(Var, Var), activation: Option<Activation>) -> candle_core::Result<Tensor> {
    crate::nn::fused::dense(x, w.as_tensor(), b.as_tensor(), activation)
}

/// Layer norm over the last dimension (the fused kernel).
fn layer_norm(x: &Tensor, (g, b): &(Var, Var)) -> candle_core::Result<Tensor> {
    fused::layer_norm(x, g.as_tensor(), b.as_tensor())
}

impl Gpt {
    /// GPT-2 initialisation from the run's seeded RNG: N(0, 0.02), residual projections
    /// scaled by 1/√(2·layers), zero biases, unit layer-norm gains.
    pub fn new(cfg: GptConfig, rng: &mut impl Rng) -> candle_core::Result<Gpt> {
        let (d, v) = (cfg.d_model, cfg.vocab_size);
        let resid = 0.02 / (2.0 * cfg.n_layers as f32).sqrt();
        let ln = || -> candle_core::Result<(Var, Var)> { Ok((constant(d, 1.0)?, constant(d, 0.0)?)) };
        let wte = normal(&[v, d], 0.02, rng)?;
        let wpe = normal(&[cfg.context, d], 0.02, rng)?;
        let mut blocks = Vec::new();
        for _ in 0..cfg.n_layers {
            blocks.push(Block {
                ln1: ln()?,
                qkv: (normal(&[d, 3 * d], 0.02, rng)?, constant(3 * d, 0.0)?),
                proj: (normal(&[d, d], resid, rng)?, constant(d, 0.0)?),
                ln2: ln()?,
                fc: (normal(&[d, 4 * d], 0.02, rng)?, constant(4 * d, 0.0)?),
                fc_out: (normal(&[4 * d, d], resid, rng)?, constant(d, 0.0)?),
            });
        }
        let head = if cfg.tied_head { None } else { Some(normal(&[d, v], 0.02, rng)?) };
        Ok(Gpt { cfg, wte, wpe, blocks, ln_f: ln()?, head })
    }

    /// Every parameter with a stable name (the checkpoint's keys), in a fixed order.
    ///
    /// Kept in step with [`GptConfig::param_shapes`] (a test checks they agree).
    pub fn named_vars(&self) -> Vec<(String, &Var)> {
        let mut out = vec![("wte".to_string(), &self.wte), ("wpe".to_string(), &self.wpe)];
        for (i, b) in self.blocks.iter().enumerate() {
            for (name, (w, bias)) in [
                ("ln1", &b.ln1),
                ("qkv", &b.qkv),
                ("proj", &b.proj),
                ("ln2", &b.ln2),
                ("fc", &b.fc),
                ("fc_out", &b.fc_out),
            ] {
                out.push((format!("h{i}.{name}.w"), w));
                out.push((format!("h{i}.{name}.b"), bias));
            }
        }
        out.push(("ln_f.w".to_string(), &self.ln_f.0));
        out.push(("ln_f.b".to_string(), &self.ln_f.1));
        if let Some(h) = &self.head {
            out.push(("head".to_string(), h));
        }
        out
    }

    pub fn vars(&self) -> Vec<Var> {
        self.named_vars().into_iter().map(|(_, v)| v.clone()).collect()
    }

    pub fn n_params(&self) -> usize {
        self.named_vars().iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// Copies every parameter from `other` (same config): for a frozen reference model.
    pub fn copy_from(&self, other: &Gpt) -> candle_core::Result<()> {
        for ((_, a), (_, b)) in self.named_vars().into_iter().zip(other.named_vars()) {
            a.set(b.as_tensor())?;
        }
        Ok(())
    }

    /// A deep copy with its own parameters.
    pub fn duplicate(&self) -> candle_core::Result<Gpt> {
        let mut rng = crate::rng::seeded(0, 0);
        let copy = Gpt::new(self.cfg.clone(), &mut rng)?;
        copy.copy_from(self)?;
        Ok(copy)
    }

    /// Logits [B, T, V] of a batch of equal-length sequences `ids` [B, T] (u32), positions
    /// 0..T, causal mask: the training forward pass.
    pub fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let pos: Vec<u32> = (0..b).flat_map(|_| 0..t as u32).collect();
        let pos = Tensor::from_vec(pos, (b, t), &Device::Cpu)?;
        self.forward_with(ids, &pos, &causal_bias(t)?, None)
    }

    /// The general forward pass: `ids`, `pos` [B, T] (u32), an additive attention `bias`
    /// broadcastable to [B, H, T, T_cache + T], and an optional KV cache that is read and
    /// extended (sampling feeds one new token per step).
    pub fn forward_with(
        &self,
        ids: &Tensor,
        pos: &Tensor,
        bias: &Tensor,
        cache: Option<&mut KvCache>,
    ) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let x = self.hidden_with(ids, pos, bias, cache)?;
        let logits = match &self.head {
            Some(h) => x.matmul(h.as_tensor())?,
            None => x.matmul(&self.wte.as_tensor().t()?)?,
        };
        logits.reshape((b, t, self.cfg.vocab_size))
    }

    /// The last hidden states LN(h_t), [B·T, d], before the output head: what a value
    /// head reads (chapter 7's critic). Arguments as for [`Gpt::forward_with`].
    pub fn hidden_with(
        &self,
        ids: &Tensor,
        pos: &Tensor,
        bias: &Tensor,
        mut cache: Option<&mut KvCache>,
    ) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let tok = self.wte.index_select(&ids.flatten_all()?, 0)?;
        let posv = self.wpe.index_select(&pos.flatten_all()?, 0)?;
        let mut x = (tok + posv)?; // [B·T, d]: the residual stream
        for (l, block) in self.blocks.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().map(|c| (c, l));
            x = (&x + self.attention(block, &layer_norm(&x, &block.ln1)?, b, t, bias, layer_cache)?)?;
            let h = dense(&layer_norm(&x, &block.ln2)?, &block.fc, Some(Activation::Relu))?;
            x = (&x + dense(&h, &block.fc_out, None)?)?;
        }
        layer_norm(&x, &self.ln_f)
    }

    /// Causal multi-head attention (eq. 1): softmax(q kᵀ/√d_head + bias) v, per head,
    /// on the `[q | k | v]` projection of x (the fused kernel; through the cache when
    /// sampling).
    fn attention(
        &self,
        block: &Block,
        x: &Tensor,
        b: usize,
        t: usize,
        bias: &Tensor,
        cache: Option<(&mut KvCache, usize)>,
    ) -> candle_core::Result<Tensor> {
        let qkv = dense(x, &block.qkv, None)?; // [B·T, 3d]
        let y = match cache {
            None => fused::self_attention(&qkv, bias, b, t, self.cfg.n_heads)?,
            Some((cache, l)) => cache.attend(l, &qkv, bias, (b, t, self.cfg.n_heads, self.cfg.context))?,
        };
        dense(&y, &block.proj, None)
    }

    /// Builds a model from named tensors (a checkpoint); every name and shape must match.
    pub fn from_tensors(
        cfg: GptConfig,
        tensors: &std::collections::HashMap<String, Tensor>,
    ) -> std::result::Result<Gpt, String> {
        let model = Gpt::new(cfg, &mut crate::rng::seeded(0, 0)).map_err(|e| e.to_string())?;
        for (name, v) in model.named_vars() {
            let t = tensors.get(&name).ok_or_else(|| format!("tensor '{name}' is missing"))?;
            if t.dims() != v.dims() || t.dtype() != DType::F32 {
                return Err(format!(
                    "tensor '{name}' has shape {:?} ({:?}), the config needs {:?} (F32)",
                    t.dims(),
                    t.dtype(),
                    v.dims()
                ));
            }
            v.set(t).map_err(|e| e.to_string())?;
        }
        if tensors.len() != model.named_vars().len() {
            return Err(format!("{} tensors, the config needs {}", tensors.len(), model.named_vars().len()));
        }
        Ok(model)
    }
}
