//! REINFORCE with a tabular softmax policy, on any environment with numbered states
//! and actions (the maze).
//!
//! The policy has one preference `θ[s,a]` per state and action (one-hot features
//! φ(s,a)), π_θ(a|s) = softmax_a θ[s,·] (eq. 4), and ∇ log π is written by hand:
//! e_a − π(·|s) in row s, zero elsewhere. No autograd: every number of the gradient
//! is visible, which is what the variance experiments need.

use super::{discounted_return, grad_log_softmax, reward_to_go, softmax, trace_covariance, Estimator};
use crate::env::Env;
use crate::env::Model;
use crate::error::{Error, Result};
use rand::{Rng, RngExt};

/// π_θ(a|s) = softmax over a of `θ[s,a]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SoftmaxPolicy {
    /// Row-major `[n_states, n_actions]`.
    pub theta: Vec<f64>,
    pub n_states: usize,
    pub n_actions: usize,
}

impl SoftmaxPolicy {
    /// All preferences 0: the uniform policy.
    pub fn uniform(n_states: usize, n_actions: usize) -> SoftmaxPolicy {
        SoftmaxPolicy { theta: vec![0.0; n_states * n_actions], n_states, n_actions }
    }

    /// θ[s,·].
    pub fn row(&self, s: usize) -> &[f64] {
        &self.theta[s * self.n_actions..(s + 1) * self.n_actions]
    }

    /// π_θ(·|s) (eq. 4).
    pub fn probs(&self, s: usize) -> Vec<f64> {
        softmax(self.row(s))
    }

    /// ∇_θ log π_θ(a|s), for the row θ[s,·] (the other rows' gradient is zero).
    pub fn grad_log_pi(&self, s: usize, a: usize) -> Vec<f64> {
        grad_log_softmax(&self.probs(s), a)
    }

    /// An action drawn from π_θ(·|s).
    pub fn sample<R: Rng + ?Sized>(&self, s: usize, rng: &mut R) -> usize {
        let probs = self.probs(s);
        let mut u = rng.random::<f64>();
        for (a, p) in probs.iter().enumerate() {
            if u < *p {
                return a;
            }
            u -= p;
        }
        self.n_actions - 1 // only reached through rounding
    }

    /// The most probable action in `s` (the lowest index among ties).
    pub fn most_probable(&self, s: usize) -> usize {
        let row = self.row(s);
        (0..self.n_actions).fold(0, |best, a| if row[a] > row[best] { a } else { best })
    }
}

/// One episode: s_t, a_t and the reward r_t that followed, for t = 0..T−1.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    pub states: Vec<usize>,
    pub actions: Vec<usize>,
    pub rewards: Vec<f64>,
    /// Ended in a terminal state (the goal) rather than at the time limit.
    pub terminated: bool,
}

impl Episode {
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }
}

/// Runs one episode with actions drawn from `policy`.
pub fn sample_episode<E, R>(env: &mut E, policy: &SoftmaxPolicy, rng: &mut R) -> Episode
where
    E: Env<Obs = usize, Action = usize>,
    R: Rng + ?Sized,
{
    let mut s = env.reset(rng);
    let mut ep = Episode { states: vec![], actions: vec![], rewards: vec![], terminated: false };
    loop {
        let a = policy.sample(s, rng);
        let step = env.step(a);
        ep.states.push(s);
        ep.actions.push(a);
        ep.rewards.push(step.reward);
        s = step.obs;
        if step.done() {
            ep.terminated = step.terminated;
            return ep;
        }
    }
}

/// Ψ_t, the number that multiplies ∇ log π(a_t|s_t), for every step of every episode
/// of a batch, with `shift` c added to every episode's return (so to every R(τ) and
/// every G_t, as a bonus c paid at the end of every episode would with γ = 1):
/// - [`Estimator::Return`]: R(τ) + c at every step (eq. 3);
/// - [`Estimator::RewardToGo`]: G_t + c (eq. 5);
/// - [`Estimator::Baseline`]: G_t + c − b(s_t) (eq. 6), where b(s) is the mean of
///   G + c over the visits of s in the *other* episodes of the batch (over all their
///   steps if none visited s). Leaving the episode itself out keeps b independent of its
///   actions, so the estimate stays exactly unbiased; and since b moves with c, the
///   shift cancels.
///
/// The baseline needs at least two episodes.
pub fn step_weights(batch: &[Episode], estimator: Estimator, gamma: f64, shift: f64) -> Vec<Vec<f64>> {
    let shifted_rtg = || -> Vec<Vec<f64>> {
        batch.iter().map(|ep| reward_to_go(&ep.rewards, gamma, 0.0).into_iter().map(|g| g + shift).collect()).collect()
    };
    match estimator {
        Estimator::Return => batch
            .iter()
            .map(|ep| {
                let r = discounted_return(&ep.rewards, gamma) + shift;
                vec![r; ep.len()]
            })
            .collect(),
        Estimator::RewardToGo => shifted_rtg(),
        Estimator::Baseline => {
            assert!(batch.len() >= 2, "the leave-one-out baseline needs at least two episodes");
            let g = shifted_rtg();
            let n_states = batch.iter().flat_map(|ep| ep.states.iter()).max().map_or(0, |s| s + 1);
            // Sums and counts per state over the batch, and over each episode, so that
            // "the other episodes" is a subtraction.
            let (mut sum, mut count) = (vec![0.0; n_states], vec![0usize; n_states]);
            let per_episode: Vec<(Vec<f64>, Vec<usize>)> = batch
                .iter()
                .zip(&g)
                .map(|(ep, g)| {
                    let (mut s_sum, mut s_count) = (vec![0.0; n_states], vec![0usize; n_states]);
                    for (&s, &gt) in ep.states.iter().zip(g) {
                        s_sum[s] += gt;
                        s_count[s] += 1;
                    }
                    (s_sum, s_count)
                })
                .collect();
            for (s_sum, s_count) in &per_episode {
                sum.iter_mut().zip(s_sum).for_each(|(a, b)| *a += b);
                count.iter_mut().zip(s_count).for_each(|(a, b)| *a += b);
            }
            let (all_sum, all_count): (f64, usize) = (sum.iter().sum(), count.iter().sum());
            batch
                .iter()
                .zip(&g)
                .zip(&per_episode)
                .map(|((ep, g), (s_sum, s_count))| {
                    let own_total: f64 = s_sum.iter().sum();
                    let fallback = (all_sum - own_total) / (all_count - ep.len()) as f64;
                    ep.states
                        .iter()
                        .zip(g)
                        .map(|(&s, &gt)| {
                            let others = count[s] - s_count[s];
                            let b = if others > 0 { (sum[s] - s_sum[s]) / others as f64 } else { fallback };
                            gt - b
                        })
                        .collect()
                })
                .collect()
        }
    }
}

/// The REINFORCE estimate of ∇J from a batch of N episodes (eq. 3 with the chosen Ψ):
/// ĝ = (1/N) Σ_i Σ_t Ψ_{i,t} ∇_θ log π_θ(a_{i,t}|s_{i,t}), as a vector shaped like θ.
pub fn batch_gradient(
    policy: &SoftmaxPolicy,
    batch: &[Episode],
    estimator: Estimator,
    gamma: f64,
    shift: f64,
) -> Vec<f64> {
    weighted_scores(policy, batch, &scores(policy, batch), &step_weights(batch, estimator, gamma, shift))
}

/// ∇ log π(a_t|s_t) (the row s_t of it) for every step of every episode.
fn scores(policy: &SoftmaxPolicy, batch: &[Episode]) -> Vec<Vec<Vec<f64>>> {
    batch
        .iter()
        .map(|ep| ep.states.iter().zip(&ep.actions).map(|(&s, &a)| policy.grad_log_pi(s, a)).collect())
        .collect()
}

/// (1/N) Σ_i Σ_t weights[i][t] · scores[i][t], each score added into its state's row.
fn weighted_scores(
    policy: &SoftmaxPolicy,
    batch: &[Episode],
    scores: &[Vec<Vec<f64>>],
    weights: &[Vec<f64>],
) -> Vec<f64> {
    let mut grad = vec![0.0; policy.theta.len()];
    for ((ep, score), psi) in batch.iter().zip(scores).zip(weights) {
        for ((&s, d), &w) in ep.states.iter().zip(score).zip(psi) {
            let row = &mut grad[s * policy.n_actions..(s + 1) * policy.n_actions];
            row.iter_mut().zip(d).for_each(|(g, d)| *g += w * d);
        }
    }
    let n = batch.len() as f64;
    grad.iter_mut().for_each(|g| *g /= n);
    grad
}

/// Hyper-parameters of tabular REINFORCE.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct TabularConfig {
    /// Gradient steps.
    pub updates: usize,
    /// Episodes per gradient estimate.
    pub batch: usize,
    /// Step size α of gradient ascent θ ← θ + α ĝ.
    pub lr: f64,
    pub gamma: f64,
    pub estimator: Estimator,
    /// c added to every episode's return before the estimator sees it.
    pub shift: f64,
}

/// What one update saw: its batch, before the step.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateRecord {
    /// Environment steps since training began, this batch included.
    pub env_steps: u64,
    /// Mean undiscounted return of the batch (without the shift: the task's own score).
    pub mean_return: f64,
    /// Share of the batch's episodes that reached the goal.
    pub success_rate: f64,
    pub mean_length: f64,
    /// ‖ĝ‖ of the update.
    pub grad_norm: f64,
}

/// Tabular REINFORCE from the uniform policy: sample a batch, estimate ∇J, take a
/// step of plain gradient ascent. Calls `on_update` after every update.
pub fn train<E, R>(
    env: &mut E,
    n_states: usize,
    n_actions: usize,
    cfg: &TabularConfig,
    rng: &mut R,
    mut on_update: impl FnMut(usize, &UpdateRecord, &SoftmaxPolicy),
) -> Result<SoftmaxPolicy>
where
    E: Env<Obs = usize, Action = usize>,
    R: Rng + ?Sized,
{
    if cfg.batch < 2 && cfg.estimator == Estimator::Baseline {
        return Err(Error::invalid("batch size", cfg.batch, "the baseline needs at least 2 episodes per batch"));
    }
    let mut policy = SoftmaxPolicy::uniform(n_states, n_actions);
    let mut env_steps = 0u64;
    for update in 0..cfg.updates {
        let batch: Vec<Episode> = (0..cfg.batch).map(|_| sample_episode(env, &policy, rng)).collect();
        let grad = batch_gradient(&policy, &batch, cfg.estimator, cfg.gamma, cfg.shift);
        for (t, g) in policy.theta.iter_mut().zip(&grad) {
            *t += cfg.lr * g;
        }
        if let Some(i) = policy.theta.iter().position(|t| !t.is_finite()) {
            let (s, a) = (i / n_actions, i % n_actions);
            return Err(Error::NonFinite { what: format!("θ[state {s}, action {a}]"), step: update as u64 + 1 });
        }
        env_steps += batch.iter().map(|ep| ep.len() as u64).sum::<u64>();
        let n = batch.len() as f64;
        let record = UpdateRecord {
            env_steps,
            mean_return: batch.iter().map(|ep| ep.rewards.iter().sum::<f64>()).sum::<f64>() / n,
            success_rate: batch.iter().filter(|ep| ep.terminated).count() as f64 / n,
            mean_length: batch.iter().map(|ep| ep.len() as f64).sum::<f64>() / n,
            grad_norm: grad.iter().map(|g| g * g).sum::<f64>().sqrt(),
        };
        on_update(update, &record, &policy);
    }
    Ok(policy)
}

/// The variance of the batch gradient at a fixed `policy`: for each estimator and each
/// shift c, the trace of the covariance of ĝ over `n_batches` independent batches of
/// `batch` episodes. The same episodes serve every estimator and shift, so the
/// comparison is between estimators, not between samples.
#[allow(clippy::too_many_arguments)]
pub fn gradient_variance<E, R>(
    env: &mut E,
    policy: &SoftmaxPolicy,
    estimators: &[Estimator],
    shifts: &[f64],
    gamma: f64,
    batch: usize,
    n_batches: usize,
    rng: &mut R,
) -> GradientVariance
where
    E: Env<Obs = usize, Action = usize>,
    R: Rng + ?Sized,
{
    let mut grads = vec![vec![Vec::with_capacity(n_batches); shifts.len()]; estimators.len()];
    let mut env_steps = 0;
    for _ in 0..n_batches {
        let episodes: Vec<Episode> = (0..batch).map(|_| sample_episode(env, policy, rng)).collect();
        env_steps += episodes.iter().map(|ep| ep.len() as u64).sum::<u64>();
        let score = scores(policy, &episodes);
        for (e, &est) in estimators.iter().enumerate() {
            for (k, &c) in shifts.iter().enumerate() {
                let weights = step_weights(&episodes, est, gamma, c);
                grads[e][k].push(weighted_scores(policy, &episodes, &score, &weights));
            }
        }
    }
    let trace = grads.iter().map(|per_shift| per_shift.iter().map(|g| trace_covariance(g)).collect()).collect();
    GradientVariance { trace, env_steps }
}

/// What [`gradient_variance`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientVariance {
    /// `tr Cov[ĝ]`, indexed `[estimator][shift]`.
    pub trace: Vec<Vec<f64>>,
    /// Environment steps of all the batches.
    pub env_steps: u64,
}

/// How a fixed policy does on a time-limited episode.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct PolicyEvaluation {
    /// Probability that an episode reaches a terminal state (the goal) in time.
    pub success_rate: f64,
    /// Probability that it does so in exactly `shortest` steps (a shortest path).
    pub shortest_rate: f64,
    /// Expected undiscounted return.
    pub mean_return: f64,
    /// Expected number of steps.
    pub mean_length: f64,
}

/// Scores `policy` (with its randomness) exactly, without sampling: the distribution
/// over states is carried forward through the `model` for `max_steps` steps from
/// `start`, and whatever reaches a terminal state is counted as a success.
pub fn evaluate(
    model: &Model,
    policy: &SoftmaxPolicy,
    start: usize,
    max_steps: usize,
    shortest: usize,
) -> PolicyEvaluation {
    let mut p = vec![0.0; model.n_states];
    p[start] = 1.0;
    let mut e = PolicyEvaluation { success_rate: 0.0, shortest_rate: 0.0, mean_return: 0.0, mean_length: 0.0 };
    for t in 1..=max_steps {
        let mut next = vec![0.0; model.n_states];
        for s in (0..model.n_states).filter(|&s| p[s] > 0.0) {
            e.mean_length += p[s]; // every episode still running takes step t
            for (a, pa) in policy.probs(s).into_iter().enumerate() {
                for o in &model.outcomes[s * model.n_actions + a] {
                    let mass = p[s] * pa * o.prob;
                    e.mean_return += mass * o.reward;
                    if o.terminal {
                        e.success_rate += mass;
                        if t == shortest {
                            e.shortest_rate += mass;
                        }
                    } else {
                        next[o.next] += mass;
                    }
                }
            }
        }
        p = next;
    }
    e
}
