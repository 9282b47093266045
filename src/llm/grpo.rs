//! GRPO (Shao et al., 2024) as DeepSeek-R1-Zero used it: reinforcement learning straight
//! on the base model, with rule rewards, a group baseline instead of a critic, and a k3
//! KL penalty to the frozen reference model (chapter 6; Shao et al. 2024, DeepSeekMath; DeepSeek-AI 2025).
//!
//! The maths are small pure functions over plain numbers, tested against hand-computed
//! values; [`grpo_loss`] is the same maths on tensors, so that autograd can take its
//! gradient; [`train`] is the one loop that drives them. Equation numbers are those of
//! chapters/06-grpo/README.md.

use super::model::Gpt;
use super::sample::{sample, token_logprobs, SampleConfig, Samples};
use super::task::{self, Problem};
use super::tokenizer::Tokenizer;
use crate::error::{check_range, Error, Result};
use candle_core::Tensor;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::Serialize;
use std::time::Instant;

// ---------------------------------------------------------------------------------------
// Rewards (eq. 1): rules only, no neural reward model.
// ---------------------------------------------------------------------------------------

/// The two rule rewards of one response and their sum, the reward GRPO maximises (eq. 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Reward {
    /// 1 when the number inside `<answer>` is exactly right (all or nothing).
    pub accuracy: f64,
    /// 1 when the response is `<think> … </think> <answer> … </answer>` and nothing else.
    pub format: f64,
}

impl Reward {
    pub fn of(text: &str, problem: &Problem) -> Reward {
        Reward { accuracy: task::accuracy_reward(text, problem), format: task::format_reward(text) }
    }

    /// r = r_acc + r_fmt (eq. 1).
    pub fn total(&self) -> f64 {
        self.accuracy + self.format
    }
}

/// The number a response gives, tags or not: inside `<answer>` when there is one, else
/// the last run of digits. Not a reward: a diagnostic that separates arithmetic from format.
pub fn number_answer(text: &str) -> Option<&str> {
    task::extract_answer(text).or_else(|| text.split(|c: char| !c.is_ascii_digit()).rfind(|w| !w.is_empty()))
}

/// Whether the response writes column steps inside `<think>`: at least two equations
/// there (`7+5=12 4+8+1=13`); a one-shot `<think> 47+85=132 </think>` has one.
pub fn writes_steps(text: &str) -> bool {
    match (text.find("<think>"), text.find("</think>")) {
        (Some(a), Some(b)) if a < b => text[a..b].matches('=').count() >= 2,
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// The maths on plain numbers.
// ---------------------------------------------------------------------------------------

/// Group-relative advantages (eq. 2): A_i = (r_i − mean(r)) / (std(r) + ε) within each
/// consecutive group of `group` rewards (the sampler's prompt-major order). std is the
/// population standard deviation. A group whose rewards are all equal has std 0 and gets
/// zero advantages (0 / ε), never NaN: it carries no signal about which response is better.
pub fn group_advantages(rewards: &[f64], group: usize, eps: f64) -> Vec<f64> {
    assert!(
        group >= 1 && rewards.len().is_multiple_of(group),
        "group_advantages: {} rewards in groups of {group}",
        rewards.len()
    );
    rewards
        .chunks(group)
        .flat_map(|rs| {
            let mean = rs.iter().sum::<f64>() / rs.len() as f64;
            let std = (rs.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / rs.len() as f64).sqrt();
            rs.iter().map(move |r| (r - mean) / (std + eps))
        })
        .collect()
}

/// The k3 estimator of KL(π_θ ‖ π_ref) from one token drawn from π_θ (eq. 4):
/// π_ref/π_θ − log(π_ref/π_θ) − 1, from the two log-probabilities. Never negative, since
/// x − 1 ≥ log x, and 0 exactly when the two policies agree on the token. (The same
/// estimator as `estimators::kl_k3` with log r = log π_ref − log π_θ.)
pub fn k3(logp: f64, logp_ref: f64) -> f64 {
    let log_r = logp_ref - logp;
    log_r.exp_m1() - log_r
}

/// The clipped per-token objective (eq. 3): min(ρ A, clip(ρ, 1−ε, 1+ε) A), ρ = π_θ/π_θold.
pub fn clipped_objective(ratio: f64, advantage: f64, eps: f64) -> f64 {
    (ratio * advantage).min(ratio.clamp(1.0 - eps, 1.0 + eps) * advantage)
}

/// Whether the clip is active for this token, so that its gradient through ρ is zero:
/// the ratio has already moved past 1+ε in the direction a positive advantage pushes,
/// or below 1−ε for a negative one.
pub fn is_clipped(ratio: f64, advantage: f64, eps: f64) -> bool {
    (advantage > 0.0 && ratio > 1.0 + eps) || (advantage < 0.0 && ratio < 1.0 - eps)
}

/// How per-token terms become one number (the batch holds many groups).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum Aggregation {
    /// GRPO and DeepSeek (eq. 5): mean over each response's tokens, then mean over
    /// responses. A token of a short response weighs more than one of a long response.
    Sequence,
    /// DAPO (eq. 6): sum over all tokens of the batch / number of tokens. Every token
    /// weighs the same, so long responses count in proportion to their length.
    Token,
    /// Dr. GRPO (eq. 7): sum over all tokens / (responses × max_new), a constant. No
    /// length normalisation at all, so no bias towards short or long responses.
    Constant,
}

/// Aggregates per-token terms `x[i][t]` of a batch of responses (eqs. 5-7); `max_len` is
/// the constant divisor's length (the generation budget) for [`Aggregation::Constant`].
/// A response with no tokens adds nothing and counts as one response.
pub fn aggregate(x: &[Vec<f64>], how: Aggregation, max_len: usize) -> f64 {
    let n = x.len().max(1) as f64;
    match how {
        Aggregation::Sequence => x.iter().map(|row| row.iter().sum::<f64>() / row.len().max(1) as f64).sum::<f64>() / n,
        Aggregation::Token => {
            let tokens = x.iter().map(Vec::len).sum::<usize>().max(1) as f64;
            x.iter().flatten().sum::<f64>() / tokens
        }
        Aggregation::Constant => x.iter().flatten().sum::<f64>() / (n * max_len.max(1) as f64),
    }
}

/// The loss's hyper-parameters.
#[derive(Clone, Debug, Serialize)]
pub struct LossConfig {
    /// Clip range ε of the ratio (eq. 3).
    pub clip_eps: f64,
    /// Weight β of the KL penalty (eq. 5).
    pub beta: f64,
    pub aggregation: Aggregation,
    /// The constant divisor's length L_max for Dr. GRPO (eq. 7): the generation budget.
    pub max_len: usize,
}

/// The GRPO objective J (eqs. 2-7) on plain numbers, per response i and token t:
/// log π_θ, log π_θold, log π_ref, and one advantage per response. The loss is −J.
pub fn objective(
    logp: &[Vec<f64>],
    logp_old: &[Vec<f64>],
    logp_ref: &[Vec<f64>],
    advantages: &[f64],
    cfg: &LossConfig,
) -> f64 {
    let per_token: Vec<Vec<f64>> = (0..logp.len())
        .map(|i| {
            (0..logp[i].len())
                .map(|t| {
                    let ratio = (logp[i][t] - logp_old[i][t]).exp();
                    clipped_objective(ratio, advantages[i], cfg.clip_eps) - cfg.beta * k3(logp[i][t], logp_ref[i][t])
                })
                .collect()
        })
        .collect();
    aggregate(&per_token, cfg.aggregation, cfg.max_len)
}

// ---------------------------------------------------------------------------------------
// The same maths on tensors, for autograd.
// ---------------------------------------------------------------------------------------

/// The GRPO loss −J (eqs. 2-7) as a differentiable scalar. `logp` [B, L] is log π_θ of
/// the sampled tokens (with gradient), `logp_old` and `logp_ref` the same tokens under
/// π_θold and π_ref (constants), `mask` [B, L] marks real tokens, `advantages` has one
/// entry per response and is broadcast over its tokens.
pub fn grpo_loss(
    logp: &Tensor,
    logp_old: &Tensor,
    logp_ref: &Tensor,
    mask: &Tensor,
    advantages: &[f64],
    cfg: &LossConfig,
) -> candle_core::Result<Tensor> {
    let (b, _) = logp.dims2()?;
    let adv = Tensor::from_vec(advantages.iter().map(|&a| a as f32).collect(), (b, 1), logp.device())?;
    // eq. (3): ρ = exp(log π_θ − log π_θold); min(ρA, clip(ρ)A).
    let ratio = (logp - logp_old.detach())?.exp()?;
    let unclipped = ratio.broadcast_mul(&adv)?;
    let clipped = ratio.clamp(1.0 - cfg.clip_eps, 1.0 + cfg.clip_eps)?.broadcast_mul(&adv)?;
    let surrogate = unclipped.minimum(&clipped)?;
    // eq. (4): k3 = π_ref/π_θ − log(π_ref/π_θ) − 1.
    let log_r = (logp_ref.detach() - logp)?;
    let kl = ((log_r.exp()? - &log_r)? - 1.0)?;
    let per_token = ((surrogate - (kl * cfg.beta)?)? * mask)?;
    // eqs. (5)-(7).
    let j = match cfg.aggregation {
        Aggregation::Sequence => {
            let lengths = mask.sum_keepdim(1)?.maximum(1.0)?;
            per_token.sum_keepdim(1)?.div(&lengths)?.mean_all()?
        }
        Aggregation::Token => (per_token.sum_all()? / mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64)?,
        Aggregation::Constant => (per_token.sum_all()? / (b * cfg.max_len.max(1)) as f64)?,
    };
    j.neg()
}

/// Rows of a [B, L] tensor as f64 vectors cut to each row's length.
fn ragged(x: &Tensor, lengths: &[usize]) -> candle_core::Result<Vec<Vec<f64>>> {
    Ok(x.to_vec2::<f32>()?
        .into_iter()
        .zip(lengths)
        .map(|(row, &l)| row[..l].iter().map(|&v| v as f64).collect())
        .collect())
}

// ---------------------------------------------------------------------------------------
// The training loop.
// ---------------------------------------------------------------------------------------

/// GRPO's hyper-parameters (the chapter's flags, with the lesson's defaults there).
#[derive(Clone, Debug, Serialize)]
pub struct GrpoConfig {
    /// GRPO steps: each samples a fresh batch of prompts × group responses.
    pub steps: usize,
    /// Prompts (questions) per step.
    pub prompts: usize,
    /// Responses per prompt, G.
    pub group: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// ε of the advantage's denominator (eq. 2).
    pub adv_eps: f64,
    /// Gradient updates per sampled batch, μ (1: π_θold = π_θ at the only update).
    pub mu: usize,
    pub loss: LossConfig,
    /// How responses are drawn during training (temperature, top-k, max_new); the
    /// chapter's flags record it.
    #[serde(skip)]
    pub sample: SampleConfig,
    /// Held-out greedy evaluation every this many steps (and at the first and last).
    pub eval_every: usize,
    /// Held-out problems for that evaluation.
    pub eval_problems: usize,
}

/// The longest response any run may ask for: the shipped models' context (80 tokens)
/// minus the longest prompt (9 tokens, two 3-digit numbers).
pub const MAX_NEW: usize = 71;

/// The most steps of any training run (GRPO, PPO, SFT), and of `--eval-every`.
pub const MAX_STEPS: usize = 10_000;
/// The largest KL weight β of any run.
pub const MAX_BETA: f64 = 10.0;
/// The most held-out problems an evaluation may ask for: `task::test_problems` draws
/// distinct ones, and the split holds 819.
pub const MAX_HELD_OUT: usize = 800;

/// [`crate::error::check_count`] for `usize` flags.
pub fn check_count(name: &str, value: usize, lo: usize, hi: usize) -> Result<()> {
    crate::error::check_count(name, value as u64, lo as u64, hi as u64)
}

/// One factor of a run's work: a count flag, its value, its default and its range.
#[derive(Clone, Copy, Debug)]
pub struct Factor {
    pub flag: &'static str,
    pub value: usize,
    pub default: usize,
    pub lo: usize,
    pub hi: usize,
}

/// Refuses a combination of flags whose `work` (computed with checked arithmetic from
/// the factors' values, in order; `None` on overflow) exceeds `limit`. Every default
/// passes, so some factor lies above its default: the error names the one furthest
/// above (a flag the user gave) and the range it may take with the others as given.
pub fn check_work(factors: &[Factor], limit: u64, what: &str, work: impl Fn(&[usize]) -> Option<u64>) -> Result<()> {
    let values: Vec<usize> = factors.iter().map(|f| f.value).collect();
    if work(&values).is_some_and(|w| w <= limit) {
        return Ok(());
    }
    let ratio = |f: &Factor| f.value as f64 / f.default.max(1) as f64;
    let Some(i) = (0..factors.len()).max_by(|&a, &b| ratio(&factors[a]).total_cmp(&ratio(&factors[b]))) else {
        return Ok(());
    };
    let f = factors[i];
    let fits = |v: usize| {
        let mut vs = values.clone();
        vs[i] = v;
        work(&vs).is_some_and(|w| w <= limit)
    };
    if !fits(f.lo) {
        let why = format!("{what} would exceed its limit of {limit} with the other flags as given; lower it or them");
        return Err(Error::invalid(f.flag, f.value, &why));
    }
    // The largest value that fits (work grows with every factor), by bisection.
    let (mut ok, mut bad) = (f.lo, f.value.max(f.lo + 1));
    while bad - ok > 1 {
        let mid = ok + (bad - ok) / 2;
        if fits(mid) {
            ok = mid;
        } else {
            bad = mid;
        }
    }
    let why = format!("must lie in [{}, {ok}] with the other flags as given ({what} is bounded)", f.lo);
    Err(Error::invalid(f.flag, f.value, &why))
}

/// `a × b × ...` with checked arithmetic, `None` on overflow.
pub fn product(factors: &[usize]) -> Option<u64> {
    factors.iter().try_fold(1u64, |acc, &f| acc.checked_mul(f as u64))
}

/// GRPO's flags, shared by the chapters that run it (flattened into their `Args`):
/// each default written once, here, with its `--help` line. A chapter whose lesson
/// quotes another default overrides it with clap's `mut_arg`.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct GrpoFlags {
    /// GRPO steps (each samples prompts × group responses) [1, 10000]
    #[arg(long, default_value_t = 90)]
    pub steps: usize,
    /// Prompts (questions) per step [1, 1024]
    #[arg(long, default_value_t = 16)]
    pub prompts: usize,
    /// Responses per prompt, the group size G [2, 256]
    #[arg(long, default_value_t = 8)]
    pub group: usize,
    /// AdamW learning rate (0, 1]
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Weight β of the k3 KL penalty to the reference (base) model [0, 10]
    #[arg(long, default_value_t = 0.04)]
    pub beta: f64,
    /// Clip range ε of the ratio π_θ / π_θold (0, 1)
    #[arg(long, default_value_t = 0.2)]
    pub clip_eps: f64,
    /// Gradient updates per sampled batch, μ (>1 makes the ratio and the clip matter) [1, 64]
    #[arg(long, default_value_t = 1)]
    pub mu: usize,
    /// Sampling temperature during training and evaluation [0.001, 10]
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Longest response in tokens (also Dr. GRPO's constant divisor) [4, 71]
    #[arg(long, default_value_t = 64)]
    pub max_new: usize,
    /// Held-out greedy evaluation every this many steps [1, 10000]
    #[arg(long, default_value_t = 5)]
    pub eval_every: usize,
    /// Held-out problems for the evaluation during training [1, 800]
    #[arg(long, default_value_t = 128)]
    pub eval_problems: usize,
}

/// The flags of GRPO's variants (advantage ε, DAPO / Dr. GRPO aggregation, top-k
/// sampling): chapter 6 exposes them, chapter 7 runs their defaults
/// ([`GrpoVariantFlags::default`] reads them from here).
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct GrpoVariantFlags {
    /// ε added to the group's std in the advantage (0, 1]
    #[arg(long, default_value_t = 1e-4)]
    pub adv_eps: f64,
    /// How per-token terms are averaged: sequence (GRPO), token (DAPO), constant (Dr. GRPO)
    #[arg(long, value_enum, default_value_t = Aggregation::Sequence)]
    pub aggregation: Aggregation,
    /// Sample only among the k most likely tokens (0: all) [0, 1000]
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
}

impl Default for GrpoVariantFlags {
    /// The defaults written on the flags above.
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            flags: GrpoVariantFlags,
        }
        <Defaults as clap::Parser>::parse_from([""]).flags
    }
}

impl GrpoFlags {
    /// Checks every flag; an error names the flag, its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        check_count("--steps", self.steps, 1, MAX_STEPS)?;
        check_count("--prompts", self.prompts, 1, 1024)?;
        if self.group < 2 {
            return Err(Error::invalid("--group", self.group, "must be at least 2: the baseline is the group's mean"));
        }
        check_count("--group", self.group, 2, 256)?;
        if !(self.lr > 0.0 && self.lr <= 1.0) {
            return Err(Error::invalid("--lr", self.lr, "must lie in (0, 1]"));
        }
        check_range("--beta", self.beta, 0.0, MAX_BETA)?;
        if !(self.clip_eps > 0.0 && self.clip_eps < 1.0) {
            return Err(Error::invalid("--clip-eps", self.clip_eps, "must lie in (0, 1)"));
        }
        check_count("--mu", self.mu, 1, 64)?;
        check_range("--temperature", self.temperature, 1e-3, 10.0)?;
        // The longest prompt is 9 tokens and the shipped models' context 80.
        check_range("--max-new", self.max_new as f64, 4.0, MAX_NEW as f64)?;
        check_count("--eval-every", self.eval_every, 1, MAX_STEPS)?;
        check_count("--eval-problems", self.eval_problems, 1, MAX_HELD_OUT)
    }

    /// How responses are drawn (training and evaluation).
    pub fn sample_config(&self, variant: &GrpoVariantFlags) -> SampleConfig {
        SampleConfig { temperature: self.temperature, top_k: variant.top_k, max_new: self.max_new }
    }

    /// The training loop's configuration at the flags' β.
    pub fn config(&self, variant: &GrpoVariantFlags) -> GrpoConfig {
        GrpoConfig {
            steps: self.steps,
            prompts: self.prompts,
            group: self.group,
            lr: self.lr,
            adv_eps: variant.adv_eps,
            mu: self.mu,
            loss: LossConfig {
                clip_eps: self.clip_eps,
                beta: self.beta,
                aggregation: variant.aggregation,
                max_len: self.max_new,
            },
            sample: self.sample_config(variant),
            eval_every: self.eval_every,
            eval_problems: self.eval_problems,
        }
    }
}

impl GrpoVariantFlags {
    pub fn validate(&self) -> Result<()> {
        if !(self.adv_eps > 0.0 && self.adv_eps <= 1.0) {
            return Err(Error::invalid("--adv-eps", self.adv_eps, "must lie in (0, 1]"));
        }
        check_count("--top-k", self.top_k, 0, 1000)
    }
}

/// One GRPO step's record.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GrpoStepLog {
    pub step: usize,
    /// Mean rewards of the step's samples.
    pub reward: f64,
    pub accuracy_reward: f64,
    pub format_reward: f64,
    /// Mean k3 KL(π_θold ‖ π_ref) per sampled token, before the update.
    pub kl: f64,
    /// Mean response length in tokens (the end token included).
    pub length: f64,
    /// Share of tokens whose ratio was clipped, over the μ updates.
    pub clip_fraction: f64,
    /// Share of groups whose rewards are all equal (zero advantage, no signal).
    pub zero_spread: f64,
    /// Share of responses that write column steps inside `<think>`.
    pub writes_steps: f64,
    /// Share of responses whose number is right, tags or not.
    pub number_right: f64,
    /// Share of responses that check their result inside `<think>`.
    pub checks: f64,
    /// The loss −J of the first update.
    pub loss: f64,
    /// Seconds spent drawing responses, scoring them (rewards, advantages, reference
    /// log-probabilities) and updating (forward, backward, AdamW, μ times).
    pub sample_s: f64,
    pub score_s: f64,
    pub update_s: f64,
    /// Tokens generated (responses only).
    pub tokens: usize,
    /// Held-out greedy accuracy and format rate, on steps with an evaluation.
    pub heldout_accuracy: Option<f64>,
    pub heldout_format: Option<f64>,
}

/// Greedy accuracy and format rate on held-out problems (no sampling, so no RNG).
pub fn greedy_eval(model: &Gpt, tokenizer: &Tokenizer, problems: &[Problem], max_new: usize) -> Result<(f64, f64)> {
    let prompts = super::eval::prompts(tokenizer, problems)?;
    let cfg = SampleConfig { temperature: 0.0, top_k: 0, max_new };
    let s = sample(model, tokenizer, &prompts, 1, &cfg, &mut crate::rng::seeded(0, 0))?;
    let n = problems.len() as f64;
    let acc = s.texts.iter().zip(problems).map(|(t, p)| task::accuracy_reward(t, p)).sum::<f64>() / n;
    let fmt = s.texts.iter().map(|t| task::format_reward(t)).sum::<f64>() / n;
    Ok((acc, fmt))
}

/// The rule reward r = r_acc + r_fmt of eq. (1): what [`train`] maximises.
pub fn rule_reward(text: &str, problem: &Problem) -> f64 {
    Reward::of(text, problem).total()
}

/// Trains a copy of `base` with GRPO; `base` itself is the frozen reference π_ref.
/// Problems and samples come from `seeded(seed, stream)`. `on_step` sees every step.
pub fn train(
    base: &Gpt,
    tokenizer: &Tokenizer,
    cfg: &GrpoConfig,
    seed: u64,
    stream: u64,
    on_step: impl FnMut(&GrpoStepLog),
) -> Result<(Gpt, Vec<GrpoStepLog>)> {
    train_with_reward(base, tokenizer, cfg, seed, stream, &rule_reward, on_step)
}

/// [`train`] with another reward in place of the rule reward of eq. (1): `reward`
/// scores one response to one problem (chapter 7's flawed rewards). The step log's
/// `reward` is the mean of this reward; `accuracy_reward` and `format_reward` stay the
/// rule's, so that a proxy can be compared with the truth.
pub fn train_with_reward(
    base: &Gpt,
    tokenizer: &Tokenizer,
    cfg: &GrpoConfig,
    seed: u64,
    stream: u64,
    reward: &(dyn Fn(&str, &Problem) -> f64 + Sync),
    mut on_step: impl FnMut(&GrpoStepLog),
) -> Result<(Gpt, Vec<GrpoStepLog>)> {
    let mut rng = crate::rng::seeded(seed, stream);
    let policy = base.duplicate()?;
    let params = ParamsAdamW { lr: cfg.lr, beta1: 0.9, beta2: 0.99, eps: 1e-8, weight_decay: 0.0 };
    let mut opt = AdamW::new(policy.vars(), params)?;
    let heldout = tokenizer.task().test_problems(cfg.eval_problems);
    let (g, max_new) = (cfg.group, cfg.sample.max_new);
    let mut log = Vec::with_capacity(cfg.steps + 1);
    for step in 0..=cfg.steps {
        let mut entry = GrpoStepLog { step, ..GrpoStepLog::default() };
        if step % cfg.eval_every == 0 || step == cfg.steps {
            let (acc, fmt) = greedy_eval(&policy, tokenizer, &heldout, max_new)?;
            (entry.heldout_accuracy, entry.heldout_format) = (Some(acc), Some(fmt));
        }
        if step == cfg.steps {
            // The last record holds only the final evaluation.
            on_step(&entry);
            log.push(entry);
            break;
        }

        // 1. Sample a group of G responses per prompt from π_θold (the current policy).
        let t = Instant::now();
        let problems: Vec<Problem> = (0..cfg.prompts).map(|_| tokenizer.task().sample_train(&mut rng)).collect();
        let prompts = super::eval::prompts(tokenizer, &problems)?;
        let s: Samples = sample(&policy, tokenizer, &prompts, g, &cfg.sample, &mut rng)?;
        entry.sample_s = t.elapsed().as_secs_f64();

        // 2. Score: rule rewards (eq. 1), group advantages (eq. 2), reference log-probs.
        let t = Instant::now();
        let rewards: Vec<Reward> = s.texts.iter().zip(&s.prompt).map(|(x, &p)| Reward::of(x, &problems[p])).collect();
        let totals: Vec<f64> = s.texts.iter().zip(&s.prompt).map(|(x, &p)| reward(x, &problems[p])).collect();
        let advantages = group_advantages(&totals, g, cfg.adv_eps);
        let rows: Vec<Vec<u32>> = s.prompt.iter().map(|&p| prompts[p].clone()).collect();
        let lengths: Vec<usize> = s.ids.iter().map(Vec::len).collect();
        let (logp_ref, _) = token_logprobs(base, &rows, &s.ids)?;
        let logp_ref = logp_ref.detach();
        entry.score_s = t.elapsed().as_secs_f64();

        // 3. Update μ times on the same batch. π_θold is the policy that sampled: at the
        // first update it equals π_θ, so its log-probs are that forward pass's, detached.
        let t = Instant::now();
        let mut logp_old: Option<Tensor> = None;
        let mut clipped = 0usize;
        for k in 0..cfg.mu {
            let (logp, mask) = token_logprobs(&policy, &rows, &s.ids)?;
            let old = logp_old.get_or_insert_with(|| logp.detach()).clone();
            let loss = grpo_loss(&logp, &old, &logp_ref, &mask, &advantages, &cfg.loss)?;
            let value = loss.to_scalar::<f32>()? as f64;
            if !value.is_finite() {
                return Err(Error::NonFinite { what: "the GRPO loss".into(), step: step as u64 });
            }
            // Diagnostics from the pure functions on the same numbers.
            let (lp, lo) = (ragged(&logp, &lengths)?, ragged(&old, &lengths)?);
            for (i, (a, b)) in lp.iter().zip(&lo).enumerate() {
                clipped += a
                    .iter()
                    .zip(b)
                    .filter(|(x, y)| is_clipped((*x - *y).exp(), advantages[i], cfg.loss.clip_eps))
                    .count();
            }
            if k == 0 {
                entry.loss = value;
                let lr = ragged(&logp_ref, &lengths)?;
                let kls: Vec<Vec<f64>> =
                    lp.iter().zip(&lr).map(|(a, b)| a.iter().zip(b).map(|(x, y)| k3(*x, *y)).collect()).collect();
                entry.kl = aggregate(&kls, Aggregation::Token, max_new);
            }
            opt.backward_step(&loss)?;
        }
        entry.update_s = t.elapsed().as_secs_f64();

        let n = s.texts.len() as f64;
        let tokens: usize = lengths.iter().sum();
        entry.reward = totals.iter().sum::<f64>() / n;
        entry.accuracy_reward = rewards.iter().map(|r| r.accuracy).sum::<f64>() / n;
        entry.format_reward = rewards.iter().map(|r| r.format).sum::<f64>() / n;
        entry.length = tokens as f64 / n;
        entry.tokens = tokens;
        entry.clip_fraction = clipped as f64 / (tokens * cfg.mu).max(1) as f64;
        entry.zero_spread =
            totals.chunks(g).filter(|rs| rs.iter().all(|r| r == &rs[0])).count() as f64 / cfg.prompts as f64;
        entry.writes_steps = s.texts.iter().filter(|x| writes_steps(x)).count() as f64 / n;
        entry.checks = s.texts.iter().filter(|x| task::checks_answer(x)).count() as f64 / n;
        entry.number_right = s
            .texts
            .iter()
            .zip(&s.prompt)
            .filter(|(x, &p)| number_answer(x) == Some(problems[p].answer().to_string().as_str()))
            .count() as f64
            / n;
        on_step(&entry);
        log.push(entry);
    }
    Ok((policy, log))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_on_small_cases() {
        assert_eq!(number_answer("The answer is 132."), Some("132"));
        assert_eq!(number_answer("<think> 7+5=12 </think> <answer> 132 </answer>"), Some("132"));
        assert_eq!(number_answer("no digits"), None);
        assert!(writes_steps("<think> 7+5=12 4+8+1=13 </think> <answer> 132 </answer>"));
        assert!(!writes_steps("<think> 47+85=132 </think> <answer> 132 </answer>"));
        assert!(!writes_steps("7+5=12 4+8+1=13"));
    }

    #[test]
    fn flag_defaults_are_written_once_and_a_chapter_can_override_them() {
        use clap::Parser;
        #[derive(Parser)]
        struct Lesson {
            #[command(flatten)]
            grpo: GrpoFlags,
        }
        #[derive(Parser)]
        #[command(mut_arg("steps", |a| a.default_value("60")))]
        struct Other {
            #[command(flatten)]
            grpo: GrpoFlags,
        }
        let (lesson, other) = (Lesson::parse_from([""]).grpo, Other::parse_from([""]).grpo);
        assert_eq!((lesson.steps, other.steps, other.group, other.beta), (90, 60, 8, 0.04));
        let variant = GrpoVariantFlags::default();
        assert_eq!((variant.adv_eps, variant.aggregation, variant.top_k), (1e-4, Aggregation::Sequence, 0));
        let cfg = lesson.config(&variant);
        assert_eq!((cfg.loss.max_len, cfg.sample.max_new, cfg.adv_eps), (64, 64, 1e-4));
        assert!(GrpoFlags { group: 1, ..lesson }.validate().unwrap_err().to_string().contains("--group"));
    }
}
