//! Chapter 7's experiments: the claims of DeepSeek-R1 beyond R1-Zero, each run on the
//! chapter-5 base model and the arithmetic task of chapter 6 (DeepSeek-AI 2025):
//!
//! 1. `ppo`: RLHF-style PPO with a critic (four models) versus GRPO, at the same number
//!    of sampled tokens;
//! 2. `cold-start`: a few clean traces → SFT → GRPO, versus GRPO from the base model;
//!    `rejection`: sample the RL model, keep the right, well-formed answers, SFT a fresh
//!    base model on them;
//! 3. `distill`: a half-size model fine-tuned on the RL model's correct traces, versus
//!    the same small model trained by GRPO;
//! 4. `hacking`: GRPO on a flawed reward ([`super::hacking`]).
//!
//! Every experiment is a list of independent [`PipelineRun`]s that go on the job pool
//! (longest first); each draws from its own seeded RNG streams, so the results do not
//! depend on which thread ran what.

use super::grpo::{self, GrpoConfig, GrpoFlags, GrpoStepLog, GrpoVariantFlags};
use super::grpo::{check_count, check_work, product, Factor, MAX_BETA, MAX_HELD_OUT, MAX_NEW, MAX_STEPS};
use super::hacking::{self, FlawedRewardFit, HackReward};
use super::pipeline::{self, RejectionSet};
use super::ppo_critic::{self, CriticFlags, CriticPpoConfig, PpoStepLog};
use super::sft::{self, Example, SftConfig, SftLog};
use super::step_cost::{self, StepCost};
use super::{evaluate, Evaluation, Gpt, LossConfig, Problem, SampleConfig, Tokenizer};
use crate::error::{check_range, Error, Result};
use crate::jobs::{self, SharedProgress};
use crate::rng;
use clap::ValueEnum;
use serde::Serialize;
use std::time::Instant;

/// The experiments, selectable with `--experiments`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum Experiment {
    /// PPO with a critic versus GRPO
    Ppo,
    /// Cold-start SFT then GRPO, versus GRPO from the base model
    ColdStart,
    /// Rejection sampling from the RL model, then SFT of a fresh base model
    Rejection,
    /// A half-size model: SFT on the RL model's traces versus GRPO
    Distill,
    /// GRPO on a flawed reward
    Hacking,
}

// GRPO's flags ([`GrpoFlags`], flattened into the chapter's `Args`) drive every RL run
// of the chapter, PPO's included; GRPO's variants stay at their defaults.

/// How responses are drawn (training, rejection sampling, evaluation).
pub fn sampling(rl: &GrpoFlags) -> SampleConfig {
    rl.sample_config(&GrpoVariantFlags::default())
}

/// A GRPO run of `steps` steps at learning rate `lr` and KL weight `beta`.
pub fn grpo_config(rl: &GrpoFlags, lr: f64, beta: f64, steps: usize) -> GrpoConfig {
    let cfg = rl.config(&GrpoVariantFlags::default());
    GrpoConfig { steps, lr, loss: LossConfig { beta, ..cfg.loss.clone() }, ..cfg }
}

/// PPO at GRPO's budget: prompts × G prompts of one response each, so that both sample
/// the same number of responses per step.
pub fn critic_ppo_config(rl: &GrpoFlags, critic: &CriticFlags) -> CriticPpoConfig {
    CriticPpoConfig {
        steps: rl.steps,
        prompts: rl.prompts * rl.group,
        lr: rl.lr,
        critic_lr: critic.critic_lr,
        beta: rl.beta,
        clip_eps: rl.clip_eps,
        gamma: critic.gamma,
        lambda: critic.lambda,
        mu: rl.mu,
        sample: sampling(rl),
        eval_every: rl.eval_every,
        eval_problems: rl.eval_problems,
    }
}

/// The flags of chapter 7's experiments beyond the RL runs'.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct PipelineConfig {
    /// Experiments to run (comma-separated, each at most once)
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = vec![Experiment::Ppo, Experiment::ColdStart, Experiment::Rejection, Experiment::Distill, Experiment::Hacking])]
    pub experiments: Vec<Experiment>,
    /// Held-out problems of the final evaluations [1, 800]
    #[arg(long, default_value_t = 256)]
    pub final_problems: usize,
    /// Samples per problem in the final evaluations [1, 64]
    #[arg(long, default_value_t = 8)]
    pub samples: usize,
    /// Cold start: clean, readable traces to fine-tune on [1, 4096]
    #[arg(long, default_value_t = 64)]
    pub cold_start_examples: usize,
    /// SFT updates of the cold start [1, 10000]
    #[arg(long, default_value_t = 20)]
    pub cold_start_steps: usize,
    /// SFT: examples per update [1, 1024]
    #[arg(long, default_value_t = 16)]
    pub sft_batch: usize,
    /// SFT: AdamW learning rate (0, 1]
    #[arg(long, default_value_t = 3e-4)]
    pub sft_lr: f64,
    /// Rejection sampling: training problems to sample the RL model on [1, 10000]
    #[arg(long, default_value_t = 256)]
    pub rejection_problems: usize,
    /// Rejection sampling: responses per problem [1, 64]
    #[arg(long, default_value_t = 4)]
    pub rejection_samples: usize,
    /// SFT updates of a fresh base model on the rejection-sampled answers [1, 10000]
    #[arg(long, default_value_t = 120)]
    pub rejection_steps: usize,
    /// Distillation: SFT updates of the small model on the same answers [1, 10000]
    #[arg(long, default_value_t = 150)]
    pub distill_steps: usize,
    /// Distillation: SFT learning rate of the small model (0, 1]
    #[arg(long, default_value_t = 1e-3)]
    pub distill_lr: f64,
    /// Distillation: GRPO learning rate of the small model (0, 1]
    #[arg(long, default_value_t = 3e-4)]
    pub small_rl_lr: f64,
    /// Hacking: the flawed reward
    #[arg(long, value_enum, default_value_t = HackReward::Rm)]
    pub hack_reward: HackReward,
    /// Hacking: GRPO steps on the flawed reward [1, 10000]
    #[arg(long, default_value_t = 80)]
    pub hack_steps: usize,
    /// Hacking: KL weight β [0, 10]
    #[arg(long, default_value_t = 0.04)]
    pub hack_beta: f64,
    /// Hacking: labelled base-model answers the reward model is fitted to [8, 10000]
    #[arg(long, default_value_t = 384)]
    pub rm_examples: usize,
    /// Runs in parallel, one intra-op thread each [1, 64]
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
}

fn check_rate(name: &str, v: f64) -> Result<()> {
    if v > 0.0 && v <= 1.0 {
        Ok(())
    } else {
        Err(Error::invalid(name, v, "must lie in (0, 1]"))
    }
}

impl PipelineConfig {
    pub fn validate(&self) -> Result<()> {
        if self.experiments.is_empty() {
            return Err(Error::invalid("--experiments", "(none)", "name at least one experiment"));
        }
        for (name, v) in
            [("--sft-lr", self.sft_lr), ("--distill-lr", self.distill_lr), ("--small-rl-lr", self.small_rl_lr)]
        {
            check_rate(name, v)?;
        }
        if let Some((i, e)) = self.experiments.iter().enumerate().find(|(i, e)| self.experiments[..*i].contains(e)) {
            let name = e.to_possible_value().map_or_else(|| format!("{e:?}"), |v| v.get_name().to_string());
            return Err(Error::invalid("--experiments", name, &format!("listed twice (entry {})", i + 1)));
        }
        check_range("--hack-beta", self.hack_beta, 0.0, MAX_BETA)?;
        check_count("--final-problems", self.final_problems, 1, MAX_HELD_OUT)?;
        check_count("--samples", self.samples, 1, 64)?;
        check_count("--cold-start-examples", self.cold_start_examples, 1, 4096)?;
        check_count("--cold-start-steps", self.cold_start_steps, 1, MAX_STEPS)?;
        check_count("--sft-batch", self.sft_batch, 1, 1024)?;
        check_count("--rejection-problems", self.rejection_problems, 1, 10_000)?;
        check_count("--rejection-samples", self.rejection_samples, 1, 64)?;
        check_count("--rejection-steps", self.rejection_steps, 1, MAX_STEPS)?;
        check_count("--distill-steps", self.distill_steps, 1, MAX_STEPS)?;
        check_count("--hack-steps", self.hack_steps, 1, MAX_STEPS)?;
        check_count("--rm-examples", self.rm_examples, 8, 10_000)?;
        check_range("--jobs", self.jobs as f64, 1.0, 64.0)
    }

    pub fn has(&self, e: Experiment) -> bool {
        self.experiments.contains(&e)
    }

    /// SFT of `steps` updates at `lr`, evaluated four times along the way.
    pub fn sft_config(&self, rl: &GrpoFlags, steps: usize, lr: f64) -> SftConfig {
        SftConfig {
            steps,
            batch: self.sft_batch,
            lr,
            eval_every: (steps / 4).max(1),
            eval_problems: rl.eval_problems,
            max_new: rl.max_new,
        }
    }
}

/// `--quick`: small enough for the tests and the course's quick mode (seconds).
pub fn quick_budget(rl: &mut GrpoFlags, p: &mut PipelineConfig) {
    rl.steps = rl.steps.min(3);
    rl.prompts = rl.prompts.min(4);
    rl.group = rl.group.min(4);
    rl.eval_every = rl.eval_every.min(2);
    rl.eval_problems = rl.eval_problems.min(16);
    rl.max_new = rl.max_new.min(32);
    p.hack_steps = p.hack_steps.min(3);
    p.final_problems = p.final_problems.min(16);
    p.samples = p.samples.min(2);
    p.cold_start_examples = p.cold_start_examples.min(16);
    p.cold_start_steps = p.cold_start_steps.min(3);
    p.sft_batch = p.sft_batch.min(8);
    p.rejection_problems = p.rejection_problems.min(16);
    p.rejection_samples = p.rejection_samples.min(2);
    p.rejection_steps = p.rejection_steps.min(3);
    p.distill_steps = p.distill_steps.min(3);
    p.rm_examples = p.rm_examples.min(32);
}

/// One independent run. Phase 1 trains from the shipped models; phase 2 fine-tunes on
/// what the cold-start RL model (the "teacher") wrote. (The Debug names are the keys of
/// `run_seconds` in summary.json.)
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PipelineRun {
    BaseEval,
    SmallBaseEval,
    /// GRPO straight from the base model (R1-Zero): the baseline of `ppo` and `cold-start`.
    Zero(u64),
    Ppo(u64),
    /// Cold-start SFT → GRPO (the teacher), then rejection sampling from it.
    ColdStart(u64),
    SmallRl(u64),
    Hack(u64),
    /// SFT of a fresh base model on the teacher's rejection-sampled answers.
    RejectionSft(u64),
    /// SFT of the small base model on the same answers.
    Distill(u64),
}

impl PipelineRun {
    /// Rough cost, to start the longest runs first.
    fn cost(&self) -> u32 {
        match self {
            PipelineRun::Ppo(_) => 10,
            PipelineRun::ColdStart(_) => 8,
            PipelineRun::Zero(_) | PipelineRun::Hack(_) => 7,
            PipelineRun::SmallRl(_) => 3,
            PipelineRun::RejectionSft(_) => 2,
            _ => 1,
        }
    }
}

/// What a run produced.
#[derive(Default)]
pub struct RunRecord {
    /// GRPO steps (zero, cold start's RL phase, small RL, hacking).
    pub grpo: Vec<GrpoStepLog>,
    pub ppo: Vec<PpoStepLog>,
    /// SFT steps (cold start, rejection SFT, distillation).
    pub sft: Vec<SftLog>,
    /// The final evaluation of the run's model.
    pub eval: Option<Evaluation>,
    /// Cold start: the evaluation after SFT, before GRPO.
    pub sft_eval: Option<Evaluation>,
    pub rejection: Option<RejectionSet>,
    pub hack: Option<FlawedRewardFit>,
    /// SFT examples learned from (cold start, rejection, distillation).
    pub sft_examples: usize,
    /// Wall seconds of the whole run (on one core, beside the other runs).
    pub seconds: f64,
}

impl RunRecord {
    /// The final evaluation, which every training run makes.
    pub fn eval(&self) -> &Evaluation {
        self.eval.as_ref().expect("every training run evaluates its model")
    }

    /// The cold start's evaluation after SFT, before GRPO.
    pub fn sft_eval(&self) -> &Evaluation {
        self.sft_eval.as_ref().expect("the cold start evaluates its SFT model")
    }

    /// The teacher's rejection-sampled answers.
    pub fn rejection(&self) -> &RejectionSet {
        self.rejection.as_ref().expect("the cold start samples its RL model")
    }
}

/// The models and flags every run reads.
pub struct Lab<'a> {
    pub rl: &'a GrpoFlags,
    pub critic: &'a CriticFlags,
    pub cfg: &'a PipelineConfig,
    /// The first seed: the base models' evaluations draw from it.
    pub seed: u64,
    pub base: &'a Gpt,
    pub small: &'a Gpt,
    pub tokenizer: &'a Tokenizer,
    /// The held-out problems of the final evaluations.
    pub problems: &'a [Problem],
}

/// Every run of the chosen experiments, in the order they were listed.
pub struct PipelineResults {
    pub runs: Vec<(PipelineRun, RunRecord)>,
    seeds: Vec<u64>,
}

impl PipelineResults {
    pub fn get(&self, run: PipelineRun) -> Option<&RunRecord> {
        self.runs.iter().find(|(r, _)| *r == run).map(|(_, o)| o)
    }

    /// The records of `kind` for every seed that ran it.
    pub fn all(&self, kind: fn(u64) -> PipelineRun) -> Vec<&RunRecord> {
        self.seeds.iter().filter_map(|&s| self.get(kind(s))).collect()
    }
}

impl Lab<'_> {
    /// Runs every experiment of `cfg.experiments` for every seed: phase 1 from the
    /// shipped models, then phase 2 on the teacher's answers.
    pub fn run_all(&self, seeds: &[u64]) -> Result<PipelineResults> {
        let has = |e| self.cfg.has(e);
        let mut phase1 = vec![PipelineRun::BaseEval];
        let need_teacher = has(Experiment::ColdStart) || has(Experiment::Rejection) || has(Experiment::Distill);
        for &s in seeds {
            if has(Experiment::Ppo) || has(Experiment::ColdStart) {
                phase1.push(PipelineRun::Zero(s));
            }
            if has(Experiment::Ppo) {
                phase1.push(PipelineRun::Ppo(s));
            }
            if need_teacher {
                phase1.push(PipelineRun::ColdStart(s));
            }
            if has(Experiment::Distill) {
                phase1.push(PipelineRun::SmallRl(s));
            }
            if has(Experiment::Hacking) {
                phase1.push(PipelineRun::Hack(s));
            }
        }
        if has(Experiment::Distill) {
            phase1.push(PipelineRun::SmallBaseEval);
        }
        let mut runs = self.run_phase(&phase1, &[])?;
        let mut phase2 = Vec::new();
        for &s in seeds {
            if has(Experiment::Rejection) {
                phase2.push(PipelineRun::RejectionSft(s));
            }
            if has(Experiment::Distill) {
                phase2.push(PipelineRun::Distill(s));
            }
        }
        if !phase2.is_empty() {
            let more = self.run_phase(&phase2, &runs)?;
            runs.extend(more);
        }
        Ok(PipelineResults { runs, seeds: seeds.to_vec() })
    }

    /// Runs `list` on `cfg.jobs` threads, longest first; results come back in list order.
    fn run_phase(
        &self,
        list: &[PipelineRun],
        earlier: &[(PipelineRun, RunRecord)],
    ) -> Result<Vec<(PipelineRun, RunRecord)>> {
        let mut order: Vec<usize> = (0..list.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(list[i].cost()));
        let progress = SharedProgress::new("ch07", list.iter().map(|r| self.progress_units(*r)).sum());
        let records = jobs::run_in_order(&order, self.cfg.jobs.min(list.len()).max(1), |i| {
            let t = Instant::now();
            let mut record = self.run_one(list[i], earlier, &progress)?;
            record.seconds = t.elapsed().as_secs_f64();
            let acc = record.eval.as_ref().map_or(f64::NAN, |e| e.accuracy_greedy);
            crate::say!("  {:?}: {:.0} s, held-out greedy accuracy {acc:.3}", list[i], record.seconds);
            Ok(record)
        });
        progress.finish();
        Ok(list.iter().copied().zip(records?).collect())
    }

    /// Progress units (RL or SFT steps) of a run.
    fn progress_units(&self, run: PipelineRun) -> usize {
        let (rl, p) = (self.rl, self.cfg);
        match run {
            PipelineRun::Zero(_) | PipelineRun::Ppo(_) | PipelineRun::SmallRl(_) => rl.steps,
            PipelineRun::ColdStart(_) => rl.steps + p.cold_start_steps,
            PipelineRun::Hack(_) => p.hack_steps,
            PipelineRun::RejectionSft(_) => p.rejection_steps,
            PipelineRun::Distill(_) => p.distill_steps,
            PipelineRun::BaseEval | PipelineRun::SmallBaseEval => 0,
        }
    }

    /// The final evaluation of a model: greedy, and `--samples` samples per problem.
    fn final_eval(&self, model: &Gpt, seed: u64, stream: u64) -> Result<Evaluation> {
        let cfg = sampling(self.rl);
        evaluate(model, self.tokenizer, self.problems, self.cfg.samples, &cfg, &mut rng::seeded(seed, stream))
    }

    /// GRPO from `init` (which is also the reference), then the final evaluation.
    fn grpo_from(
        &self,
        init: &Gpt,
        cfg: &GrpoConfig,
        reward: &(dyn Fn(&str, &Problem) -> f64 + Sync),
        (name, seed, progress): (&str, u64, &SharedProgress),
        out: &mut RunRecord,
    ) -> Result<Gpt> {
        let (model, log) = grpo::train_with_reward(init, self.tokenizer, cfg, seed, 1, reward, |s| {
            if s.tokens > 0 {
                progress.tick(1, || format!("{name}: seed {seed} step {}: reward {:.2}", s.step, s.reward))
            }
        })?;
        out.grpo = log;
        out.eval = Some(self.final_eval(&model, seed, 3)?);
        Ok(model)
    }

    /// SFT of `init` on `data` for `steps` updates, reported as `name`.
    fn sft_on(
        &self,
        init: &Gpt,
        data: &[Example],
        (steps, lr, stream): (usize, f64, u64),
        (name, seed, progress): (&str, u64, &SharedProgress),
        out: &mut RunRecord,
    ) -> Result<Gpt> {
        let cfg = self.cfg.sft_config(self.rl, steps, lr);
        let (model, log) = sft::train(init, self.tokenizer, data, &cfg, seed, stream, |s| {
            if s.step < steps {
                let loss = s.loss.unwrap_or(f64::NAN);
                progress.tick(1, || format!("{name}: seed {seed} step {}: loss {loss:.3}", s.step))
            }
        })?;
        out.sft = log;
        out.sft_examples = data.len();
        Ok(model)
    }

    /// One run: trains the model `run` names (phase 2 from the teacher's answers in
    /// `earlier`) and evaluates it, or only evaluates a base model.
    fn run_one(
        &self,
        run: PipelineRun,
        earlier: &[(PipelineRun, RunRecord)],
        progress: &SharedProgress,
    ) -> Result<RunRecord> {
        let (rl, p, tokenizer) = (self.rl, self.cfg, self.tokenizer);
        let rule = grpo::rule_reward;
        let mut out = RunRecord::default();
        match run {
            PipelineRun::BaseEval => out.eval = Some(self.final_eval(self.base, self.seed, 2)?),
            PipelineRun::SmallBaseEval => out.eval = Some(self.final_eval(self.small, self.seed, 2)?),
            PipelineRun::Zero(seed) => {
                let cfg = grpo_config(rl, rl.lr, rl.beta, rl.steps);
                self.grpo_from(self.base, &cfg, &rule, ("zero", seed, progress), &mut out)?;
            }
            PipelineRun::SmallRl(seed) => {
                let cfg = grpo_config(rl, p.small_rl_lr, rl.beta, rl.steps);
                self.grpo_from(self.small, &cfg, &rule, ("small RL", seed, progress), &mut out)?;
            }
            PipelineRun::Ppo(seed) => {
                let cfg = critic_ppo_config(rl, self.critic);
                let (model, _critic, log) = ppo_critic::train(self.base, tokenizer, &cfg, seed, 1, |s| {
                    let s = &s.common;
                    if s.tokens > 0 {
                        progress.tick(1, || format!("ppo: seed {seed} step {}: reward {:.2}", s.step, s.reward))
                    }
                })?;
                out.ppo = log;
                out.eval = Some(self.final_eval(&model, seed, 3)?);
            }
            PipelineRun::ColdStart(seed) => {
                // The cold start: a few clean, readable traces, SFT, then GRPO with the
                // SFT model as both the starting point and the reference.
                let data: Vec<Example> =
                    pipeline::cold_start_set(tokenizer.task(), p.cold_start_examples, &mut rng::seeded(seed, 4))
                        .iter()
                        .map(|(q, t)| Example::new(tokenizer, q, t))
                        .collect::<Result<_>>()?;
                let budget = (p.cold_start_steps, p.sft_lr, 5);
                let sft_model = self.sft_on(self.base, &data, budget, ("cold start SFT", seed, progress), &mut out)?;
                out.sft_eval = Some(self.final_eval(&sft_model, seed, 3)?);
                let cfg = grpo_config(rl, rl.lr, rl.beta, rl.steps);
                let model = self.grpo_from(&sft_model, &cfg, &rule, ("cold start RL", seed, progress), &mut out)?;
                if p.has(Experiment::Rejection) || p.has(Experiment::Distill) {
                    let mut r = rng::seeded(seed, 6);
                    let train: Vec<Problem> =
                        (0..p.rejection_problems).map(|_| tokenizer.task().sample_train(&mut r)).collect();
                    let cfg = sampling(rl);
                    out.rejection =
                        Some(pipeline::rejection_sample(&model, tokenizer, &train, p.rejection_samples, &cfg, &mut r)?);
                }
            }
            PipelineRun::Hack(seed) => {
                let (reward, fit) =
                    hacking::flawed_reward(p.hack_reward, p.rm_examples, self.base, tokenizer, &sampling(rl), seed)?;
                let cfg = grpo_config(rl, rl.lr, p.hack_beta, p.hack_steps);
                out.hack = Some(fit);
                self.grpo_from(self.base, &cfg, reward.as_ref(), ("hacking", seed, progress), &mut out)?;
            }
            PipelineRun::RejectionSft(seed) | PipelineRun::Distill(seed) => {
                let teacher = earlier
                    .iter()
                    .find(|(r, _)| *r == PipelineRun::ColdStart(seed))
                    .map(|(_, o)| o.rejection())
                    .expect("phase 1 sampled the teacher");
                let data = teacher.examples(tokenizer)?;
                if data.is_empty() {
                    return Err(Error::invalid(
                        "rejection sampling",
                        0,
                        "kept no response; run more --steps or --rejection-samples",
                    ));
                }
                let (init, budget, name) = match run {
                    PipelineRun::RejectionSft(_) => (self.base, (p.rejection_steps, p.sft_lr, 9), "rejection SFT"),
                    _ => (self.small, (p.distill_steps, p.distill_lr, 10), "distillation"),
                };
                let model = self.sft_on(init, &data, budget, (name, seed, progress), &mut out)?;
                out.eval = Some(self.final_eval(&model, seed, 3)?);
            }
        }
        Ok(out)
    }
}

/// What one PPO step and one GRPO step cost, each run alone for a few steps (1 with
/// `--quick`, else 3) before the experiments start, without held-out evaluations.
pub fn probe_step_cost(rl: &GrpoFlags, critic: &CriticFlags, quick: bool) -> Result<StepCost> {
    let probe = GrpoFlags { steps: if quick { 1 } else { 3 }, eval_problems: 1, eval_every: 1000, ..rl.clone() };
    step_cost::measure(&grpo_config(&probe, probe.lr, probe.beta, probe.steps), &critic_ppo_config(&probe, critic))
}

/// The most token passes of one chapter-7 run (see [`check_budget`]): about 15 minutes on one core.
const WORK_LIMIT: u64 = 50_000_000;

/// The run's work, in token passes, summed over the chosen experiments' runs: an RL
/// run (GRPO or PPO) samples steps × prompts × group responses of up to max_new
/// tokens and passes over them μ + 2 times; an SFT update passes over a batch of
/// 64-token examples 3 times; rejection sampling, the reward model's answers and the
/// evaluations add sampled tokens. The default (3 seeds, every experiment) is about
/// 34 M token passes, 5 minutes at 2 jobs; the limit, about one and a half times that
/// (4 seeds of the default), is about 15 minutes on one core. One batch holds at most 4096 responses (prompts × group).
pub fn check_budget(
    rl: &GrpoFlags,
    default_rl: &GrpoFlags,
    pipeline: &PipelineConfig,
    default_pipeline: &PipelineConfig,
    n_seeds: usize,
    default_seeds: usize,
) -> Result<()> {
    let (g, dg, p, dp) = (rl, default_rl, pipeline, default_pipeline);
    let f = |flag, value, default, lo, hi| Factor { flag, value, default, lo, hi };
    let batch = [f("--prompts", g.prompts, dg.prompts, 1, 1024), f("--group", g.group, dg.group, 2, 256)];
    check_work(&batch, 4096, "a batch's responses (prompts × group)", product)?;
    let factors = [
        f("--seeds", n_seeds, default_seeds, 1, 100),
        f("--steps", g.steps, dg.steps, 1, MAX_STEPS),
        f("--prompts", g.prompts, dg.prompts, 1, 1024),
        f("--group", g.group, dg.group, 2, 256),
        f("--mu", g.mu, dg.mu, 1, 64),
        f("--max-new", g.max_new, dg.max_new, 4, MAX_NEW),
        f("--eval-problems", g.eval_problems, dg.eval_problems, 1, MAX_HELD_OUT),
        f("--hack-steps", p.hack_steps, dp.hack_steps, 1, MAX_STEPS),
        f("--final-problems", p.final_problems, dp.final_problems, 1, MAX_HELD_OUT),
        f("--samples", p.samples, dp.samples, 1, 64),
        f("--cold-start-steps", p.cold_start_steps, dp.cold_start_steps, 1, MAX_STEPS),
        f("--sft-batch", p.sft_batch, dp.sft_batch, 1, 1024),
        f("--rejection-problems", p.rejection_problems, dp.rejection_problems, 1, 10_000),
        f("--rejection-samples", p.rejection_samples, dp.rejection_samples, 1, 64),
        f("--rejection-steps", p.rejection_steps, dp.rejection_steps, 1, MAX_STEPS),
        f("--distill-steps", p.distill_steps, dp.distill_steps, 1, MAX_STEPS),
        f("--rm-examples", p.rm_examples, dp.rm_examples, 8, 10_000),
    ];
    let has = |e| usize::from(p.has(e));
    let (ppo, cold, rejection, distill, hacking) = (
        has(Experiment::Ppo),
        has(Experiment::ColdStart),
        has(Experiment::Rejection),
        has(Experiment::Distill),
        has(Experiment::Hacking),
    );
    let teacher = cold.max(rejection).max(distill);
    // Per seed: the RL runs at --steps (R1-Zero, PPO, the teacher, the small model's).
    let rl_runs = ppo.max(cold) + ppo + teacher + distill;
    let sft_runs = teacher + rejection + distill;
    let finals_per_seed = rl_runs + sft_runs - teacher + hacking;
    let eval_every = g.eval_every;
    check_work(&factors, WORK_LIMIT, "the run's work in token passes", |v| {
        let [seeds, steps, prompts, group, mu, max_new, eval_problems, hack_steps, final_problems, samples, cold_steps, sft_batch, rej_problems, rej_samples, rej_steps, distill_steps, rm_examples] =
            v
        else {
            return None;
        };
        let per_step = product(&[*prompts, *group, *max_new, mu + 2])?;
        let rl_steps = product(&[rl_runs, *steps])?.checked_add(product(&[hacking, *hack_steps])?)?;
        let rl = rl_steps.checked_mul(per_step)?;
        let evals_per_run = |steps: usize| steps / eval_every + 1;
        let evals = product(&[rl_runs, evals_per_run(*steps)])?
            .checked_add(product(&[hacking, evals_per_run(*hack_steps)])?)?
            .checked_add(product(&[sft_runs, 5])?)?
            .checked_mul(product(&[*eval_problems, *max_new])?)?;
        let sft_steps = product(&[teacher, *cold_steps])?
            .checked_add(product(&[rejection, *rej_steps])?)?
            .checked_add(product(&[distill, *distill_steps])?)?;
        let sft = sft_steps.checked_mul(product(&[*sft_batch, 64 * 3])?)?;
        let sampled = product(&[rejection.max(distill), *rej_problems, *rej_samples, *max_new])?
            .checked_add(product(&[hacking, 2, *rm_examples, *max_new])?)?;
        let finals = product(&[finals_per_seed, *final_problems, *samples, *max_new])?;
        let per_seed = rl.checked_add(evals)?.checked_add(sft)?.checked_add(sampled)?.checked_add(finals)?;
        let bases = product(&[2, *final_problems, *samples, *max_new])?;
        per_seed.checked_mul(*seeds as u64)?.checked_add(bases)
    })
}
