//! The TRPO loop (chapter 3), and the step-size experiment that motivates it.
//!
//! One update (equation numbers refer to chapters/03-trpo/README.md):
//! 1. act with π_θold in N copies of the environment for T steps each;
//! 2. advantages by GAE from a learned value function, normalised (eq. 12);
//! 3. g = ∇θ L(θold), the gradient of the surrogate L(θ) = mean ρ_θ Â (eqs. 1, 2);
//! 4. a direction: x ≈ F⁻¹ g by conjugate gradient with Fisher-vector products (eqs. 10, 11),
//!    or x = g for the comparison rules;
//! 5. a step length (the [`StepRule`]): for TRPO, β = √(2δ / xᵀF x) (eq. 13), then halve
//!    until the measured mean KL is at most δ and L improved (the line search);
//! 6. a few epochs of regression of V on the GAE returns.

use crate::env::Env;
use crate::error::{check_range, Error, Result};
use crate::nn::flat::{axpy, dot, flat_grad, flat_params, set_flat_params};
use crate::nn::value::{fit_value, ValueFit};
use crate::nn::{self, adam, candle_error, check_finite, Activation, Mlp};
use crate::rollout::{self, check_count, EpisodeLog, VecEnv};
use crate::trpo::{backtracking_line_search, conjugate_gradient, fisher_vector_product, mean_kl, trust_region_scale};
use candle_core::{DType, Device, Tensor};
use rand::Rng;

/// How the length (and direction) of each policy step is chosen.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepRule {
    /// TRPO: the natural gradient F⁻¹g by conjugate gradient, scaled to the trust
    /// region's edge (eq. 13), then halved until KL ≤ δ and the surrogate improved.
    Trpo,
    /// The plain gradient g, scaled to the trust region's edge the same way and checked
    /// by the same backtracking: a trust region without the natural gradient.
    TrustRegion,
    /// θ ← θ + α g with a fixed α, whatever happens to the policy.
    Fixed(f64),
    /// Along g, try α = α₀·2ᵏ (k = 0..8) and keep the one with the best surrogate on the
    /// batch, with no limit on the KL.
    LineSearch(f64),
}

impl StepRule {
    /// A label for figures and tables.
    pub fn label(&self) -> String {
        match self {
            StepRule::Trpo => "TRPO (natural gradient)".into(),
            StepRule::TrustRegion => "trust region, plain gradient".into(),
            StepRule::Fixed(a) => format!("fixed α = {a}"),
            StepRule::LineSearch(_) => "line search".into(),
        }
    }

    /// A short key for file and CSV names.
    pub fn key(&self) -> String {
        match self {
            StepRule::Trpo => "trpo".into(),
            StepRule::TrustRegion => "trust_region".into(),
            StepRule::Fixed(a) => format!("fixed_{a}"),
            StepRule::LineSearch(_) => "line_search".into(),
        }
    }
}

/// TRPO's hyper-parameters: chapter 3's flags, with the lesson's defaults (the one
/// place they are written; [`Default`] parses them).
#[derive(Clone, Debug, PartialEq, serde::Serialize, clap::Args)]
pub struct TrpoConfig {
    /// δ: the largest mean KL(π_old ‖ π_new) one update may cause [1e-8, 10]
    #[arg(long, default_value_t = 0.01)]
    pub delta: f64,
    /// Copies of CartPole stepped together [1, 256]
    #[arg(long = "envs", value_name = "ENVS", default_value_t = 4)]
    #[serde(rename = "envs")]
    pub n_envs: usize,
    /// Steps of each copy per update (batch = envs × steps) [2, 65536]
    #[arg(long, default_value_t = 256)]
    pub steps: usize,
    /// Environment steps per run (the budget) [envs × steps, 10000000]
    #[arg(long, default_value_t = 100_000)]
    pub total_steps: u64,
    /// Discount γ [0, 1]
    #[arg(long, default_value_t = 0.99)]
    pub gamma: f64,
    /// GAE's λ [0, 1]
    #[arg(long, default_value_t = 0.97)]
    pub lambda: f64,
    /// Conjugate-gradient iterations per update [1, 100]
    #[arg(long, default_value_t = 10)]
    pub cg_iters: usize,
    /// Damping added to the Fisher matrix (F + damping·I) [0, 100]
    #[arg(long, default_value_t = 0.1)]
    pub cg_damping: f64,
    /// Fisher-vector products on every k-th state of the batch [1, envs × steps]
    #[arg(long, default_value_t = 4)]
    pub fisher_subsample: usize,
    /// Halvings the line search may try before it gives up on an update [0, 60]
    #[arg(long, default_value_t = 10)]
    pub max_backtracks: usize,
    /// Hidden layer sizes of the policy and value MLPs, e.g. 64,64 [1 to 4 sizes, each in [1, 1024]]
    #[arg(long, value_delimiter = ',', default_value = "64,64")]
    pub hidden: Vec<usize>,
    /// Hidden-layer non-linearity
    #[arg(long, value_enum, default_value_t = Activation::Tanh)]
    pub activation: Activation,
    /// Adam learning rate of the value function (0, 1]
    #[arg(long, default_value_t = 1e-3)]
    pub value_lr: f64,
    /// Passes of value regression over each batch [1, 100]
    #[arg(long, default_value_t = 5)]
    pub value_epochs: usize,
    /// Minibatch size of the value regression [1, 65536]
    #[arg(long, default_value_t = 128)]
    pub value_minibatch: usize,
    /// How each step's length is chosen: TRPO's, unless an experiment compares rules.
    #[arg(skip = StepRule::Trpo)]
    #[serde(skip)]
    pub rule: StepRule,
}

impl Default for TrpoConfig {
    /// The flags' defaults.
    fn default() -> TrpoConfig {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            cfg: TrpoConfig,
        }
        <Defaults as clap::Parser>::parse_from([""]).cfg
    }
}

impl TrpoConfig {
    /// Rows of one batch, envs × steps (saturating: [`TrpoConfig::validate`] bounds both).
    pub fn batch(&self) -> usize {
        self.n_envs.saturating_mul(self.steps)
    }

    pub fn updates(&self) -> usize {
        (self.total_steps / self.batch().max(1) as u64) as usize
    }

    /// Refuses settings that cannot train, naming the flag (this is chapter 3's flag set).
    pub fn validate(&self) -> Result<()> {
        check_count("--envs", self.n_envs as u64, 1, MAX_ENVS)?;
        check_count("--steps", self.steps as u64, 2, MAX_STEPS_PER_ENV)?;
        // Both factors are bounded, so the batch cannot overflow.
        let batch = self.batch() as u64;
        if batch > MAX_BATCH {
            // Blame the factor raised most above its default (4 × 256).
            let (flag, value, other, other_value) = if self.steps as u64 * 4 >= self.n_envs as u64 * 256 {
                ("--steps", self.steps, "--envs", self.n_envs)
            } else {
                ("--envs", self.n_envs, "--steps", self.steps)
            };
            let most = MAX_BATCH / other_value as u64;
            let why = format!("must lie in [1, {most}] with {other} {other_value} (a batch, --envs × --steps, has at most {MAX_BATCH} rows)");
            return Err(Error::invalid(flag, value, &why));
        }
        if self.total_steps < batch || self.total_steps > MAX_TOTAL_STEPS {
            return Err(Error::invalid(
                "--total-steps",
                self.total_steps,
                &format!(
                    "must lie in [{batch}, {MAX_TOTAL_STEPS}]: at least one batch, --envs {} × --steps {} = {batch} (raise it or lower those)",
                    self.n_envs, self.steps
                ),
            ));
        }
        check_range("--gamma", self.gamma, 0.0, 1.0)?;
        check_range("--lambda", self.lambda, 0.0, 1.0)?;
        check_range("--delta", self.delta, 1e-8, 10.0)?;
        check_count("--cg-iters", self.cg_iters as u64, 1, 100)?;
        check_range("--cg-damping", self.cg_damping, 0.0, 100.0)?;
        check_count("--fisher-subsample", self.fisher_subsample as u64, 1, batch)?;
        check_count("--max-backtracks", self.max_backtracks as u64, 0, 60)?;
        if !(self.value_lr > 0.0 && self.value_lr <= 1.0) {
            return Err(Error::invalid("--value-lr", self.value_lr, "must lie in (0, 1]"));
        }
        check_count("--value-epochs", self.value_epochs as u64, 1, 100)?;
        check_count("--value-minibatch", self.value_minibatch as u64, 1, MAX_STEPS_PER_ENV)?;
        if self.hidden.is_empty() || self.hidden.len() > 4 || self.hidden.iter().any(|&h| h == 0 || h > MAX_WIDTH) {
            return Err(Error::invalid(
                "--hidden",
                format!("{:?}", self.hidden),
                &format!("give one to four layer sizes, each in [1, {MAX_WIDTH}]"),
            ));
        }
        match self.rule {
            StepRule::Fixed(a) | StepRule::LineSearch(a) if !(a > 0.0 && a.is_finite()) => {
                Err(Error::invalid("step size", a, "must be positive"))
            }
            _ => Ok(()),
        }
    }
}

/// The largest `--envs`.
pub const MAX_ENVS: u64 = 256;
/// The largest `--steps` (per copy and update) and `--value-minibatch`.
pub const MAX_STEPS_PER_ENV: u64 = 65_536;
/// The most rows of one batch, envs × steps.
pub const MAX_BATCH: u64 = 1 << 20;
/// The largest `--total-steps` of one run.
pub const MAX_TOTAL_STEPS: u64 = 10_000_000;
/// The widest hidden layer.
pub const MAX_WIDTH: usize = 1024;

/// What one update did.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct TrpoUpdateLog {
    pub env_steps: u64,
    pub seconds: f64,
    /// Mean KL(π_old ‖ π_new) on the batch after the step (0 when no step was taken).
    pub kl: f64,
    /// L(θ_new) − L(θ_old): the surrogate's improvement on the batch.
    pub surrogate_gain: f64,
    /// Halvings of the line search (TRPO and trust region only).
    pub backtracks: usize,
    pub accepted: bool,
    /// ‖g − F x‖ after conjugate gradient (None for rules without CG).
    pub cg_residual: Option<f64>,
    /// The same residual relative to the right-hand side, ‖g − F x‖ / ‖g‖: 1 for x = 0,
    /// 0 for an exact solve, whatever the scale of g.
    pub cg_relative_residual: Option<f64>,
    /// ‖θ_new − θ_old‖.
    pub step_norm: f64,
    /// Mean entropy of π_old on the batch, in nats.
    pub entropy: f64,
    /// Mean squared error of V on the returns before this update's regression.
    pub value_loss: f64,
    pub explained_variance: f64,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct TrpoRun {
    pub episodes: Vec<EpisodeLog>,
    pub updates: Vec<TrpoUpdateLog>,
    pub env_steps: u64,
    pub seconds: f64,
    pub policy: Mlp,
    pub value: Mlp,
}

impl crate::rollout::LearningCurve for TrpoRun {
    fn episodes(&self) -> &[EpisodeLog] {
        &self.episodes
    }
}

impl crate::rollout::UpdateHistory for TrpoRun {
    type Update = TrpoUpdateLog;
    fn updates(&self) -> &[TrpoUpdateLog] {
        &self.updates
    }
    fn env_steps_at(update: &TrpoUpdateLog) -> u64 {
        update.env_steps
    }
}

impl TrpoRun {
    /// The largest KL of any update.
    pub fn max_kl(&self) -> f64 {
        self.updates.iter().map(|u| u.kl).fold(0.0, f64::max)
    }
}

/// Eqs. (1, 2): the importance-sampled surrogate L(θ) = mean_i exp(log π_θ(a_i|s_i) −
/// log π_old(a_i|s_i)) Â_i, from the taken actions' log-probabilities `[N]`.
pub fn surrogate(logp_taken: &Tensor, logp_old_taken: &Tensor, advantages: &Tensor) -> candle_core::Result<Tensor> {
    ((logp_taken - logp_old_taken.detach())?.exp()? * advantages.detach())?.mean_all()
}

/// The fixed tensors of one batch that the policy step evaluates candidates on.
struct PolicyBatch {
    obs: Tensor,
    fisher_obs: Tensor,
    actions: Tensor,
    advantages: Tensor,
    /// log π_old(·|s) `[N, A]` and of the taken actions `[N]`.
    logp_old: Tensor,
    logp_old_taken: Tensor,
}

impl PolicyBatch {
    /// (L(θ) − L(θ_old), mean KL(π_old ‖ π_θ)) with the policy's parameters set to `theta`.
    fn evaluate(&self, policy: &Mlp, theta: &[f64], l_old: f64) -> candle_core::Result<(f64, f64)> {
        set_flat_params(&policy.vars(), theta)?;
        let logp = nn::log_probs(&policy.forward(&self.obs)?)?;
        let l = surrogate(&nn::log_probs_of(&logp, &self.actions)?, &self.logp_old_taken, &self.advantages)?;
        let kl = mean_kl(&self.logp_old, &logp)?;
        Ok((l.to_scalar::<f64>()? - l_old, kl.to_scalar::<f64>()?))
    }
}

/// What conjugate gradient left: the residual ‖g − (F + damping·I) x‖ and ‖g‖.
#[derive(Clone, Copy)]
struct CgReport {
    residual: f64,
    g_norm: f64,
}

/// One policy step by `rule` on a batch. Leaves the policy at θ_new and returns its log.
fn policy_step(
    policy: &Mlp,
    batch: &PolicyBatch,
    cfg: &TrpoConfig,
    step: u64,
) -> Result<(f64, f64, usize, bool, Option<CgReport>, f64)> {
    let c = candle_error("the TRPO step");
    let vars = policy.vars();
    let theta_old = flat_params(&vars).map_err(&c)?;
    // g = ∇L at θ_old (eq. 3).
    let logp = nn::log_probs(&policy.forward(&batch.obs).map_err(&c)?).map_err(&c)?;
    let l = surrogate(&nn::log_probs_of(&logp, &batch.actions).map_err(&c)?, &batch.logp_old_taken, &batch.advantages)
        .map_err(&c)?;
    let l_old = check_finite(l.to_scalar::<f64>().map_err(&c)?, "the surrogate", step)?;
    let g = flat_grad(&l.backward().map_err(&c)?, &vars).map_err(&c)?;
    check_finite(dot(&g, &g), "the policy gradient", step)?;
    let fvp = |v: &[f64]| fisher_vector_product(policy, &batch.fisher_obs, v);

    let (theta_new, backtracks, accepted, cg_residual) = match cfg.rule {
        StepRule::Trpo | StepRule::TrustRegion => {
            let (x, residual) = if cfg.rule == StepRule::Trpo {
                // Eq. (11): x ≈ (F + damping·I)⁻¹ g.
                let mut error = None;
                let cg = conjugate_gradient(
                    |v| {
                        fvp(v).unwrap_or_else(|e| {
                            error = Some(e);
                            vec![0.0; v.len()]
                        })
                    },
                    &g,
                    cfg.cg_damping,
                    cfg.cg_iters,
                    1e-10,
                );
                if let Some(e) = error {
                    return Err(c(e));
                }
                (cg.x, Some(CgReport { residual: cg.residual, g_norm: dot(&g, &g).sqrt() }))
            } else {
                (g.clone(), None)
            };
            // Eq. (13): the full step β x reaches KL ≈ δ under the quadratic model (with
            // the same damped F that CG inverted).
            let fx = axpy(&fvp(&x).map_err(&c)?, cfg.cg_damping, &x);
            let beta = trust_region_scale(&x, &fx, cfg.delta);
            let full = axpy(&vec![0.0; x.len()], check_finite(beta, "the trust-region scale", step)?, &x);
            let mut error = None;
            let search = backtracking_line_search(
                |frac| {
                    batch.evaluate(policy, &axpy(&theta_old, frac, &full), l_old).unwrap_or_else(|e| {
                        error = Some(e);
                        (f64::NAN, f64::NAN)
                    })
                },
                cfg.delta,
                cfg.max_backtracks,
            );
            if let Some(e) = error {
                return Err(c(e));
            }
            (axpy(&theta_old, search.fraction, &full), search.backtracks, search.accepted, residual)
        }
        StepRule::Fixed(alpha) => (axpy(&theta_old, alpha, &g), 0, true, None),
        StepRule::LineSearch(alpha0) => {
            let mut best = (f64::NEG_INFINITY, alpha0);
            for k in 0..9 {
                let alpha = alpha0 * 2f64.powi(k);
                let (gain, _) = batch.evaluate(policy, &axpy(&theta_old, alpha, &g), l_old).map_err(&c)?;
                if gain > best.0 {
                    best = (gain, alpha);
                }
            }
            (axpy(&theta_old, best.1, &g), 0, true, None)
        }
    };
    let (gain, kl) = batch.evaluate(policy, &theta_new, l_old).map_err(&c)?;
    let step_norm = theta_new.iter().zip(&theta_old).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
    check_finite(kl, "the KL after the step", step)?;
    Ok((kl, gain, backtracks, accepted, cg_residual, step_norm))
}

/// Trains a categorical policy on copies of an environment with TRPO (or a comparison
/// rule). `on_update(done, total)` is called after every update.
pub fn train<E, R>(
    envs: Vec<E>,
    n_actions: usize,
    cfg: &TrpoConfig,
    rng: &mut R,
    mut on_update: impl FnMut(usize, usize),
) -> Result<TrpoRun>
where
    E: Env<Action = usize>,
    E::Obs: AsRef<[f32]>,
    R: Rng + ?Sized,
{
    cfg.validate()?;
    if envs.len() != cfg.n_envs {
        return Err(Error::invalid("--envs", envs.len(), "does not match the environments given"));
    }
    let c = candle_error("TRPO");
    let mut venv = VecEnv::new(envs, rng);
    let obs_dim = venv.obs_dim();
    let sizes = |out: usize| [&[obs_dim][..], &cfg.hidden, &[out]].concat();
    // The policy in f64: CG, the finite differences of eq. (10) and the KL checks of the
    // line search need the precision. A small last layer starts it near uniform.
    let policy = Mlp::new(&sizes(n_actions), cfg.activation, 0.01, DType::F64, rng).map_err(&c)?;
    let value = Mlp::new(&sizes(1), cfg.activation, 1.0, DType::F32, rng).map_err(&c)?;
    let mut value_opt = adam(value.vars(), cfg.value_lr, 1e-5).map_err(&c)?;
    let updates = cfg.updates();
    let mut logs = Vec::with_capacity(updates);
    for update in 0..updates {
        let step = update as u64 + 1;
        // 1. Act with a plain-f32 copy of π_old.
        let acting = policy.plain().map_err(&c)?;
        let batch =
            rollout::collect(&mut venv, cfg.steps, rng, |obs, rng| nn::sample_with_log_prob(&acting.forward(obs), rng));
        let n = batch.len();

        // 2. GAE advantages (eq. 12) from V before this update's regression.
        let values = value.values(&batch.obs).map_err(&c)?;
        let next_values = value.values(&batch.next_obs).map_err(&c)?;
        let (mut advantages, returns) = batch.gae(&values, &next_values, cfg.gamma, cfg.lambda);
        let value_loss = returns.iter().zip(&values).map(|(g, v)| (g - v) * (g - v)).sum::<f64>() / n as f64;
        let explained_variance = crate::estimators::explained_variance(&values, &returns);
        crate::estimators::normalize_batch(&mut advantages);

        // 3-5. The policy step.
        let obs64: Vec<f64> = batch.obs.iter().map(|&x| x as f64).collect();
        let obs = Tensor::from_vec(obs64, (n, obs_dim), &Device::Cpu).map_err(&c)?;
        let fisher_rows: Vec<u32> = (0..n as u32).step_by(cfg.fisher_subsample).collect();
        let fisher_idx = Tensor::from_vec(fisher_rows.clone(), fisher_rows.len(), &Device::Cpu).map_err(&c)?;
        let actions =
            Tensor::from_vec(batch.actions.iter().map(|&a| a as u32).collect(), n, &Device::Cpu).map_err(&c)?;
        let logp_old = nn::log_probs(&policy.forward(&obs).map_err(&c)?).map_err(&c)?.detach();
        let entropy = nn::entropy(&logp_old).map_err(&c)?.to_scalar::<f64>().map_err(&c)?;
        let pb = PolicyBatch {
            fisher_obs: obs.index_select(&fisher_idx, 0).map_err(&c)?,
            logp_old_taken: nn::log_probs_of(&logp_old, &actions).map_err(&c)?,
            advantages: Tensor::from_vec(advantages, n, &Device::Cpu).map_err(&c)?,
            obs,
            actions,
            logp_old,
        };
        let (kl, surrogate_gain, backtracks, accepted, cg, step_norm) = policy_step(&policy, &pb, cfg, step)?;

        // 6. Fit V to the returns (MSE), in shuffled minibatches.
        let fit = ValueFit { epochs: cfg.value_epochs, minibatch: cfg.value_minibatch, max_grad_norm: 1.0 };
        fit_value(&value, &mut value_opt, &batch.obs, &returns, &fit, rng, step)?;

        logs.push(TrpoUpdateLog {
            env_steps: venv.env_steps,
            seconds: venv.seconds(),
            kl,
            surrogate_gain,
            backtracks,
            accepted,
            cg_residual: cg.map(|c| c.residual),
            cg_relative_residual: cg.map(|c| c.residual / c.g_norm),
            step_norm,
            entropy,
            value_loss,
            explained_variance,
        });
        on_update(update + 1, updates);
    }
    Ok(TrpoRun {
        seconds: venv.seconds(),
        env_steps: venv.env_steps,
        episodes: std::mem::take(&mut venv.episodes),
        updates: logs,
        policy,
        value,
    })
}
