//! What one RL step costs, PPO with a critic against GRPO (chapter 7, experiment 1):
//! parameters held and trained, the training state from the shapes (eq. 7), the peak
//! heap measured by [`memory::measure_peak`], and seconds per step, each algorithm run
//! alone for a few steps before the experiments start (so nothing else allocates).

use super::grpo::{self, GrpoConfig, GrpoStepLog};
use super::memory;
use super::ppo_critic::{self, CriticPpoConfig};
use super::{load_base, Task};
use crate::error::Result;
use crate::stats;
use serde::Serialize;

/// The cost of one PPO step and one GRPO step (`details.ppo_memory` in summary.json).
#[derive(Clone, Debug, Serialize)]
pub struct StepCost {
    /// Parameters of every model held (trained and frozen) and of the trained ones.
    pub ppo_held: usize,
    pub ppo_trained: usize,
    pub grpo_held: usize,
    pub grpo_trained: usize,
    /// Weights + gradients + AdamW moments, from the shapes (bytes).
    pub ppo_state: usize,
    pub grpo_state: usize,
    /// Peak heap bytes of loading the reference and running full steps (sampling,
    /// scoring, update), measured by the counting allocator; None without it.
    pub ppo_peak: Option<usize>,
    pub grpo_peak: Option<usize>,
    /// Median seconds per step of the probe, each algorithm alone on one core, one
    /// after the other (the runs' own timings share the machine with other runs).
    pub ppo_step_s: f64,
    pub grpo_step_s: f64,
    pub probe_steps: usize,
}

/// Median seconds per training step (sampling + scoring + update) of a GRPO or PPO log.
pub fn per_step_seconds<'a>(log: impl IntoIterator<Item = &'a GrpoStepLog>) -> f64 {
    let v: Vec<f64> = log.into_iter().filter(|s| s.tokens > 0).map(|s| s.sample_s + s.score_s + s.update_s).collect();
    stats::median(&v)
}

/// Bytes in MiB, rounded to 2 decimals.
pub fn mb(bytes: usize) -> f64 {
    (bytes as f64 / (1024.0 * 1024.0) * 100.0).round() / 100.0
}

/// Measures PPO (`ppo`) and GRPO (`grpo`), each from a freshly loaded base model, after
/// a one-step GRPO warm-up so that one-time allocations (thread pools) count in neither.
pub fn measure(grpo_cfg: &GrpoConfig, ppo_cfg: &CriticPpoConfig) -> Result<StepCost> {
    let _ = memory::measure_peak(|| -> Result<()> {
        let (base, tok) = load_base(Task::Add3)?;
        grpo::train(&base, &tok, &GrpoConfig { steps: 1, ..grpo_cfg.clone() }, 0, 99, |_| {})?;
        Ok(())
    });
    let (ppo, ppo_peak) = memory::measure_peak(|| -> Result<(usize, usize, f64)> {
        let (base, tok) = load_base(Task::Add3)?;
        let (policy, critic, log) = ppo_critic::train(&base, &tok, ppo_cfg, 0, 99, |_| {})?;
        // The copy is part of the measured work (the lesson's numbers include it).
        let common: Vec<GrpoStepLog> = log.iter().map(|s| s.common.clone()).collect();
        Ok((
            base.n_params() + policy.n_params() + critic.n_params(),
            policy.n_params() + critic.n_params(),
            per_step_seconds(&common),
        ))
    });
    let (grpo, grpo_peak) = memory::measure_peak(|| -> Result<(usize, usize, f64)> {
        let (base, tok) = load_base(Task::Add3)?;
        let (policy, log) = grpo::train(&base, &tok, grpo_cfg, 0, 99, |_| {})?;
        Ok((base.n_params() + policy.n_params(), policy.n_params(), per_step_seconds(&log)))
    });
    let ((ppo_held, ppo_trained, ppo_step_s), (grpo_held, grpo_trained, grpo_step_s)) = (ppo?, grpo?);
    Ok(StepCost {
        ppo_held,
        ppo_trained,
        grpo_held,
        grpo_trained,
        ppo_state: memory::training_state_bytes(ppo_held, ppo_trained),
        grpo_state: memory::training_state_bytes(grpo_held, grpo_trained),
        ppo_peak,
        grpo_peak,
        ppo_step_s,
        grpo_step_s,
        probe_steps: grpo_cfg.steps,
    })
}
