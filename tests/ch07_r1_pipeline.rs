//! Chapter 7: PPO's token rewards and GAE, the actor and critic losses, the SFT loss
//! and its mask, the rejection filter, the flawed rewards' holes on crafted strings,
//! the critic's value head, a short SFT that must teach the format, and the binary
//! (quick run, determinism, bad flags).

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rl_sandbox::llm::grpo::Reward;
use rl_sandbox::llm::pipeline::{cold_start_set, cold_start_text, keep, RejectionSet};
use rl_sandbox::llm::pipeline_report::PipelineHeadline;
use rl_sandbox::llm::ppo_critic::{actor_loss, actor_objective, token_gae, token_rewards, value_loss, whiten, Critic};
use rl_sandbox::llm::reward_model::{self, features, tags_only, FitConfig, RewardModel};
use rl_sandbox::llm::sft::{self, masked_nll, sft_loss, Example, SftConfig};
use rl_sandbox::llm::task::Problem;
use rl_sandbox::llm::Task;
use rl_sandbox::llm::{load_base, token_logprobs, Gpt, GptConfig, Tokenizer};
use rl_sandbox::report::Summary;
use rl_sandbox::rng;
use std::process::Command;

mod common;

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} != {b} (tolerance {tol})");
}

#[test]
fn token_rewards_fold_the_kl_into_the_reward() {
    // log π_old = [ln ½, ln ¼, ln ½], log π_ref = [ln ¼, ln ¼, ln 1], R = 1, β = 0.1:
    // r = [−0.1 ln 2, 0, −0.1 ln ½ + 1] = [−0.0693147, 0, 1.0693147].
    let l = |p: f64| p.ln();
    let r = token_rewards(&[l(0.5), l(0.25), l(0.5)], &[l(0.25), l(0.25), 0.0], 1.0, 0.1);
    close(r[0], -0.1 * 2f64.ln(), 1e-12);
    assert_eq!(r[1], 0.0);
    close(r[2], 1.0 + 0.1 * 2f64.ln(), 1e-12);
    // The sum is R − β · Σ log(π_old / π_ref), the k1 estimate of the response's KL.
    close(r.iter().sum::<f64>(), 1.0 - 0.1 * (2f64.ln() + 0.0 - 2f64.ln()), 1e-12);
    // β = 0: the rule reward alone, on the last token.
    assert_eq!(token_rewards(&[l(0.5), l(0.25)], &[0.0, 0.0], 2.0, 0.0), vec![0.0, 2.0]);
}

#[test]
fn token_level_gae_by_hand() {
    // Two tokens, r = [−0.1, 1], V = [0.5, 0.8], V after the last token = 0 (terminated).
    // γ = 1, λ = 0.5: δ₁ = 1 − 0.8 = 0.2; δ₀ = −0.1 + 0.8 − 0.5 = 0.2;
    // A₁ = 0.2, A₀ = 0.2 + 0.5 · 0.2 = 0.3; returns = A + V = [0.8, 1.0].
    let (a, g) = token_gae(&[-0.1, 1.0], &[0.5, 0.8], 1.0, 0.5);
    close(a[0], 0.3, 1e-12);
    close(a[1], 0.2, 1e-12);
    close(g[0], 0.8, 1e-12);
    close(g[1], 1.0, 1e-12);
    // λ = 1 is Monte Carlo: the return of token t is the sum of the rewards from t on.
    let (a, g) = token_gae(&[-0.1, 1.0], &[0.5, 0.8], 1.0, 1.0);
    close(g[0], 0.9, 1e-12);
    close(a[0], 0.9 - 0.5, 1e-12);
    // γ = 0.9, λ = 0: the TD error, bootstrapped from the next token's value.
    let (a, _) = token_gae(&[-0.1, 1.0], &[0.5, 0.8], 0.9, 0.0);
    close(a[0], -0.1 + 0.9 * 0.8 - 0.5, 1e-12);
    close(a[1], 1.0 - 0.8, 1e-12);
    // Whitening: mean 0, std 1 over every token of the batch.
    let w = whiten(&[vec![1.0, 2.0], vec![3.0, 6.0]]);
    let all: Vec<f64> = w.iter().flatten().copied().collect();
    close(all.iter().sum::<f64>(), 0.0, 1e-12);
    close(all.iter().map(|x| x * x).sum::<f64>() / 4.0, 1.0, 1e-6);
}

#[test]
fn actor_and_critic_losses_equal_the_hand_values() {
    // Tokens: ratio 2 with A = 1 (clipped at 1.2), ratio 1 with A = −0.5, ratio 0.5 with
    // A = 2 (unclipped side: 1.0). Mean over the 3 real tokens: (1.2 − 0.5 + 1.0) / 3.
    let l = |p: f64| p.ln();
    let logp = vec![vec![l(0.5), l(0.4)], vec![l(0.2)]];
    let old = vec![vec![l(0.25), l(0.4)], vec![l(0.4)]];
    let adv = vec![vec![1.0, -0.5], vec![2.0]];
    let want = (1.2 - 0.5 + 1.0) / 3.0;
    close(actor_objective(&logp, &old, &adv, 0.2), want, 1e-12);
    let t = |rows: &[Vec<f64>]| {
        let v: Vec<f32> = rows.iter().flat_map(|r| (0..2).map(|i| r.get(i).copied().unwrap_or(0.0) as f32)).collect();
        Tensor::from_vec(v, (2, 2), &Device::Cpu).unwrap()
    };
    let mask = Tensor::from_vec(vec![1f32, 1.0, 1.0, 0.0], (2, 2), &Device::Cpu).unwrap();
    let lp = Var::from_tensor(&t(&logp)).unwrap();
    let loss = actor_loss(lp.as_tensor(), &t(&old), &mask, &t(&adv), 0.2).unwrap();
    close(loss.to_scalar::<f32>().unwrap() as f64, -want, 1e-6);
    let g = loss.backward().unwrap().get(&lp).unwrap().to_vec2::<f32>().unwrap();
    // The clipped token and the padding get no gradient; the others −ρA/3.
    assert_eq!(g[0][0], 0.0);
    assert_eq!(g[1][1], 0.0);
    close(g[0][1] as f64, 0.5 / 3.0, 1e-6);
    close(g[1][0] as f64, -0.5 * 2.0 / 3.0, 1e-6);
    // Critic: ½ mean (V − G)² = ½ (0.25 + 0.04 + 1) / 3 over the real tokens.
    let v = t(&[vec![0.5, 0.8], vec![0.0]]);
    let g = t(&[vec![1.0, 1.0], vec![1.0]]);
    close(value_loss(&v, &g, &mask).unwrap().to_scalar::<f32>().unwrap() as f64, 0.5 * 1.29 / 3.0, 1e-6);
}

fn tiny_model(seed: u64) -> Gpt {
    let cfg = GptConfig {
        vocab_size: Tokenizer::default().vocab_size(),
        context: 32,
        d_model: 32,
        n_heads: 4,
        n_layers: 2,
        tied_head: true,
    };
    Gpt::new(cfg, &mut rng::seeded(seed, 0)).unwrap()
}

#[test]
fn the_value_head_gets_a_gradient_and_then_the_whole_critic_does() {
    let critic = Critic::new(&tiny_model(3)).unwrap();
    let prompts = vec![vec![1u32, 20, 21, 22], vec![1, 23, 24]];
    let completions = vec![vec![3u32, 4, 5], vec![7, 8]];
    let (v, mask) = critic.values(&prompts, &completions).unwrap();
    // A zero head: V = 0 at every real token.
    assert!(v.to_vec2::<f32>().unwrap().iter().flatten().all(|&x| x == 0.0));
    let returns = Tensor::from_vec(vec![1f32, 1.0, 2.0, -1.0, 0.5, 0.0], (2, 3), &Device::Cpu).unwrap();
    let loss = value_loss(&v, &returns, &mask).unwrap();
    let grads = loss.backward().unwrap();
    let (w, b) = critic.head();
    let norm = |t: &Tensor| t.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
    assert!(norm(grads.get(w).expect("head weight gradient")) > 0.0);
    // ∂L/∂b = mean over real tokens of (V − G) = (0 − (1 + 1 + 2 − 1 + 0.5)) / 5 = −0.7.
    close(grads.get(b).unwrap().to_vec1::<f32>().unwrap()[0] as f64, -0.7, 1e-6);
    // After one update the head is no longer zero and every parameter gets a gradient.
    let mut opt = AdamW::new(critic.vars(), ParamsAdamW { lr: 1e-2, ..Default::default() }).unwrap();
    opt.step(&grads).unwrap();
    let (v, mask) = critic.values(&prompts, &completions).unwrap();
    let grads = value_loss(&v, &returns, &mask).unwrap().backward().unwrap();
    for var in critic.vars() {
        assert!(norm(grads.get(&var).expect("every critic parameter has a gradient")) > 0.0);
    }
    assert_eq!(critic.n_params(), critic.body.n_params() + 32 + 1);
}

#[test]
fn sft_loss_counts_only_the_response_tokens() {
    let tok = Tokenizer::default();
    let model = tiny_model(5);
    let examples = vec![
        Example { prompt: vec![1, 20, 21], completion: vec![3, 4, 0] },
        Example { prompt: vec![1, 22], completion: vec![5, 0] },
    ];
    let refs: Vec<&Example> = examples.iter().collect();
    let loss = sft_loss(&model, &refs).unwrap().to_scalar::<f32>().unwrap() as f64;
    // Independently: one forward pass per example, log-softmax by hand in f64, and the
    // negative log-probability of each response token at the position before it.
    let mut nll = Vec::new();
    for e in &examples {
        let ids: Vec<u32> = e.prompt.iter().chain(&e.completion).copied().collect();
        let n = ids.len();
        let logits = model.forward(&Tensor::from_vec(ids.clone(), (1, n), &Device::Cpu).unwrap()).unwrap();
        let rows = logits.squeeze(0).unwrap().to_vec2::<f32>().unwrap();
        let mut row_nll = Vec::new();
        for j in 0..e.completion.len() {
            let pos = e.prompt.len() + j - 1;
            let z: Vec<f64> = rows[pos].iter().map(|&x| x as f64).collect();
            let max = z.iter().cloned().fold(f64::MIN, f64::max);
            let lse = max + z.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
            row_nll.push(z[e.completion[j] as usize] - lse);
        }
        nll.push(row_nll);
    }
    close(loss, masked_nll(&nll), 1e-5);
    // The prompt's tokens carry no loss: a longer prompt changes the loss only through
    // the context, and the count of tokens averaged over is the responses' (5), not 10.
    assert_eq!(nll.iter().map(Vec::len).sum::<usize>(), 5);
    let (lp, mask) = token_logprobs(&model, &[examples[0].prompt.clone()], &[examples[0].completion.clone()]).unwrap();
    assert_eq!(mask.sum_all().unwrap().to_scalar::<f32>().unwrap(), 3.0);
    close(-(lp.sum_all().unwrap().to_scalar::<f32>().unwrap() as f64) / 3.0, masked_nll(&nll[..1]), 1e-5);
    let _ = tok;
}

#[test]
fn the_rejection_filter_keeps_only_right_well_formed_answers() {
    let p = Problem { a: 47, b: 85 };
    assert!(keep(" <think> 7+5=12 4+8+1=13 </think> <answer> 132 </answer>", &p));
    assert!(keep("<think> 47+85=132 </think> <answer> 132 </answer>", &p));
    assert!(!keep("<think> 7+5=12 4+8=12 </think> <answer> 122 </answer>", &p)); // wrong
    assert!(!keep("<answer> 132 </answer>", &p)); // right, no <think>
    assert!(!keep("The answer is 132.", &p)); // right, no tags
    assert!(!keep("<think> x </think> <answer> 132 </answer> <answer> 132 </answer>", &p)); // two answers
    let set = RejectionSet { kept: vec![(p, cold_start_text(&p))], drawn: 4 };
    close(set.acceptance(), 0.25, 1e-12);
    let ex = set.examples(&Tokenizer::default()).unwrap();
    assert_eq!(ex.len(), 1);
    assert_eq!(*ex[0].completion.last().unwrap(), 0, "responses end with the end token");
}

#[test]
fn the_flawed_rewards_have_holes_the_rule_does_not() {
    let p = Problem { a: 347, b: 285 };
    let tok = Tokenizer::default();
    // The tags-only check: tags in any order around a wrong number pass it.
    let hacked = "</answer> <think> 5 <answer> </think>";
    assert_eq!(tags_only(hacked), 1.0);
    assert_eq!(Reward::of(hacked, &p).total(), 0.0);
    assert_eq!(tags_only("<think> 7+5=12 </think> 632"), 0.0);
    // A bag-of-tokens reward model fitted to right, tagged answers (label 1) and to
    // plain-text ones (label 0) learns that tags are good, and nothing bounds the
    // count: wrapping the right answer in a second pair of tags raises its score, while
    // the rule gives it nothing (the answer text is now "<answer> 132").
    let mut r = rng::seeded(11, 0);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (q, t) in cold_start_set(Task::Add3, 40, &mut r) {
        xs.push(features(&tok, &t));
        ys.push(reward_model::label(&t, &q));
        let plain = format!(" The answer is {}.", q.answer());
        xs.push(features(&tok, &plain));
        ys.push(reward_model::label(&plain, &q));
    }
    assert_eq!(ys.iter().sum::<f64>(), 40.0);
    let (rm, losses) = RewardModel::fit(&tok, &xs, &ys, &FitConfig { iterations: 500, lr: 0.1, l2: 1e-3 });
    assert!(losses.last().unwrap() < &0.1 && losses[0] > 0.69, "the fit lowers the loss from ln 2");
    assert_eq!(rm.agreement(&xs, &ys), 1.0);
    let right = " <think> 7+5=12 4+8+1=13 3+2+1=6 </think> <answer> 632 </answer>";
    // The same tokens plus one more pair of tags (no extra spaces: a space is a token too).
    let hack = " <think> 7+5=12 4+8+1=13 3+2+1=6 </think> <answer><answer> 632 </answer></answer>";
    let weight = |t: &str| rm.weights[tok.id(t).unwrap() as usize];
    assert!(weight("<answer>") > 0.0 && weight("</answer>") > 0.0 && weight("The") < 0.0);
    assert!(rm.score(&tok, hack) > rm.score(&tok, right), "{} vs {}", rm.score(&tok, hack), rm.score(&tok, right));
    assert_eq!(Reward::of(hack, &p).total(), 0.0);
    assert_eq!(Reward::of(right, &p).total(), 2.0);
}

#[test]
fn a_short_cold_start_sft_teaches_the_format() {
    // The base model answers greedily in plain text (format 0); 12 SFT updates on 32
    // clean traces must make the tagged, written-steps form its greedy answer.
    let (base, tok) = load_base(Task::Add3).unwrap();
    let data: Vec<Example> = cold_start_set(Task::Add3, 32, &mut rng::seeded(0, 4))
        .iter()
        .map(|(p, t)| Example::new(&tok, p, t).unwrap())
        .collect();
    let cfg = SftConfig { steps: 12, batch: 16, lr: 3e-4, eval_every: 12, eval_problems: 32, max_new: 64 };
    let (_, log) = sft::train(&base, &tok, &data, &cfg, 0, 5, |_| {}).unwrap();
    assert_eq!(log.first().unwrap().heldout_format, Some(0.0));
    let last = log.last().unwrap();
    assert!(last.heldout_format.unwrap() >= 0.9, "{log:?}");
    assert!(last.heldout_accuracy.unwrap() >= 0.8, "{log:?}");
    assert!(log[11].loss.unwrap() < log[0].loss.unwrap());
    assert_eq!(log[12].loss, None, "the last record holds only the final evaluation");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ch07-r1-pipeline"))
}

#[test]
fn impossible_flags_exit_with_code_2() {
    for (flags, name) in [
        (vec!["--experiments", "ppo,bogus"], "bogus"),
        (vec!["--group", "1"], "--group"),
        (vec!["--critic-lr", "0"], "--critic-lr"),
        (vec!["--lambda", "1.5"], "--lambda"),
        (vec!["--hack-beta", "-1"], "--hack-beta"),
        (vec!["--rm-examples", "2"], "--rm-examples"),
        (vec!["--hack-reward", "vibes"], "vibes"),
        (vec!["--mu", "0"], "--mu"),
    ] {
        let out = bin().args(["--quick", "--out", "/tmp/ch07-bad-flags"]).args(&flags).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(name) && !err.contains("panicked"), "{flags:?}: {err}");
    }
}

/// The headline without timing and memory keys (they depend on the machine's load).
fn untimed(dir: &std::path::Path) -> serde_json::Value {
    let s = Summary::read(&dir.join("ch07-r1-pipeline/summary.json")).unwrap();
    let headline: serde_json::Map<_, _> =
        s.headline.into_iter().filter(|(k, _)| !k.contains("seconds") && !k.contains("_mb")).collect();
    serde_json::json!({ "headline": headline, "seeds": s.seeds })
}

#[test]
fn quick_run_writes_the_summary_and_figures_and_is_deterministic() {
    let dirs = [std::env::temp_dir().join("ch07-quick-a"), std::env::temp_dir().join("ch07-quick-b")];
    for d in &dirs {
        let out = bin().args(["--quick", "--out"]).arg(d).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(untimed(&dirs[0]), untimed(&dirs[1]), "same seed and flags, different numbers");
    let s = Summary::read(&dirs[0].join("ch07-r1-pipeline/summary.json")).unwrap();
    // The headline reads back into its typed struct, every part present, no key lost.
    let h: PipelineHeadline = serde_json::from_value(serde_json::Value::Object(s.headline.clone())).unwrap();
    let keys = |v: serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(serde_json::to_value(&h).unwrap()), s.headline.keys().cloned().collect::<Vec<_>>());
    let ppo = h.ppo.expect("the PPO part");
    assert!(h.cold_start.is_some() && h.rejection.is_some() && h.distill.is_some() && h.hacking.is_some());
    // PPO holds three models (actor, critic, reference), GRPO two.
    assert!(ppo.ppo_critic_params as f64 > 1.45 * ppo.grpo_params as f64);
    assert!(ppo.ppo_critic_peak_heap_mb.unwrap() > ppo.grpo_peak_heap_mb.unwrap());
    for f in [
        "ppo_vs_grpo.png",
        "ppo_vs_grpo_cost.png",
        "cold_start.png",
        "rejection_sft.png",
        "distillation.png",
        "distillation_curve.png",
        "reward_hacking.png",
        "reward_model.png",
    ] {
        assert!(s.figures.iter().any(|x| x == f), "{f} not listed");
    }
    for f in &s.figures {
        assert!(dirs[0].join("ch07-r1-pipeline").join(f).exists(), "{f} missing");
    }
    assert!(s.details["hacked_examples"].as_array().is_some_and(|a| !a.is_empty()));
    // One experiment alone writes only its own figure.
    let one = std::env::temp_dir().join("ch07-quick-one");
    let out = bin().args(["--quick", "--experiments", "hacking", "--out"]).arg(&one).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = Summary::read(&one.join("ch07-r1-pipeline/summary.json")).unwrap();
    let diagrams = ["ppo_vs_grpo_models.png", "ppo_vs_grpo_models.svg", "r1_pipeline.png", "r1_pipeline.svg"];
    let own = ["reward_hacking.png", "reward_hacking.svg", "reward_model.png", "reward_model.svg"];
    assert_eq!(s.figures, [own, diagrams].concat());
    let h: PipelineHeadline = serde_json::from_value(serde_json::Value::Object(s.headline.clone())).unwrap();
    assert!(h.hacking.is_some() && h.ppo.is_none() && h.cold_start.is_none() && h.distill.is_none());
    assert!(s.headline.get("grpo_accuracy").is_none(), "absent, not null");
}

/// Every numeric flag refuses each class of bad value (negative, infinite, NaN, zero,
/// huge, empty, not a number, past its range) in one line with exit code 2; so do
/// combinations over the work budget, even with --quick (issue 19).
#[test]
fn every_numeric_flag_refuses_bad_values_in_one_line() {
    let out = common::temp_dir("ch07-r1-pipeline", "bad-input");
    // (flag, the smallest refused value below the range, a value just past the range)
    let counts = [
        ("--steps", "0", "10001"),
        ("--prompts", "0", "1025"),
        ("--group", "1", "257"),
        ("--mu", "0", "65"),
        ("--max-new", "3", "72"),
        ("--eval-every", "0", "10001"),
        ("--eval-problems", "0", "801"),
        ("--final-problems", "0", "801"),
        ("--samples", "0", "65"),
        ("--cold-start-examples", "0", "4097"),
        ("--cold-start-steps", "0", "10001"),
        ("--sft-batch", "0", "1025"),
        ("--rejection-problems", "0", "10001"),
        ("--rejection-samples", "0", "65"),
        ("--rejection-steps", "0", "10001"),
        ("--distill-steps", "0", "10001"),
        ("--hack-steps", "0", "10001"),
        ("--rm-examples", "7", "10001"),
        ("--jobs", "0", "65"),
        ("--seeds", "0", "101"),
    ];
    let floats = [
        ("--lr", "0", "1.5"),
        ("--beta", "-0.1", "10.5"),
        ("--clip-eps", "0", "1"),
        ("--temperature", "0", "10.5"),
        ("--sft-lr", "0", "1.5"),
        ("--distill-lr", "0", "1.5"),
        ("--small-rl-lr", "0", "1.5"),
        ("--hack-beta", "-0.1", "10.5"),
        ("--critic-lr", "0", "1.5"),
        ("--gamma", "-0.1", "1.5"),
        ("--lambda", "-0.1", "1.5"),
    ];
    let mut cases: Vec<(Vec<String>, String)> = Vec::new();
    for (flag, below, past) in counts.iter().chain(floats.iter()) {
        for v in ["-1", "-inf", "inf", "nan", "-nan", "", "abc", "1e999", "18446744073709551615", *below, *past] {
            cases.push((vec![flag.to_string(), v.to_string()], flag.to_string()));
        }
    }
    let more: &[(&[&str], &str)] = &[
        (&["--mu", "1000000000"], "--mu"),
        (&["--experiments", ""], "--experiments"),
        (&["--experiments", "ppo,ppo"], "listed twice"),
        (&["--hack-reward", ""], "--hack-reward"),
        // Over the work budget even at --quick's sizes: 100 seeds × μ = 64.
        (&["--seeds", "100", "--mu", "64"], "with the other flags as given"),
    ];
    for (args, expected) in more {
        cases.push((args.iter().map(|a| a.to_string()).collect(), expected.to_string()));
    }
    let cases: Vec<(Vec<String>, &str)> = cases.iter().map(|(a, e)| (a.clone(), e.as_str())).collect();
    common::assert_bad_input(env!("CARGO_BIN_EXE_ch07-r1-pipeline"), &out, &cases);
    assert!(!out.join("ch07-r1-pipeline").exists(), "a refused run writes nothing");
}

/// The work budget (without --quick): the defaults pass (chapter 7's own --steps and
/// --eval-every among them), products past about an hour are refused naming a flag the
/// user gave, with checked arithmetic (no overflow).
#[test]
fn the_work_budget_refuses_long_combinations() {
    use clap::Parser;
    use rl_sandbox::course::ch07_r1_pipeline::Args;
    use rl_sandbox::run::ChapterArgs;
    let check = |args: &[&str], seeds: usize| {
        let a = Args::try_parse_from(std::iter::once("ch07-r1-pipeline").chain(args.iter().copied())).unwrap();
        a.validate().and_then(|_| a.check_budget(seeds)).map_err(|e| e.to_string())
    };
    check(&[], 3).unwrap();
    check(&["--seeds", "4"], 4).unwrap();
    check(&["--experiments", "hacking", "--hack-steps", "400"], 3).unwrap();
    for (args, seeds, flag) in [
        (&["--steps", "10000"][..], 3, "--steps"),
        (&["--hack-steps", "10000"][..], 3, "--hack-steps"),
        (&["--mu", "64"][..], 3, "--mu"),
        (&["--prompts", "1024", "--group", "256"][..], 3, "--prompts"),
        (&["--rejection-steps", "10000", "--sft-batch", "1024"][..], 3, "--rejection-steps"),
        (&["--rejection-problems", "10000", "--rejection-samples", "64"][..], 3, "--rejection-problems"),
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
