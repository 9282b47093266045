//! Chapter 5: the tokenizer, the GPT, KV-cache sampling, token log-probabilities,
//! checkpoints, pre-training and the chapter binary.

use candle_core::{Device, Tensor, D};
use rl_sandbox::llm::checkpoint;
use rl_sandbox::llm::corpus::MIX;
use rl_sandbox::llm::model::{causal_bias, KvCache};
use rl_sandbox::llm::pretrain::{lm_loss, pretrain, PretrainConfig};
use rl_sandbox::llm::task::{r1_prompt, test_problems};
use rl_sandbox::llm::{sample, token_logprobs, Gpt, GptConfig, SampleConfig, Tokenizer};
use rl_sandbox::rng;
use std::process::Command;

fn tiny(tied: bool) -> GptConfig {
    GptConfig {
        vocab_size: Tokenizer::new().vocab_size(),
        context: 32,
        d_model: 32,
        n_heads: 4,
        n_layers: 2,
        tied_head: tied,
    }
}

fn model(tied: bool, seed: u64) -> Gpt {
    Gpt::new(tiny(tied), &mut rng::seeded(seed, 0)).unwrap()
}

fn ids(v: &[u32]) -> Tensor {
    Tensor::from_vec(v.to_vec(), (1, v.len()), &Device::Cpu).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
}

#[test]
fn every_parameter_gets_a_gradient() {
    for tied in [true, false] {
        let m = model(tied, 1);
        let mut r = rng::seeded(1, 1);
        let tok = Tokenizer::new();
        let rows: Vec<Vec<u32>> =
            (0..4).map(|_| rl_sandbox::llm::corpus::row(&tok, &MIX, 0.1, 25, &mut r).unwrap()).collect();
        let grads = lm_loss(&m, &rows).unwrap().backward().unwrap();
        for (name, v) in m.named_vars() {
            let g = grads.get(v).unwrap_or_else(|| panic!("{name} has no gradient"));
            let norm = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(norm > 0.0 && norm.is_finite(), "{name}: gradient norm {norm}");
        }
        // The same through token_logprobs, which GRPO backpropagates through.
        let (lp, mask) = token_logprobs(&m, &[vec![1, 20, 21], vec![1]], &[vec![3, 4], vec![5, 6, 7]]).unwrap();
        let grads = (lp * mask).unwrap().sum_all().unwrap().backward().unwrap();
        for (name, v) in m.named_vars() {
            assert!(grads.get(v).is_some(), "{name}: no gradient through token_logprobs");
        }
    }
}

#[test]
fn kv_cache_logits_equal_the_full_forward_pass() {
    let m = model(true, 2);
    let seq: Vec<u32> = vec![1, 20, 22, 24, 26, 2, 3, 25, 27, 4, 5, 28];
    let full = m.forward(&ids(&seq)).unwrap();
    // Prefill 5 tokens, then one at a time.
    let mut cache = KvCache::default();
    let pos = |a: usize, b: usize| ids(&(a as u32..b as u32).collect::<Vec<_>>());
    let first = m.forward_with(&ids(&seq[..5]), &pos(0, 5), &causal_bias(5).unwrap(), Some(&mut cache)).unwrap();
    assert!(max_diff(&first, &full.narrow(1, 0, 5).unwrap()) < 1e-5);
    for t in 5..seq.len() {
        let zero = Tensor::zeros((1, 1, 1, t + 1), candle_core::DType::F32, &Device::Cpu).unwrap();
        let step = m.forward_with(&ids(&seq[t..t + 1]), &pos(t, t + 1), &zero, Some(&mut cache)).unwrap();
        let d = max_diff(&step, &full.narrow(1, t, 1).unwrap());
        assert!(d < 1e-5, "position {t}: {d}");
    }
}

#[test]
fn batched_left_padded_sampling_matches_one_prompt_at_a_time() {
    let m = model(false, 3);
    let tok = Tokenizer::new();
    let prompts = vec![vec![1, 20, 21, 22], vec![1, 23], vec![1, 24, 25, 26, 27, 28, 2]];
    let cfg = SampleConfig { temperature: 0.0, top_k: 0, max_new: 10 };
    let together = sample(&m, &tok, &prompts, 2, &cfg, &mut rng::seeded(0, 0)).unwrap();
    for (i, p) in prompts.iter().enumerate() {
        let alone = sample(&m, &tok, std::slice::from_ref(p), 1, &cfg, &mut rng::seeded(0, 0)).unwrap();
        assert_eq!(together.ids[2 * i], alone.ids[0], "prompt {i}");
        assert_eq!(together.ids[2 * i + 1], alone.ids[0]);
        // Greedy by hand with full forward passes.
        let mut seq = p.clone();
        for _ in 0..alone.ids[0].len() {
            let logits = m.forward(&ids(&seq)).unwrap();
            let next = logits.narrow(1, seq.len() - 1, 1).unwrap().flatten_all().unwrap().argmax(D::Minus1).unwrap();
            seq.push(next.to_scalar::<u32>().unwrap());
        }
        assert_eq!(&seq[p.len()..], &alone.ids[0][..]);
    }
    // Sampling is reproducible from the seed, and stops at the limit.
    let cfg = SampleConfig { temperature: 1.0, top_k: 5, max_new: 7 };
    let a = sample(&m, &tok, &prompts, 3, &cfg, &mut rng::seeded(5, 0)).unwrap();
    let b = sample(&m, &tok, &prompts, 3, &cfg, &mut rng::seeded(5, 0)).unwrap();
    assert_eq!(a.ids, b.ids);
    assert!(a.ids.iter().all(|s| !s.is_empty() && s.len() <= 7));
    assert_eq!(a.prompt, vec![0, 0, 0, 1, 1, 1, 2, 2, 2]);
}

#[test]
fn token_logprobs_with_padding_match_a_slow_reference() {
    let m = model(true, 4);
    let prompts = vec![vec![1, 20, 21], vec![1], vec![1, 22, 23, 24, 25]];
    let completions = vec![vec![3, 4, 0], vec![5, 6, 7, 8, 9], vec![10]];
    let (lp, mask) = token_logprobs(&m, &prompts, &completions).unwrap();
    let lp = lp.to_vec2::<f32>().unwrap();
    let mask = mask.to_vec2::<f32>().unwrap();
    for (i, (p, c)) in prompts.iter().zip(&completions).enumerate() {
        let seq: Vec<u32> = p.iter().chain(c).copied().collect();
        let logits = m.forward(&ids(&seq)).unwrap().squeeze(0).unwrap();
        let logp = candle_nn::ops::log_softmax(&logits, D::Minus1).unwrap().to_vec2::<f32>().unwrap();
        for j in 0..5 {
            if j < c.len() {
                let want = logp[p.len() + j - 1][c[j] as usize];
                assert!((lp[i][j] - want).abs() < 1e-5, "row {i} token {j}: {} vs {want}", lp[i][j]);
                assert_eq!(mask[i][j], 1.0);
            } else {
                assert_eq!((lp[i][j], mask[i][j]), (0.0, 0.0));
            }
        }
    }
}

#[test]
fn checkpoint_round_trip_and_clear_errors() {
    let dir = std::env::temp_dir().join(format!("rl-sandbox-ch05-ckpt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tok = Tokenizer::new();
    let m = model(false, 5);
    let path = dir.join("m.safetensors");
    checkpoint::save(&m, &tok, serde_json::json!({"note": "test"}), &path).unwrap();
    let (back, meta) = checkpoint::load(&path, &tok).unwrap();
    assert_eq!(meta.config, m.cfg);
    let x = ids(&[1, 20, 21, 22, 2]);
    assert_eq!(max_diff(&m.forward(&x).unwrap(), &back.forward(&x).unwrap()), 0.0);
    // Damaged weights.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = checkpoint::load(&path, &tok).err().unwrap().to_string();
    assert!(e.contains("m.safetensors") && e.contains("safetensors"), "{e}");
    // A config that does not match the weights.
    std::fs::write(&path, &bytes).unwrap();
    let json = std::fs::read_to_string(dir.join("m.json")).unwrap();
    std::fs::write(dir.join("m.json"), json.replace("\"d_model\": 32", "\"d_model\": 64")).unwrap();
    let e = checkpoint::load(&path, &tok).err().unwrap().to_string();
    assert!(e.contains("shape"), "{e}");
    std::fs::write(dir.join("m.json"), "{ not json").unwrap();
    assert!(checkpoint::load(&path, &tok).err().unwrap().to_string().contains("m.json"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shipped_base_model_loads_and_answers_in_the_template() {
    let (m, tok) = rl_sandbox::llm::load_base().unwrap();
    let p = test_problems(8);
    let prompts: Vec<Vec<u32>> = p.iter().map(|p| tok.encode(&r1_prompt(&p.question())).unwrap()).collect();
    let s = sample(
        &m,
        &tok,
        &prompts,
        4,
        &SampleConfig { temperature: 1.0, top_k: 0, max_new: 48 },
        &mut rng::seeded(0, 0),
    )
    .unwrap();
    assert_eq!(s.texts.len(), 32);
    assert!(s.stopped.iter().filter(|&&x| x).count() >= 24, "the base model mostly ends its answers");
}

fn tiny_pretrain(seed: u64) -> Vec<f64> {
    let cfg = PretrainConfig {
        steps: 30,
        batch: 8,
        seq_len: 32,
        lr: 3e-3,
        min_lr: 3e-4,
        warmup: 5,
        weight_decay: 0.1,
        noise: 0.1,
    };
    let (_, log) = pretrain(&tiny(true), &cfg, &MIX, seed, |_| {}).unwrap();
    log.iter().map(|s| s.loss).collect()
}

#[test]
fn pretraining_lowers_the_loss_and_is_deterministic() {
    let a = tiny_pretrain(7);
    let b = tiny_pretrain(7);
    assert_eq!(a, b, "same seed, same loss curve");
    let first = a[..5].iter().sum::<f64>() / 5.0;
    let last = a[a.len() - 5..].iter().sum::<f64>() / 5.0;
    assert!(last < first - 0.5, "loss {first:.3} -> {last:.3}");
    assert_ne!(tiny_pretrain(8), a);
}

#[test]
fn damaged_checkpoint_ends_with_one_line_and_exit_code_2() {
    let dir = std::env::temp_dir().join(format!("rl-sandbox-ch05-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = checkpoint::shipped_path();
    std::fs::copy(checkpoint::meta_path(&shipped), dir.join("bad.json")).unwrap();
    std::fs::write(dir.join("bad.safetensors"), b"this is not a safetensors file").unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_ch05-language-model"))
        .args(["--quick", "--model", dir.join("bad.safetensors").to_str().unwrap(), "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("bad.safetensors") && stderr.contains("safetensors file"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn quick_run_evaluates_the_shipped_model() {
    let out = std::env::temp_dir().join(format!("rl-sandbox-ch05-quick-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = Command::new(env!("CARGO_BIN_EXE_ch05-language-model"))
        .args(["--quick", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let dir = out.join("ch05-language-model");
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let h = &s["headline"];
    for key in [
        "params",
        "accuracy_greedy",
        "accuracy_sampled",
        "format_rate",
        "mean_response_length",
        "pass_at_16",
        "maj_at_16",
        "train_tokens_per_s",
        "sample_tokens_per_s",
    ] {
        assert!(h[key].is_number(), "headline lacks {key}");
    }
    // The base model leaves room for RL: sometimes right, often not, right within 16 tries.
    let (acc, fmt, pass16) = (
        h["accuracy_sampled"].as_f64().unwrap(),
        h["format_rate"].as_f64().unwrap(),
        h["pass_at_16"].as_f64().unwrap(),
    );
    assert!(acc > 0.03 && acc < 0.6 && fmt > 0.1 && fmt < 0.7 && pass16 > 0.5, "{h}");
    for f in s["figures"].as_array().unwrap() {
        assert!(dir.join(f.as_str().unwrap()).exists());
    }
    assert!(dir.join("samples.txt").exists());
    let _ = std::fs::remove_dir_all(&out);
}
