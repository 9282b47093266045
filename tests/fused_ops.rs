//! The transformer's fused kernels (`llm::fused`; its dense layers are `nn::fused::dense`,
//! tested with chapter 4) against the chains of candle ops they
//! replace (the model's code before fusing, kept here as the reference) and their
//! gradients against central finite differences.

use candle_core::{Device, Tensor, Var, D};
use rand::RngExt;
use rl_sandbox::llm::fused::{self, MASKED};
use rl_sandbox::rng;

fn random(shape: &[usize], seed: u64) -> Tensor {
    let mut r = rng::seeded(seed, 0);
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|_| r.random_range(-1.0f32..1.0)).collect::<Vec<_>>(), shape, &Device::Cpu).unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    values(a).iter().zip(values(b)).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// A scalar loss Σ wᵢ·outᵢ with fixed random weights, so every output matters.
fn weighted_sum(out: &Tensor, seed: u64) -> Tensor {
    (out * random(out.dims(), seed)).unwrap().sum_all().unwrap()
}

/// Checks the gradient of `f`'s weighted sum with respect to each input against the
/// composed `reference` (to `tol`) and, on a few coordinates, against central finite
/// differences of the fused function.
fn check(inputs: &[Tensor], fused: impl Fn(&[Tensor]) -> Tensor, reference: impl Fn(&[Tensor]) -> Tensor, tol: f32) {
    let vars: Vec<Var> = inputs.iter().map(|t| Var::from_tensor(t).unwrap()).collect();
    let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let (a, b) = (fused(&tensors), reference(&tensors));
    assert!(max_abs_diff(&a, &b) < tol, "outputs differ by {}", max_abs_diff(&a, &b));
    let (ga, gb) = (weighted_sum(&a, 99).backward().unwrap(), weighted_sum(&b, 99).backward().unwrap());
    for (i, v) in vars.iter().enumerate() {
        let (da, db) = (ga.get(v).expect("fused gradient"), gb.get(v).expect("composed gradient"));
        let d = max_abs_diff(da, db);
        assert!(d < tol, "input {i}: gradients differ by {d}");
        // Central differences on a few coordinates, the loss summed in f64.
        let loss = |ts: &[Tensor]| -> f64 {
            let out = values(&fused(ts));
            out.iter().zip(values(&random(a.dims(), 99))).map(|(o, w)| *o as f64 * w as f64).sum()
        };
        let n = v.elem_count();
        let grad = values(da);
        for j in [0, n / 3, n / 2, n - 1] {
            let h = 1e-3f32; // small enough not to cross a ReLU kink here
            let shifted = |delta: f32| -> f64 {
                let mut x = values(&tensors[i]);
                x[j] += delta;
                let mut ts = tensors.clone();
                ts[i] = Tensor::from_vec(x, tensors[i].dims(), &Device::Cpu).unwrap();
                loss(&ts)
            };
            let fd = (shifted(h) - shifted(-h)) / (2.0 * h as f64);
            let err = (fd - grad[j] as f64).abs();
            assert!(err < 2e-3 + 1e-2 * fd.abs(), "input {i}[{j}]: finite difference {fd}, backward {}", grad[j]);
        }
    }
}

#[test]
fn layer_norm_equals_the_composed_one() {
    let composed = |t: &[Tensor]| {
        let x = &t[0];
        let mu = x.mean_keepdim(D::Minus1).unwrap();
        let xc = x.broadcast_sub(&mu).unwrap();
        let var = xc.sqr().unwrap().mean_keepdim(D::Minus1).unwrap();
        let s = (var + 1e-5).unwrap().sqrt().unwrap();
        xc.broadcast_div(&s).unwrap().broadcast_mul(&t[1]).unwrap().broadcast_add(&t[2]).unwrap()
    };
    let inputs = [(random(&[6, 16], 1) * 3.0).unwrap(), (random(&[16], 2) + 1.0).unwrap(), random(&[16], 3)];
    check(&inputs, |t| fused::layer_norm(&t[0], &t[1], &t[2]).unwrap(), composed, 1e-5);
}

/// The model's attention before fusing: split q, k, v into heads, softmax of the scaled
/// scores plus the bias, weighted sum of the values, heads side by side again.
fn composed_attention(qkv: &Tensor, bias: &Tensor, b: usize, t: usize, h: usize) -> Tensor {
    let d = qkv.dim(1).unwrap() / 3;
    let hd = d / h;
    let split = |i: usize| {
        qkv.narrow(1, i * d, d).unwrap().reshape((b, t, h, hd)).unwrap().transpose(1, 2).unwrap().contiguous().unwrap()
    };
    let (q, k, v) = (split(0), split(1), split(2));
    let scores =
        (q.matmul(&k.t().unwrap()).unwrap() * (1.0 / (hd as f64).sqrt())).unwrap().broadcast_add(bias).unwrap();
    let att = candle_nn::ops::softmax(&scores, D::Minus1).unwrap();
    att.matmul(&v).unwrap().transpose(1, 2).unwrap().reshape((b * t, d)).unwrap()
}

#[test]
fn self_attention_equals_the_composed_one_under_causal_and_padding_masks() {
    let (b, t, h, d) = (3, 5, 2, 8);
    let qkv = (random(&[b * t, 3 * d], 7) * 2.0).unwrap();
    // One causal mask for every row.
    let causal = rl_sandbox::llm::model::causal_bias(t).unwrap();
    check(
        std::slice::from_ref(&qkv),
        |x| fused::self_attention(&x[0], &causal, b, t, h).unwrap(),
        |x| composed_attention(&x[0], &causal, b, t, h),
        1e-5,
    );
    // Per-row masks: causal, with the first `pad` keys masked (left padding; a padded
    // query sees only itself) and a gap in the middle for the last row.
    let mut bias = Vec::new();
    for (row, pad) in [0usize, 2, 1].into_iter().enumerate() {
        for i in 0..t {
            bias.extend((0..t).map(|j| {
                let open = j <= i && (j >= pad || j == i) && !(row == 2 && j == 2 && i > 2);
                if open {
                    0.0f32
                } else {
                    MASKED
                }
            }));
        }
    }
    let bias = Tensor::from_vec(bias, (b, 1, t, t), &Device::Cpu).unwrap();
    check(
        std::slice::from_ref(&qkv),
        |x| fused::self_attention(&x[0], &bias, b, t, h).unwrap(),
        |x| composed_attention(&x[0], &bias, b, t, h),
        1e-5,
    );
}

#[test]
fn token_log_probs_equal_log_softmax_then_gather() {
    let targets = [3u32, 0, 6, 6, 1];
    let composed = |t: &[Tensor]| {
        let idx = Tensor::from_vec(targets.to_vec(), (5, 1), &Device::Cpu).unwrap();
        candle_nn::ops::log_softmax(&t[0], D::Minus1).unwrap().gather(&idx, 1).unwrap().squeeze(1).unwrap()
    };
    let logits = (random(&[5, 7], 8) * 4.0).unwrap();
    check(&[logits], |t| fused::token_log_probs(&t[0], &targets).unwrap(), composed, 1e-5);
    assert!(fused::token_log_probs(&random(&[2, 3], 9), &[0, 3]).is_err(), "a target past the vocabulary");
}

#[test]
fn the_whole_model_gradient_equals_finite_differences() {
    use rl_sandbox::llm::pretrain::lm_loss;
    use rl_sandbox::llm::{Gpt, GptConfig};
    let cfg = GptConfig { vocab_size: 11, context: 12, d_model: 8, n_heads: 2, n_layers: 2, tied_head: true };
    let model = Gpt::new(cfg, &mut rng::seeded(3, 0)).unwrap();
    // Larger weights than the GPT-2 initialisation, so that every path carries signal.
    for (_, v) in model.named_vars() {
        if v.rank() == 2 {
            v.set(&(v.as_tensor() * 20.0).unwrap()).unwrap();
        }
    }
    // Two rows; the end token (2) splits the second into two documents.
    let rows = vec![vec![1u32, 5, 6, 7, 8, 9, 10, 3, 4], vec![1u32, 4, 2, 1, 6, 6, 3, 2, 5]];
    let loss = |m: &Gpt| lm_loss(m, &rows).unwrap().to_scalar::<f32>().unwrap() as f64;
    let grads = lm_loss(&model, &rows).unwrap().backward().unwrap();
    let vars = model.named_vars();
    let theta: Vec<Vec<f32>> = vars.iter().map(|(_, v)| values(v.as_tensor())).collect();
    let g: Vec<Vec<f32>> =
        vars.iter().map(|(name, v)| values(grads.get(v).unwrap_or_else(|| panic!("{name}: no gradient")))).collect();
    // Directional derivatives along the gradient and along a random direction, each
    // against (L(θ + h·u) − L(θ − h·u)) / 2h: f32 round-off is too coarse for single
    // coordinates, the sum over all parameters is not.
    let mut r = rng::seeded(4, 0);
    let random_dir: Vec<Vec<f32>> =
        g.iter().map(|x| x.iter().map(|_| r.random_range(-1.0f32..1.0)).collect()).collect();
    for (what, dir) in [("the gradient", &g), ("a random direction", &random_dir)] {
        let norm = dir.iter().flatten().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        let along = |h: f64| {
            for ((_, v), (x, u)) in vars.iter().zip(theta.iter().zip(dir)) {
                let y: Vec<f32> = x.iter().zip(u).map(|(x, u)| x + (h * *u as f64 / norm) as f32).collect();
                v.set(&Tensor::from_vec(y, v.dims(), &Device::Cpu).unwrap()).unwrap();
            }
            loss(&model)
        };
        let h = 1e-2;
        let fd = (along(h) - along(-h)) / (2.0 * h);
        along(0.0);
        let backward: f64 =
            g.iter().flatten().zip(dir.iter().flatten()).map(|(g, u)| *g as f64 * *u as f64).sum::<f64>() / norm;
        assert!(
            (fd - backward).abs() < 1e-2 * backward.abs().max(0.1),
            "along {what}: finite difference {fd}, backward {backward}"
        );
    }
}
