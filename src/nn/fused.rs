//! One fused operation for the MLP's batched forward pass: a dense layer
//! y = act(x W + b), with its hand-written backward pass, as a candle `CustomOp3`.
//!
//! It computes what [`crate::nn::Mlp::forward`] composes from candle ops (`matmul`,
//! `broadcast_add`, then tanh as 2σ(2x) − 1 or ReLU), but as one graph node instead of
//! five, with one pass over memory after the matrix product: on PPO's 256-row
//! minibatches of two 64-wide MLPs, candle's fixed cost per operation and per gradient
//! (each allocates its result, and each gradient is accumulated into a zero-filled
//! tensor) was most of a minibatch step.
//!
//! Forward:  z = x W + b,  y = act(z)
//! Backward: ∂L/∂z = g ⊙ act′ (tanh′ = 1 − y², ReLU′ = [y > 0]), from y alone,
//!           ∂L/∂b = Σ_rows ∂L/∂z,  ∂L/∂W = xᵀ ∂L/∂z,  ∂L/∂x = ∂L/∂z Wᵀ
//!           (the last skipped when x needs no gradient, as the observations).
//! Tests (tests/ch04_ppo.rs) compare both passes with the composed candle version and
//! the gradients with central finite differences.

use super::Activation;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Storage, Tensor};

/// act(x W + b) for x `[N, in]`, W `[in, out]`, b `[out]` (f32), one graph node.
/// `None`: no activation (an output layer).
pub fn dense(x: &Tensor, w: &Tensor, b: &Tensor, activation: Option<Activation>) -> Result<Tensor> {
    x.apply_op3(w, b, Dense(activation))
}

struct Dense(Option<Activation>);

/// tanh(x) to within 4·10⁻⁷ (a few f32 ulps) of the exact value: the rational
/// approximation Eigen and XLA use for f32 (odd polynomial of degree 13 over an even
/// one of degree 6, argument clamped to ±7.9, where tanh rounds to ±1). Unlike
/// `f32::tanh` (a libm call per element), the compiler vectorises it.
#[inline(always)]
#[allow(clippy::excessive_precision)] // the coefficients as published
pub fn tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let p = x2 * -2.760_768_5e-16 + 2.000_187_9e-13;
    let p = x2 * p + -8.604_671_5e-11;
    let p = x2 * p + 5.122_297e-8;
    let p = x2 * p + 1.485_722_4e-5;
    let p = x2 * p + 6.372_619_3e-4;
    let p = x2 * p + 4.893_524_6e-3;
    let q = x2 * 1.198_258_4e-6 + 1.185_347_1e-4;
    let q = x2 * q + 2.268_434_6e-3;
    let q = x2 * q + 4.893_525e-3;
    x * p / q
}

/// The f32 elements of a contiguous CPU tensor, borrowed (`f` runs under the storage's
/// read lock), or copied when the layout is strided.
pub(crate) fn with_f32<T>(t: &Tensor, f: impl FnOnce(&[f32]) -> T) -> Result<T> {
    {
        let (storage, layout) = t.storage_and_layout();
        if let (Storage::Cpu(cpu), Some((start, end))) = (&*storage, layout.contiguous_offsets()) {
            return Ok(f(&cpu.as_slice::<f32>()?[start..end]));
        }
    }
    Ok(f(&t.flatten_all()?.to_vec1::<f32>()?))
}

impl CustomOp3 for Dense {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        lx: &Layout,
        w: &CpuStorage,
        lw: &Layout,
        b: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (&[n, k], &[k2, out]) = (lx.dims(), lw.dims()) else {
            candle_core::bail!("dense: x {:?} and W {:?} must be matrices", lx.dims(), lw.dims())
        };
        let Some((b0, b1)) = lb.contiguous_offsets().filter(|(b0, b1)| k == k2 && b1 - b0 == out) else {
            candle_core::bail!("dense: x {:?}, W {:?} and b {:?} do not fit", lx.dims(), lw.dims(), lb.dims())
        };
        let b = &b.as_slice::<f32>()?[b0..b1];
        // z = x W: candle's own CPU matrix product (gemm), on the storages.
        let CpuStorage::F32(mut y) = x.matmul(w, (1, n, out, k), lx, lw)? else {
            candle_core::bail!("dense: f32 only")
        };
        for row in y.chunks_exact_mut(out) {
            match self.0 {
                Some(Activation::Tanh) => row.iter_mut().zip(b).for_each(|(z, b)| *z = tanh_f32(*z + b)),
                Some(Activation::Relu) => row.iter_mut().zip(b).for_each(|(z, b)| *z = (*z + b).max(0.0)),
                None => row.iter_mut().zip(b).for_each(|(z, b)| *z += b),
            }
        }
        Ok((CpuStorage::F32(y), Shape::from((n, out))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        y: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let out = b.elem_count();
        let mut db = vec![0f32; out];
        let dz = with_f32(y, |y| {
            with_f32(g, |g| {
                let mut dz = g.to_vec();
                for (y, dz) in y.chunks_exact(out).zip(dz.chunks_exact_mut(out)) {
                    match self.0 {
                        Some(Activation::Tanh) => dz.iter_mut().zip(y).for_each(|(d, y)| *d *= 1.0 - y * y),
                        Some(Activation::Relu) => dz.iter_mut().zip(y).for_each(|(d, y)| *d *= f32::from(*y > 0.0)),
                        None => {}
                    }
                    db.iter_mut().zip(dz.iter()).for_each(|(db, dz)| *db += dz);
                }
                dz
            })
        })??;
        let dz = Tensor::from_vec(dz, y.shape(), y.device())?;
        let dx = if x.track_op() { Some(dz.matmul(&w.t()?)?) } else { None };
        let dw = x.t()?.matmul(&dz)?;
        Ok((dx, Some(dw), Some(Tensor::from_vec(db, out, b.device())?)))
    }
}

/// Whether [`dense`] applies to tensors of `dtype` (f32 only).
pub fn fits(dtype: DType) -> bool {
    dtype == DType::F32
}
