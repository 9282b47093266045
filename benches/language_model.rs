//! Chapter 5 throughput, one intra-op thread (`cargo bench --bench language_model`):
//! a pre-training step (forward, backward, AdamW) on 64 rows × 64 tokens, and cached
//! sampling of 256 sequences × 48 new tokens, the two numbers the lesson's Speed section reports.

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rl_sandbox::llm::corpus::{self, MIX_ADD2};
use rl_sandbox::llm::model::{causal_bias, KvCache};
use rl_sandbox::llm::pretrain::lm_loss;
use rl_sandbox::llm::{sample, Gpt, GptConfig, SampleConfig, Task, Tokenizer};
use rl_sandbox::{rng, stats};
use std::time::Instant;

fn main() {
    // Before candle starts its pools, as the chapter's run context does with --threads 1.
    rl_sandbox::run::set_intra_op_threads(1);
    rl_sandbox::llm::tune_allocator();
    // The 2-digit task's vocabulary (29 tokens) and shape, as the PyTorch peer builds them.
    let tok = Tokenizer::for_task(Task::Add2);
    let cfg =
        GptConfig { vocab_size: tok.vocab_size(), context: 64, d_model: 128, n_heads: 4, n_layers: 2, tied_head: true };
    let model = Gpt::new(cfg, &mut rng::seeded(0, 0)).expect("model");
    println!("GPT 2 layers, d 128, 4 heads, {} parameters, one thread", model.n_params());

    let mut r = rng::seeded(0, 1);
    let rows: Vec<Vec<u32>> = (0..64).map(|_| corpus::row(&tok, &MIX_ADD2, 0.1, 65, &mut r).expect("row")).collect();
    let mut opt = AdamW::new(model.vars(), ParamsAdamW { lr: 1e-4, ..Default::default() }).expect("adamw");
    let mut times = Vec::new();
    for i in 0..6 {
        let t = Instant::now();
        let loss = lm_loss(&model, &rows).expect("loss");
        opt.backward_step(&loss).expect("step");
        if i > 0 {
            times.push(t.elapsed().as_secs_f64()); // the first step warms the allocator up
        }
    }
    let step = stats::median(&times);
    println!("  train step 64 x 64 tokens:    {step:.3} s  ({:.0} tokens/s)", 64.0 * 64.0 / step);

    // The sampler itself (a random model stops at the end token after ~24 tokens on average).
    let prompt = tok.encode(&rl_sandbox::llm::task::r1_prompt("47+85")).expect("prompt");
    let sc = SampleConfig { temperature: 1.0, top_k: 0, max_new: 48 };
    let (mut times, mut tokens) = (Vec::new(), 0);
    for i in 0..3 {
        let t = Instant::now();
        let s = sample(&model, &tok, std::slice::from_ref(&prompt), 256, &sc, &mut rng::seeded(i, 2)).expect("sample");
        times.push(t.elapsed().as_secs_f64());
        tokens = s.ids.iter().map(Vec::len).sum::<usize>();
    }
    let t = stats::median(&times);
    println!(
        "  sample(): 256 sequences, <= 48 new tokens: {t:.3} s  ({tokens} tokens, {:.0} tokens/s)",
        tokens as f64 / t
    );

    // All 256 sequences for the full 48 tokens: the cached forward passes alone.
    let dev = &Device::Cpu;
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut cache = KvCache::with_capacity(prompt.len() + 48);
        let p = prompt.len();
        let ids = Tensor::from_vec(prompt.repeat(256), (256, p), dev).expect("ids");
        let pos = Tensor::from_vec((0..p as u32).cycle().take(256 * p).collect(), (256, p), dev).expect("pos");
        model.forward_with(&ids, &pos, &causal_bias(p).expect("bias"), Some(&mut cache)).expect("prefill");
        for step in 0..47 {
            let ids = Tensor::from_vec(vec![3u32; 256], (256, 1), dev).expect("ids");
            let pos = Tensor::from_vec(vec![(p + step) as u32; 256], (256, 1), dev).expect("pos");
            let bias = Tensor::zeros((1, 1, 1, p + step + 1), DType::F32, dev).expect("bias");
            let logits = model.forward_with(&ids, &pos, &bias, Some(&mut cache)).expect("step");
            logits.to_vec3::<f32>().expect("logits");
        }
        times.push(t.elapsed().as_secs_f64());
    }
    let t = stats::median(&times);
    println!("  256 x 48 tokens, cached forward passes: {t:.3} s  ({:.0} tokens/s)", 256.0 * 48.0 / t);
}
