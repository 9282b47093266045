//! A multi-layer perceptron: x → [linear → activation] × k → linear.
//!
//! Weights live in candle `Var`s for training; [`Mlp::plain`] copies them into plain
//! `Vec<f32>`s for acting, where a batch-1 forward pass in a few lines of Rust is many
//! times faster than a call into candle.

use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// The non-linearity between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Tanh,
    Relu,
}

impl Activation {
    fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            // tanh(x) = 2σ(2x) − 1: the same function, and about twice as fast as
            // candle's tanh on the CPU.
            Activation::Tanh => candle_nn::ops::sigmoid(&x.affine(2.0, 0.0)?)?.affine(2.0, -1.0),
            Activation::Relu => x.relu(),
        }
    }

    fn apply_f32(self, x: f32) -> f32 {
        match self {
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.max(0.0),
        }
    }

    /// Initial weight scale that keeps activations at unit size through the layers
    /// (LeCun for tanh, He for ReLU).
    fn gain(self) -> f64 {
        match self {
            Activation::Tanh => 1.0,
            Activation::Relu => std::f64::consts::SQRT_2,
        }
    }
}

/// An MLP whose layer sizes are `sizes = [inputs, hidden..., outputs]`.
#[derive(Clone, Debug)]
pub struct Mlp {
    /// (weight [in, out], bias [out]) per layer.
    layers: Vec<(Var, Var)>,
    activation: Activation,
    sizes: Vec<usize>,
}

impl Mlp {
    /// Weights drawn from N(0, gain²/fan_in) with the run's seeded `rng`, biases 0. The
    /// last layer is further scaled by `out_scale`: a small value (0.01) makes a policy
    /// start almost uniform, 1 suits a value function.
    pub fn new<R: Rng + ?Sized>(
        sizes: &[usize],
        activation: Activation,
        out_scale: f64,
        dtype: DType,
        rng: &mut R,
    ) -> candle_core::Result<Mlp> {
        assert!(sizes.len() >= 2 && sizes.iter().all(|&n| n > 0), "an MLP needs at least inputs and outputs");
        let mut layers = Vec::new();
        for (k, pair) in sizes.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let last = k + 2 == sizes.len();
            let std = activation.gain() / (fan_in as f64).sqrt() * if last { out_scale } else { 1.0 };
            let w: Vec<f64> = (0..fan_in * fan_out)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(rng);
                    std * z
                })
                .collect();
            let w = Tensor::from_vec(w, (fan_in, fan_out), &Device::Cpu)?.to_dtype(dtype)?;
            let b = Tensor::zeros(fan_out, dtype, &Device::Cpu)?;
            layers.push((Var::from_tensor(&w)?, Var::from_tensor(&b)?));
        }
        Ok(Mlp { layers, activation, sizes: sizes.to_vec() })
    }

    /// An MLP from its weights, (weight `[in, out]`, bias `[out]`) per layer, as
    /// [`Mlp::vars`] lists them (a saved agent: see [`crate::nn::saved`]). The shapes
    /// must chain; the caller has checked them.
    pub fn from_tensors(layers: Vec<(Tensor, Tensor)>, activation: Activation) -> candle_core::Result<Mlp> {
        let mut sizes = vec![layers.first().map_or(Ok(0), |(w, _)| w.dim(0))?];
        let mut vars = Vec::new();
        for (w, b) in layers {
            sizes.push(w.dim(1)?);
            vars.push((Var::from_tensor(&w)?, Var::from_tensor(&b)?));
        }
        Ok(Mlp { layers: vars, activation, sizes })
    }

    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// x `[N, inputs]` → `[N, outputs]`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        for (k, (w, b)) in self.layers.iter().enumerate() {
            h = h.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
            if k + 1 < self.layers.len() {
                h = self.activation.apply(&h)?;
            }
        }
        Ok(h)
    }

    /// The same function as [`Mlp::forward`], faster to differentiate on a batch: each
    /// layer is one fused graph node ([`crate::nn::fused::dense`], with tanh from a
    /// vectorised rational approximation) instead of five candle operations, whose fixed
    /// costs (and the strided reduction that candle's broadcast-add backward does) were
    /// most of a PPO minibatch step. The outputs agree with [`Mlp::forward`] to float rounding
    /// (a few 10⁻⁷). Weights other than f32 take [`Mlp::forward`].
    pub fn forward_batch(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if !super::fused::fits(self.dtype()) {
            return self.forward(x);
        }
        let mut h = x.clone();
        for (k, (w, b)) in self.layers.iter().enumerate() {
            let activation = (k + 1 < self.layers.len()).then_some(self.activation);
            h = super::fused::dense(&h, w.as_tensor(), b.as_tensor(), activation)?;
        }
        Ok(h)
    }

    /// The single output of a one-output network (a value function) for each row of
    /// `rows`, a flat row-major list of inputs.
    pub fn values(&self, rows: &[f32]) -> candle_core::Result<Vec<f64>> {
        let n = rows.len() / self.sizes[0];
        if n == 0 {
            return Ok(vec![]);
        }
        let x = Tensor::from_vec(rows.to_vec(), (n, self.sizes[0]), &Device::Cpu)?.to_dtype(self.dtype())?;
        let v = self.forward(&x)?.squeeze(1)?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
        Ok(v)
    }

    /// The floating-point type of the weights.
    pub fn dtype(&self) -> DType {
        self.layers[0].0.dtype()
    }

    /// Every parameter, weight then bias, layer by layer.
    pub fn vars(&self) -> Vec<Var> {
        self.layers.iter().flat_map(|(w, b)| [w.clone(), b.clone()]).collect()
    }

    pub fn n_params(&self) -> usize {
        self.layers.iter().map(|(w, b)| w.elem_count() + b.elem_count()).sum()
    }

    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// A copy of the current weights as plain f32 vectors, for fast acting.
    pub fn plain(&self) -> candle_core::Result<PlainMlp> {
        let mut layers = Vec::new();
        for (w, b) in &self.layers {
            let (n_in, n_out) = w.dims2()?;
            let w = w.as_tensor().to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
            let b = b.as_tensor().to_dtype(DType::F32)?.to_vec1::<f32>()?;
            layers.push(PlainLayer { w, b, n_in, n_out });
        }
        Ok(PlainMlp { layers, activation: self.activation })
    }
}

#[derive(Clone, Debug)]
struct PlainLayer {
    /// Row-major `[n_in, n_out]`, as in the candle weight.
    w: Vec<f32>,
    b: Vec<f32>,
    n_in: usize,
    n_out: usize,
}

/// The same MLP as plain vectors: one input at a time, no candle.
#[derive(Clone, Debug)]
pub struct PlainMlp {
    layers: Vec<PlainLayer>,
    activation: Activation,
}

impl PlainMlp {
    /// The outputs for one input vector (the same function as [`Mlp::forward`], up to
    /// f32 rounding).
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut h = x.to_vec();
        for (k, layer) in self.layers.iter().enumerate() {
            debug_assert_eq!(h.len(), layer.n_in);
            let mut out = layer.b.clone();
            // Row by row of w, so the inner loop runs over contiguous memory.
            for (i, &hi) in h.iter().enumerate() {
                let row = &layer.w[i * layer.n_out..(i + 1) * layer.n_out];
                out.iter_mut().zip(row).for_each(|(o, w)| *o += hi * w);
            }
            if k + 1 < self.layers.len() {
                out.iter_mut().for_each(|v| *v = self.activation.apply_f32(*v));
            }
            h = out;
        }
        h
    }
}
