//! Chapter 6: GRPO's pure functions against hand-computed values, the tensor loss
//! against them, a finite-difference gradient check on a tiny model, the rule rewards
//! on tricky strings, and the chapter binary (flags, determinism).

use candle_core::{Device, Tensor, Var};
use rl_sandbox::error::Error;
use rl_sandbox::llm::grpo::{
    aggregate, clipped_objective, group_advantages, grpo_loss, is_clipped, k3, objective, train, Aggregation,
    GrpoConfig, LossConfig, Reward,
};
use rl_sandbox::llm::grpo_experiments::GrpoHeadline;
use rl_sandbox::llm::task::{accuracy_reward, checks_answer, corrects_after_check, format_reward, Problem};
use rl_sandbox::llm::Task;
use rl_sandbox::llm::{load_base, token_logprobs, Gpt, GptConfig, SampleConfig, Tokenizer};
use rl_sandbox::report::Summary;
use rl_sandbox::rng;
use std::process::Command;

mod common;

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} != {b} (tolerance {tol})");
}

#[test]
fn group_advantages_by_hand() {
    // Group [2, 0]: mean 1, std 1 → ±1/(1+ε). Group [1, 1]: all equal → 0, not NaN.
    let a = group_advantages(&[2.0, 0.0, 1.0, 1.0], 2, 1e-4);
    close(a[0], 1.0 / 1.0001, 1e-12);
    close(a[1], -1.0 / 1.0001, 1e-12);
    assert_eq!(&a[2..], &[0.0, 0.0]);
    // Group of 4 [1, 0, 0, 0]: mean 0.25, std √(0.25·0.75) = 0.4330127 → 1.7320508, −0.5773503.
    let a = group_advantages(&[1.0, 0.0, 0.0, 0.0], 4, 0.0);
    close(a[0], 3f64.sqrt(), 1e-12);
    close(a[1], -1.0 / 3f64.sqrt(), 1e-12);
    close(a.iter().sum::<f64>(), 0.0, 1e-12);
    // All-equal groups with any reward value give exact zeros.
    assert!(group_advantages(&[2.0; 8], 8, 1e-4).iter().all(|&x| x == 0.0));
}

#[test]
fn k3_by_hand() {
    // π_θ = 0.5, π_ref = 0.25: r = 0.5, k3 = 0.5 − ln 0.5 − 1 = ln 2 − 0.5.
    close(k3(0.5f64.ln(), 0.25f64.ln()), 2f64.ln() - 0.5, 1e-12);
    // π_θ = 0.25, π_ref = 0.5: r = 2, k3 = 2 − ln 2 − 1.
    close(k3(0.25f64.ln(), 0.5f64.ln()), 1.0 - 2f64.ln(), 1e-12);
    assert_eq!(k3(-1.3, -1.3), 0.0);
    for i in -40..=40 {
        for j in -40..=40 {
            assert!(k3(i as f64 / 10.0, j as f64 / 10.0) >= 0.0);
        }
    }
    // The same estimator as chapter 4's, with log r = log π_ref − log π_θ.
    close(k3(-0.7, -0.2), rl_sandbox::estimators::kl_k3(&[0.5]), 1e-15);
}

#[test]
fn clipped_objective_by_hand() {
    let eps = 0.2;
    // A > 0: inside the range the ratio counts as it is; above 1+ε it is capped at 1.2;
    // below 1−ε the unclipped term is the smaller one, so it is kept (pessimistic bound).
    close(clipped_objective(1.1, 2.0, eps), 2.2, 1e-12);
    close(clipped_objective(1.5, 2.0, eps), 2.4, 1e-12);
    close(clipped_objective(0.5, 2.0, eps), 1.0, 1e-12);
    assert!(is_clipped(1.5, 2.0, eps) && !is_clipped(1.1, 2.0, eps) && !is_clipped(0.5, 2.0, eps));
    // A < 0: below 1−ε it is capped at −0.8; above 1+ε the unclipped −1.5 is kept.
    close(clipped_objective(0.9, -1.0, eps), -0.9, 1e-12);
    close(clipped_objective(0.5, -1.0, eps), -0.8, 1e-12);
    close(clipped_objective(1.5, -1.0, eps), -1.5, 1e-12);
    assert!(is_clipped(0.5, -1.0, eps) && !is_clipped(1.5, -1.0, eps) && !is_clipped(0.9, -1.0, eps));
    // A = 0: nothing to gain, nothing clipped.
    assert_eq!(clipped_objective(3.0, 0.0, eps), 0.0);
    assert!(!is_clipped(3.0, 0.0, eps));
}

#[test]
fn three_aggregations_on_a_ragged_batch() {
    // Two responses of 3 and 1 tokens.
    let x = vec![vec![1.0, 2.0, 3.0], vec![4.0]];
    close(aggregate(&x, Aggregation::Sequence, 5), (2.0 + 4.0) / 2.0, 1e-12); // GRPO: per response, then mean
    close(aggregate(&x, Aggregation::Token, 5), 10.0 / 4.0, 1e-12); // DAPO: per token over the batch
    close(aggregate(&x, Aggregation::Constant, 5), 10.0 / (2.0 * 5.0), 1e-12); // Dr. GRPO: / (G · L_max)
}

/// The hand example of the lesson: two responses (2 tokens and 1 token, padded to 2),
/// A = [1, −1], ε = 0.2, β = 0.1.
type Ragged = Vec<Vec<f64>>;

fn hand_example() -> (Ragged, Ragged, Ragged, Vec<f64>) {
    let l = |p: f64| p.ln();
    let logp = vec![vec![l(0.5), l(0.5)], vec![l(0.4)]];
    let old = vec![vec![l(0.25), l(0.5)], vec![l(0.5)]];
    let reference = vec![vec![l(0.5), l(0.25)], vec![l(0.4)]];
    (logp, old, reference, vec![1.0, -1.0])
}

fn loss_config(aggregation: Aggregation) -> LossConfig {
    LossConfig { clip_eps: 0.2, beta: 0.1, aggregation, max_len: 4 }
}

#[test]
fn objective_by_hand() {
    // Ratios: 2 (clipped to 1.2, A = 1), 1 → 1; 0.8 with A = −1 → −0.8 (at the edge).
    // KL: 0, ln 2 − 0.5 = 0.1931472, 0. Per token: 1.2, 1 − 0.01931472, −0.8.
    let (logp, old, reference, adv) = hand_example();
    let t2 = 1.0 - 0.1 * (2f64.ln() - 0.5);
    let want = [
        (Aggregation::Sequence, ((1.2 + t2) / 2.0 - 0.8) / 2.0),
        (Aggregation::Token, (1.2 + t2 - 0.8) / 3.0),
        (Aggregation::Constant, (1.2 + t2 - 0.8) / (2.0 * 4.0)),
    ];
    for (how, j) in want {
        close(objective(&logp, &old, &reference, &adv, &loss_config(how)), j, 1e-12);
    }
    close(want[0].1, 0.1451713, 1e-7);
}

fn padded(rows: &[Vec<f64>], width: usize) -> Tensor {
    let v: Vec<f32> = rows.iter().flat_map(|r| (0..width).map(|t| r.get(t).copied().unwrap_or(0.0) as f32)).collect();
    Tensor::from_vec(v, (rows.len(), width), &Device::Cpu).unwrap()
}

#[test]
fn tensor_loss_equals_the_pure_objective_and_clipped_tokens_get_no_gradient() {
    let (logp, old, reference, adv) = hand_example();
    let mask = Tensor::from_vec(vec![1f32, 1.0, 1.0, 0.0], (2, 2), &Device::Cpu).unwrap();
    for how in [Aggregation::Sequence, Aggregation::Token, Aggregation::Constant] {
        let cfg = loss_config(how);
        let lp = Var::from_tensor(&padded(&logp, 2)).unwrap();
        let loss = grpo_loss(lp.as_tensor(), &padded(&old, 2), &padded(&reference, 2), &mask, &adv, &cfg).unwrap();
        let want = -objective(&logp, &old, &reference, &adv, &cfg);
        close(loss.to_scalar::<f32>().unwrap() as f64, want, 1e-6);
        let g = loss.backward().unwrap().get(&lp).unwrap().to_vec2::<f32>().unwrap();
        // Token (0, 0) is clipped and matches its reference: no gradient at all. The padding gets none.
        assert_eq!(g[0][0], 0.0, "{how:?}: {g:?}");
        assert_eq!(g[1][1], 0.0, "{how:?}: {g:?}");
        assert!(g[0][1] != 0.0, "{how:?}: {g:?}");
    }
}

fn tiny_model(seed: u64) -> Gpt {
    let cfg = GptConfig {
        vocab_size: Tokenizer::default().vocab_size(),
        context: 32,
        d_model: 32,
        n_heads: 4,
        n_layers: 2,
        tied_head: false,
    };
    Gpt::new(cfg, &mut rng::seeded(seed, 0)).unwrap()
}

#[test]
fn gradient_check_on_a_tiny_model() {
    // The loss through the model, in f32 (the model's type). Central differences along
    // a direction d of unit length: (L(θ + h d) − L(θ − h d)) / 2h = ∇L·d + O(h²).
    // With L ≈ 0.1-1, f32 rounds each loss to ~1e-7 relative and the sums over ~100 tokens
    // add ~1e-6 absolute; divided by 2h = 0.02 that is ~1e-4, against derivatives of
    // order 0.1-1: a 2% relative tolerance leaves room for both and still catches a
    // missing or wrong term (the KL's or the ratio's), which change the result by far more.
    let policy = tiny_model(1);
    let reference = tiny_model(2);
    let prompts = vec![vec![1u32, 20, 21, 22], vec![1, 23, 24], vec![1, 25, 26, 27, 28], vec![1, 20]];
    let completions = vec![vec![3u32, 4, 5, 6], vec![7, 8], vec![9, 10, 11, 12, 13, 14], vec![15]];
    let adv = [1.2, -0.7, 0.4, -1.0];
    let (lp_ref, _) = token_logprobs(&reference, &prompts, &completions).unwrap();
    let (lp, mask) = token_logprobs(&policy, &prompts, &completions).unwrap();
    // π_θold differs from π_θ by fixed log offsets, so that some ratios sit outside
    // [0.8, 1.2] (clipped) and some inside, all far from the edges.
    let (b, l) = lp.dims2().unwrap();
    let offsets: Vec<f32> = (0..b * l).map(|i| [0.0, 0.5, -0.5, 0.05, -0.08][i % 5]).collect();
    let old = (lp.detach() + Tensor::from_vec(offsets, (b, l), &Device::Cpu).unwrap()).unwrap();
    for how in [Aggregation::Sequence, Aggregation::Token, Aggregation::Constant] {
        let cfg = LossConfig { clip_eps: 0.2, beta: 0.5, aggregation: how, max_len: 8 };
        let loss_at = |m: &Gpt| {
            let (lp, mask) = token_logprobs(m, &prompts, &completions).unwrap();
            grpo_loss(&lp, &old, &lp_ref, &mask, &adv, &cfg).unwrap()
        };
        let (lp0, _) = token_logprobs(&policy, &prompts, &completions).unwrap();
        let grads = grpo_loss(&lp0, &old, &lp_ref, &mask, &adv, &cfg).unwrap().backward().unwrap();
        let vars = policy.vars();
        let g: Vec<Tensor> =
            vars.iter().map(|v| grads.get(v).expect("every parameter gets a gradient").clone()).collect();
        let norm = g
            .iter()
            .map(|t| t.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() as f64)
            .sum::<f64>()
            .sqrt();
        assert!(norm > 1e-3, "{how:?}: gradient norm {norm}");
        // Two directions: the gradient itself, and the gradient mixed with a random one.
        let mut r = rng::seeded(7, 7);
        let random: Vec<Tensor> = vars
            .iter()
            .map(|v| {
                Tensor::from_vec(
                    (0..v.elem_count())
                        .map(|_| rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut r))
                        .collect::<Vec<f32>>(),
                    v.shape(),
                    &Device::Cpu,
                )
                .unwrap()
            })
            .collect();
        let rnorm = random
            .iter()
            .map(|t| t.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() as f64)
            .sum::<f64>()
            .sqrt();
        let dirs: Vec<Vec<Tensor>> = vec![
            g.iter().map(|t| (t / norm).unwrap()).collect(),
            g.iter().zip(&random).map(|(a, b)| ((a / norm).unwrap() + (b / rnorm).unwrap()).unwrap()).collect(),
        ];
        for d in dirs {
            let dnorm = d
                .iter()
                .map(|t| t.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() as f64)
                .sum::<f64>()
                .sqrt();
            let analytic = g
                .iter()
                .zip(&d)
                .map(|(a, b)| (a * b).unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() as f64)
                .sum::<f64>()
                / dnorm;
            let h = 1e-2;
            let at = |s: f64| {
                let m = policy.duplicate().unwrap();
                for (v, dv) in m.vars().iter().zip(&d) {
                    v.set(&(v.as_tensor() + (dv * (s * h / dnorm)).unwrap()).unwrap()).unwrap();
                }
                loss_at(&m).to_scalar::<f32>().unwrap() as f64
            };
            let numeric = (at(1.0) - at(-1.0)) / (2.0 * h);
            assert!(
                (numeric - analytic).abs() <= 0.02 * analytic.abs().max(1e-2),
                "{how:?}: finite differences {numeric} versus autograd {analytic}"
            );
        }
    }
}

#[test]
fn rule_rewards_on_tricky_strings() {
    let p = Problem { a: 47, b: 85 };
    let r = |t: &str| Reward::of(t, &p);
    let good = "<think> 7+5=12 4+8+1=13 </think> <answer> 132 </answer>";
    assert_eq!(r(good), Reward { accuracy: 1.0, format: 1.0 });
    assert_eq!(r(good).total(), 2.0);
    // Missing tags: plain text has the right number but no reward at all.
    assert_eq!(r("The answer is 132.").total(), 0.0);
    assert_eq!(r("<think> 7+5=12 </think> 132"), Reward { accuracy: 0.0, format: 0.0 });
    assert_eq!(r("<answer> 132 </answer>"), Reward { accuracy: 1.0, format: 0.0 });
    assert_eq!(r("<think> 7+5=12 </think> <answer> 132"), Reward { accuracy: 0.0, format: 0.0 });
    // Nested tags: the answer inside <think> is read first (accuracy), the format fails.
    assert_eq!(
        r("<think> <answer> 132 </answer> </think> <answer> 132 </answer>"),
        Reward { accuracy: 1.0, format: 0.0 }
    );
    assert_eq!(format_reward("<think> <think> x </think> </think> <answer> 132 </answer>"), 0.0);
    // Repeated answers: only the first counts for accuracy, and the format fails.
    assert_eq!(
        r("<think> x </think> <answer> 132 </answer> <answer> 7 </answer>"),
        Reward { accuracy: 1.0, format: 0.0 }
    );
    assert_eq!(
        r("<think> x </think> <answer> 7 </answer> <answer> 132 </answer>"),
        Reward { accuracy: 0.0, format: 0.0 }
    );
    // Text after the answer breaks the format, not the accuracy.
    assert_eq!(r("<think> x </think> <answer> 132 </answer> so 132"), Reward { accuracy: 1.0, format: 0.0 });
    // An empty <think> passes: the rule checks the shape, not that any reasoning is there.
    assert_eq!(r("<think></think> <answer> 132 </answer>"), Reward { accuracy: 1.0, format: 1.0 });
    assert_eq!(r("<think> </think><answer>132</answer>"), Reward { accuracy: 1.0, format: 1.0 });
    // Exact match: leading zeros and extra words are wrong.
    assert_eq!(accuracy_reward("<answer> 0132 </answer>", &p), 0.0);
    assert_eq!(accuracy_reward("<answer> 132. </answer>", &p), 0.0);
    assert_eq!(accuracy_reward("<answer> 131 </answer>", &p), 0.0);
    // Order matters: the answer before the reasoning fails the format.
    assert_eq!(format_reward("<answer> 132 </answer> <think> x </think>"), 0.0);
}

#[test]
fn three_digit_rewards_and_checks_on_tricky_strings() {
    let p = Problem { a: 347, b: 285 };
    let r = |t: &str| Reward::of(t, &p);
    let steps = " <think> 7+5=12 4+8+1=13 3+2+1=6 </think> <answer> 632 </answer>";
    assert_eq!(r(steps), Reward { accuracy: 1.0, format: 1.0 });
    // A check, or a slip found and fixed, is still the right format and the right answer:
    // the rule reads only the tags, so a check earns nothing by itself.
    let check = " <think> 7+5=12 4+8+1=13 3+2+1=6 check 632-285=347 </think> <answer> 632 </answer>";
    let fix = " <think> 7+5=12 4+8+1=13 3+2+1=6 check 652-285=367 no 632 </think> <answer> 632 </answer>";
    assert_eq!((r(check), r(fix)), (r(steps), r(steps)));
    assert!(checks_answer(check) && !corrects_after_check(check) && corrects_after_check(fix));
    assert!(!checks_answer(steps) && !corrects_after_check(steps));
    // The number after "no" is not the answer: only <answer> counts.
    let fixed_wrong = " <think> 7+5=12 check 652-285=367 no 632 </think> <answer> 652 </answer>";
    assert_eq!(r(fixed_wrong), Reward { accuracy: 0.0, format: 1.0 });
    assert!(corrects_after_check(fixed_wrong));
    // A dropped or an extra digit is wrong (an answer of four digits must keep all four).
    assert_eq!(accuracy_reward("<answer> 32 </answer>", &p), 0.0);
    assert_eq!(accuracy_reward("<answer> 6320 </answer>", &p), 0.0);
    assert_eq!(accuracy_reward("<answer> 1860 </answer>", &Problem { a: 875, b: 985 }), 1.0);
    assert_eq!(accuracy_reward("<answer> 860 </answer>", &Problem { a: 875, b: 985 }), 0.0);
    // A check written after </think> is no check, and breaks the format.
    let late = " <think> 7+5=12 </think> check 632-285=347 <answer> 632 </answer>";
    assert!(!checks_answer(late) && format_reward(late) == 0.0);
}

#[test]
fn grpo_on_three_digit_sums_moves_the_policy_to_written_steps() {
    // From the shipped 3-digit base model, whose written steps are right far more often
    // than its one-shot answers: a short GRPO run with the chapter's settings raises the
    // share of sampled responses that write their steps (fixed seed).
    let (base, tokenizer) = load_base(Task::Add3).unwrap();
    let cfg = GrpoConfig { steps: 24, ..grpo_config(64) };
    let (_, log) = train(&base, &tokenizer, &cfg, 0, 1, |_| {}).unwrap();
    let share = |from: usize, to: usize| log[from..to].iter().map(|s| s.writes_steps).sum::<f64>() / (to - from) as f64;
    let length = |from: usize, to: usize| log[from..to].iter().map(|s| s.length).sum::<f64>() / (to - from) as f64;
    let (first, last) = (share(0, 4), share(20, 24));
    assert!(first < 0.4 && last > first + 0.2, "steps share {first:.3} -> {last:.3}");
    assert!(length(20, 24) > length(0, 4) + 3.0, "the responses grow with the steps");
}

/// Chapter 6's settings (16 prompts × G = 8, lr 10⁻⁴, β = 0.04, ε = 0.2, μ = 1) with
/// responses of at most `max_new` tokens, and almost no held-out evaluation.
fn grpo_config(max_new: usize) -> GrpoConfig {
    GrpoConfig {
        steps: 1,
        prompts: 16,
        group: 8,
        lr: 1e-4,
        adv_eps: 1e-4,
        mu: 1,
        loss: LossConfig { clip_eps: 0.2, beta: 0.04, aggregation: Aggregation::Sequence, max_len: max_new },
        sample: SampleConfig { temperature: 1.0, top_k: 0, max_new },
        eval_every: 100,
        eval_problems: 2,
    }
}

#[test]
fn non_finite_loss_stops_training_with_the_step() {
    // A learning rate of 1e30 blows the weights up after the first update.
    let (base, tokenizer) = load_base(Task::Add3).unwrap();
    let cfg = GrpoConfig { steps: 5, prompts: 4, group: 4, lr: 1e30, ..grpo_config(32) };
    match train(&base, &tokenizer, &cfg, 0, 1, |_| {}) {
        Err(Error::NonFinite { what, step }) => {
            assert!(what.contains("GRPO loss") && (1..5).contains(&step), "{what} at {step}")
        }
        Err(e) => panic!("another error: {e}"),
        Ok(_) => panic!("training with lr 1e30 should not finish"),
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ch06-grpo"))
}

#[test]
fn impossible_flags_exit_with_code_2() {
    for (flag, value, name) in [
        ("--group", "1", "--group"),
        ("--clip-eps", "0", "--clip-eps"),
        ("--beta", "-0.1", "--beta"),
        ("--lr", "0", "--lr"),
        ("--sweep-betas", "0,-1", "--sweep-betas"),
        ("--mu", "0", "--mu"),
    ] {
        let out = bin().args(["--quick", "--out", "/tmp/ch06-bad-flags", flag, value]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(name) && !err.contains("panicked"), "{flag} {value}: {err}");
    }
}

#[test]
fn a_base_model_from_a_file_brings_its_task() {
    let add2 = rl_sandbox::llm::checkpoint::shipped_path(Task::Add2);
    // --task must agree with the model's own task (its vocabulary names it).
    let out = bin().args(["--quick", "--out", "/tmp/ch06-model-task", "--task", "add3", "--model"]).arg(&add2).output();
    let out = out.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--task") && err.contains("add2") && !err.contains("panicked"), "{err}");
    // Without --task the model's task is the main one, and the contrast is the other.
    let dir = std::env::temp_dir().join("ch06-model-add2");
    let out =
        bin().args(["--quick", "--seeds", "1", "--no-sweep", "--out"]).arg(&dir).arg("--model").arg(&add2).output();
    let out = out.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = Summary::read(&dir.join("ch06-grpo/summary.json")).unwrap();
    let h: GrpoHeadline = serde_json::from_value(serde_json::Value::Object(s.headline.clone())).unwrap();
    let c = h.contrast.expect("a contrast");
    assert_eq!(h.checks_answer_before, 0.0, "the 2-digit corpus has no checks");
    assert!(c.contrast_mean_length_before > h.mean_length_before, "the contrast is the 3-digit task: {c:?}");
}

/// The summary without the timing fields, and metrics.csv without its time columns.
fn untimed(dir: &std::path::Path) -> (serde_json::Value, String) {
    let s = Summary::read(&dir.join("ch06-grpo/summary.json")).unwrap();
    let headline: serde_json::Map<_, _> =
        s.headline.into_iter().filter(|(k, _)| !k.contains("seconds") && !k.contains("per_s")).collect();
    let csv = std::fs::read_to_string(dir.join("ch06-grpo/metrics.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let keep: Vec<usize> = (0..header.len()).filter(|&i| !header[i].ends_with("_s")).collect();
    let csv: String = csv
        .lines()
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            keep.iter().map(|&i| cells[i]).collect::<Vec<_>>().join(",") + "\n"
        })
        .collect();
    (serde_json::json!({ "headline": headline, "hyperparameters": s.hyperparameters, "seeds": s.seeds }), csv)
}

#[test]
fn quick_run_is_deterministic_and_reports_the_headline() {
    let dirs = [std::env::temp_dir().join("ch06-det-a"), std::env::temp_dir().join("ch06-det-b")];
    for d in &dirs {
        let out = bin().args(["--quick", "--seeds", "2", "--out"]).arg(d).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (a, b) = (untimed(&dirs[0]), untimed(&dirs[1]));
    assert_eq!(a, b, "same seed and flags, different numbers");
    // The typed headline: a missing or misnamed key fails here.
    let s = Summary::read(&dirs[0].join("ch06-grpo/summary.json")).unwrap();
    let h: GrpoHeadline = serde_json::from_value(serde_json::Value::Object(s.headline.clone())).unwrap();
    assert_eq!(serde_json::to_value(&h).unwrap(), serde_json::Value::Object(s.headline.clone()), "extra keys");
    assert_eq!(h.steps, 6, "--quick runs 6 steps");
    for (name, v) in [
        ("accuracy_before", h.accuracy_before),
        ("accuracy_after", h.accuracy_after),
        ("format_rate_before", h.format_rate_before),
        ("format_rate_after", h.format_rate_after),
        ("number_accuracy_greedy_before", h.number_accuracy_greedy_before),
        ("number_accuracy_greedy_after", h.number_accuracy_greedy_after),
        ("pass_at_1_after", h.pass_at_1_after),
    ] {
        assert!((0.0..=1.0).contains(&v), "{name} = {v} is not a share");
    }
    // The right number is necessary for accuracy, so it is at least as frequent.
    assert!(h.number_accuracy_greedy_before >= h.accuracy_before);
    // --quick draws 4 samples per problem: maj@16 and pass@16 do not exist (null).
    assert!(s.headline["maj_at_16_before"].is_null() && h.maj_at_16_after.is_nan() && h.pass_at_16_after.is_nan());
    // k3 is never negative; lengths are within the --quick budget of 32 tokens (+ the end).
    assert!(h.final_kl >= 0.0, "final_kl = {}", h.final_kl);
    assert!(h.mean_length_before > 0.0 && h.mean_length_after <= 33.0);
    // The sweep: three numbers for each β of {0, 0.04, 0.4}.
    let keys: Vec<&String> = h.beta_sweep.keys().collect();
    assert_eq!(keys.len(), 9, "{keys:?}");
    assert!(h.beta_sweep.contains_key("beta_0.4_final_kl") && h.beta_sweep.contains_key("beta_0_heldout_accuracy"));
    // The contrast ran on the 2-digit task: its own before and after, with its own base model.
    let c = h.contrast.as_ref().expect("the default run has a contrast");
    assert!(c.contrast_number_accuracy_greedy_before > h.number_accuracy_greedy_before, "{c:?}");
    assert_eq!(c.contrast_checks_answer_before, 0.0, "the 2-digit corpus has no checks");
    assert!(c.contrast_mean_length_before < h.mean_length_before, "2-digit answers are shorter");
    assert_eq!(
        s.figures,
        ["training", "length_and_steps", "pass_maj_at_k", "response_forms", "beta_sweep", "contrast"]
            .iter()
            .flat_map(|f| [format!("{f}.png"), format!("{f}.svg")])
            .collect::<Vec<_>>()
    );
    for f in &s.figures {
        assert!(dirs[0].join("ch06-grpo").join(f).exists(), "{f} missing");
    }
}

/// Every numeric flag refuses each class of bad value (negative, infinite, NaN, zero,
/// huge, empty, not a number, past its range) in one line with exit code 2; so do
/// combinations over the work budget, even with --quick (issue 19).
#[test]
fn every_numeric_flag_refuses_bad_values_in_one_line() {
    let out = common::temp_dir("ch06-grpo", "bad-input");
    // (flag, zero refused, a value just past the range)
    let counts = [
        ("--steps", true, "10001"),
        ("--prompts", true, "1025"),
        ("--group", true, "257"),
        ("--mu", true, "65"),
        ("--max-new", true, "72"),
        ("--eval-every", true, "10001"),
        ("--eval-problems", true, "801"),
        ("--top-k", false, "1001"),
        ("--final-problems", true, "801"),
        ("--samples", true, "65"),
        ("--jobs", true, "65"),
        ("--seeds", true, "101"),
    ];
    let floats = [
        ("--lr", true, "1.5"),
        ("--beta", false, "10.5"),
        ("--clip-eps", true, "1"),
        ("--temperature", true, "10.5"),
        ("--adv-eps", true, "1.5"),
        ("--sweep-betas", false, "11"),
    ];
    let mut cases: Vec<(Vec<String>, String)> = Vec::new();
    for (flag, zero_bad, past) in counts.iter().chain(floats.iter()) {
        let mut bad = vec!["-1", "-inf", "inf", "nan", "-nan", "", "abc", "1e999", *past];
        if *zero_bad {
            bad.push("0");
        }
        if counts.iter().any(|c| c.0 == *flag) || *flag == "--lr" {
            bad.push("18446744073709551615");
        }
        for v in bad {
            cases.push((vec![flag.to_string(), v.to_string()], flag.to_string()));
        }
    }
    let more: &[(&[&str], &str)] = &[
        // The example: it used to run for hours.
        (&["--mu", "1000000000"], "--mu"),
        (&["--steps", "18446744073709551615"], "--steps"),
        (&["--sweep-betas", "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8"], "--sweep-betas"),
        (&["--sweep-betas", "0,nan"], "--sweep-betas"),
        (&["--seed", "18446744073709551615", "--seeds", "2"], "--seed"),
        // Over the work budget even at --quick's sizes: 100 seeds × 9 βs × μ = 64.
        (&["--seeds", "100", "--mu", "64", "--sweep-betas", "1,2,3,4,5,6,7,8"], "with the other flags as given"),
    ];
    for (args, expected) in more {
        cases.push((args.iter().map(|a| a.to_string()).collect(), expected.to_string()));
    }
    let cases: Vec<(Vec<String>, &str)> = cases.iter().map(|(a, e)| (a.clone(), e.as_str())).collect();
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch06-grpo"), &out, &cases);
    assert!(!out.join("ch06-grpo").exists(), "a refused run writes nothing");
}

/// The work budget (without --quick): the defaults pass, products past about an hour
/// are refused naming a flag the user gave, with checked arithmetic (no overflow).
#[test]
fn the_work_budget_refuses_long_combinations() {
    use clap::Parser;
    use rl_sandbox::course::ch06_grpo::Args;
    use rl_sandbox::run::ChapterArgs;
    let check = |args: &[&str], seeds: usize| {
        let a = Args::try_parse_from(std::iter::once("ch06-grpo").chain(args.iter().copied())).unwrap();
        a.validate().and_then(|_| a.check_budget(seeds)).map_err(|e| e.to_string())
    };
    check(&[], 3).unwrap();
    check(&["--seeds", "10"], 10).unwrap();
    for (args, seeds, flag) in [
        (&["--steps", "10000"][..], 3, "--steps"),
        (&["--mu", "64"][..], 3, "--mu"),
        (&["--prompts", "1024", "--group", "256"][..], 3, "--prompts"),
        (&["--group", "256", "--prompts", "32"][..], 3, "--group"),
        (&["--final-problems", "800", "--samples", "64", "--sweep-betas", "0,0.1,0.2,0.3,0.4"][..], 3, "--samples"),
        (&["--seeds", "100"][..], 100, "--seeds"),
        (
            &["--steps", "10000", "--prompts", "64", "--group", "64", "--mu", "64", "--max-new", "64"][..],
            100,
            "--steps",
        ),
    ] {
        let err = check(args, seeds).expect_err(&format!("{args:?} should be refused"));
        assert!(err.contains(&format!("for {flag}:")), "{args:?}: {err}");
        assert!(err.contains("must lie in [") || err.contains("lower it"), "{args:?}: {err}");
    }
}
