//! PPO as RLHF runs it on a language model, with a critic (chapter 7, experiment 1;
//! Ouyang et al. 2022): the actor (the policy), a critic V(s_t) (a copy of the base model's
//! body with a value head), the frozen reference, and here the rule reward in place of
//! a reward model. The KL penalty is folded into a per-token reward (eq. 1), advantages
//! come from token-level GAE (eqs. 2-3, `estimators::gae`), the actor maximises PPO's clipped
//! surrogate (eq. 5) and the critic regresses the returns (eq. 6).
//!
//! Equation numbers are those of chapters/07-r1-pipeline/README.md.

use super::eval::prompts;
use super::grpo::{
    clipped_objective, greedy_eval, is_clipped, k3, number_answer, rule_reward, writes_steps, GrpoStepLog,
};
use super::model::{causal_bias, Gpt};
use super::sample::{sample, token_logprobs, CompletionLayout, SampleConfig, Samples};
use super::task::{self, Problem};
use super::tokenizer::Tokenizer;
use crate::error::{Error, Result};
use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use serde::Serialize;
use std::time::Instant;

// ---------------------------------------------------------------------------------------
// The critic.
// ---------------------------------------------------------------------------------------

/// The critic of RLHF: the base model's body (embeddings and blocks, initialised from
/// the base, as the articles describe) and a value head w·h_t + b on its last hidden
/// state. It is a second model as large as the actor, trained beside it.
pub struct Critic {
    pub body: Gpt,
    head_w: Var,
    head_b: Var,
}

impl Critic {
    /// A copy of `base`'s body with a zero value head: V = 0 everywhere at the start.
    pub fn new(base: &Gpt) -> candle_core::Result<Critic> {
        let d = base.cfg.d_model;
        let dev = &Device::Cpu;
        Ok(Critic {
            body: base.duplicate()?,
            head_w: Var::from_tensor(&Tensor::zeros((d, 1), candle_core::DType::F32, dev)?)?,
            head_b: Var::from_tensor(&Tensor::zeros(1, candle_core::DType::F32, dev)?)?,
        })
    }

    /// The trained parameters: the body's (its unused output head, if untied, aside) and the value head's.
    pub fn vars(&self) -> Vec<Var> {
        let mut v: Vec<Var> =
            self.body.named_vars().into_iter().filter(|(n, _)| n != "head").map(|(_, v)| v.clone()).collect();
        v.push(self.head_w.clone());
        v.push(self.head_b.clone());
        v
    }

    pub fn n_params(&self) -> usize {
        self.vars().iter().map(|v| v.elem_count()).sum()
    }

    /// The value head's parameters (w [d, 1], b [1]).
    pub fn head(&self) -> (&Var, &Var) {
        (&self.head_w, &self.head_b)
    }

    /// V(s_t) for every response token t, [B, L]: the value of the state (q, o_<t) in
    /// which o_t is chosen, read at the same position whose logits give π(o_t | q, o_<t)
    /// ([`token_logprobs`]); with the [B, L] mask. Padded entries are 0.
    pub fn values(&self, prompts: &[Vec<u32>], completions: &[Vec<u32>]) -> candle_core::Result<(Tensor, Tensor)> {
        let lay = CompletionLayout::new(&self.body, prompts, completions)?;
        let (b, t, l) = (lay.b, lay.t, lay.l);
        let pos: Vec<u32> = (0..b).flat_map(|_| 0..t as u32).collect();
        let pos = Tensor::from_vec(pos, (b, t), &Device::Cpu)?;
        let h = self.body.hidden_with(&lay.ids, &pos, &causal_bias(t)?, None)?; // [B·T, d]
        let v =
            h.index_select(&lay.rows, 0)?.matmul(self.head_w.as_tensor())?.broadcast_add(self.head_b.as_tensor())?;
        Ok(((v.reshape((b, l))? * &lay.mask)?, lay.mask))
    }
}

// ---------------------------------------------------------------------------------------
// The maths on plain numbers.
// ---------------------------------------------------------------------------------------

/// Per-token rewards of one response with the KL penalty folded in (eq. 1):
/// r_t = −β (log π_old(o_t) − log π_ref(o_t)), plus the response's reward R on its last
/// token. The sum over t is R − β · (the k1 estimate of KL(π_old ‖ π_ref) over the response).
pub fn token_rewards(logp_old: &[f64], logp_ref: &[f64], reward: f64, beta: f64) -> Vec<f64> {
    let n = logp_old.len();
    (0..n).map(|t| -beta * (logp_old[t] - logp_ref[t]) + if t + 1 == n { reward } else { 0.0 }).collect()
}

/// Token-level GAE over one response (eqs. 2-3), by `estimators::gae`: δ_t = r_t + γ V(s_{t+1})
/// − V(s_t) with V = 0 after the last token (the response is over: terminated), and
/// A_t = Σ_l (γλ)^l δ_{t+l}. Returns (advantages, returns = A + V), the critic's targets.
pub fn token_gae(rewards: &[f64], values: &[f64], gamma: f64, lambda: f64) -> (Vec<f64>, Vec<f64>) {
    let n = rewards.len();
    let next: Vec<f64> = (0..n).map(|t| if t + 1 < n { values[t + 1] } else { 0.0 }).collect();
    let terminated: Vec<bool> = (0..n).map(|t| t + 1 == n).collect();
    crate::estimators::gae(rewards, values, &next, &terminated, &vec![false; n], gamma, lambda)
}

/// Whitening over every token of the batch (eq. 4): (A − mean) / (std + 1e-8), as RLHF
/// implementations do; the mean acts as one more baseline.
pub fn whiten(rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let all: Vec<f64> = rows.iter().flatten().copied().collect();
    let n = all.len().max(1) as f64;
    let mean = all.iter().sum::<f64>() / n;
    let std = (all.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / n).sqrt();
    rows.iter().map(|r| r.iter().map(|a| (a - mean) / (std + 1e-8)).collect()).collect()
}

/// The actor's objective on plain numbers (eq. 5): the clipped surrogate of every token
/// with its own advantage, averaged over all tokens of the batch.
pub fn actor_objective(logp: &[Vec<f64>], logp_old: &[Vec<f64>], advantages: &[Vec<f64>], clip_eps: f64) -> f64 {
    let per_token: Vec<Vec<f64>> = logp
        .iter()
        .zip(logp_old)
        .zip(advantages)
        .map(|((lp, lo), a)| {
            lp.iter().zip(lo).zip(a).map(|((x, y), a)| clipped_objective((x - y).exp(), *a, clip_eps)).collect()
        })
        .collect();
    super::grpo::aggregate(&per_token, super::grpo::Aggregation::Token, 1)
}

// ---------------------------------------------------------------------------------------
// The same maths on tensors.
// ---------------------------------------------------------------------------------------

/// The actor loss −(eq. 5) as a differentiable scalar; `advantages` is [B, L] like
/// `logp` (one advantage per token), `mask` marks real tokens.
pub fn actor_loss(
    logp: &Tensor,
    logp_old: &Tensor,
    mask: &Tensor,
    advantages: &Tensor,
    clip_eps: f64,
) -> candle_core::Result<Tensor> {
    let ratio = (logp - logp_old.detach())?.exp()?;
    let unclipped = (&ratio * advantages)?;
    let clipped = (ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps)? * advantages)?;
    let surrogate = (unclipped.minimum(&clipped)? * mask)?;
    let tokens = mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64;
    (surrogate.sum_all()? / tokens)?.neg()
}

/// The critic loss (eq. 6): ½ · mean over tokens of (V(s_t) − G_t)², G the GAE returns.
pub fn value_loss(values: &Tensor, returns: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let err = ((values - returns.detach())? * mask)?;
    let tokens = mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64;
    err.sqr()?.sum_all()? / (2.0 * tokens)
}

/// Rows of a [B, L] tensor as f64 vectors cut to each row's length.
fn ragged(x: &Tensor, lengths: &[usize]) -> candle_core::Result<Vec<Vec<f64>>> {
    Ok(x.to_vec2::<f32>()?
        .into_iter()
        .zip(lengths)
        .map(|(row, &l)| row[..l].iter().map(|&v| v as f64).collect())
        .collect())
}

/// Ragged rows back into a [B, L] tensor, zero-padded.
fn padded(rows: &[Vec<f64>], l: usize) -> candle_core::Result<Tensor> {
    let v: Vec<f32> = rows.iter().flat_map(|r| (0..l).map(|t| r.get(t).copied().unwrap_or(0.0) as f32)).collect();
    Tensor::from_vec(v, (rows.len(), l), &Device::Cpu)
}

// ---------------------------------------------------------------------------------------
// The training loop.
// ---------------------------------------------------------------------------------------

/// The critic's own flags: its learning rate and the token-level GAE's γ and λ (the
/// rest of [`CriticPpoConfig`] matches GRPO's, so that the two compare like for like).
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct CriticFlags {
    /// PPO: AdamW learning rate of the critic (0, 1]
    #[arg(long, default_value_t = 1e-3)]
    pub critic_lr: f64,
    /// PPO: discount γ of the token-level GAE [0, 1]
    #[arg(long, default_value_t = 1.0)]
    pub gamma: f64,
    /// PPO: λ of the token-level GAE [0, 1]
    #[arg(long, default_value_t = 0.95)]
    pub lambda: f64,
}

impl CriticFlags {
    pub fn validate(&self) -> Result<()> {
        if !(self.critic_lr > 0.0 && self.critic_lr <= 1.0) {
            return Err(Error::invalid("--critic-lr", self.critic_lr, "must lie in (0, 1]"));
        }
        crate::error::check_range("--gamma", self.gamma, 0.0, 1.0)?;
        crate::error::check_range("--lambda", self.lambda, 0.0, 1.0)
    }
}

/// PPO-with-a-critic's hyper-parameters (not `ppo::PpoConfig`, the control chapters' PPO).
#[derive(Clone, Debug, Serialize)]
pub struct CriticPpoConfig {
    pub steps: usize,
    /// Prompts per step, one response each (GRPO draws a group per prompt instead).
    pub prompts: usize,
    /// AdamW learning rates of the actor and of the critic.
    pub lr: f64,
    pub critic_lr: f64,
    /// Weight β of the KL penalty in the reward (eq. 1).
    pub beta: f64,
    pub clip_eps: f64,
    pub gamma: f64,
    pub lambda: f64,
    /// Updates per sampled batch (actor and critic).
    pub mu: usize,
    #[serde(skip)]
    pub sample: SampleConfig,
    pub eval_every: usize,
    pub eval_problems: usize,
}

/// One PPO step's record: the fields GRPO logs (so the two can share plots; the KL is
/// the same k3 measure; `zero_spread` is not defined and is NaN) and the critic's.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PpoStepLog {
    #[serde(flatten)]
    pub common: GrpoStepLog,
    /// The critic loss (eq. 6) of the first update.
    pub value_loss: f64,
    /// How much of the returns' variance the critic explains, before its update.
    pub explained_variance: f64,
}

/// Trains a copy of `base` (the actor) and a critic built from `base` with PPO; `base`
/// itself is the frozen reference. Problems and samples come from `seeded(seed, stream)`.
pub fn train(
    base: &Gpt,
    tokenizer: &Tokenizer,
    cfg: &CriticPpoConfig,
    seed: u64,
    stream: u64,
    mut on_step: impl FnMut(&PpoStepLog),
) -> Result<(Gpt, Critic, Vec<PpoStepLog>)> {
    let mut rng = crate::rng::seeded(seed, stream);
    let policy = base.duplicate()?;
    let critic = Critic::new(base)?;
    let adam = |lr| ParamsAdamW { lr, beta1: 0.9, beta2: 0.99, eps: 1e-8, weight_decay: 0.0 };
    let mut opt_actor = AdamW::new(policy.vars(), adam(cfg.lr))?;
    let mut opt_critic = AdamW::new(critic.vars(), adam(cfg.critic_lr))?;
    let heldout = tokenizer.task().test_problems(cfg.eval_problems);
    let max_new = cfg.sample.max_new;
    let mut log = Vec::with_capacity(cfg.steps + 1);
    for step in 0..=cfg.steps {
        let mut entry = PpoStepLog { common: GrpoStepLog { step, ..GrpoStepLog::default() }, ..PpoStepLog::default() };
        if step % cfg.eval_every.max(1) == 0 || step == cfg.steps {
            let (acc, fmt) = greedy_eval(&policy, tokenizer, &heldout, max_new)?;
            (entry.common.heldout_accuracy, entry.common.heldout_format) = (Some(acc), Some(fmt));
        }
        if step == cfg.steps {
            on_step(&entry);
            log.push(entry);
            break;
        }

        // 1. One response per prompt from π_old (the current actor).
        let t = Instant::now();
        let problems: Vec<Problem> = (0..cfg.prompts).map(|_| tokenizer.task().sample_train(&mut rng)).collect();
        let prompt_ids = prompts(tokenizer, &problems)?;
        let s: Samples = sample(&policy, tokenizer, &prompt_ids, 1, &cfg.sample, &mut rng)?;
        entry.common.sample_s = t.elapsed().as_secs_f64();

        // 2. Score: rule reward, log π_old and log π_ref of every token, the critic's
        // values, per-token rewards (eq. 1), GAE (eqs. 2-3), whitening (eq. 4).
        let t = Instant::now();
        let rewards: Vec<f64> = s.texts.iter().zip(&s.prompt).map(|(x, &p)| rule_reward(x, &problems[p])).collect();
        let rows: Vec<Vec<u32>> = s.prompt.iter().map(|&p| prompt_ids[p].clone()).collect();
        let lengths: Vec<usize> = s.ids.iter().map(Vec::len).collect();
        let l = lengths.iter().copied().max().unwrap_or(1).max(1);
        let (logp0, mask) = token_logprobs(&policy, &rows, &s.ids)?;
        let logp_old = logp0.detach();
        let (logp_ref, _) = token_logprobs(base, &rows, &s.ids)?;
        let (values0, _) = critic.values(&rows, &s.ids)?;
        let lo = ragged(&logp_old, &lengths)?;
        let lr = ragged(&logp_ref.detach(), &lengths)?;
        let v = ragged(&values0.detach(), &lengths)?;
        let (mut adv, mut ret) = (Vec::with_capacity(lo.len()), Vec::with_capacity(lo.len()));
        for i in 0..lo.len() {
            let r = token_rewards(&lo[i], &lr[i], rewards[i], cfg.beta);
            let (a, g) = token_gae(&r, &v[i], cfg.gamma, cfg.lambda);
            adv.push(a);
            ret.push(g);
        }
        let adv = whiten(&adv);
        let adv_t = padded(&adv, l)?;
        let ret_t = padded(&ret, l)?;
        let flat = |x: &[Vec<f64>]| x.iter().flatten().copied().collect::<Vec<f64>>();
        entry.explained_variance = crate::estimators::explained_variance(&flat(&v), &flat(&ret));
        entry.common.score_s = t.elapsed().as_secs_f64();

        // 3. μ updates of the actor (eq. 5) and the critic (eq. 6) on the same batch.
        let t = Instant::now();
        let mut clipped = 0usize;
        for k in 0..cfg.mu {
            let logp = if k == 0 { logp0.clone() } else { token_logprobs(&policy, &rows, &s.ids)?.0 };
            let loss = actor_loss(&logp, &logp_old, &mask, &adv_t, cfg.clip_eps)?;
            let value = loss.to_scalar::<f32>()? as f64;
            if !value.is_finite() {
                return Err(Error::NonFinite { what: "the PPO actor loss".into(), step: step as u64 });
            }
            let lp = ragged(&logp, &lengths)?;
            for i in 0..lp.len() {
                clipped += (0..lp[i].len())
                    .filter(|&t| is_clipped((lp[i][t] - lo[i][t]).exp(), adv[i][t], cfg.clip_eps))
                    .count();
            }
            let values = if k == 0 { values0.clone() } else { critic.values(&rows, &s.ids)?.0 };
            let vloss = value_loss(&values, &ret_t, &mask)?;
            let vvalue = vloss.to_scalar::<f32>()? as f64;
            if !vvalue.is_finite() {
                return Err(Error::NonFinite { what: "the PPO critic loss".into(), step: step as u64 });
            }
            if k == 0 {
                entry.common.loss = value;
                entry.value_loss = vvalue;
                let kls: Vec<Vec<f64>> =
                    lp.iter().zip(&lr).map(|(a, b)| a.iter().zip(b).map(|(x, y)| k3(*x, *y)).collect()).collect();
                entry.common.kl = super::grpo::aggregate(&kls, super::grpo::Aggregation::Token, max_new);
            }
            opt_actor.backward_step(&loss)?;
            opt_critic.backward_step(&vloss)?;
        }
        entry.common.update_s = t.elapsed().as_secs_f64();

        let n = s.texts.len() as f64;
        let tokens: usize = lengths.iter().sum();
        let e = &mut entry.common;
        e.reward = rewards.iter().sum::<f64>() / n;
        e.accuracy_reward =
            s.texts.iter().zip(&s.prompt).map(|(x, &p)| task::accuracy_reward(x, &problems[p])).sum::<f64>() / n;
        e.format_reward = s.texts.iter().map(|x| task::format_reward(x)).sum::<f64>() / n;
        e.length = tokens as f64 / n;
        e.tokens = tokens;
        e.clip_fraction = clipped as f64 / (tokens * cfg.mu).max(1) as f64;
        e.zero_spread = f64::NAN;
        e.writes_steps = s.texts.iter().filter(|x| writes_steps(x)).count() as f64 / n;
        e.number_right = s
            .texts
            .iter()
            .zip(&s.prompt)
            .filter(|(x, &p)| number_answer(x) == Some(problems[p].answer().to_string().as_str()))
            .count() as f64
            / n;
        on_step(&entry);
        log.push(entry);
    }
    Ok((policy, critic, log))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitening_by_hand() {
        let w = whiten(&[vec![1.0, 3.0], vec![2.0]]);
        // mean 2, std √(2/3).
        let s = (2.0f64 / 3.0).sqrt();
        assert!((w[0][0] + 1.0 / s).abs() < 1e-6 && w[1][0].abs() < 1e-12 && (w[0][1] - 1.0 / s).abs() < 1e-6);
    }
}
