//! On-policy experience for the actor-critic chapters (TRPO, PPO): N copies of an
//! environment stepped in lockstep, a time-major batch of what happened, GAE per copy,
//! and the episode log that learning curves are drawn from.
//!
//! Row `k = t · n_envs + i` of a [`Batch`] is step `t` of copy `i`. Each copy resets
//! itself when its episode ends, so a batch holds pieces of many episodes; `terminated`
//! and `truncated` mark where they end, and `next_obs` keeps the state each step
//! really reached (before the reset) so that a truncated episode can be bootstrapped.

use crate::env::Env;
use crate::estimators;
use crate::plot::Band;
use rand::Rng;
use std::time::Instant;

pub use crate::error::check_count;

/// A count flag that a run's cost grows with, for [`check_budget`]: its name, value,
/// default and allowed range, and how to set it on a copy of the flags.
#[derive(Clone)]
pub struct Knob<S> {
    pub flag: &'static str,
    pub value: u64,
    pub default: u64,
    pub range: (u64, u64),
    pub set: fn(&mut S, u64),
}

/// Checks that `cost(flags)` (computed with checked arithmetic: `None` is an overflow)
/// is at most `cap`. Otherwise the error names the knob raised most above its default
/// (a flag the user gave) and the largest value it may take with the other flags as
/// given, found by bisection (`cost` grows with every knob).
pub fn check_budget<S: Clone>(
    flags: &S,
    knobs: &[Knob<S>],
    cost: impl Fn(&S) -> Option<u64>,
    cap: u64,
    what: &str,
) -> crate::error::Result<()> {
    let fits = |s: &S| cost(s).is_some_and(|c| c <= cap);
    if fits(flags) {
        return Ok(());
    }
    let raised = |k: &Knob<S>| k.value as f64 / k.default.max(1) as f64;
    let Some(knob) = knobs.iter().max_by(|a, b| raised(a).total_cmp(&raised(b))) else {
        return Err(crate::error::Error::invalid(what, "", "over the budget"));
    };
    let with = |v: u64| {
        let mut s = flags.clone();
        (knob.set)(&mut s, v);
        s
    };
    let (lo, hi) = knob.range;
    let why = if !fits(&with(lo)) {
        format!(
            "allowed range [{lo}, {hi}], but with the other flags as given even {lo} exceeds the budget of {cap} {what}; lower them"
        )
    } else {
        // The largest v in [lo, value) that fits.
        let (mut ok, mut bad) = (lo, knob.value);
        while bad - ok > 1 {
            let mid = ok + (bad - ok) / 2;
            if fits(&with(mid)) {
                ok = mid
            } else {
                bad = mid
            }
        }
        format!("must lie in [{lo}, {ok}] with the other flags as given (a run may take at most {cap} {what}; the flag's own range is [{lo}, {hi}])")
    };
    Err(crate::error::Error::invalid(knob.flag, knob.value, &why))
}

/// One finished episode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeLog {
    /// Environment steps since training began (all copies together), when it ended.
    pub env_steps: u64,
    /// Seconds since training began, when it ended.
    pub seconds: f64,
    pub ret: f64,
    pub len: usize,
}

/// Mean return of the last `k` finished episodes (NaN if none finished).
pub fn final_return(episodes: &[EpisodeLog], k: usize) -> f64 {
    let tail = &episodes[episodes.len().saturating_sub(k)..];
    crate::stats::mean(&tail.iter().map(|e| e.ret).collect::<Vec<_>>())
}

/// The first episode at whose end the mean return of the last `k` finished episodes
/// reached `threshold` (only once `k` episodes have finished).
pub fn first_reaching(episodes: &[EpisodeLog], threshold: f64, k: usize) -> Option<&EpisodeLog> {
    let mut sum = 0.0;
    for (i, e) in episodes.iter().enumerate() {
        sum += e.ret;
        if i >= k {
            sum -= episodes[i - k].ret;
        }
        if i + 1 >= k && sum / k as f64 >= threshold {
            return Some(e);
        }
    }
    None
}

/// The mean return of the last `k` episodes finished by each step count of `grid` (NaN
/// before `k` have finished): learning curves of runs whose episodes end at different
/// steps, on a common x axis.
pub fn trailing_return_on_grid(episodes: &[EpisodeLog], grid: &[f64], k: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(grid.len());
    let mut i = 0;
    for &x in grid {
        while i < episodes.len() && episodes[i].env_steps as f64 <= x {
            i += 1;
        }
        out.push(if i >= k {
            crate::stats::mean(&episodes[i - k..i].iter().map(|e| e.ret).collect::<Vec<_>>())
        } else {
            f64::NAN
        });
    }
    out
}

/// What every training run with an episode log can say about its learning curve
/// (REINFORCE, TRPO and PPO runs implement it by pointing at their episodes).
pub trait LearningCurve {
    /// Every finished episode, in the order they ended.
    fn episodes(&self) -> &[EpisodeLog];

    /// Mean return of the last `k` finished episodes (NaN if none finished).
    fn final_return(&self, k: usize) -> f64 {
        final_return(self.episodes(), k)
    }

    /// (environment steps, seconds) when the mean of the last `k` episodes first
    /// reached `threshold`.
    fn reached(&self, threshold: f64, k: usize) -> Option<(u64, f64)> {
        first_reaching(self.episodes(), threshold, k).map(|e| (e.env_steps, e.seconds))
    }

    /// Environment steps until the mean of the last `k` episodes first reached `threshold`.
    fn steps_to(&self, threshold: f64, k: usize) -> Option<u64> {
        self.reached(threshold, k).map(|(steps, _)| steps)
    }

    /// The mean return of the last `k` episodes finished by each step count of `grid`.
    fn trailing_return_on_grid(&self, grid: &[f64], k: usize) -> Vec<f64> {
        trailing_return_on_grid(self.episodes(), grid, k)
    }
}

/// The median over runs of a "steps (or seconds) to the target", where NaN means the
/// run never got there: None when at least half of them never did.
pub fn median_reached(xs: &[f64]) -> Option<f64> {
    Some(crate::stats::median_missing_high(xs)).filter(|m| m.is_finite())
}

/// The learning curves of several runs as one mean ± std band: the mean return of the
/// last `k` episodes of each run, read off at the step counts of `grid`.
pub fn return_band<R: LearningCurve>(label: &str, runs: &[&R], grid: &[f64], k: usize) -> Band {
    Band {
        label: label.into(),
        x: grid.to_vec(),
        runs: runs.iter().map(|r| r.trailing_return_on_grid(grid, k)).collect(),
    }
}

/// What every training run that logs its updates can say: each update's record and the
/// environment steps done when it ran (TRPO and PPO runs implement it).
pub trait UpdateHistory {
    type Update;
    /// One record per update, in order.
    fn updates(&self) -> &[Self::Update];
    /// Environment steps done (all copies together) when `update` ran.
    fn env_steps_at(update: &Self::Update) -> u64;
}

/// One number of every update, over several runs, as a mean ± std band against the
/// environment steps (runs with the same settings update at the same step counts).
pub fn update_band<R: UpdateHistory>(label: &str, runs: &[&R], f: impl Fn(&R::Update) -> f64) -> Band {
    Band {
        label: label.into(),
        x: runs.first().map_or(vec![], |r| r.updates().iter().map(|u| R::env_steps_at(u) as f64).collect()),
        runs: runs.iter().map(|r| r.updates().iter().map(&f).collect()).collect(),
    }
}

/// N copies of an environment, stepped together, each resetting itself at the end of
/// an episode.
pub struct VecEnv<E: Env> {
    envs: Vec<E>,
    obs: Vec<Vec<f32>>,
    ep_return: Vec<f64>,
    ep_len: Vec<usize>,
    /// Steps taken by all copies together.
    pub env_steps: u64,
    /// Every finished episode, in the order they ended.
    pub episodes: Vec<EpisodeLog>,
    started: Instant,
}

impl<E: Env> VecEnv<E>
where
    E::Obs: AsRef<[f32]>,
{
    /// Resets every copy (in order, from `rng`) and starts the clock.
    pub fn new<R: Rng + ?Sized>(mut envs: Vec<E>, rng: &mut R) -> VecEnv<E> {
        assert!(!envs.is_empty(), "a VecEnv needs at least one environment");
        let obs = envs.iter_mut().map(|e| e.reset(rng).as_ref().to_vec()).collect();
        let n = envs.len();
        VecEnv {
            envs,
            obs,
            ep_return: vec![0.0; n],
            ep_len: vec![0; n],
            env_steps: 0,
            episodes: vec![],
            started: Instant::now(),
        }
    }

    pub fn n_envs(&self) -> usize {
        self.envs.len()
    }

    pub fn obs_dim(&self) -> usize {
        self.obs[0].len()
    }

    /// Seconds since the copies were created.
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// `steps` steps of every copy of a [`VecEnv`], time-major (row `t · n_envs + i`).
#[derive(Clone, Debug)]
pub struct Batch<A> {
    pub n_envs: usize,
    pub steps: usize,
    pub obs_dim: usize,
    /// s_t, `[rows, obs_dim]` flattened.
    pub obs: Vec<f32>,
    /// The state step t reached: the final observation when the episode ended there.
    pub next_obs: Vec<f32>,
    pub actions: Vec<A>,
    /// log π_old(a_t|s_t) of the policy that acted.
    pub log_probs: Vec<f64>,
    pub rewards: Vec<f64>,
    pub terminated: Vec<bool>,
    pub truncated: Vec<bool>,
}

impl<A> Batch<A> {
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// GAE (see [`estimators::gae`]) along each copy's own time line, given V(s_t) and
    /// V(s_{t+1}) for every row. Returns (advantages, returns) in row order.
    pub fn gae(&self, values: &[f64], next_values: &[f64], gamma: f64, lambda: f64) -> (Vec<f64>, Vec<f64>) {
        let n = self.n_envs;
        let mut advantages = vec![0.0; self.len()];
        let mut returns = vec![0.0; self.len()];
        for i in 0..n {
            let rows: Vec<usize> = (0..self.steps).map(|t| t * n + i).collect();
            let pick = |xs: &[f64]| rows.iter().map(|&k| xs[k]).collect::<Vec<_>>();
            let pick_bool = |xs: &[bool]| rows.iter().map(|&k| xs[k]).collect::<Vec<_>>();
            let (a, r) = estimators::gae(
                &pick(&self.rewards),
                &pick(values),
                &pick(next_values),
                &pick_bool(&self.terminated),
                &pick_bool(&self.truncated),
                gamma,
                lambda,
            );
            for (j, &k) in rows.iter().enumerate() {
                advantages[k] = a[j];
                returns[k] = r[j];
            }
        }
        (advantages, returns)
    }
}

/// Runs every copy for `steps` steps. `act(obs, rng) -> (action, log π(action|obs))`
/// is the current policy.
pub fn collect<E, R>(
    venv: &mut VecEnv<E>,
    steps: usize,
    rng: &mut R,
    mut act: impl FnMut(&[f32], &mut R) -> (E::Action, f64),
) -> Batch<E::Action>
where
    E: Env,
    E::Obs: AsRef<[f32]>,
    E::Action: Clone,
    R: Rng + ?Sized,
{
    let (n, obs_dim) = (venv.n_envs(), venv.obs_dim());
    let rows = steps * n;
    let mut batch = Batch {
        n_envs: n,
        steps,
        obs_dim,
        obs: Vec::with_capacity(rows * obs_dim),
        next_obs: Vec::with_capacity(rows * obs_dim),
        actions: Vec::with_capacity(rows),
        log_probs: Vec::with_capacity(rows),
        rewards: Vec::with_capacity(rows),
        terminated: Vec::with_capacity(rows),
        truncated: Vec::with_capacity(rows),
    };
    for _ in 0..steps {
        for i in 0..n {
            let (action, log_prob) = act(&venv.obs[i], rng);
            let out = venv.envs[i].step(action.clone());
            batch.obs.extend_from_slice(&venv.obs[i]);
            batch.next_obs.extend_from_slice(out.obs.as_ref());
            batch.actions.push(action);
            batch.log_probs.push(log_prob);
            batch.rewards.push(out.reward);
            batch.terminated.push(out.terminated);
            batch.truncated.push(out.truncated);
            venv.env_steps += 1;
            venv.ep_return[i] += out.reward;
            venv.ep_len[i] += 1;
            venv.obs[i] = if out.done() {
                let seconds = venv.seconds();
                venv.episodes.push(EpisodeLog {
                    env_steps: venv.env_steps,
                    seconds,
                    ret: venv.ep_return[i],
                    len: venv.ep_len[i],
                });
                (venv.ep_return[i], venv.ep_len[i]) = (0.0, 0);
                venv.envs[i].reset(rng).as_ref().to_vec()
            } else {
                out.obs.as_ref().to_vec()
            };
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Step;

    /// Counts its steps; the observation is the count, the reward is 1 + action, and a
    /// time limit of `limit` steps truncates (copy-specific, so the copies fall out of step).
    struct Counter {
        t: usize,
        limit: usize,
    }

    impl Env for Counter {
        type Obs = [f32; 1];
        type Action = usize;
        fn reset<R: Rng + ?Sized>(&mut self, _rng: &mut R) -> [f32; 1] {
            self.t = 0;
            [0.0]
        }
        fn step(&mut self, action: usize) -> Step<[f32; 1]> {
            self.t += 1;
            Step {
                obs: [self.t as f32],
                reward: 1.0 + action as f64,
                terminated: false,
                truncated: self.t == self.limit,
            }
        }
    }

    #[test]
    fn batch_is_time_major_and_keeps_the_state_before_a_reset() {
        let mut rng = crate::rng::seeded(0, 0);
        let envs = vec![Counter { t: 0, limit: 2 }, Counter { t: 0, limit: 3 }];
        let mut venv = VecEnv::new(envs, &mut rng);
        let batch = collect(&mut venv, 4, &mut rng, |obs, _| (obs[0] as usize % 2, -0.5));
        assert_eq!(batch.len(), 8);
        // Copy 0 (limit 2): obs 0 1 | 0 1; copy 1 (limit 3): obs 0 1 2 | 0.
        assert_eq!(batch.obs, vec![0., 0., 1., 1., 0., 2., 1., 0.]);
        assert_eq!(batch.next_obs, vec![1., 1., 2., 2., 1., 3., 2., 1.]);
        assert_eq!(batch.truncated, vec![false, false, true, false, false, true, true, false]);
        assert_eq!(batch.rewards, vec![1., 1., 2., 2., 1., 1., 2., 1.]);
        assert_eq!(venv.env_steps, 8);
        let ends: Vec<(u64, f64, usize)> = venv.episodes.iter().map(|e| (e.env_steps, e.ret, e.len)).collect();
        assert_eq!(ends, vec![(3, 3.0, 2), (6, 4.0, 3), (7, 3.0, 2)]);
    }

    #[test]
    fn gae_runs_along_each_copy() {
        let mut rng = crate::rng::seeded(0, 0);
        let envs = vec![Counter { t: 0, limit: 2 }, Counter { t: 0, limit: 3 }];
        let mut venv = VecEnv::new(envs, &mut rng);
        let batch = collect(&mut venv, 4, &mut rng, |_, _| (0, 0.0));
        // V(s) = 10 · s: easy to follow by hand.
        let values: Vec<f64> = batch.obs.iter().map(|&o| 10.0 * o as f64).collect();
        let next_values: Vec<f64> = batch.next_obs.iter().map(|&o| 10.0 * o as f64).collect();
        let (adv, ret) = batch.gae(&values, &next_values, 0.5, 1.0);
        // Copy 0 rows 0, 2, 4, 6 with obs 0 1 0 1, truncated after the 2nd and 4th step.
        // δ = 1 + 0.5 V(s') − V(s): step 1: 1 + 5 − 0 = 6; step 2: 1 + 10 − 10 = 1 (bootstrapped).
        // A = 6 + 0.5 · 1 = 6.5, 1; then again 6.5, 1.
        let copy0: Vec<f64> = [0, 2, 4, 6].iter().map(|&k| adv[k]).collect();
        assert_eq!(copy0, vec![6.5, 1.0, 6.5, 1.0]);
        // Copy 1 rows 1, 3, 5, 7 with obs 0 1 2 0: δ = 6, 1 + 10 − 10 = 1, 1 + 15 − 20 = −4
        // (truncated: bootstrapped from V(3) = 30), then the new episode's 6 (cut by the
        // batch end, bootstrapped from V(1)).
        let copy1: Vec<f64> = [1, 3, 5, 7].iter().map(|&k| adv[k]).collect();
        assert_eq!(copy1, vec![6.0 + 0.5 * (1.0 + 0.5 * -4.0), 1.0 + 0.5 * -4.0, -4.0, 6.0]);
        for k in 0..8 {
            assert_eq!(ret[k], adv[k] + values[k]);
        }
    }

    #[test]
    fn curve_helpers() {
        let e = |env_steps, ret| EpisodeLog { env_steps, seconds: env_steps as f64 / 10.0, ret, len: 1 };
        let eps = vec![e(10, 1.0), e(20, 3.0), e(30, 5.0), e(40, 7.0)];
        assert_eq!(final_return(&eps, 2), 6.0);
        assert_eq!(first_reaching(&eps, 4.0, 2).map(|e| e.env_steps), Some(30));
        assert_eq!(first_reaching(&eps, 6.5, 2), None);
        let curve = trailing_return_on_grid(&eps, &[15.0, 20.0, 35.0, 100.0], 2);
        assert!(curve[0].is_nan());
        assert_eq!(&curve[1..], &[2.0, 4.0, 6.0]);
        // Never reaching counts as later than any step: the median exists while more
        // than half of the runs got there.
        assert_eq!(median_reached(&[30.0, f64::NAN, 10.0]), Some(30.0));
        assert_eq!(median_reached(&[30.0, f64::NAN]), None);
    }
}
