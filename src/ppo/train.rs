//! The PPO training loop (one loop for PPO-clip, PPO with the adaptive KL penalty and
//! plain policy gradient), for any policy head that implements [`Actor`].
//!
//! One update (the lesson's pseudocode):
//! 1. act for `n_steps` steps in each of the `n_envs` copies with the current policy,
//!    recording log π_old(a_t|s_t) ([`crate::rollout::collect`]);
//! 2. V(s_t) and V(s_{t+1}) from the critic, GAE advantages and returns per copy
//!    (eqs. 6-8);
//! 3. `epochs` passes over the batch in shuffled minibatches: one Adam step each on
//!    policy loss (eq. 3, 4 or 2) + c_V · value loss (eq. 9) − c_H · entropy (eq. 11), with the
//!    advantages normalised per minibatch (eq. 10) and the global gradient norm clipped;
//! 4. diagnostics between the policy before and after the update: KL (k1, k3,
//!    eqs. 13-14), clip fraction, entropy, explained variance; PPO-KL adapts β (eq. 5).

use super::loss::{adapt_beta, clip_fraction, policy_loss, stop_early, value_loss};
use crate::env::Env;
use crate::error::{check_range, Error, Result};
use crate::estimators::{explained_variance, kl_k1, kl_k3, normalize_advantages};
use crate::nn::{self, candle_error, check_finite, Activation, ClippedAdam, Mlp, PlainMlp};
use crate::rollout::{self, check_count, EpisodeLog, VecEnv};
use candle_core::{DType, Device, Tensor, Var};
use rand::seq::SliceRandom;
use rand::Rng;
use std::time::Instant;

/// Which policy objective an update maximises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// PPO-clip: the clipped surrogate (eq. 3).
    Clip,
    /// PPO-KL: the surrogate minus β·KL, β adapted after every update (eqs. 4, 5).
    KlPenalty,
    /// The unclipped surrogate ρ·A (eq. 2); with one epoch of one minibatch, this is
    /// plain policy gradient with a learned baseline (A2C-style).
    Vanilla,
    /// The same unclipped surrogate ρ·A (eq. 2), but with PPO's epochs and minibatches:
    /// the control that tells what the clip adds to reusing a batch.
    Unclipped,
}

impl Objective {
    pub fn label(self) -> &'static str {
        match self {
            Objective::Clip => "PPO-clip",
            Objective::KlPenalty => "PPO-KL (adaptive β)",
            Objective::Vanilla => "policy gradient (1 epoch)",
            Objective::Unclipped => "unclipped ρ·Â (same epochs as PPO)",
        }
    }
}

/// PPO's hyper-parameters: chapter 4's CartPole flags, with the lesson's defaults (the
/// RL Baselines3 Zoo settings for CartPole-v1), written once here ([`Default`] parses
/// them). `summary.json` records them under their flag names; [`PpoConfig::record`]
/// gives every field under its own name.
#[derive(Clone, Debug, PartialEq, serde::Serialize, clap::Args)]
pub struct PpoConfig {
    /// CartPole: environment steps per run (the budget of every CartPole curve) [n-envs × n-steps, 10000000]
    // The run makes total_steps / (N·T) updates.
    #[arg(long = "steps", value_name = "STEPS", default_value_t = 100_000)]
    #[serde(rename = "steps")]
    pub total_steps: u64,
    /// CartPole: environment copies stepped together (N) [1, 1024]
    #[arg(long, default_value_t = 8)]
    pub n_envs: usize,
    /// CartPole: steps per copy per update (T); a batch has N·T rows, at most 1048576 [1, 65536]
    #[arg(long, default_value_t = 32)]
    pub n_steps: usize,
    /// CartPole: rows per gradient step [1, 1048576]
    #[arg(long, default_value_t = 256)]
    pub minibatch: usize,
    /// CartPole: passes over each batch (K) [1, 100]
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// CartPole: discount γ [0, 1]
    #[arg(long, default_value_t = 0.98)]
    pub gamma: f64,
    /// CartPole: GAE's λ of the main runs [0, 1]
    // λ of eq. 7.
    #[arg(long, default_value_t = 0.8)]
    pub lambda: f64,
    /// CartPole: Adam learning rate (at the start) (0, 1]
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Decay the learning rates linearly to 0 over each run (true/false)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub anneal_lr: bool,
    /// CartPole: the clip range ε of PPO-clip (at the start) (0, 1)
    // ε of eq. 3.
    #[arg(long, default_value_t = 0.2)]
    pub clip_range: f64,
    /// CartPole: decay ε linearly to 0 over each run (true/false)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub anneal_clip: bool,
    /// PPO-KL: the KL target d_targ of the adaptive β [1e-8, 10]
    // PPO-KL's d_targ (eq. 5).
    #[arg(long, default_value_t = 0.01)]
    pub target_kl: f64,
    /// Stop an update's epochs once the KL estimate k3 of a minibatch, measured before its step, exceeds 1.5 × this (default: never) [1e-8, 10]
    // Target-KL early stopping, as in Stable-Baselines3; applies to every objective.
    #[arg(long)]
    pub early_stop_kl: Option<f64>,
    /// PPO-KL: the starting β [1e-8, 1e6]
    #[arg(long, default_value_t = 1.0)]
    pub init_beta: f64,
    /// Clip the value function's change per update to ± this (default: no clipping) [1e-8, 1e6]
    // eq. 9; None: plain MSE.
    #[arg(long)]
    pub clip_value: Option<f64>,
    /// Weight c_V of the value loss [0, 1000]
    // c_V and c_H of eq. 11.
    #[arg(long, default_value_t = 0.5)]
    pub vf_coef: f64,
    /// Weight c_H of the entropy bonus [0, 1000]
    #[arg(long, default_value_t = 0.0)]
    pub ent_coef: f64,
    /// Clip the global gradient norm of actor and critic to this [1e-8, 1e6]
    #[arg(long, default_value_t = 0.5)]
    pub max_grad_norm: f64,
    /// Adam's ε (0, 1]
    #[arg(long, default_value_t = 1e-5)]
    pub adam_eps: f64,
    /// Hidden layer sizes of the actor and of the critic, e.g. 64,64 [1 to 4 sizes, each in [1, 1024]]
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    pub hidden: Vec<usize>,
    /// Hidden-layer non-linearity
    #[arg(long, value_enum, default_value_t = Activation::Tanh)]
    pub activation: Activation,
    /// The policy objective (not a flag: the chapter runs all four).
    #[arg(skip = Objective::Clip)]
    #[serde(skip)]
    pub objective: Objective,
    /// Scale each minibatch's advantages to mean 0, std 1 (eq. 10).
    #[arg(skip = true)]
    #[serde(skip)]
    pub normalize_advantages: bool,
}

impl Default for PpoConfig {
    /// The flags' defaults.
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            cfg: PpoConfig,
        }
        <Defaults as clap::Parser>::parse_from([""]).cfg
    }
}

impl PpoConfig {
    /// Every field under its own name (`total_steps`, `objective`,
    /// `normalize_advantages` included), as `summary.json`'s details record a run's settings.
    pub fn record(&self) -> serde_json::Value {
        let mut map = match serde_json::json!(self) {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a struct serialises to a JSON object"),
        };
        map.remove("steps");
        map.insert("total_steps".into(), self.total_steps.into());
        map.insert("objective".into(), serde_json::json!(self.objective));
        map.insert("normalize_advantages".into(), self.normalize_advantages.into());
        serde_json::Value::Object(map)
    }

    /// Rows of one batch, N·T.
    /// (Saturating: [`PpoConfig::validate`] bounds both factors.)
    pub fn batch_size(&self) -> usize {
        self.n_envs.saturating_mul(self.n_steps)
    }

    pub fn updates(&self) -> usize {
        (self.total_steps / self.batch_size().max(1) as u64) as usize
    }

    /// Refuses settings that cannot train, naming the flag (this is chapter 4's flag set)
    /// and the value.
    pub fn validate(&self) -> Result<()> {
        self.validate_named(&FlagNames::CARTPOLE)
    }

    /// [`PpoConfig::validate`] with the flag names of the run these settings belong to
    /// (CartPole's or Pendulum's).
    pub fn validate_named(&self, names: &FlagNames) -> Result<()> {
        check_count(names.n_envs, self.n_envs as u64, 1, MAX_ENVS)?;
        check_count(names.n_steps, self.n_steps as u64, 1, MAX_STEPS_PER_ENV)?;
        // Both factors are bounded: the product cannot overflow.
        let batch = self.batch_size() as u64;
        if batch > MAX_BATCH {
            // Blame the factor raised most above its default (8 × 32).
            let (flag, other, other_value) = if self.n_steps as u64 * 8 >= self.n_envs as u64 * 32 {
                (names.n_steps, names.n_envs, self.n_envs)
            } else {
                (names.n_envs, names.n_steps, self.n_steps)
            };
            let value = if flag == names.n_steps { self.n_steps } else { self.n_envs };
            let most = MAX_BATCH / other_value as u64;
            let why = format!(
                "must lie in [1, {most}] with {other} {other_value} (a batch, {} × {}, has at most {MAX_BATCH} rows)",
                names.n_envs, names.n_steps
            );
            return Err(Error::invalid(flag, value, &why));
        }
        check_count(names.minibatch, self.minibatch as u64, 1, MAX_BATCH)?;
        check_count(names.epochs, self.epochs as u64, 1, MAX_EPOCHS)?;
        if self.total_steps < batch || self.total_steps > MAX_TOTAL_STEPS {
            let why = format!(
                "must lie in [{batch}, {MAX_TOTAL_STEPS}]: at least one batch, {} {} × {} {} = {batch} (raise it or lower those)",
                names.n_envs, self.n_envs, names.n_steps, self.n_steps
            );
            return Err(Error::invalid(names.total_steps, self.total_steps, &why));
        }
        check_range(names.gamma, self.gamma, 0.0, 1.0)?;
        check_range(names.lambda, self.lambda, 0.0, 1.0)?;
        open_closed(names.lr, self.lr, 1.0)?;
        open_closed("--adam-eps", self.adam_eps, 1.0)?;
        if !(self.clip_range > 0.0 && self.clip_range < 1.0) {
            return Err(Error::invalid(names.clip_range, self.clip_range, "must lie in (0, 1)"));
        }
        check_range("--target-kl", self.target_kl, 1e-8, 10.0)?;
        check_range("--init-beta", self.init_beta, 1e-8, 1e6)?;
        if let Some(kl) = self.early_stop_kl {
            check_range("--early-stop-kl", kl, 1e-8, 10.0)?;
        }
        if let Some(c) = self.clip_value {
            check_range("--clip-value", c, 1e-8, 1e6)?;
        }
        check_range("--vf-coef", self.vf_coef, 0.0, 1e3)?;
        check_range("--ent-coef", self.ent_coef, 0.0, 1e3)?;
        check_range("--max-grad-norm", self.max_grad_norm, 1e-8, 1e6)?;
        if self.hidden.is_empty() || self.hidden.len() > 4 || self.hidden.iter().any(|&h| h == 0 || h > MAX_WIDTH) {
            return Err(Error::invalid(
                "--hidden",
                format!("{:?}", self.hidden),
                &format!("give one to four layer sizes, each in [1, {MAX_WIDTH}]"),
            ));
        }
        Ok(())
    }
}

/// Checks that `value` lies in (0, hi].
fn open_closed(name: &str, value: f64, hi: f64) -> Result<()> {
    if value > 0.0 && value <= hi {
        Ok(())
    } else {
        Err(Error::invalid(name, value, &format!("must lie in (0, {hi}]")))
    }
}

/// The largest `--n-envs`.
pub const MAX_ENVS: u64 = 1024;
/// The largest `--n-steps` (per copy and update).
pub const MAX_STEPS_PER_ENV: u64 = 65_536;
/// The most rows of one batch (n-envs × n-steps), and the largest `--minibatch`.
pub const MAX_BATCH: u64 = 1 << 20;
/// The largest `--epochs`.
pub const MAX_EPOCHS: u64 = 100;
/// The largest `--steps` of one run.
pub const MAX_TOTAL_STEPS: u64 = 10_000_000;
/// The widest hidden layer.
pub const MAX_WIDTH: usize = 1024;

/// The flag names of the settings that CartPole's and Pendulum's runs set separately.
pub struct FlagNames {
    pub total_steps: &'static str,
    pub n_envs: &'static str,
    pub n_steps: &'static str,
    pub minibatch: &'static str,
    pub epochs: &'static str,
    pub gamma: &'static str,
    pub lambda: &'static str,
    pub lr: &'static str,
    pub clip_range: &'static str,
}

impl FlagNames {
    pub const CARTPOLE: FlagNames = FlagNames {
        total_steps: "--steps",
        n_envs: "--n-envs",
        n_steps: "--n-steps",
        minibatch: "--minibatch",
        epochs: "--epochs",
        gamma: "--gamma",
        lambda: "--lambda",
        lr: "--lr",
        clip_range: "--clip-range",
    };
    pub const PENDULUM: FlagNames = FlagNames {
        total_steps: "--pendulum-steps",
        n_envs: "--pendulum-n-envs",
        n_steps: "--pendulum-n-steps",
        minibatch: "--pendulum-minibatch",
        epochs: "--pendulum-epochs",
        gamma: "--pendulum-gamma",
        lambda: "--pendulum-lambda",
        lr: "--pendulum-lr",
        clip_range: "--pendulum-clip-range",
    };
}

/// What the PPO loop needs from a policy: acting one state at a time from a plain
/// copy of the weights, and differentiable log-probabilities over a batch.
pub trait Actor {
    /// What the environment takes.
    type Action: Clone;
    /// A copy of the weights for fast acting (no candle).
    type Plain;
    fn plain(&self) -> candle_core::Result<Self::Plain>;
    /// Samples a ~ π(·|s) and returns it with log π(a|s).
    fn sample<R: Rng + ?Sized>(plain: &Self::Plain, obs: &[f32], rng: &mut R) -> (Self::Action, f64);
    /// The most likely action, for the deterministic evaluation.
    fn mode(plain: &Self::Plain, obs: &[f32]) -> Self::Action;
    /// A batch of actions as the tensor [`Actor::log_probs`] takes.
    fn actions_tensor(actions: &[Self::Action]) -> candle_core::Result<Tensor>;
    /// log π(a_i|s_i) `[N]` and the mean entropy of π(·|s_i) (a scalar), differentiable.
    fn log_probs(&self, obs: &Tensor, actions: &Tensor) -> candle_core::Result<(Tensor, Tensor)>;
    fn vars(&self) -> Vec<Var>;
}

/// A softmax policy over discrete actions: logits from an MLP.
#[derive(Clone, Debug)]
pub struct Categorical {
    pub net: Mlp,
}

impl Categorical {
    /// An MLP `obs_dim → hidden → n_actions` whose small last layer (0.01) makes the
    /// first policy almost uniform.
    pub fn new<R: Rng + ?Sized>(
        obs_dim: usize,
        n_actions: usize,
        hidden: &[usize],
        activation: Activation,
        rng: &mut R,
    ) -> candle_core::Result<Categorical> {
        let sizes = [&[obs_dim][..], hidden, &[n_actions]].concat();
        Ok(Categorical { net: Mlp::new(&sizes, activation, 0.01, DType::F32, rng)? })
    }
}

impl Actor for Categorical {
    type Action = usize;
    type Plain = PlainMlp;

    fn plain(&self) -> candle_core::Result<PlainMlp> {
        self.net.plain()
    }

    fn sample<R: Rng + ?Sized>(plain: &PlainMlp, obs: &[f32], rng: &mut R) -> (usize, f64) {
        nn::sample_with_log_prob(&plain.forward(obs), rng)
    }

    fn mode(plain: &PlainMlp, obs: &[f32]) -> usize {
        let logits = plain.forward(obs);
        (0..logits.len()).fold(0, |best, a| if logits[a] > logits[best] { a } else { best })
    }

    fn actions_tensor(actions: &[usize]) -> candle_core::Result<Tensor> {
        Tensor::from_vec(actions.iter().map(|&a| a as u32).collect::<Vec<_>>(), actions.len(), &Device::Cpu)
    }

    fn log_probs(&self, obs: &Tensor, actions: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let all = nn::log_probs(&self.net.forward_batch(obs)?)?;
        Ok((nn::log_probs_of(&all, actions)?, nn::entropy(&all)?))
    }

    fn vars(&self) -> Vec<Var> {
        self.net.vars()
    }
}

/// A Gaussian policy over one continuous action (a torque): the mean from an MLP, a
/// state-independent log σ (see [`crate::nn::gaussian`]).
#[derive(Clone, Debug)]
pub struct Gaussian {
    pub mean: Mlp,
    pub log_std: Var,
}

impl Gaussian {
    /// An MLP `obs_dim → hidden → 1` for the mean (small last layer: μ ≈ 0 at first)
    /// and log σ = `init_log_std`.
    pub fn new<R: Rng + ?Sized>(
        obs_dim: usize,
        hidden: &[usize],
        activation: Activation,
        init_log_std: f64,
        rng: &mut R,
    ) -> candle_core::Result<Gaussian> {
        let sizes = [&[obs_dim][..], hidden, &[1]].concat();
        let mean = Mlp::new(&sizes, activation, 0.01, DType::F32, rng)?;
        let log_std = Var::from_tensor(&Tensor::from_vec(vec![init_log_std as f32], 1, &Device::Cpu)?)?;
        Ok(Gaussian { mean, log_std })
    }

    /// σ, the current standard deviation of the actions.
    pub fn std(&self) -> candle_core::Result<f64> {
        Ok(f64::from(self.log_std.as_tensor().to_vec1::<f32>()?[0]).exp())
    }
}

impl Actor for Gaussian {
    type Action = f64;
    type Plain = (PlainMlp, Vec<f32>);

    fn plain(&self) -> candle_core::Result<(PlainMlp, Vec<f32>)> {
        Ok((self.mean.plain()?, self.log_std.as_tensor().to_vec1::<f32>()?))
    }

    fn sample<R: Rng + ?Sized>(plain: &(PlainMlp, Vec<f32>), obs: &[f32], rng: &mut R) -> (f64, f64) {
        let mean = plain.0.forward(obs);
        let a = nn::sample_gaussian(&mean, &plain.1, rng);
        (f64::from(a[0]), nn::gaussian_log_prob_plain(&mean, &plain.1, &a))
    }

    fn mode(plain: &(PlainMlp, Vec<f32>), obs: &[f32]) -> f64 {
        f64::from(plain.0.forward(obs)[0])
    }

    fn actions_tensor(actions: &[f64]) -> candle_core::Result<Tensor> {
        Tensor::from_vec(actions.iter().map(|&a| a as f32).collect::<Vec<_>>(), (actions.len(), 1), &Device::Cpu)
    }

    fn log_probs(&self, obs: &Tensor, actions: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let mean = self.mean.forward_batch(obs)?;
        let log_std = self.log_std.as_tensor();
        Ok((nn::gaussian_log_prob(&mean, log_std, actions)?, nn::gaussian_entropy(log_std)?))
    }

    fn vars(&self) -> Vec<Var> {
        let mut vars = self.mean.vars();
        vars.push(self.log_std.clone());
        vars
    }
}

/// The diagnostics of one update.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PpoUpdateLog {
    pub env_steps: u64,
    pub seconds: f64,
    /// Mean policy loss over the update's minibatch steps.
    pub policy_loss: f64,
    /// Mean value loss (eq. 9) over the update's minibatch steps.
    pub value_loss: f64,
    /// Mean entropy of π(·|s) over the batch after the update (nats).
    pub entropy: f64,
    /// KL(π_old ‖ π_new) over the batch after the update: k1 = mean(−log ρ) (eq. 13)...
    pub kl_k1: f64,
    /// ... and k3 = mean((ρ − 1) − log ρ) (eq. 14).
    pub kl_k3: f64,
    /// Share of the batch whose ratio ended outside [1 − ε, 1 + ε] (ε of this update for
    /// PPO-clip, the initial ε for the other objectives).
    pub clip_fraction: f64,
    /// 1 − Var(R − V)/Var(R) with the values that computed the advantages (eq. 12).
    pub explained_variance: f64,
    /// PPO-KL's β used by this update (NaN for the other objectives).
    pub beta: f64,
    pub lr: f64,
    pub clip_range: f64,
    /// Mean global gradient norm before clipping.
    pub grad_norm: f64,
    /// Minibatch steps the update took: epochs × minibatches, fewer if the KL stopped it early.
    pub gradient_steps: usize,
}

/// Everything one training run produced.
#[derive(Clone, Debug)]
pub struct PpoRun<A> {
    pub episodes: Vec<EpisodeLog>,
    pub updates: Vec<PpoUpdateLog>,
    pub env_steps: u64,
    /// Wall-clock seconds of the whole run (acting and training).
    pub seconds: f64,
    pub actor: A,
    pub critic: Mlp,
}

impl<A> crate::rollout::LearningCurve for PpoRun<A> {
    fn episodes(&self) -> &[EpisodeLog] {
        &self.episodes
    }
}

impl<A> crate::rollout::UpdateHistory for PpoRun<A> {
    type Update = PpoUpdateLog;
    fn updates(&self) -> &[PpoUpdateLog] {
        &self.updates
    }
    fn env_steps_at(update: &PpoUpdateLog) -> u64 {
        update.env_steps
    }
}

impl<A> PpoRun<A> {
    /// Environment steps per second of wall-clock time, acting and training included.
    pub fn steps_per_second(&self) -> f64 {
        self.env_steps as f64 / self.seconds
    }
}

/// Trains `actor` with PPO (or plain PG, see [`Objective`]) on the copies `envs`, with a
/// fresh critic of the same hidden sizes. `on_update(done, total)` is called after each
/// update (for a progress line).
pub fn train<E, A, R>(
    envs: Vec<E>,
    actor: A,
    cfg: &PpoConfig,
    rng: &mut R,
    mut on_update: impl FnMut(usize, usize),
) -> Result<PpoRun<A>>
where
    E: Env<Action = A::Action>,
    E::Obs: AsRef<[f32]>,
    A: Actor,
    R: Rng + ?Sized,
{
    cfg.validate()?;
    if envs.len() != cfg.n_envs {
        return Err(Error::invalid("--n-envs", envs.len(), "the number of environment copies must match"));
    }
    let started = Instant::now();
    let c = candle_error("PPO");
    let mut venv = VecEnv::new(envs, rng);
    let obs_dim = venv.obs_dim();
    let critic =
        Mlp::new(&[&[obs_dim][..], &cfg.hidden, &[1]].concat(), cfg.activation, 1.0, DType::F32, rng).map_err(&c)?;
    let mut vars = actor.vars();
    vars.extend(critic.vars());
    // Adam over actor and critic together, after clipping their global gradient norm.
    let mut opt = ClippedAdam::new(vars, cfg.lr, cfg.adam_eps, cfg.max_grad_norm).map_err(&c)?;

    let updates = cfg.updates();
    let mut beta = cfg.init_beta;
    let mut logs = Vec::with_capacity(updates);
    for update in 0..updates {
        let step = update as u64 + 1;
        // Linear annealing: the fraction of the run still to go.
        let remaining = 1.0 - update as f64 / updates as f64;
        let lr = if cfg.anneal_lr { cfg.lr * remaining } else { cfg.lr };
        let clip_eps = if cfg.anneal_clip { cfg.clip_range * remaining } else { cfg.clip_range };
        opt.set_learning_rate(lr);

        // 1. Experience from the current policy, π_old.
        let acting = actor.plain().map_err(&c)?;
        let batch = rollout::collect(&mut venv, cfg.n_steps, rng, |obs, rng| A::sample(&acting, obs, rng));
        let n = batch.len();

        // 2. Values, GAE advantages and returns (eqs. 6-8).
        let values = critic.values(&batch.obs).map_err(&c)?;
        let next_values = critic.values(&batch.next_obs).map_err(&c)?;
        let (advantages, returns) = batch.gae(&values, &next_values, cfg.gamma, cfg.lambda);
        let explained = explained_variance(&values, &returns);

        // 3. K epochs of minibatch steps.
        let obs = Tensor::from_vec(batch.obs.clone(), (n, obs_dim), &Device::Cpu).map_err(&c)?;
        let actions = A::actions_tensor(&batch.actions).map_err(&c)?;
        let f32s =
            |xs: &[f64]| Tensor::from_vec(xs.iter().map(|&x| x as f32).collect::<Vec<_>>(), xs.len(), &Device::Cpu);
        let old_log_probs = f32s(&batch.log_probs).map_err(&c)?;
        let old_values = f32s(&values).map_err(&c)?;
        let returns_t = f32s(&returns).map_err(&c)?;
        let mut order: Vec<usize> = (0..n).collect();
        let (mut policy_losses, mut value_losses, mut grad_norms) = (vec![], vec![], vec![]);
        'epochs: for _ in 0..cfg.epochs {
            order.shuffle(rng);
            for chunk in order.chunks(cfg.minibatch) {
                // A minibatch that is the whole batch needs no gathering (the mean is
                // the same in any order).
                let whole = chunk.len() == n;
                let idx =
                    Tensor::from_vec(chunk.iter().map(|&i| i as u32).collect::<Vec<_>>(), chunk.len(), &Device::Cpu)
                        .map_err(&c)?;
                let pick = |t: &Tensor| if whole { Ok(t.clone()) } else { t.index_select(&idx, 0) };
                let mb_adv: Vec<f64> =
                    if whole { advantages.clone() } else { chunk.iter().map(|&i| advantages[i]).collect() };
                let mb_adv = if cfg.normalize_advantages { normalize_advantages(&mb_adv) } else { mb_adv };
                let mb_adv = f32s(&mb_adv).map_err(&c)?;
                let x = pick(&obs).map_err(&c)?;
                let (log_probs, entropy) = actor.log_probs(&x, &pick(&actions).map_err(&c)?).map_err(&c)?;
                let old = pick(&old_log_probs).map_err(&c)?;
                if let Some(target) = cfg.early_stop_kl {
                    // How far the policy already is from π_old on this minibatch, before
                    // its step: past 1.5 × target, the rest of the update is skipped.
                    let log_ratios = (&log_probs - &old)
                        .and_then(|t| t.to_dtype(DType::F64))
                        .and_then(|t| t.to_vec1::<f64>())
                        .map_err(&c)?;
                    if stop_early(&log_ratios, target) {
                        break 'epochs;
                    }
                }
                let policy_loss = policy_loss(cfg.objective, &log_probs, &old, &mb_adv, clip_eps, beta).map_err(&c)?;
                let v = critic.forward_batch(&x).and_then(|v| v.squeeze(1)).map_err(&c)?;
                let v_loss =
                    value_loss(&v, &pick(&old_values).map_err(&c)?, &pick(&returns_t).map_err(&c)?, cfg.clip_value)
                        .map_err(&c)?;
                // eq. 11: L = L_policy + c_V · L_V − c_H · H
                let mut loss = (&policy_loss + (&v_loss * cfg.vf_coef).map_err(&c)?).map_err(&c)?;
                if cfg.ent_coef > 0.0 {
                    loss = (loss - (entropy * cfg.ent_coef).map_err(&c)?).map_err(&c)?;
                }
                check_finite(scalar(&loss).map_err(&c)?, "the PPO loss", step)?;
                let grads = loss.backward().map_err(&c)?;
                let norm = opt.step(&grads).map_err(&c)?;
                check_finite(norm, "the gradient norm", step)?;
                policy_losses.push(scalar(&policy_loss).map_err(&c)?);
                value_losses.push(scalar(&v_loss).map_err(&c)?);
                grad_norms.push(norm);
            }
        }

        // 4. How far the update moved the policy, measured on the whole batch.
        let (log_probs, entropy) = actor.log_probs(&obs, &actions).map_err(&c)?;
        let new_log_probs = log_probs.to_dtype(DType::F64).and_then(|t| t.to_vec1::<f64>()).map_err(&c)?;
        let log_ratios: Vec<f64> = new_log_probs.iter().zip(&batch.log_probs).map(|(new, old)| new - old).collect();
        let (k1, k3) = (kl_k1(&log_ratios), kl_k3(&log_ratios));
        check_finite(k3, "the KL between the old and new policy", step)?;
        logs.push(PpoUpdateLog {
            env_steps: venv.env_steps,
            seconds: started.elapsed().as_secs_f64(),
            policy_loss: crate::stats::mean(&policy_losses),
            value_loss: crate::stats::mean(&value_losses),
            entropy: scalar(&entropy).map_err(&c)?,
            kl_k1: k1,
            kl_k3: k3,
            // The other objectives have no ε of their own: measure them against the initial one.
            clip_fraction: clip_fraction(
                &log_ratios,
                if cfg.objective == Objective::Clip { clip_eps } else { cfg.clip_range },
            ),
            explained_variance: explained,
            beta: if cfg.objective == Objective::KlPenalty { beta } else { f64::NAN },
            lr,
            clip_range: clip_eps,
            grad_norm: crate::stats::mean(&grad_norms),
            gradient_steps: grad_norms.len(),
        });
        if cfg.objective == Objective::KlPenalty {
            beta = adapt_beta(beta, k3, cfg.target_kl); // eq. 5
        }
        on_update(update + 1, updates);
    }
    Ok(PpoRun {
        episodes: venv.episodes,
        updates: logs,
        env_steps: venv.env_steps,
        seconds: started.elapsed().as_secs_f64(),
        actor,
        critic,
    })
}

/// Returns of `episodes` full episodes of the policy's most likely action (no
/// exploration), one environment, resets drawn from `rng`.
pub fn evaluate<E, A, R>(env: &mut E, actor: &A, episodes: usize, rng: &mut R) -> Result<Vec<f64>>
where
    E: Env<Action = A::Action>,
    E::Obs: AsRef<[f32]>,
    A: Actor,
    R: Rng + ?Sized,
{
    let plain = actor.plain().map_err(candle_error("evaluation"))?;
    let mut returns = Vec::with_capacity(episodes);
    for _ in 0..episodes {
        let mut obs = env.reset(rng);
        let mut total = 0.0;
        loop {
            let out = env.step(A::mode(&plain, obs.as_ref()));
            total += out.reward;
            if out.done() {
                break;
            }
            obs = out.obs;
        }
        returns.push(total);
    }
    Ok(returns)
}

fn scalar(t: &Tensor) -> candle_core::Result<f64> {
    t.to_dtype(DType::F64)?.to_scalar::<f64>()
}
