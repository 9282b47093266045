//! Chapter 5: the tokenizer, the GPT, KV-cache sampling, token log-probabilities,
//! checkpoints, pre-training and the chapter binary.

mod common;

use candle_core::{Device, Tensor, D};
use rl_sandbox::llm::base_model::BaseModelHeadline;
use rl_sandbox::llm::checkpoint;
use rl_sandbox::llm::corpus::MIX_ADD3;
use rl_sandbox::llm::model::{causal_bias, KvCache};
use rl_sandbox::llm::pretrain::{lm_loss, pretrain, PretrainConfig};
use rl_sandbox::llm::task::r1_prompt;
use rl_sandbox::llm::Task;
use rl_sandbox::llm::{sample, token_logprobs, Gpt, GptConfig, SampleConfig, Tokenizer};
use rl_sandbox::report::Summary;
use rl_sandbox::rng;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn tiny(tied: bool) -> GptConfig {
    GptConfig {
        vocab_size: Tokenizer::default().vocab_size(),
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
        let tok = Tokenizer::default();
        let rows: Vec<Vec<u32>> =
            (0..4).map(|_| rl_sandbox::llm::corpus::row(&tok, &MIX_ADD3, 0.1, 25, &mut r).unwrap()).collect();
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
    let tok = Tokenizer::default();
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
    let tok = Tokenizer::default();
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
    let (m, tok) = rl_sandbox::llm::load_base(Task::Add3).unwrap();
    let p = Task::Add3.test_problems(8);
    let prompts: Vec<Vec<u32>> = p.iter().map(|p| tok.encode(&r1_prompt(&p.question())).unwrap()).collect();
    let s = sample(
        &m,
        &tok,
        &prompts,
        4,
        &SampleConfig { temperature: 1.0, top_k: 0, max_new: 64 },
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
    let (_, log) = pretrain(&tiny(true), &cfg, &Tokenizer::default(), &MIX_ADD3, seed, |_| {}).unwrap();
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
    let shipped = checkpoint::shipped_path(Task::Add3);
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

/// Runs the chapter binary with `args` into a fresh folder named after `name`; returns
/// the outputs' folder, the summary and its typed headline (a missing or renamed key
/// fails here).
fn run_chapter(name: &str, args: &[&str]) -> (PathBuf, Summary, BaseModelHeadline) {
    let out = std::env::temp_dir().join(format!("rl-sandbox-ch05-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = Command::new(env!("CARGO_BIN_EXE_ch05-language-model"))
        .args(args)
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let dir = out.join("ch05-language-model");
    let s = Summary::read(&dir.join("summary.json")).unwrap();
    let h = serde_json::from_value(serde_json::Value::Object(s.headline.clone())).unwrap();
    (dir, s, h)
}

#[test]
fn quick_run_evaluates_the_shipped_model() {
    let (dir, s, h) = run_chapter("quick", &["--quick"]);
    // The numbers that describe the model are the shipped checkpoint's.
    let (model, meta) = checkpoint::load(&checkpoint::shipped_path(Task::Add3), &Tokenizer::default()).unwrap();
    assert_eq!(h.params, model.n_params());
    assert_eq!(Some(h.tokens_seen), meta.info["tokens"].as_u64());
    assert_eq!(h.final_loss, meta.info["final_loss"].as_f64());
    assert_eq!(h.pretrain_compute_flops, 6.0 * h.params as f64 * h.tokens_seen as f64);
    assert_eq!(h.pretrain_seconds, None, "nothing was pre-trained");
    // pass@1 is the mean accuracy of single samples; more tries only help pass@k.
    let pass16 = h.pass_at_16.unwrap();
    assert!((h.pass_at_1 - h.accuracy_sampled).abs() < 1e-12, "{h:?}");
    assert!(pass16 >= h.pass_at_1 && pass16 >= h.maj_at_16.unwrap(), "{h:?}");
    // The base model leaves room for RL: sometimes right, often not, right within 16 tries.
    let (acc, fmt) = (h.accuracy_sampled, h.format_rate);
    assert!(acc > 0.03 && acc < 0.6 && fmt > 0.1 && fmt < 0.7 && pass16 > 0.5, "{h:?}");
    // Greedy decoding picks the plain-text habit, which breaks the format.
    assert_eq!(h.format_rate_greedy, 0.0, "{h:?}");
    let figures: Vec<&str> = s.figures.iter().map(String::as_str).collect();
    let stems = ["pretrain_loss", "pass_maj_at_k", "response_lengths", "response_kinds", "correct_by_kind"];
    let expected: Vec<String> = stems.iter().flat_map(|f| [format!("{f}.png"), format!("{f}.svg")]).collect();
    assert_eq!(figures, expected);
    for f in &s.figures {
        assert!(dir.join(f).exists(), "{f}");
    }
    assert_eq!(s.hyperparameters["eval_problems"], 48, "--quick evaluates on 48 problems");
    assert_eq!(s.details["test_problems"], 48);
    // A loaded model has no pre-training log: metrics.csv is its header alone.
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert_eq!(metrics, "step,tokens,loss,lr,seconds\n");
    let samples = std::fs::read_to_string(dir.join("samples.txt")).unwrap();
    assert_eq!(samples.matches("User: ").count(), 8, "the first eight problems");
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn a_short_pretraining_run_logs_every_step_and_saves_a_loadable_model() {
    let args = ["--quick", "--pretrain", "--steps", "5", "--batch", "4", "--samples", "2", "--eval-problems", "4"];
    let (dir, s, h) = run_chapter("pretrain", &args);
    assert_eq!(h.tokens_seen, 5 * 4 * 80);
    assert!(h.pretrain_seconds.is_some());
    assert_eq!((h.pass_at_16, h.maj_at_16), (None, None), "2 samples per problem give no pass@16");
    // The flags as given (the warm-up clamped by --quick), the run's warm-up within its steps.
    assert_eq!(s.hyperparameters["warmup"], 10);
    let (model, meta) = checkpoint::load(&dir.join("base.safetensors"), &Tokenizer::default()).unwrap();
    assert_eq!(model.n_params(), h.params);
    assert_eq!(meta.info["pretrain"]["warmup"], 5);
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let rows: Vec<&str> = metrics.lines().collect();
    assert_eq!(rows.len(), 1 + 5, "{metrics}");
    assert!(rows[5].starts_with("5,1600,"), "{}", rows[5]);
    let losses: Vec<f64> = rows[1..].iter().map(|r| r.split(',').nth(2).unwrap().parse().unwrap()).collect();
    assert_eq!(Some(&serde_json::json!(losses)), meta.info.get("loss_curve"));
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn param_shapes_name_every_variable_in_order() {
    for tied in [true, false] {
        let m = model(tied, 9);
        let vars: Vec<(String, Vec<usize>)> = m.named_vars().into_iter().map(|(n, v)| (n, v.dims().to_vec())).collect();
        assert_eq!(vars, m.cfg.param_shapes());
        assert_eq!(m.cfg.param_count(), Some(m.n_params() as u64));
    }
}

/// A checkpoint of `cfg` with its weights changed by `edit`, saved as `<dir>/<name>`.
fn save_checkpoint(dir: &Path, name: &str, cfg: GptConfig, edit: impl Fn(&Gpt)) -> PathBuf {
    let m = Gpt::new(cfg, &mut rng::seeded(11, 0)).unwrap();
    edit(&m);
    let path = dir.join(format!("{name}.safetensors"));
    checkpoint::save(&m, &Tokenizer::default(), serde_json::json!({}), &path).unwrap();
    path
}

/// Sets the first weight of tensor `name` to `x`.
fn poison(m: &Gpt, name: &str, x: f32) {
    let (_, v) = m.named_vars().into_iter().find(|(n, _)| n == name).unwrap();
    let mut values = v.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    values[0] = x;
    v.set(&Tensor::from_vec(values, v.dims(), &Device::Cpu).unwrap().contiguous().unwrap()).unwrap();
}

/// Writes the hostile checkpoints of issue 19 into `dir`: (path, expected words).
fn hostile_checkpoints(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    std::fs::create_dir_all(dir).unwrap();
    let good = save_checkpoint(dir, "good", tiny(true), |_| {});
    let bytes = std::fs::read(&good).unwrap();
    let json = std::fs::read_to_string(checkpoint::meta_path(&good)).unwrap();
    let copy = |name: &str, weights: &[u8], json: &str| {
        let path = dir.join(format!("{name}.safetensors"));
        std::fs::write(&path, weights).unwrap();
        std::fs::write(checkpoint::meta_path(&path), json).unwrap();
        path
    };
    let mut random = vec![0u8; 4096];
    let mut z = 0x2545_F491_4F6C_DD1Du64;
    for b in random.iter_mut() {
        z ^= z << 13;
        z ^= z >> 7;
        z ^= z << 17;
        *b = z as u8;
    }
    let mut huge_header = bytes.clone();
    huge_header[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    vec![
        (copy("wide", &bytes, &json.replace("\"d_model\": 32", "\"d_model\": 1048576")), "d_model 1048576 must lie in"),
        (copy("deep", &bytes, &json.replace("\"n_layers\": 2", "\"n_layers\": 100000")), "n_layers 100000 must lie in"),
        (copy("long", &bytes, &json.replace("\"context\": 32", "\"context\": 1000000000")), "context 1000000000"),
        // Within every range, but 400 million parameters.
        (
            copy(
                "big",
                &bytes,
                &json.replace("\"d_model\": 32", "\"d_model\": 1024").replace("\"n_layers\": 2", "\"n_layers\": 32"),
            ),
            "parameters, more than the limit",
        ),
        // Within the limits, but not the weights' shape: refused from the header.
        (copy("shape", &bytes, &json.replace("\"d_model\": 32", "\"d_model\": 512")), "the config needs"),
        (copy("truncated", &bytes[..bytes.len() / 2], &json), "safetensors"),
        (copy("stub", &bytes[..5], &json), "safetensors"),
        (copy("random", &random, &json), "safetensors"),
        (copy("header", &huge_header, &json), "safetensors"),
        (copy("json", &bytes, "{ not json"), "not a checkpoint config"),
        (save_checkpoint(dir, "nan", tiny(true), |m| poison(m, "h1.fc.w", f32::NAN)), "non-finite weight (NaN)"),
        (
            save_checkpoint(dir, "inf", tiny(false), |m| poison(m, "head", f32::NEG_INFINITY)),
            "non-finite weight (-inf)",
        ),
        (
            save_checkpoint(
                dir,
                "short",
                GptConfig { context: checkpoint::prompt_tokens(&Tokenizer::default()), ..tiny(true) },
                |_| {},
            ),
            "shorter than the task's prompt",
        ),
    ]
}

/// Issue 19: a damaged or hostile checkpoint is refused in well under a second, and
/// before any tensor is allocated from it (a d_model of 2^20 or 100,000 layers would
/// need terabytes; the refusal names the config's field, from the JSON alone).
#[test]
fn hostile_checkpoints_are_refused_at_once() {
    let dir = common::temp_dir("ch05", "hostile-ckpt");
    let tok = Tokenizer::default();
    for (path, expected) in hostile_checkpoints(&dir) {
        let started = Instant::now();
        let e = checkpoint::load(&path, &tok).err().unwrap_or_else(|| panic!("{} was accepted", path.display()));
        let seconds = started.elapsed().as_secs_f64();
        let e = e.to_string();
        let name = path.file_stem().unwrap().to_str().unwrap();
        assert!(seconds < 0.25, "{name}: {seconds:.3} s to refuse");
        assert!(e.contains(expected), "{name}: {e}");
        assert!(e.contains(&format!("{name}.safetensors")) || e.contains(&format!("{name}.json")), "{name}: {e}");
        assert_eq!(e.lines().count(), 1, "{e}");
    }
    // The prompt is the R1-Zero template, two 2-digit operands and '+': a model needs one more.
    assert!(checkpoint::prompt_tokens(&tok) >= 7);
    let ok = save_checkpoint(
        &dir,
        "enough",
        GptConfig { context: checkpoint::prompt_tokens(&tok) + 1, ..tiny(true) },
        |_| {},
    );
    assert!(checkpoint::load(&ok, &tok).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ch05-language-model")
}

#[test]
fn hostile_checkpoints_end_the_binary_with_one_line() {
    let dir = common::temp_dir("ch05", "hostile-bin");
    let cases: Vec<(Vec<String>, &str)> = hostile_checkpoints(&dir)
        .into_iter()
        .map(|(p, expected)| (vec!["--model".to_string(), p.display().to_string()], expected))
        .collect();
    common::assert_bad_input(bin(), &dir.join("out"), &cases);
    // A model whose context fits the prompt but not the speed measurement's rows.
    let short = save_checkpoint(&dir, "ctx16", GptConfig { context: 16, ..tiny(true) }, |_| {});
    let cases = vec![(vec!["--model".to_string(), short.display().to_string()], "--seq-len")];
    common::assert_bad_input(bin(), &dir.join("out"), &cases);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_flag_refuses_bad_numbers_with_one_line() {
    let out = common::temp_dir("ch05", "bad-flags");
    // (flag, whether 0 is refused)
    let counts = [
        ("--steps", true),
        ("--batch", true),
        ("--seq-len", true),
        ("--warmup", false),
        ("--d-model", true),
        ("--heads", true),
        ("--layers", true),
        ("--context", true),
        ("--eval-problems", true),
        ("--samples", true),
        ("--top-k", false),
        ("--max-new", true),
        ("--threads", true),
    ];
    let floats =
        [("--lr", true), ("--min-lr", false), ("--weight-decay", false), ("--noise", false), ("--temperature", true)];
    let mut cases: Vec<(Vec<String>, &str)> = Vec::new();
    for (flag, zero_bad) in counts.iter().chain(&floats) {
        let mut bad = vec!["-1", "18446744073709551615", "1e300", "nan", "inf", "-inf", "", "abc", "1000000000"];
        if *zero_bad {
            bad.push("0");
        }
        for v in bad {
            cases.push((vec![flag.to_string(), v.to_string()], flag));
        }
    }
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // Issue 19's examples, and products of flags beyond the budget (the flag given is named).
    cases.extend([
        (s(&["--samples", "1000000000"]), "--samples"),
        (s(&["--pretrain", "--batch", "100000"]), "--batch"),
        (s(&["--pretrain", "--batch", "4096"]), "--batch"),
        (s(&["--pretrain", "--d-model", "1024", "--layers", "32"]), "--layers"),
        (s(&["--pretrain", "--batch", "2048", "--d-model", "512"]), "--batch"),
        (
            s(&["--pretrain", "--d-model", "512", "--layers", "8", "--context", "1024", "--eval-problems", "512"]),
            "--context",
        ),
        (s(&["--batch", "4096"]), "--batch"),
        (s(&["--seq-len", "128"]), "--seq-len"),
        (s(&["--context", "32"]), "--context"),
        (s(&["--d-model", "100", "--heads", "3"]), "--d-model"),
        (s(&["--min-lr", "0.01"]), "--min-lr"),
    ]);
    common::assert_bad_input(bin(), &out, &cases);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn every_shipped_model_passes_the_checkpoint_checks_and_names_its_task() {
    let (base, _) = rl_sandbox::llm::load_base(Task::Add3).unwrap();
    let small = rl_sandbox::llm::load_small_base().unwrap();
    let prompt = checkpoint::prompt_tokens(&Tokenizer::default());
    assert!(base.cfg.context > prompt && small.cfg.context > prompt);
    for task in [Task::Add3, Task::Add2] {
        let path = checkpoint::shipped_path(task);
        assert_eq!(checkpoint::tokenizer_of(&path).unwrap().task(), task);
        let (model, _) = rl_sandbox::llm::load_base(task).unwrap();
        assert_eq!(model.cfg.vocab_size, Tokenizer::for_task(task).vocab_size());
        // The other task's tokenizer is refused: a model only makes sense with its own.
        assert!(checkpoint::load(&path, &Tokenizer::for_task(task.other())).is_err());
    }
}
