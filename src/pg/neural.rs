//! REINFORCE with an MLP softmax policy and a learned value baseline (candle), for
//! environments with a vector observation and a few discrete actions (CartPole).
//!
//! One update: act for `batch_steps` steps with the current policy (through
//! [`rollout::collect`], as TRPO and PPO do, on a single copy of the environment); compute the
//! reward-to-go G_t (eq. 5, bootstrapped with V where a time limit or the batch end
//! cut an episode); advantages Â_t = G_t − V(s_t) (eq. 6), optionally normalised; one
//! Adam step on −mean(log π(a_t|s_t) Â_t) (eq. 8); then a few epochs of regression of
//! V on G_t.

use super::reward_to_go;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::nn::value::{fit_value, ValueFit};
use crate::nn::{self, adam, candle_error, check_finite, clip_grad_norm, Activation, Mlp};
use crate::rollout::{self, Batch, VecEnv};
use candle_core::{DType, Device, Tensor};
use candle_nn::Optimizer;
use rand::Rng;
use std::time::Instant;

/// Hyper-parameters of neural REINFORCE, with the lesson's defaults.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct NeuralConfig {
    /// Hidden layer sizes of both networks.
    pub hidden: Vec<usize>,
    pub activation: Activation,
    pub gamma: f64,
    /// Environment steps per update (the last episode of a batch continues in the next).
    pub batch_steps: usize,
    /// Environment steps in all (the budget); the run makes budget / batch_steps updates.
    pub total_steps: u64,
    pub policy_lr: f64,
    pub value_lr: f64,
    /// Adam's ε.
    pub adam_eps: f64,
    /// Decay both learning rates linearly to 0 over the run.
    pub anneal_lr: bool,
    /// Learn V and use G_t − V(s_t); without it, Ψ_t = G_t.
    pub baseline: bool,
    /// Scale the advantages of a batch to mean 0, std 1.
    pub normalize_advantages: bool,
    /// Passes of value regression over each batch.
    pub value_epochs: usize,
    /// Minibatch size of the value regression.
    pub value_minibatch: usize,
    /// Global gradient-norm clipping of each network (∞: none).
    pub max_grad_norm: f64,
}

impl NeuralConfig {
    pub fn updates(&self) -> usize {
        (self.total_steps / self.batch_steps.max(1) as u64) as usize
    }

    /// Refuses settings that cannot train; an error names the field.
    pub fn validate(&self) -> Result<()> {
        use crate::error::{check_min, check_range};
        check_range("gamma", self.gamma, 0.0, 1.0)?;
        check_min("batch_steps", self.batch_steps, 1)?;
        if self.total_steps < self.batch_steps as u64 {
            return Err(Error::invalid("total_steps", self.total_steps, "must be at least batch_steps"));
        }
        check_range("policy_lr", self.policy_lr, f64::MIN_POSITIVE, 1.0)?;
        check_range("value_lr", self.value_lr, f64::MIN_POSITIVE, 1.0)?;
        check_range("adam_eps", self.adam_eps, f64::MIN_POSITIVE, 1.0)?;
        check_min("value_minibatch", self.value_minibatch, 1)?;
        if self.hidden.is_empty() || self.hidden.len() > 4 || self.hidden.iter().any(|&h| h == 0 || h > 4096) {
            return Err(Error::invalid(
                "hidden",
                format!("{:?}", self.hidden),
                "give one to four layer sizes between 1 and 4096",
            ));
        }
        if self.max_grad_norm.is_nan() || self.max_grad_norm <= 0.0 {
            return Err(Error::invalid("max_grad_norm", self.max_grad_norm, "must be positive"));
        }
        Ok(())
    }
}

pub use crate::rollout::EpisodeLog;

/// The diagnostics of one update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReinforceUpdateLog {
    pub env_steps: u64,
    pub policy_loss: f64,
    /// Mean squared error of V before this update's regression (None without a baseline).
    pub value_loss: Option<f64>,
    /// Mean entropy of π(·|s) over the batch, in nats (ln 2 = 0.69 is uniform).
    pub entropy: f64,
    /// 1 − Var(G − V)/Var(G) before the value update (None without a baseline).
    pub explained_variance: Option<f64>,
    /// Standard deviation of the batch's reward-to-go G_t: the RMS error of the best
    /// constant prediction, for comparison with √value_loss.
    pub return_std: f64,
    /// ‖∇ policy loss‖ before clipping.
    pub grad_norm: f64,
    pub policy_lr: f64,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct NeuralRun {
    pub episodes: Vec<EpisodeLog>,
    pub updates: Vec<ReinforceUpdateLog>,
    pub env_steps: u64,
    pub seconds: f64,
    pub policy: Mlp,
    /// The learned baseline (untrained when the run had no baseline).
    pub value: Mlp,
}

impl crate::rollout::LearningCurve for NeuralRun {
    fn episodes(&self) -> &[EpisodeLog] {
        &self.episodes
    }
}

/// The REINFORCE loss of eq. (8): −mean_i log π(a_i|s_i) Â_i. Its gradient is minus
/// the batch estimate of ∇J, so a descent step on it is an ascent step on J.
/// `log_probs` `[N, A]` from [`nn::log_probs`], `actions` `[N]` (u32), `advantages` `[N]`
/// (treated as constants).
pub fn policy_loss(log_probs: &Tensor, actions: &Tensor, advantages: &Tensor) -> candle_core::Result<Tensor> {
    let taken = nn::log_probs_of(log_probs, actions)?;
    (taken * advantages.detach())?.mean_all()?.neg()
}

pub use crate::nn::value::value_loss;

/// Where the episodes of a single-copy batch end: `(start, end, bootstrap)` per
/// piece, `bootstrap` the row whose `next_obs` still has a value (`None` when the
/// piece ends in a terminal state). A piece ends at a terminal state, at a time limit
/// (truncated) or at the end of the batch.
fn episode_pieces<A>(batch: &Batch<A>) -> Vec<(usize, usize, Option<usize>)> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for t in 0..batch.len() {
        if batch.terminated[t] || batch.truncated[t] || t + 1 == batch.len() {
            pieces.push((start, t + 1, (!batch.terminated[t]).then_some(t)));
            start = t + 1;
        }
    }
    pieces
}

/// Trains a policy on `env` with REINFORCE. `obs_dim` and `n_actions` size the networks;
/// `on_update` is called after every update with the updates done and the total.
pub fn train<E, R>(
    env: E,
    obs_dim: usize,
    n_actions: usize,
    cfg: &NeuralConfig,
    rng: &mut R,
    mut on_update: impl FnMut(usize, usize),
) -> Result<NeuralRun>
where
    E: Env<Action = usize>,
    E::Obs: AsRef<[f32]>,
    R: Rng + ?Sized,
{
    cfg.validate()?;
    let started = Instant::now();
    let c = candle_error("CartPole REINFORCE");
    let sizes = |out: usize| [&[obs_dim][..], &cfg.hidden, &[out]].concat();
    // A small last layer: the policy starts close to uniform.
    let policy = Mlp::new(&sizes(n_actions), cfg.activation, 0.01, DType::F32, rng).map_err(&c)?;
    let value = Mlp::new(&sizes(1), cfg.activation, 1.0, DType::F32, rng).map_err(&c)?;
    let mut policy_opt = adam(policy.vars(), cfg.policy_lr, cfg.adam_eps).map_err(&c)?;
    let mut value_opt = adam(value.vars(), cfg.value_lr, cfg.adam_eps).map_err(&c)?;
    let fit = ValueFit { epochs: cfg.value_epochs, minibatch: cfg.value_minibatch, max_grad_norm: cfg.max_grad_norm };

    let updates = cfg.updates();
    let mut logs = Vec::with_capacity(updates);
    // One copy of the environment: the last episode of a batch continues in the next.
    let mut venv = VecEnv::new(vec![env], rng);
    for update in 0..updates {
        let step = update as u64 + 1;
        if cfg.anneal_lr {
            let frac = 1.0 - update as f64 / updates as f64;
            policy_opt.set_learning_rate(cfg.policy_lr * frac);
            value_opt.set_learning_rate(cfg.value_lr * frac);
        }

        // 1. Act: a plain-f32 copy of the policy is much faster than candle at batch 1.
        let acting = policy.plain().map_err(&c)?;
        let batch = rollout::collect(&mut venv, cfg.batch_steps, rng, |obs, rng| {
            nn::sample_with_log_prob(&acting.forward(obs), rng)
        });
        let n = batch.len();

        // 2. Returns and advantages (eqs. 5, 6). A piece cut by a time limit or by the
        // batch end is bootstrapped with V of the state it reached; a terminated one is not.
        let pieces = episode_pieces(&batch);
        let values: Vec<f64> = if cfg.baseline { value.values(&batch.obs).map_err(&c)? } else { vec![] };
        let tails: Vec<f32> = pieces
            .iter()
            .filter_map(|p| p.2)
            .flat_map(|t| &batch.next_obs[t * obs_dim..(t + 1) * obs_dim])
            .copied()
            .collect();
        let tail_values = if cfg.baseline { value.values(&tails).map_err(&c)? } else { vec![] };
        let mut returns = Vec::with_capacity(n);
        let mut k = 0;
        for (start, end, tail) in &pieces {
            let bootstrap = match tail {
                Some(_) if cfg.baseline => {
                    k += 1;
                    tail_values[k - 1]
                }
                _ => 0.0,
            };
            returns.extend(reward_to_go(&batch.rewards[*start..*end], cfg.gamma, bootstrap));
        }
        let mut advantages: Vec<f64> =
            if cfg.baseline { returns.iter().zip(&values).map(|(g, v)| g - v).collect() } else { returns.clone() };
        if cfg.normalize_advantages {
            crate::estimators::normalize_batch(&mut advantages);
        }

        // 3. One policy-gradient step (eq. 8).
        let obs_t = Tensor::from_vec(batch.obs.clone(), (n, obs_dim), &Device::Cpu).map_err(&c)?;
        let actions: Vec<u32> = batch.actions.iter().map(|&a| a as u32).collect();
        let actions_t = Tensor::from_vec(actions, n, &Device::Cpu).map_err(&c)?;
        let adv_t =
            Tensor::from_vec(advantages.iter().map(|&a| a as f32).collect::<Vec<_>>(), n, &Device::Cpu).map_err(&c)?;
        let log_probs = nn::log_probs(&policy.forward(&obs_t).map_err(&c)?).map_err(&c)?;
        let loss = policy_loss(&log_probs, &actions_t, &adv_t).map_err(&c)?;
        let loss_value = check_finite(scalar(&loss).map_err(&c)?, "the policy loss", step)?;
        let entropy = scalar(&nn::entropy(&log_probs).map_err(&c)?).map_err(&c)?;
        let mut grads = loss.backward().map_err(&c)?;
        let grad_norm = clip_grad_norm(&mut grads, &policy.vars(), cfg.max_grad_norm).map_err(&c)?;
        check_finite(grad_norm, "the policy gradient norm", step)?;
        policy_opt.step(&grads).map_err(&c)?;

        // 4. Fit V to the returns (MSE), in shuffled minibatches.
        let (mut value_loss_before, mut explained) = (None, None);
        if cfg.baseline {
            let mse = returns.iter().zip(&values).map(|(g, v)| (g - v) * (g - v)).sum::<f64>() / n as f64;
            value_loss_before = Some(mse);
            explained = Some(crate::estimators::explained_variance(&values, &returns));
            fit_value(&value, &mut value_opt, &batch.obs, &returns, &fit, rng, step)?;
        }
        logs.push(ReinforceUpdateLog {
            env_steps: venv.env_steps,
            policy_loss: loss_value,
            value_loss: value_loss_before,
            entropy,
            explained_variance: explained,
            return_std: crate::stats::std(&returns),
            grad_norm,
            policy_lr: policy_opt.learning_rate(),
        });
        on_update(update + 1, updates);
    }
    Ok(NeuralRun {
        env_steps: venv.env_steps,
        episodes: std::mem::take(&mut venv.episodes),
        updates: logs,
        seconds: started.elapsed().as_secs_f64(),
        policy,
        value,
    })
}

fn scalar(t: &Tensor) -> candle_core::Result<f64> {
    t.to_dtype(DType::F64)?.to_scalar::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(terminated: Vec<bool>, truncated: Vec<bool>) -> Batch<usize> {
        let n = terminated.len();
        Batch {
            n_envs: 1,
            steps: n,
            obs_dim: 1,
            obs: vec![0.0; n],
            next_obs: (1..=n).map(|t| t as f32).collect(),
            actions: vec![0; n],
            log_probs: vec![0.0; n],
            rewards: vec![1.0; n],
            terminated,
            truncated,
        }
    }

    #[test]
    fn pieces_end_at_terminal_states_time_limits_and_the_batch_end() {
        // Steps 0-1 terminate, 2-3 are truncated, 4-5 are cut by the batch end.
        let (f, t) = (false, true);
        let b = batch(vec![f, t, f, f, f, f], vec![f, f, f, t, f, f]);
        assert_eq!(episode_pieces(&b), vec![(0, 2, None), (2, 4, Some(3)), (4, 6, Some(5))]);
        // A batch that ends on a terminal state has nothing to bootstrap.
        assert_eq!(episode_pieces(&batch(vec![f, t], vec![f, f])), vec![(0, 2, None)]);
    }
}
