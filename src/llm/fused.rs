//! Fused kernels for the transformer, each with its own backward pass.
//!
//! Each function here computes in one pass over memory what a chain of candle ops
//! computes in many (every op of the chain allocates its output and, in the backward
//! pass, a gradient of the same size). The maths is unchanged; only the order of some
//! floating-point sums differs, so results agree with the composed versions to float
//! tolerance (`tests/fused_ops.rs` checks each against its composed version and its
//! gradient against central finite differences).
//!
//! | kernel | computes | equals the composed |
//! |---|---|---|
//! | [`layer_norm`] | (x − μ) / √(σ² + ε) · g + b per row | `mean_keepdim`, `sqr`, `sqrt`, broadcasts |
//! | [`self_attention`] | softmax(q kᵀ/√d_h + bias) v per head | narrow, transpose, matmul, `ops::softmax`, matmul |
//! | [`token_log_probs`] | log softmax(logits)[target] per row | `ops::log_softmax` then `gather` |
//!
//! They run on the CPU in f32, the only device and type the course trains with. The
//! linear layers use the dense layer of [`crate::nn::fused`], shared with chapter 4's MLPs.

pub(crate) use crate::nn::fused::with_f32;
use candle_core::{bail, CpuStorage, CustomOp1, CustomOp3, Layout, Result, Shape, Tensor};
use std::sync::Mutex;

/// The additive attention bias of a masked pair: exp(−1e9 − max) is exactly 0 in f32.
pub const MASKED: f32 = -1e9;

/// ε of the layer norm, as in GPT-2 and PyTorch.
const LN_EPS: f32 = 1e-5;

/// Below this, exp(x) is exactly 0 in f32 (the smallest subnormal is e^−103.3), so the
/// kernels skip the call.
const EXP_UNDERFLOW: f32 = -104.0;

/// y += a·x, the inner loop of every kernel (the compiler vectorises it).
#[inline(always)]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// x·y with eight partial sums, so the compiler can vectorise the reduction.
#[inline(always)]
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let tail: f32 = xc.remainder().iter().zip(yc.remainder()).map(|(a, b)| a * b).sum();
    for (a, b) in xc.zip(yc) {
        for j in 0..8 {
            acc[j] += a[j] * b[j];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn exp_or_zero(x: f32) -> f32 {
    if x < EXP_UNDERFLOW {
        0.0
    } else {
        x.exp()
    }
}

fn slice<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&s.as_slice::<f32>()?[a..b]),
        None => bail!("a fused kernel needs a contiguous input"),
    }
}

fn tensor(values: Vec<f32>, shape: impl Into<Shape>) -> Result<Tensor> {
    Tensor::from_vec(values, shape, &candle_core::Device::Cpu)
}

// ---------------------------------------------------------------------------------
// Layer norm

/// Layer norm over the last dimension of `x` [N, d] with gain `g` and bias `b` [d]:
/// y = (x − μ)/√(σ² + ε) · g + b, μ and σ² the row's mean and (biased) variance.
pub fn layer_norm(x: &Tensor, g: &Tensor, b: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op3(g, b, LayerNorm)
}

struct LayerNorm;

/// One row's mean and standard deviation √(σ² + ε), as the composed version computes them.
fn moments(x: &[f32]) -> (f32, f32) {
    let n = x.len() as f32;
    let mu = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mu) * (v - mu)).sum::<f32>() / n;
    (mu, (var + LN_EPS).sqrt())
}

/// The forward pass on plain slices: `x` is [N, d] row-major.
pub fn layer_norm_forward(x: &[f32], g: &[f32], b: &[f32]) -> Vec<f32> {
    let d = g.len();
    let mut y = vec![0.0; x.len()];
    for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        let (mu, sd) = moments(xr);
        for i in 0..d {
            yr[i] = (xr[i] - mu) / sd * g[i] + b[i];
        }
    }
    y
}

/// The backward pass: with x̂ = (x − μ)/s and ĝ = dy·g, per row
/// dx = (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / s, and over rows dg = Σ dy·x̂, db = Σ dy.
pub fn layer_norm_backward(x: &[f32], g: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let d = g.len();
    let (mut dx, mut dg, mut db) = (vec![0.0; x.len()], vec![0.0; d], vec![0.0; d]);
    let mut xhat = vec![0.0; d];
    let mut ghat = vec![0.0; d];
    for ((xr, dyr), dxr) in x.chunks_exact(d).zip(dy.chunks_exact(d)).zip(dx.chunks_exact_mut(d)) {
        let (mu, sd) = moments(xr);
        let (mut mean_g, mut mean_gx) = (0.0, 0.0);
        for i in 0..d {
            xhat[i] = (xr[i] - mu) / sd;
            ghat[i] = dyr[i] * g[i];
            mean_g += ghat[i];
            mean_gx += ghat[i] * xhat[i];
            dg[i] += dyr[i] * xhat[i];
            db[i] += dyr[i];
        }
        let (mean_g, mean_gx) = (mean_g / d as f32, mean_gx / d as f32);
        for i in 0..d {
            dxr[i] = (ghat[i] - mean_g - xhat[i] * mean_gx) / sd;
        }
    }
    (dx, dg, db)
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "fused-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, g, b) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
        let d = *l1.dims().last().unwrap_or(&0);
        if d == 0 || g.len() != d || b.len() != d {
            bail!("layer_norm: x {:?} with gain {:?} and bias {:?}", l1.dims(), l2.dims(), l3.dims());
        }
        Ok((CpuStorage::F32(layer_norm_forward(x, g, b)), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        g: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dx, dg, db) = with_f32(x, |x| with_f32(g, |g| with_f32(dy, |dy| layer_norm_backward(x, g, dy))))???;
        Ok((Some(tensor(dx, x.shape())?), Some(tensor(dg, g.shape())?), Some(tensor(db, g.shape())?)))
    }
}

// ---------------------------------------------------------------------------------
// Attention

/// The sizes of one attention call: `batch` sequences of `tq` queries, each attending
/// to `tk` keys, with `heads` heads of `head_dim` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttnDims {
    pub batch: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub tq: usize,
    pub tk: usize,
}

/// Heads stored side by side in a row-major matrix: the vector of head `h` for row `r`
/// of sequence `b` starts at `b·batch_stride + r·row_stride + offset + h·head_dim`.
/// The fused `[q | k | v]` projection and the KV cache are both read this way, so no
/// transposed copy is ever made.
#[derive(Clone, Copy)]
pub struct HeadRows<'a> {
    pub data: &'a [f32],
    pub batch_stride: usize,
    pub row_stride: usize,
    pub offset: usize,
}

impl HeadRows<'_> {
    #[inline(always)]
    fn row(&self, b: usize, r: usize, h: usize, hd: usize) -> &[f32] {
        let start = b * self.batch_stride + r * self.row_stride + self.offset + h * hd;
        &self.data[start..start + hd]
    }
}

/// The additive bias [B or 1, 1, tq, tk] as a slice; `batched` when it has one block
/// per sequence.
#[derive(Clone, Copy)]
pub struct Bias<'a> {
    pub values: &'a [f32],
    pub batched: bool,
}

impl Bias<'_> {
    fn row(&self, b: usize, t: usize, d: AttnDims) -> &[f32] {
        let block = if self.batched { b } else { 0 };
        &self.values[(block * d.tq + t) * d.tk..][..d.tk]
    }
}

/// The keys a query row can see: from its first to its last unmasked key (all of them
/// when every key is masked, as the composed softmax then spreads evenly).
fn visible(bias: &[f32]) -> std::ops::Range<usize> {
    let open = |v: &&f32| **v > MASKED;
    match (bias.iter().position(|v| open(&v)), bias.iter().rposition(|v| open(&v))) {
        (Some(lo), Some(hi)) => lo..hi + 1,
        _ => 0..bias.len(),
    }
}

/// Attention of every head (eq. 1): p = softmax(q kᵀ/√d_h + bias) per query row, and
/// y = p v. Writes y into `out` [B·tq, H·d_h] (heads side by side, ready for the output
/// projection) and p into `probs` [B, H, tq, tk] (kept for the backward pass).
pub fn attention_forward(
    q: HeadRows,
    k: HeadRows,
    v: HeadRows,
    bias: Bias,
    d: AttnDims,
    out: &mut [f32],
    probs: &mut [f32],
) {
    let hd = d.head_dim;
    let width = d.heads * hd;
    let scale = 1.0 / (hd as f32).sqrt();
    for b in 0..d.batch {
        for h in 0..d.heads {
            for t in 0..d.tq {
                let brow = bias.row(b, t, d);
                let seen = visible(brow);
                let p = &mut probs[((b * d.heads + h) * d.tq + t) * d.tk..][..d.tk];
                let qt = q.row(b, t, h, hd);
                for s in seen.clone() {
                    p[s] = dot(qt, k.row(b, s, h, hd));
                }
                softmax_row(p, brow, scale, seen.clone());
                let y = &mut out[(b * d.tq + t) * width + h * hd..][..hd];
                y.fill(0.0);
                for s in seen {
                    if p[s] != 0.0 {
                        axpy(p[s], v.row(b, s, h, hd), y);
                    }
                }
            }
        }
    }
}

/// In place: p_s ← softmax_s(p_s·scale + bias_s), where `p` holds raw scores q·k_s on
/// the `seen` keys (the others are masked, their probability exactly 0).
fn softmax_row(p: &mut [f32], bias: &[f32], scale: f32, seen: std::ops::Range<usize>) {
    let mut max = f32::NEG_INFINITY;
    for s in 0..p.len() {
        p[s] = if seen.contains(&s) { p[s] * scale + bias[s] } else { bias[s] };
        max = max.max(p[s]);
    }
    let mut sum = 0.0;
    for x in p.iter_mut() {
        *x = exp_or_zero(*x - max);
        sum += *x;
    }
    for x in p.iter_mut() {
        *x /= sum;
    }
}

/// The backward pass of self-attention whose q, k and v sit in one `[q | k | v]` matrix
/// `qkv` [B·T, 3·H·d_h]: from dy [B·T, H·d_h] and the forward pass's p, per head
///   dv_s = Σ_t p_ts dy_t,   dp_ts = dy_t·v_s,   ds_ts = p_ts (dp_ts − Σ_s' p_ts' dp_ts'),
///   dq_t = Σ_s ds_ts k_s / √d_h,   dk_s = Σ_t ds_ts q_t / √d_h,
/// returned in the layout of `qkv`.
pub fn attention_backward(qkv: &[f32], probs: &[f32], dy: &[f32], d: AttnDims) -> Vec<f32> {
    let (hd, t_len) = (d.head_dim, d.tq);
    let width = d.heads * hd;
    let scale = 1.0 / (hd as f32).sqrt();
    let rows = |offset| HeadRows { data: qkv, batch_stride: t_len * 3 * width, row_stride: 3 * width, offset };
    let (q, k, v) = (rows(0), rows(width), rows(2 * width));
    let at = |b: usize, r: usize, part: usize, h: usize| (b * t_len + r) * 3 * width + part * width + h * hd;
    let mut dqkv = vec![0.0f32; qkv.len()];
    let mut ds = vec![0.0f32; t_len];
    for b in 0..d.batch {
        for h in 0..d.heads {
            for t in 0..t_len {
                let p = &probs[((b * d.heads + h) * t_len + t) * t_len..][..t_len];
                let (Some(lo), Some(hi)) = (p.iter().position(|&x| x != 0.0), p.iter().rposition(|&x| x != 0.0)) else {
                    continue;
                };
                let dyt = &dy[(b * t_len + t) * width + h * hd..][..hd];
                // dp_ts = dy_t·v_s, then ds_ts with the 1/√d_h of the scores folded in.
                let mut mean = 0.0;
                for s in lo..=hi {
                    ds[s] = dot(dyt, v.row(b, s, h, hd));
                    mean += p[s] * ds[s];
                }
                for s in lo..=hi {
                    ds[s] = p[s] * (ds[s] - mean) * scale;
                }
                let qt = q.row(b, t, h, hd);
                for s in lo..=hi {
                    if p[s] != 0.0 {
                        axpy(ds[s], k.row(b, s, h, hd), &mut dqkv[at(b, t, 0, h)..][..hd]);
                        axpy(ds[s], qt, &mut dqkv[at(b, s, 1, h)..][..hd]);
                        axpy(p[s], dyt, &mut dqkv[at(b, s, 2, h)..][..hd]);
                    }
                }
            }
        }
    }
    dqkv
}

/// Causal multi-head self-attention of a batch of `b` sequences of `t` tokens whose
/// queries, keys and values sit side by side in `qkv` [B·T, 3d] (d = heads·d_h), with an
/// additive `bias` [B or 1, 1, T, T]. Returns y [B·T, d], differentiable in `qkv`.
pub fn self_attention(qkv: &Tensor, bias: &Tensor, b: usize, t: usize, heads: usize) -> Result<Tensor> {
    let width = qkv.dim(1)? / 3;
    let dims = AttnDims { batch: b, heads, head_dim: width / heads, tq: t, tk: t };
    check_bias(bias, dims)?;
    qkv.contiguous()?.apply_op1(SelfAttention { dims, bias: bias.contiguous()?, probs: Mutex::new(Vec::new()) })
}

/// The bias must be [B or 1, 1, tq, tk].
pub(crate) fn check_bias(bias: &Tensor, d: AttnDims) -> Result<bool> {
    match bias.dims() {
        &[n, 1, q, k] if (n == d.batch || n == 1) && q == d.tq && k == d.tk => Ok(n == d.batch && n > 1),
        other => bail!("attention bias {other:?} for {d:?}"),
    }
}

struct SelfAttention {
    dims: AttnDims,
    bias: Tensor,
    /// p of the forward pass, for the backward pass.
    probs: Mutex<Vec<f32>>,
}

impl CustomOp1 for SelfAttention {
    fn name(&self) -> &'static str {
        "fused-self-attention"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let d = self.dims;
        let qkv = slice(s, l)?;
        let width = d.heads * d.head_dim;
        if qkv.len() != d.batch * d.tq * 3 * width {
            bail!("self_attention: qkv {:?} for {d:?}", l.dims());
        }
        let rows = |offset| HeadRows { data: qkv, batch_stride: d.tq * 3 * width, row_stride: 3 * width, offset };
        let mut out = vec![0.0f32; d.batch * d.tq * width];
        let mut probs = vec![0.0f32; d.batch * d.heads * d.tq * d.tk];
        let batched = check_bias(&self.bias, d)?;
        with_f32(&self.bias, |bias| {
            let bias = Bias { values: bias, batched };
            attention_forward(rows(0), rows(width), rows(2 * width), bias, d, &mut out, &mut probs)
        })?;
        *self.probs.lock().map_err(|_| candle_core::Error::Msg("attention: poisoned lock".into()))? = probs;
        Ok((CpuStorage::F32(out), Shape::from((d.batch * d.tq, width))))
    }

    fn bwd(&self, qkv: &Tensor, _res: &Tensor, dy: &Tensor) -> Result<Option<Tensor>> {
        let probs = self.probs.lock().map_err(|_| candle_core::Error::Msg("attention: poisoned lock".into()))?;
        let dqkv = with_f32(qkv, |qkv| with_f32(dy, |dy| attention_backward(qkv, &probs, dy, self.dims)))??;
        Ok(Some(tensor(dqkv, qkv.shape())?))
    }
}

// ---------------------------------------------------------------------------------
// Log-probabilities of chosen tokens

/// log softmax(logits_n)[target_n] for every row n of `logits` [N, V]: a [N] tensor,
/// differentiable in `logits` (d/dlogits_nj = 1[j = target_n] − softmax(logits_n)_j).
pub fn token_log_probs(logits: &Tensor, targets: &[u32]) -> Result<Tensor> {
    let (n, v) = logits.dims2()?;
    if targets.len() != n || targets.iter().any(|&t| t as usize >= v) {
        bail!("token_log_probs: {} targets for {n} rows of {v} logits", targets.len());
    }
    logits.contiguous()?.apply_op1(TokenLogProbs { targets: targets.to_vec() })
}

struct TokenLogProbs {
    targets: Vec<u32>,
}

/// max and log Σ exp(x − max) of one row.
fn log_sum_exp(x: &[f32]) -> (f32, f32) {
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    (max, x.iter().map(|&v| exp_or_zero(v - max)).sum::<f32>().ln())
}

impl CustomOp1 for TokenLogProbs {
    fn name(&self) -> &'static str {
        "fused-token-log-probs"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let logits = slice(s, l)?;
        let v = l.dims()[1];
        let out = logits
            .chunks_exact(v)
            .zip(&self.targets)
            .map(|(row, &t)| {
                let (max, lse) = log_sum_exp(row);
                row[t as usize] - max - lse
            })
            .collect::<Vec<_>>();
        let n = out.len();
        Ok((CpuStorage::F32(out), Shape::from(n)))
    }

    fn bwd(&self, logits: &Tensor, _res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        let v = logits.dim(1)?;
        let grad = with_f32(logits, |logits| {
            with_f32(g, |g| {
                let mut out = vec![0.0f32; logits.len()];
                for (n, (row, o)) in logits.chunks_exact(v).zip(out.chunks_exact_mut(v)).enumerate() {
                    let (max, lse) = log_sum_exp(row);
                    for j in 0..v {
                        o[j] = -g[n] * exp_or_zero(row[j] - max - lse);
                    }
                    o[self.targets[n] as usize] += g[n];
                }
                out
            })
        })??;
        Ok(Some(tensor(grad, logits.shape())?))
    }
}
