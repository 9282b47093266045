//! Chapter 7: beyond R1-Zero. The other claims of the source articles, each as an
//! experiment on the chapter-5 base model and the arithmetic task of chapter 6:
//!
//! 1. `ppo`: RLHF-style PPO with a critic (four models) versus GRPO, at the same number
//!    of sampled tokens: accuracy, wall time, parameters, memory;
//! 2. `cold-start`: a few clean traces → SFT → GRPO, versus GRPO from the base model;
//!    `rejection`: sample the RL model, keep the right, well-formed answers, SFT a fresh
//!    base model on them;
//! 3. `distill`: a half-size model fine-tuned on the RL model's correct traces, versus
//!    the same small model trained by GRPO;
//! 4. `hacking`: GRPO on a flawed reward (a learned reward model, or a tags-only check).
//!
//! Independent runs go in parallel threads, one intra-op thread each. The lesson
//! (README.md beside this file) explains every number and figure.

use crate::cli::CommonArgs;
use crate::error::{check_min, check_range, Error, Result};
use crate::llm::grpo::{self, number_answer, writes_steps, GrpoStepLog};
use crate::llm::memory;
use crate::llm::pipeline::{self, RejectionSet};
use crate::llm::ppo_critic::{self, PpoConfig, PpoStepLog};
use crate::llm::reward_model::{self, FitConfig, RewardModel};
use crate::llm::sft::{self, Example, SftConfig, SftLog};
use crate::llm::task::{self, test_problems, Problem};
use crate::llm::{
    evaluate, load_base, load_small_base, sample, Aggregation, Evaluation, Gpt, GrpoConfig, LossConfig, SampleConfig,
    Tokenizer,
};
use crate::plot::{self, Band, Bars, CurvePlot};
use crate::report::{print_table, Progress, RunDir, Summary, UntypedMetrics};
use crate::{rng, stats};
use clap::Parser;
use serde::Serialize;
use std::sync::Mutex;
use std::time::Instant;

pub const CHAPTER: &str = "ch07-r1-pipeline";

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

/// The flawed reward of the hacking experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum HackReward {
    /// A bag-of-tokens reward model fitted to a few hundred labelled answers
    Rm,
    /// A format check that only looks for the four tags
    Tags,
}

/// Chapter 7: beyond R1-Zero (PPO with a critic, cold start, rejection sampling, distillation, reward hacking).
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch07-r1-pipeline", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    /// Experiments to run (comma-separated)
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = vec![Experiment::Ppo, Experiment::ColdStart, Experiment::Rejection, Experiment::Distill, Experiment::Hacking])]
    pub experiments: Vec<Experiment>,
    /// RL steps of every GRPO and PPO run (each samples prompts × group responses)
    #[arg(long, default_value_t = 60)]
    pub steps: usize,
    /// GRPO: prompts per step
    #[arg(long, default_value_t = 16)]
    pub prompts: usize,
    /// GRPO: responses per prompt G; PPO draws prompts × G prompts, one response each
    #[arg(long, default_value_t = 8)]
    pub group: usize,
    /// AdamW learning rate of the policy (GRPO and PPO's actor)
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// KL weight β (GRPO: in the loss; PPO: folded into the reward)
    #[arg(long, default_value_t = 0.04)]
    pub beta: f64,
    /// Clip range ε of the ratio
    #[arg(long, default_value_t = 0.2)]
    pub clip_eps: f64,
    /// Updates per sampled batch μ (GRPO, and PPO's actor and critic)
    #[arg(long, default_value_t = 1)]
    pub mu: usize,
    /// PPO: AdamW learning rate of the critic
    #[arg(long, default_value_t = 1e-3)]
    pub critic_lr: f64,
    /// PPO: discount γ of the token-level GAE
    #[arg(long, default_value_t = 1.0)]
    pub gamma: f64,
    /// PPO: λ of the token-level GAE
    #[arg(long, default_value_t = 0.95)]
    pub lambda: f64,
    /// Sampling temperature (training, rejection sampling, evaluation)
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Longest response in tokens
    #[arg(long, default_value_t = 40)]
    pub max_new: usize,
    /// Held-out greedy evaluation every this many RL steps
    #[arg(long, default_value_t = 3)]
    pub eval_every: usize,
    /// Held-out problems of the evaluations during training
    #[arg(long, default_value_t = 128)]
    pub eval_problems: usize,
    /// Held-out problems of the final evaluations
    #[arg(long, default_value_t = 256)]
    pub final_problems: usize,
    /// Samples per problem in the final evaluations
    #[arg(long, default_value_t = 8)]
    pub samples: usize,
    /// Cold start: clean, readable traces to fine-tune on
    #[arg(long, default_value_t = 64)]
    pub cold_start_examples: usize,
    /// SFT updates of the cold start
    #[arg(long, default_value_t = 20)]
    pub cold_start_steps: usize,
    /// SFT: examples per update
    #[arg(long, default_value_t = 16)]
    pub sft_batch: usize,
    /// SFT: AdamW learning rate
    #[arg(long, default_value_t = 3e-4)]
    pub sft_lr: f64,
    /// Rejection sampling: training problems to sample the RL model on
    #[arg(long, default_value_t = 256)]
    pub rejection_problems: usize,
    /// Rejection sampling: responses per problem
    #[arg(long, default_value_t = 4)]
    pub rejection_samples: usize,
    /// SFT updates of a fresh base model on the rejection-sampled answers
    #[arg(long, default_value_t = 120)]
    pub rejection_steps: usize,
    /// Distillation: SFT updates of the small model on the same answers
    #[arg(long, default_value_t = 150)]
    pub distill_steps: usize,
    /// Distillation: SFT learning rate of the small model
    #[arg(long, default_value_t = 1e-3)]
    pub distill_lr: f64,
    /// Distillation: GRPO learning rate of the small model
    #[arg(long, default_value_t = 3e-4)]
    pub small_rl_lr: f64,
    /// Hacking: the flawed reward
    #[arg(long, value_enum, default_value_t = HackReward::Rm)]
    pub hack_reward: HackReward,
    /// Hacking: GRPO steps on the flawed reward
    #[arg(long, default_value_t = 80)]
    pub hack_steps: usize,
    /// Hacking: KL weight β
    #[arg(long, default_value_t = 0.04)]
    pub hack_beta: f64,
    /// Hacking: labelled base-model answers the reward model is fitted to
    #[arg(long, default_value_t = 384)]
    pub rm_examples: usize,
    /// Runs in parallel, one intra-op thread each
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
}

impl Args {
    fn validate(&self) -> Result<()> {
        if self.experiments.is_empty() {
            return Err(Error::invalid("--experiments", "(none)", "name at least one experiment"));
        }
        check_min("--steps", self.steps, 1)?;
        check_min("--prompts", self.prompts, 1)?;
        if self.group < 2 {
            return Err(Error::invalid("--group", self.group, "must be at least 2: the baseline is the group's mean"));
        }
        for (name, v) in [
            ("--lr", self.lr),
            ("--critic-lr", self.critic_lr),
            ("--sft-lr", self.sft_lr),
            ("--distill-lr", self.distill_lr),
            ("--small-rl-lr", self.small_rl_lr),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(Error::invalid(name, v, "must lie in (0, 1]"));
            }
        }
        for (name, v) in [("--beta", self.beta), ("--hack-beta", self.hack_beta)] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::invalid(name, v, "must be 0 or positive"));
            }
        }
        if !(self.clip_eps > 0.0 && self.clip_eps < 1.0) {
            return Err(Error::invalid("--clip-eps", self.clip_eps, "must lie in (0, 1)"));
        }
        check_min("--mu", self.mu, 1)?;
        check_range("--gamma", self.gamma, 0.0, 1.0)?;
        check_range("--lambda", self.lambda, 0.0, 1.0)?;
        check_range("--temperature", self.temperature, 1e-3, 10.0)?;
        // The longest prompt is 9 tokens and the context 64.
        check_range("--max-new", self.max_new as f64, 4.0, 55.0)?;
        check_min("--eval-every", self.eval_every, 1)?;
        check_min("--eval-problems", self.eval_problems, 1)?;
        check_min("--final-problems", self.final_problems, 1)?;
        check_min("--samples", self.samples, 1)?;
        check_min("--cold-start-examples", self.cold_start_examples, 1)?;
        check_min("--cold-start-steps", self.cold_start_steps, 1)?;
        check_min("--sft-batch", self.sft_batch, 1)?;
        check_min("--rejection-problems", self.rejection_problems, 1)?;
        check_min("--rejection-samples", self.rejection_samples, 1)?;
        check_min("--rejection-steps", self.rejection_steps, 1)?;
        check_min("--distill-steps", self.distill_steps, 1)?;
        check_min("--hack-steps", self.hack_steps, 1)?;
        check_min("--rm-examples", self.rm_examples, 8)?;
        check_range("--jobs", self.jobs as f64, 1.0, 64.0)?;
        Ok(())
    }

    fn has(&self, e: Experiment) -> bool {
        self.experiments.contains(&e)
    }

    fn sample_config(&self) -> SampleConfig {
        SampleConfig { temperature: self.temperature, top_k: 0, max_new: self.max_new }
    }

    fn grpo_config(&self, lr: f64, beta: f64, steps: usize) -> GrpoConfig {
        GrpoConfig {
            steps,
            prompts: self.prompts,
            group: self.group,
            lr,
            adv_eps: 1e-4,
            mu: self.mu,
            loss: LossConfig {
                clip_eps: self.clip_eps,
                beta,
                aggregation: Aggregation::Sequence,
                max_len: self.max_new,
            },
            sample: self.sample_config(),
            eval_every: self.eval_every,
            eval_problems: self.eval_problems,
        }
    }

    fn ppo_config(&self) -> PpoConfig {
        PpoConfig {
            steps: self.steps,
            prompts: self.prompts * self.group,
            lr: self.lr,
            critic_lr: self.critic_lr,
            beta: self.beta,
            clip_eps: self.clip_eps,
            gamma: self.gamma,
            lambda: self.lambda,
            mu: self.mu,
            sample: self.sample_config(),
            eval_every: self.eval_every,
            eval_problems: self.eval_problems,
        }
    }

    fn sft_config(&self, steps: usize, lr: f64) -> SftConfig {
        SftConfig {
            steps,
            batch: self.sft_batch,
            lr,
            eval_every: (steps / 4).max(1),
            eval_problems: self.eval_problems,
            max_new: self.max_new,
        }
    }
}

/// One unit of work. Phase 1 trains from the shipped models; phase 2 fine-tunes on
/// what the cold-start RL model (the "teacher") wrote.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Job {
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

impl Job {
    /// Rough cost, to start the longest jobs first.
    fn cost(&self) -> u32 {
        match self {
            Job::Ppo(_) => 10,
            Job::ColdStart(_) => 8,
            Job::Zero(_) | Job::Hack(_) => 7,
            Job::SmallRl(_) => 3,
            Job::RejectionSft(_) => 2,
            _ => 1,
        }
    }
}

/// What a job produced.
#[derive(Default)]
struct Outcome {
    /// GRPO steps (zero, cold start's RL phase, small RL, hacking).
    grpo: Vec<GrpoStepLog>,
    ppo: Vec<PpoStepLog>,
    /// SFT steps (cold start, rejection SFT, distillation).
    sft: Vec<SftLog>,
    /// The final evaluation of the job's model.
    eval: Option<Evaluation>,
    /// Cold start: the evaluation after SFT, before GRPO.
    sft_eval: Option<Evaluation>,
    rejection: Option<RejectionSet>,
    hack: Option<HackInfo>,
    /// SFT examples learned from (cold start, rejection, distillation).
    sft_examples: usize,
    seconds: f64,
    /// Seconds of the RL phase alone (cold start: without its SFT).
    rl_seconds: f64,
}

/// The reward model of the hacking run and how it was fitted.
#[derive(Clone, Serialize)]
struct HackInfo {
    reward: HackReward,
    rm: Option<RewardModel>,
    rm_final_loss: f64,
    /// Share of responses on which the reward model's sign agrees with the rule: on its
    /// own training answers, and on fresh base-model answers.
    rm_agreement_train: f64,
    rm_agreement_fresh: f64,
    positives: usize,
}

type Shared<'a> = (&'a Gpt, &'a Gpt, &'a Tokenizer, &'a [Problem]);

/// Runs the chapter and writes `<out>/ch07-r1-pipeline/`.
pub fn run(mut args: Args) -> Result<Summary> {
    args.validate()?;
    crate::nn::one_thread_per_run();
    let started = Instant::now();
    if args.common.quick {
        // Small enough for the tests and the course's quick mode (seconds).
        args.steps = args.steps.min(3);
        args.hack_steps = args.hack_steps.min(3);
        args.prompts = args.prompts.min(4);
        args.group = args.group.min(4);
        args.eval_every = args.eval_every.min(2);
        args.eval_problems = args.eval_problems.min(16);
        args.final_problems = args.final_problems.min(16);
        args.samples = args.samples.min(2);
        args.max_new = args.max_new.min(32);
        args.cold_start_examples = args.cold_start_examples.min(16);
        args.cold_start_steps = args.cold_start_steps.min(3);
        args.sft_batch = args.sft_batch.min(8);
        args.rejection_problems = args.rejection_problems.min(16);
        args.rejection_samples = args.rejection_samples.min(2);
        args.rejection_steps = args.rejection_steps.min(3);
        args.distill_steps = args.distill_steps.min(3);
        args.rm_examples = args.rm_examples.min(32);
    }
    let seeds = args.common.seed_list(if args.common.quick { 1 } else { 3 })?;
    let dir = RunDir::create(&args.common.out, CHAPTER)?;
    let mut summary = Summary::new(CHAPTER, &seeds, args.common.quick, &args);
    let (base, tokenizer) = load_base()?;
    let small = load_small_base()?;
    let problems = test_problems(args.final_problems);
    println!(
        "base model {} parameters, small model {}; experiments {:?}; {} seed{}",
        base.n_params(),
        small.n_params(),
        args.experiments,
        seeds.len(),
        if seeds.len() == 1 { "" } else { "s" }
    );

    // Peak heap of one PPO step and one GRPO step, measured alone before the runs.
    let memory = if args.has(Experiment::Ppo) { Some(measure_memory(&args)?) } else { None };

    // Phase 1: the runs that start from the shipped models.
    let mut phase1 = vec![Job::BaseEval];
    let need_teacher =
        args.has(Experiment::ColdStart) || args.has(Experiment::Rejection) || args.has(Experiment::Distill);
    for &s in &seeds {
        if args.has(Experiment::Ppo) || args.has(Experiment::ColdStart) {
            phase1.push(Job::Zero(s));
        }
        if args.has(Experiment::Ppo) {
            phase1.push(Job::Ppo(s));
        }
        if need_teacher {
            phase1.push(Job::ColdStart(s));
        }
        if args.has(Experiment::Distill) {
            phase1.push(Job::SmallRl(s));
        }
        if args.has(Experiment::Hacking) {
            phase1.push(Job::Hack(s));
        }
    }
    if args.has(Experiment::Distill) {
        phase1.push(Job::SmallBaseEval);
    }
    let shared: Shared = (&base, &small, &tokenizer, &problems);
    let mut done = run_jobs(&args, shared, &phase1, &[])?;
    // Phase 2: fine-tuning on the teacher's rejection-sampled answers.
    let mut phase2 = Vec::new();
    for &s in &seeds {
        if args.has(Experiment::Rejection) {
            phase2.push(Job::RejectionSft(s));
        }
        if args.has(Experiment::Distill) {
            phase2.push(Job::Distill(s));
        }
    }
    if !phase2.is_empty() {
        let more = run_jobs(&args, shared, &phase2, &done)?;
        done.extend(more);
    }
    let get = |job: Job| done.iter().find(|(j, _)| *j == job).map(|(_, o)| o);
    let all = |f: fn(u64) -> Job| -> Vec<&Outcome> { seeds.iter().filter_map(|&s| get(f(s))).collect() };
    let base_eval = get(Job::BaseEval).and_then(|o| o.eval.as_ref()).expect("the base model is evaluated");

    let mut figures = Vec::new();
    let mut metrics = UntypedMetrics::new(&[
        "run",
        "seed",
        "step",
        "tokens",
        "seconds",
        "reward",
        "accuracy_reward",
        "format_reward",
        "kl",
        "length",
        "writes_steps",
        "heldout_accuracy",
        "heldout_format",
        "value_loss",
        "explained_variance",
        "sft_loss",
        "sample_s",
        "score_s",
        "update_s",
    ]);
    let mut details = serde_json::Map::new();
    details.insert("base".into(), serde_json::to_value(Measures::of(base_eval, &problems)).unwrap_or_default());

    let zero = all(Job::Zero);
    let teacher = all(Job::ColdStart);
    for (name, runs) in
        [("zero", &zero), ("cold_start", &teacher), ("small_rl", &all(Job::SmallRl)), ("hacking", &all(Job::Hack))]
    {
        for (o, &seed) in runs.iter().zip(&seeds) {
            grpo_metrics(&mut metrics, name, seed, &o.grpo);
        }
    }
    for (name, runs) in
        [("cold_start_sft", &teacher), ("rejection_sft", &all(Job::RejectionSft)), ("distill", &all(Job::Distill))]
    {
        for (o, &seed) in runs.iter().zip(&seeds) {
            sft_metrics(&mut metrics, name, seed, &o.sft);
        }
    }

    // 1. PPO with a critic versus GRPO.
    if args.has(Experiment::Ppo) {
        let ppo = all(Job::Ppo);
        for (o, &seed) in ppo.iter().zip(&seeds) {
            ppo_metrics(&mut metrics, seed, &o.ppo);
        }
        let mem = memory.as_ref().expect("measured when ppo runs");
        figures.extend(figure_ppo(&dir, &args, &ppo, &zero)?);
        figures.extend(figure_ppo_cost(&dir, &ppo, &zero, mem)?);
        let acc = |runs: &[&Outcome]| med(runs, |o| eval_of(o).accuracy_greedy);
        summary.headline("ppo_critic_accuracy", acc(&ppo));
        summary.headline("grpo_accuracy", acc(&zero));
        summary.headline("ppo_critic_accuracy_sampled", med(&ppo, |o| eval_of(o).accuracy_sampled));
        summary.headline("grpo_accuracy_sampled", med(&zero, |o| eval_of(o).accuracy_sampled));
        summary.headline("ppo_critic_params", mem.ppo_held);
        summary.headline("grpo_params", mem.grpo_held);
        summary.headline("ppo_critic_trainable_params", mem.ppo_trained);
        summary.headline("grpo_trainable_params", mem.grpo_trained);
        summary.headline("ppo_critic_state_mb", mb(mem.ppo_state));
        summary.headline("grpo_state_mb", mb(mem.grpo_state));
        summary.headline("ppo_critic_peak_heap_mb", mem.ppo_peak.map(mb));
        summary.headline("grpo_peak_heap_mb", mem.grpo_peak.map(mb));
        summary.headline("ppo_critic_seconds_per_step", mem.ppo_step_s);
        summary.headline("grpo_seconds_per_step", mem.grpo_step_s);
        summary.headline("ppo_critic_seconds_per_step_in_run", med(&ppo, |o| per_step_seconds_ppo(&o.ppo)));
        summary.headline("grpo_seconds_per_step_in_run", med(&zero, |o| per_step_seconds(&o.grpo)));
        summary.headline("ppo_critic_run_seconds", med(&ppo, |o| o.seconds));
        summary.headline("grpo_run_seconds", med(&zero, |o| o.seconds));
        summary
            .headline("ppo_critic_tokens", med(&ppo, |o| o.ppo.iter().map(|s| s.common.tokens).sum::<usize>() as f64));
        summary.headline("grpo_tokens", med(&zero, |o| o.grpo.iter().map(|s| s.tokens).sum::<usize>() as f64));
        let to90 = |logs: Vec<Vec<(usize, Option<f64>)>>| {
            stats::median_missing_high(&logs.iter().map(|l| tokens_to(l, 0.9)).collect::<Vec<_>>())
        };
        summary.headline(
            "ppo_critic_tokens_to_heldout_0_9",
            to90(
                ppo.iter()
                    .map(|o| o.ppo.iter().map(|s| (s.common.tokens, s.common.heldout_accuracy)).collect())
                    .collect(),
            ),
        );
        summary.headline(
            "grpo_tokens_to_heldout_0_9",
            to90(zero.iter().map(|o| o.grpo.iter().map(|s| (s.tokens, s.heldout_accuracy)).collect()).collect()),
        );
        summary.headline(
            "ppo_critic_final_explained_variance",
            med(&ppo, |o| {
                stats::mean(&tail(
                    &o.ppo.iter().filter(|s| s.common.tokens > 0).map(|s| s.explained_variance).collect::<Vec<_>>(),
                    5,
                ))
            }),
        );
        details.insert("ppo_memory".into(), serde_json::to_value(mem).unwrap_or_default());
        details.insert("ppo_critic".into(), per_seed_measures(&ppo, &problems));
        details.insert("grpo_zero".into(), per_seed_measures(&zero, &problems));
    }

    // 2a. Cold start versus zero.
    if args.has(Experiment::ColdStart) {
        figures.extend(figure_cold_start(&dir, &args, &teacher, &zero)?);
        summary.headline("cold_start_accuracy", med(&teacher, |o| eval_of(o).accuracy_greedy));
        summary.headline("zero_accuracy", med(&zero, |o| eval_of(o).accuracy_greedy));
        summary.headline("cold_start_accuracy_sampled", med(&teacher, |o| eval_of(o).accuracy_sampled));
        summary.headline("zero_accuracy_sampled", med(&zero, |o| eval_of(o).accuracy_sampled));
        summary.headline(
            "cold_start_sft_only_accuracy",
            med(&teacher, |o| o.sft_eval.as_ref().expect("evaluated").accuracy_greedy),
        );
        summary.headline(
            "cold_start_sft_only_accuracy_sampled",
            med(&teacher, |o| o.sft_eval.as_ref().expect("evaluated").accuracy_sampled),
        );
        summary
            .headline("cold_start_writes_steps", med(&teacher, |o| Measures::of(eval_of(o), &problems).writes_steps));
        summary.headline("zero_writes_steps", med(&zero, |o| Measures::of(eval_of(o), &problems).writes_steps));
        summary.headline("cold_start_format_rate", med(&teacher, |o| eval_of(o).format_rate));
        summary.headline("zero_format_rate", med(&zero, |o| eval_of(o).format_rate));
        let first = |o: &&Outcome| {
            o.grpo.iter().filter(|s| s.tokens > 0).take(args.eval_every.max(3)).map(|s| s.accuracy_reward).sum::<f64>()
                / args.eval_every.max(3) as f64
        };
        summary
            .headline("cold_start_early_train_accuracy", stats::median(&teacher.iter().map(first).collect::<Vec<_>>()));
        summary.headline("zero_early_train_accuracy", stats::median(&zero.iter().map(first).collect::<Vec<_>>()));
        summary.headline("cold_start_examples", args.cold_start_examples);
        details.insert("cold_start".into(), per_seed_measures(&teacher, &problems));
        details.insert(
            "cold_start_sft_only".into(),
            serde_json::to_value(
                teacher
                    .iter()
                    .map(|o| Measures::of(o.sft_eval.as_ref().expect("evaluated"), &problems))
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
        );
    }

    // 2b. Rejection sampling.
    if args.has(Experiment::Rejection) {
        let rej = all(Job::RejectionSft);
        figures.extend(figure_rejection(&dir, base_eval, &teacher, &rej, &problems)?);
        summary.headline("rejection_sft_accuracy", med(&rej, |o| eval_of(o).accuracy_greedy));
        summary.headline("rejection_sft_accuracy_sampled", med(&rej, |o| eval_of(o).accuracy_sampled));
        summary.headline("rejection_sft_format_rate", med(&rej, |o| eval_of(o).format_rate));
        summary.headline("rl_teacher_accuracy", med(&teacher, |o| eval_of(o).accuracy_greedy));
        summary.headline("rl_teacher_accuracy_sampled", med(&teacher, |o| eval_of(o).accuracy_sampled));
        summary
            .headline("rejection_acceptance", med(&teacher, |o| o.rejection.as_ref().expect("sampled").acceptance()));
        summary.headline("rejection_examples", med(&rej, |o| o.sft_examples as f64));
        summary.headline("rejection_sft_seconds", med(&rej, |o| o.seconds));
        details.insert("rejection_sft".into(), per_seed_measures(&rej, &problems));
    }

    // 3. Distillation.
    if args.has(Experiment::Distill) {
        let dist = all(Job::Distill);
        let srl = all(Job::SmallRl);
        let small_eval = get(Job::SmallBaseEval).and_then(|o| o.eval.as_ref()).expect("evaluated");
        figures.extend(figure_distill(&dir, &args, small_eval, &srl, &dist, &teacher, &problems)?);
        summary.headline("distilled_accuracy", med(&dist, |o| eval_of(o).accuracy_greedy));
        summary.headline("small_rl_accuracy", med(&srl, |o| eval_of(o).accuracy_greedy));
        summary.headline("distilled_accuracy_sampled", med(&dist, |o| eval_of(o).accuracy_sampled));
        summary.headline("small_rl_accuracy_sampled", med(&srl, |o| eval_of(o).accuracy_sampled));
        summary.headline("small_base_accuracy", small_eval.accuracy_greedy);
        summary.headline("small_base_accuracy_sampled", small_eval.accuracy_sampled);
        summary.headline("small_params", small.n_params());
        summary.headline("distilled_seconds", med(&dist, |o| o.seconds));
        summary.headline("small_rl_seconds", med(&srl, |o| o.seconds));
        summary.headline("distilled_tokens", med(&dist, |o| o.sft.last().map_or(0.0, |s| s.tokens as f64)));
        summary.headline("small_rl_tokens", med(&srl, |o| o.grpo.iter().map(|s| s.tokens).sum::<usize>() as f64));
        details
            .insert("small_base".into(), serde_json::to_value(Measures::of(small_eval, &problems)).unwrap_or_default());
        details.insert("distilled".into(), per_seed_measures(&dist, &problems));
        details.insert("small_rl".into(), per_seed_measures(&srl, &problems));
    }

    // 4. Reward hacking.
    if args.has(Experiment::Hacking) {
        let hack = all(Job::Hack);
        figures.extend(figure_hacking(&dir, &args, &hack)?);
        if let Some(info) = hack.first().and_then(|o| o.hack.as_ref()) {
            figures.extend(figure_reward_model(&dir, info)?);
        }
        let steps = |o: &&Outcome| o.grpo.iter().filter(|s| s.tokens > 0).cloned().collect::<Vec<_>>();
        let first5 = |f: fn(&GrpoStepLog) -> f64| {
            stats::median(
                &hack
                    .iter()
                    .map(|o| stats::mean(&steps(o).iter().take(5).map(f).collect::<Vec<_>>()))
                    .collect::<Vec<_>>(),
            )
        };
        let last5 = |f: fn(&GrpoStepLog) -> f64| {
            stats::median(
                &hack
                    .iter()
                    .map(|o| stats::mean(&tail(&steps(o).iter().map(f).collect::<Vec<_>>(), 5)))
                    .collect::<Vec<_>>(),
            )
        };
        summary.headline("hacked_proxy_reward", last5(|s| s.reward));
        summary.headline("hacked_proxy_reward_start", first5(|s| s.reward));
        summary.headline("hacked_true_accuracy", med(&hack, |o| eval_of(o).accuracy_greedy));
        summary.headline("hacked_true_accuracy_sampled", med(&hack, |o| eval_of(o).accuracy_sampled));
        summary.headline("hacked_train_accuracy", last5(|s| s.accuracy_reward));
        summary.headline("hacked_train_accuracy_start", first5(|s| s.accuracy_reward));
        summary.headline(
            "hacked_peak_heldout_accuracy",
            med(&hack, |o| o.grpo.iter().filter_map(|s| s.heldout_accuracy).fold(0.0, f64::max)),
        );
        summary.headline("hacked_format_rate", med(&hack, |o| eval_of(o).format_rate));
        summary.headline("hacked_mean_length", med(&hack, |o| eval_of(o).mean_response_length));
        if let Some(h) = hack.first().and_then(|o| o.hack.as_ref()) {
            summary.headline("reward_model_agreement_fresh", h.rm_agreement_fresh);
        }
        let examples: Vec<serde_json::Value> =
            hack.first().map(|o| hacked_examples(&args, o, &tokenizer, &problems)).unwrap_or_default();
        details.insert("hacking".into(), per_seed_measures(&hack, &problems));
        details.insert("hacked_examples".into(), serde_json::Value::Array(examples));
        details.insert(
            "reward_model".into(),
            serde_json::to_value(hack.iter().map(|o| o.hack.clone()).collect::<Vec<_>>()).unwrap_or_default(),
        );
    }

    details.insert(
        "run_seconds".into(),
        serde_json::to_value(done.iter().map(|(j, o)| (format!("{j:?}"), o.seconds)).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    details.insert(
        "note".into(),
        "accuracies are greedy on the held-out problems unless named _sampled; medians over seeds; run seconds are per run, each on one core, runs in parallel".into(),
    );
    summary.details = serde_json::Value::Object(details);
    summary.figures = figures;
    summary.wall_time_s = started.elapsed().as_secs_f64();
    metrics.write(&dir)?;
    summary.write(&dir)?;
    dir.write("samples.txt", &samples_text(&args, &done, &problems))?;
    print_results(&summary);
    println!("\nwrote {} in {:.1} s", dir.dir.display(), summary.wall_time_s);
    Ok(summary)
}

// ---------------------------------------------------------------------------------------
// Running the jobs.
// ---------------------------------------------------------------------------------------

/// Runs `jobs` on `args.jobs` threads, longest first; results come back in job order.
fn run_jobs(args: &Args, shared: Shared, jobs: &[Job], earlier: &[(Job, Outcome)]) -> Result<Vec<(Job, Outcome)>> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].cost()));
    let total: usize = jobs.iter().map(|j| job_steps(args, *j)).sum();
    let progress = Mutex::new((Progress::new("ch07", total), 0usize));
    let tick = |label: &str, detail: String| {
        let mut p = progress.lock().expect("no thread panicked");
        p.1 += 1;
        let done = p.1;
        p.0.update(done, || format!("{label}: {detail}"));
    };
    let workers = args.jobs.min(jobs.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Outcome>>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(&i) = order.get(k) else { break };
                let t = Instant::now();
                let out = run_job(args, shared, jobs[i], earlier, &tick).map(|mut o| {
                    o.seconds = t.elapsed().as_secs_f64();
                    o
                });
                if let Ok(o) = &out {
                    let acc = o.eval.as_ref().map_or(f64::NAN, |e| e.accuracy_greedy);
                    println!("  {:?}: {:.0} s, held-out greedy accuracy {acc:.3}", jobs[i], o.seconds);
                }
                results.lock().expect("no thread panicked")[i] = Some(out);
            });
        }
    });
    progress.lock().expect("no thread panicked").0.finish();
    let results = results.into_inner().expect("no thread panicked");
    jobs.iter().zip(results).map(|(j, r)| r.expect("every job ran").map(|o| (*j, o))).collect()
}

/// Progress units (RL or SFT steps) of a job.
fn job_steps(args: &Args, job: Job) -> usize {
    match job {
        Job::Zero(_) | Job::Ppo(_) | Job::SmallRl(_) => args.steps,
        Job::ColdStart(_) => args.steps + args.cold_start_steps,
        Job::Hack(_) => args.hack_steps,
        Job::RejectionSft(_) => args.rejection_steps,
        Job::Distill(_) => args.distill_steps,
        Job::BaseEval | Job::SmallBaseEval => 0,
    }
}

fn run_job(
    args: &Args,
    (base, small, tokenizer, problems): Shared,
    job: Job,
    earlier: &[(Job, Outcome)],
    tick: &(dyn Fn(&str, String) + Sync),
) -> Result<Outcome> {
    let final_eval = |model: &Gpt, seed: u64, stream: u64| {
        evaluate(model, tokenizer, problems, args.samples, &args.sample_config(), &mut rng::seeded(seed, stream))
    };
    let grpo_tick = |name: &'static str, seed: u64| {
        move |s: &GrpoStepLog| {
            if s.tokens > 0 {
                tick(name, format!("seed {seed} step {}: reward {:.2}", s.step, s.reward))
            }
        }
    };
    // R1-Zero-style GRPO straight from a base model, timed and evaluated.
    let grpo_from = |model: &Gpt, lr: f64, name: &'static str, seed: u64, out: &mut Outcome| -> Result<()> {
        let t = Instant::now();
        let (model, log) = grpo::train(
            model,
            tokenizer,
            &args.grpo_config(lr, args.beta, args.steps),
            seed,
            1,
            grpo_tick(name, seed),
        )?;
        out.rl_seconds = t.elapsed().as_secs_f64();
        out.grpo = log;
        out.eval = Some(final_eval(&model, seed, 3)?);
        Ok(())
    };
    let seed0 = args.common.seed;
    let mut out = Outcome::default();
    match job {
        Job::BaseEval => out.eval = Some(final_eval(base, seed0, 2)?),
        Job::SmallBaseEval => out.eval = Some(final_eval(small, seed0, 2)?),
        Job::Zero(seed) => grpo_from(base, args.lr, "zero", seed, &mut out)?,
        Job::Ppo(seed) => {
            let t = Instant::now();
            let (model, _critic, log) = ppo_critic::train(base, tokenizer, &args.ppo_config(), seed, 1, |s| {
                if s.common.tokens > 0 {
                    tick("ppo", format!("seed {seed} step {}: reward {:.2}", s.common.step, s.common.reward))
                }
            })?;
            out.rl_seconds = t.elapsed().as_secs_f64();
            out.ppo = log;
            out.eval = Some(final_eval(&model, seed, 3)?);
        }
        Job::ColdStart(seed) => {
            // The cold start: a few clean, readable traces, SFT, then GRPO with the SFT
            // model as both the starting point and the reference.
            let data: Vec<Example> = pipeline::cold_start_set(args.cold_start_examples, &mut rng::seeded(seed, 4))
                .iter()
                .map(|(p, t)| Example::new(tokenizer, p, t))
                .collect::<Result<_>>()?;
            let (sft_model, sft_log) = sft::train(
                base,
                tokenizer,
                &data,
                &args.sft_config(args.cold_start_steps, args.sft_lr),
                seed,
                5,
                |s| {
                    if s.step < args.cold_start_steps {
                        tick("cold start SFT", format!("seed {seed} step {}: loss {:.3}", s.step, s.loss))
                    }
                },
            )?;
            out.sft = sft_log;
            out.sft_examples = data.len();
            out.sft_eval = Some(final_eval(&sft_model, seed, 3)?);
            let t = Instant::now();
            let (model, log) = grpo::train(
                &sft_model,
                tokenizer,
                &args.grpo_config(args.lr, args.beta, args.steps),
                seed,
                1,
                grpo_tick("cold start RL", seed),
            )?;
            out.rl_seconds = t.elapsed().as_secs_f64();
            out.grpo = log;
            out.eval = Some(final_eval(&model, seed, 3)?);
            if args.has(Experiment::Rejection) || args.has(Experiment::Distill) {
                let mut r = rng::seeded(seed, 6);
                let train: Vec<Problem> = (0..args.rejection_problems).map(|_| Problem::sample_train(&mut r)).collect();
                out.rejection = Some(pipeline::rejection_sample(
                    &model,
                    tokenizer,
                    &train,
                    args.rejection_samples,
                    &args.sample_config(),
                    &mut r,
                )?);
            }
        }
        Job::SmallRl(seed) => grpo_from(small, args.small_rl_lr, "small RL", seed, &mut out)?,
        Job::Hack(seed) => {
            let (reward, info) = flawed_reward(args, base, tokenizer, seed)?;
            let t = Instant::now();
            let (model, log) = grpo::train_with_reward(
                base,
                tokenizer,
                &args.grpo_config(args.lr, args.hack_beta, args.hack_steps),
                seed,
                1,
                reward.as_ref(),
                grpo_tick("hacking", seed),
            )?;
            out.rl_seconds = t.elapsed().as_secs_f64();
            out.grpo = log;
            out.hack = Some(info);
            out.eval = Some(final_eval(&model, seed, 3)?);
        }
        Job::RejectionSft(seed) | Job::Distill(seed) => {
            let teacher = earlier
                .iter()
                .find(|(j, _)| *j == Job::ColdStart(seed))
                .and_then(|(_, o)| o.rejection.as_ref())
                .expect("phase 1 sampled the teacher");
            let data = teacher.examples(tokenizer)?;
            if data.is_empty() {
                return Err(Error::invalid(
                    "rejection sampling",
                    0,
                    "kept no response; run more --steps or --rejection-samples",
                ));
            }
            let (init, lr, steps, name, stream) = match job {
                Job::RejectionSft(_) => (base, args.sft_lr, args.rejection_steps, "rejection SFT", 9),
                _ => (small, args.distill_lr, args.distill_steps, "distillation", 10),
            };
            let (model, log) = sft::train(init, tokenizer, &data, &args.sft_config(steps, lr), seed, stream, |s| {
                if s.step < steps {
                    tick(name, format!("seed {seed} step {}: loss {:.3}", s.step, s.loss))
                }
            })?;
            out.sft = log;
            out.sft_examples = data.len();
            out.eval = Some(final_eval(&model, seed, 3)?);
        }
    }
    Ok(out)
}

/// The flawed reward of the hacking run, and how its reward model was fitted.
#[allow(clippy::type_complexity)]
fn flawed_reward<'a>(
    args: &Args,
    base: &Gpt,
    tokenizer: &'a Tokenizer,
    seed: u64,
) -> Result<(Box<dyn Fn(&str, &Problem) -> f64 + Sync + 'a>, HackInfo)> {
    if args.hack_reward == HackReward::Tags {
        let info = HackInfo {
            reward: HackReward::Tags,
            rm: None,
            rm_final_loss: f64::NAN,
            rm_agreement_train: f64::NAN,
            rm_agreement_fresh: f64::NAN,
            positives: 0,
        };
        return Ok((Box::new(|t: &str, _: &Problem| reward_model::tags_only(t)), info));
    }
    // A few hundred base-model answers to training problems, labelled by the rule.
    let labelled = |n: usize, stream: u64| -> Result<(Vec<Vec<f64>>, Vec<f64>)> {
        let mut r = rng::seeded(seed, stream);
        let per = 4;
        let ps: Vec<Problem> = (0..n.div_ceil(per)).map(|_| Problem::sample_train(&mut r)).collect();
        let prompts = crate::llm::eval::prompts(tokenizer, &ps)?;
        let s = sample(base, tokenizer, &prompts, per, &args.sample_config(), &mut r)
            .map_err(|e| Error::invalid("reward-model data", e, "candle failed"))?;
        let xs = s.texts.iter().map(|t| reward_model::features(tokenizer, t)).collect();
        let ys = s.texts.iter().zip(&s.prompt).map(|(t, &p)| reward_model::label(t, &ps[p])).collect();
        Ok((xs, ys))
    };
    let (xs, ys) = labelled(args.rm_examples, 7)?;
    let (fx, fy) = labelled(args.rm_examples, 8)?;
    let cfg = FitConfig { iterations: 2000, lr: 0.1, l2: 1e-3 };
    let (rm, losses) = RewardModel::fit(tokenizer, &xs, &ys, &cfg);
    let info = HackInfo {
        reward: HackReward::Rm,
        rm_final_loss: losses.last().copied().unwrap_or(f64::NAN),
        rm_agreement_train: rm.agreement(&xs, &ys),
        rm_agreement_fresh: rm.agreement(&fx, &fy),
        positives: ys.iter().filter(|&&y| y > 0.5).count(),
        rm: Some(rm.clone()),
    };
    Ok((Box::new(move |t: &str, _: &Problem| rm.score(tokenizer, t)), info))
}

// ---------------------------------------------------------------------------------------
// Memory: one PPO step and one GRPO step, each measured alone.
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize)]
struct Memory {
    /// Parameters of every model held (trained and frozen) and of the trained ones.
    ppo_held: usize,
    ppo_trained: usize,
    grpo_held: usize,
    grpo_trained: usize,
    /// Weights + gradients + AdamW moments, from the shapes (bytes).
    ppo_state: usize,
    grpo_state: usize,
    /// Peak heap bytes of loading the reference and running full steps (sampling,
    /// scoring, update), measured by the counting allocator; None without it.
    ppo_peak: Option<usize>,
    grpo_peak: Option<usize>,
    /// Median seconds per step of the probe, each algorithm alone on one core, one
    /// after the other (the runs' own timings share the machine with other runs).
    ppo_step_s: f64,
    grpo_step_s: f64,
    probe_steps: usize,
}

/// Peak heap, parameters and seconds per step of PPO and of GRPO, each run alone for a
/// few steps before the experiments start (so nothing else allocates meanwhile).
fn measure_memory(args: &Args) -> Result<Memory> {
    let mut probe = args.clone();
    probe.steps = if args.common.quick { 1 } else { 3 };
    probe.eval_problems = 1;
    probe.eval_every = 1000;
    let grpo_cfg = probe.grpo_config(probe.lr, probe.beta, probe.steps);
    let seconds = |log: &[GrpoStepLog]| per_step_seconds(log);
    // A warm-up, so that one-time allocations (thread pools) count in neither.
    let _ = memory::measure_peak(|| -> Result<()> {
        let (base, tok) = load_base()?;
        grpo::train(&base, &tok, &probe.grpo_config(probe.lr, probe.beta, 1), 0, 99, |_| {})?;
        Ok(())
    });
    let (ppo, ppo_peak) = memory::measure_peak(|| -> Result<(usize, usize, f64)> {
        let (base, tok) = load_base()?;
        let (policy, critic, log) = ppo_critic::train(&base, &tok, &probe.ppo_config(), 0, 99, |_| {})?;
        let common: Vec<GrpoStepLog> = log.iter().map(|s| s.common.clone()).collect();
        Ok((
            base.n_params() + policy.n_params() + critic.n_params(),
            policy.n_params() + critic.n_params(),
            seconds(&common),
        ))
    });
    let (grpo, grpo_peak) = memory::measure_peak(|| -> Result<(usize, usize, f64)> {
        let (base, tok) = load_base()?;
        let (policy, log) = grpo::train(&base, &tok, &grpo_cfg, 0, 99, |_| {})?;
        Ok((base.n_params() + policy.n_params(), policy.n_params(), seconds(&log)))
    });
    let ((ppo_held, ppo_trained, ppo_step_s), (grpo_held, grpo_trained, grpo_step_s)) = (ppo?, grpo?);
    Ok(Memory {
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
        probe_steps: probe.steps,
    })
}

fn mb(bytes: usize) -> f64 {
    (bytes as f64 / (1024.0 * 1024.0) * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------------------
// Measures and helpers.
// ---------------------------------------------------------------------------------------

fn eval_of(o: &Outcome) -> &Evaluation {
    o.eval.as_ref().expect("every training job evaluates its model")
}

fn med(runs: &[&Outcome], f: impl Fn(&Outcome) -> f64) -> f64 {
    stats::median(&runs.iter().map(|o| f(o)).collect::<Vec<_>>())
}

fn tail(v: &[f64], n: usize) -> Vec<f64> {
    v[v.len().saturating_sub(n)..].to_vec()
}

fn per_step_seconds(log: &[GrpoStepLog]) -> f64 {
    let v: Vec<f64> = log.iter().filter(|s| s.tokens > 0).map(|s| s.sample_s + s.score_s + s.update_s).collect();
    stats::median(&v)
}

fn per_step_seconds_ppo(log: &[PpoStepLog]) -> f64 {
    let v: Vec<GrpoStepLog> = log.iter().map(|s| s.common.clone()).collect();
    per_step_seconds(&v)
}

/// Sampled tokens before the first held-out evaluation at or above `acc` (NaN if none).
fn tokens_to(log: &[(usize, Option<f64>)], acc: f64) -> f64 {
    let mut seen = 0usize;
    for &(tokens, heldout) in log {
        if heldout.is_some_and(|a| a >= acc) {
            return seen as f64;
        }
        seen += tokens;
    }
    f64::NAN
}

/// The numbers of one final evaluation that the lesson compares.
#[derive(Clone, Debug, Serialize)]
struct Measures {
    accuracy_greedy: f64,
    accuracy_sampled: f64,
    format_rate: f64,
    format_rate_greedy: f64,
    /// Sampled responses that write the column steps inside `<think>` (readability).
    writes_steps: f64,
    /// Sampled responses whose number is right, tags or not.
    number_sampled: f64,
    mean_length: f64,
    pass_at_k: f64,
    maj_at_k: f64,
}

impl Measures {
    fn of(e: &Evaluation, problems: &[Problem]) -> Measures {
        let n = e.sampled.texts.len().max(1) as f64;
        let right = e
            .sampled
            .texts
            .iter()
            .zip(&e.sampled.prompt)
            .filter(|(t, &p)| number_answer(t) == Some(problems[p].answer().to_string().as_str()))
            .count();
        Measures {
            accuracy_greedy: e.accuracy_greedy,
            accuracy_sampled: e.accuracy_sampled,
            format_rate: e.format_rate,
            format_rate_greedy: e.format_rate_greedy,
            writes_steps: e.sampled.texts.iter().filter(|t| writes_steps(t)).count() as f64 / n,
            number_sampled: right as f64 / n,
            mean_length: e.mean_response_length,
            pass_at_k: e.pass_at_k.last().copied().unwrap_or(f64::NAN),
            maj_at_k: e.maj_at_k.last().copied().unwrap_or(f64::NAN),
        }
    }
}

fn per_seed_measures(runs: &[&Outcome], problems: &[Problem]) -> serde_json::Value {
    serde_json::to_value(runs.iter().map(|o| Measures::of(eval_of(o), problems)).collect::<Vec<_>>())
        .unwrap_or_default()
}

fn grpo_metrics(m: &mut UntypedMetrics, run: &str, seed: u64, log: &[GrpoStepLog]) {
    let mut tokens = 0usize;
    let mut seconds = 0.0;
    for s in log {
        let (ha, hf) = (s.heldout_accuracy.unwrap_or(f64::NAN), s.heldout_format.unwrap_or(f64::NAN));
        m.push(&[
            &run,
            &seed,
            &s.step,
            &tokens,
            &seconds,
            &s.reward,
            &s.accuracy_reward,
            &s.format_reward,
            &s.kl,
            &s.length,
            &s.writes_steps,
            &ha,
            &hf,
            &f64::NAN,
            &f64::NAN,
            &f64::NAN,
            &s.sample_s,
            &s.score_s,
            &s.update_s,
        ]);
        tokens += s.tokens;
        seconds += s.sample_s + s.score_s + s.update_s;
    }
}

fn ppo_metrics(m: &mut UntypedMetrics, seed: u64, log: &[PpoStepLog]) {
    let mut tokens = 0usize;
    let mut seconds = 0.0;
    for p in log {
        let s = &p.common;
        let (ha, hf) = (s.heldout_accuracy.unwrap_or(f64::NAN), s.heldout_format.unwrap_or(f64::NAN));
        m.push(&[
            &"ppo_critic",
            &seed,
            &s.step,
            &tokens,
            &seconds,
            &s.reward,
            &s.accuracy_reward,
            &s.format_reward,
            &s.kl,
            &s.length,
            &s.writes_steps,
            &ha,
            &hf,
            &p.value_loss,
            &p.explained_variance,
            &f64::NAN,
            &s.sample_s,
            &s.score_s,
            &s.update_s,
        ]);
        tokens += s.tokens;
        seconds += s.sample_s + s.score_s + s.update_s;
    }
}

fn sft_metrics(m: &mut UntypedMetrics, run: &str, seed: u64, log: &[SftLog]) {
    let nan = f64::NAN;
    for s in log {
        let (ha, hf) = (s.heldout_accuracy.unwrap_or(nan), s.heldout_format.unwrap_or(nan));
        m.push(&[
            &run, &seed, &s.step, &s.tokens, &s.seconds, &nan, &nan, &nan, &nan, &nan, &nan, &ha, &hf, &nan, &nan,
            &s.loss, &nan, &nan, &nan,
        ]);
    }
}

// ---------------------------------------------------------------------------------------
// Figures.
// ---------------------------------------------------------------------------------------

/// A point series per run: (x, y) of the steps where `y` is defined.
type Series = Vec<(f64, f64)>;

/// A band from per-run series that share their points' order (x = mean over runs).
fn band_of(label: &str, runs: &[Series]) -> Band {
    let n = runs.iter().map(Vec::len).min().unwrap_or(0);
    let x = (0..n).map(|i| stats::mean(&runs.iter().map(|r| r[i].0).collect::<Vec<_>>())).collect();
    Band { label: label.into(), x, runs: runs.iter().map(|r| r[..n].iter().map(|p| p.1).collect()).collect() }
}

/// GRPO series: x = sampled tokens (or seconds, or the step) before the point.
#[derive(Clone, Copy)]
enum Axis {
    Tokens,
    Seconds,
    Step,
}

fn grpo_series(log: &[GrpoStepLog], axis: Axis, y: &dyn Fn(&GrpoStepLog) -> Option<f64>) -> Series {
    let (mut tokens, mut seconds) = (0usize, 0.0);
    let mut out = Vec::new();
    for s in log {
        let x = match axis {
            Axis::Tokens => tokens as f64 / 1000.0,
            Axis::Seconds => seconds,
            Axis::Step => s.step as f64,
        };
        if let Some(v) = y(s) {
            out.push((x, v));
        }
        tokens += s.tokens;
        seconds += s.sample_s + s.score_s + s.update_s;
    }
    out
}

fn train_y(f: fn(&GrpoStepLog) -> f64) -> impl Fn(&GrpoStepLog) -> Option<f64> {
    move |s| (s.tokens > 0).then(|| f(s))
}

fn panel(title: &str, x: &str, y: &str, bands: Vec<Band>) -> CurvePlot {
    CurvePlot {
        title: title.into(),
        x_label: x.into(),
        y_label: y.into(),
        log_y: false,
        bands,
        hlines: vec![],
        smooth: 1,
    }
}

fn seeds_note(n: usize) -> String {
    if n == 1 {
        "1 seed".into()
    } else {
        format!("mean ± std over {n} seeds")
    }
}

fn figure_ppo(dir: &RunDir, args: &Args, ppo: &[&Outcome], zero: &[&Outcome]) -> Result<Vec<String>> {
    let p: Vec<Vec<GrpoStepLog>> = ppo.iter().map(|o| o.ppo.iter().map(|s| s.common.clone()).collect()).collect();
    let g: Vec<Vec<GrpoStepLog>> = zero.iter().map(|o| o.grpo.clone()).collect();
    let both = |axis: Axis, y: &dyn Fn(&GrpoStepLog) -> Option<f64>| {
        vec![
            band_of("PPO with a critic", &p.iter().map(|l| grpo_series(l, axis, y)).collect::<Vec<_>>()),
            band_of("GRPO", &g.iter().map(|l| grpo_series(l, axis, y)).collect::<Vec<_>>()),
        ]
    };
    let tok = "sampled tokens (thousands)";
    let ev: Vec<Series> = ppo
        .iter()
        .map(|o| {
            let mut t = 0usize;
            o.ppo
                .iter()
                .filter_map(|s| {
                    let x = t as f64 / 1000.0;
                    t += s.common.tokens;
                    (s.common.tokens > 0).then_some((x, s.explained_variance))
                })
                .collect()
        })
        .collect();
    let panels = vec![
        panel("Held-out accuracy (greedy)", tok, "share of problems", both(Axis::Tokens, &|s| s.heldout_accuracy)),
        panel(
            "Accuracy reward of the training samples",
            tok,
            "share of samples (T = 1)",
            both(Axis::Tokens, &train_y(|s| s.accuracy_reward)),
        ),
        panel(
            "Held-out accuracy against wall time",
            "seconds of training (one core)",
            "share of problems",
            both(Axis::Seconds, &|s| s.heldout_accuracy),
        ),
        panel("KL to the reference (k3, per token)", tok, "nats per token", both(Axis::Tokens, &train_y(|s| s.kl))),
        panel(
            "The critic: explained variance of the returns",
            tok,
            "1 − Var(G − V) / Var(G)",
            vec![band_of("PPO's critic, before its update", &ev)],
        ),
        panel("Response length", tok, "tokens per response", both(Axis::Tokens, &train_y(|s| s.length))),
    ];
    let title = format!(
        "PPO with a critic versus GRPO: {} responses per step ({} prompts × 1 versus {} × G = {}), {}",
        args.prompts * args.group,
        args.prompts * args.group,
        args.prompts,
        args.group,
        seeds_note(ppo.len())
    );
    Ok(plot::curves_panels(&dir.path("ppo_vs_grpo"), &title, &panels, 2)?)
}

fn figure_ppo_cost(dir: &RunDir, ppo: &[&Outcome], zero: &[&Outcome], mem: &Memory) -> Result<Vec<String>> {
    let cats = || vec!["PPO with a critic".to_string(), "GRPO".to_string()];
    let bars = |title: &str, y: &str, values: Vec<f64>, errors: Option<Vec<f64>>| Bars {
        title: title.into(),
        x_label: String::new(),
        y_label: y.into(),
        categories: cats(),
        values,
        errors,
    };
    let secs = |runs: &[&Outcome], f: &dyn Fn(&Outcome) -> f64| -> (f64, f64) {
        let v: Vec<f64> = runs.iter().map(|o| f(o)).collect();
        (stats::mean(&v), if v.len() > 1 { stats::std(&v) } else { 0.0 })
    };
    let (ps, pe) = secs(ppo, &|o| per_step_seconds_ppo(&o.ppo));
    let (gs, ge) = secs(zero, &|o| per_step_seconds(&o.grpo));
    let mut panels = vec![
        bars(
            "Parameters held (all models)",
            "millions",
            vec![mem.ppo_held as f64 / 1e6, mem.grpo_held as f64 / 1e6],
            None,
        ),
        bars("Parameters trained", "millions", vec![mem.ppo_trained as f64 / 1e6, mem.grpo_trained as f64 / 1e6], None),
        bars(
            "Training state: weights + grads + AdamW",
            "MiB (f32, from the shapes)",
            vec![mb(mem.ppo_state), mb(mem.grpo_state)],
            None,
        ),
        bars(
            &format!(
                "Seconds per step, alone on one core (probe of {} step{})",
                mem.probe_steps,
                if mem.probe_steps == 1 { "" } else { "s" }
            ),
            "seconds (median)",
            vec![mem.ppo_step_s, mem.grpo_step_s],
            None,
        ),
        bars(
            "Seconds per step, during the runs",
            "seconds (median over steps)",
            vec![ps, gs],
            (ppo.len() > 1).then_some(vec![pe, ge]),
        ),
    ];
    if let (Some(a), Some(b)) = (mem.ppo_peak, mem.grpo_peak) {
        panels.insert(3, bars("Peak heap of a step (measured)", "MiB", vec![mb(a), mb(b)], None));
    }
    Ok(plot::bars_panels(
        &dir.path("ppo_vs_grpo_cost"),
        "What the critic costs: PPO holds actor, critic and reference (a rule replaces the reward model), GRPO actor and reference",
        &panels,
        3,
    )?)
}

fn figure_cold_start(dir: &RunDir, args: &Args, cold: &[&Outcome], zero: &[&Outcome]) -> Result<Vec<String>> {
    let both = |y: &dyn Fn(&GrpoStepLog) -> Option<f64>| {
        vec![
            band_of(
                &format!("cold start ({} traces, SFT) → GRPO", args.cold_start_examples),
                &cold.iter().map(|o| grpo_series(&o.grpo, Axis::Step, y)).collect::<Vec<_>>(),
            ),
            band_of(
                "GRPO from the base model (R1-Zero)",
                &zero.iter().map(|o| grpo_series(&o.grpo, Axis::Step, y)).collect::<Vec<_>>(),
            ),
        ]
    };
    let step = "GRPO step";
    let panels = vec![
        panel("Held-out accuracy (greedy)", step, "share of problems", both(&|s| s.heldout_accuracy)),
        panel(
            "Accuracy reward of the training samples",
            step,
            "share of samples (T = 1)",
            both(&train_y(|s| s.accuracy_reward)),
        ),
        panel(
            "Readability: column steps written in <think>",
            step,
            "share of samples",
            both(&train_y(|s| s.writes_steps)),
        ),
        panel("Format reward of the training samples", step, "share of samples", both(&train_y(|s| s.format_reward))),
        panel("Response length", step, "tokens per response", both(&train_y(|s| s.length))),
        panel("KL to the reference (k3, per token)", step, "nats per token", both(&train_y(|s| s.kl))),
    ];
    let title = format!(
        "Cold start versus R1-Zero ({}; the cold-start run's reference is its SFT model)",
        seeds_note(cold.len())
    );
    Ok(plot::curves_panels(&dir.path("cold_start"), &title, &panels, 2)?)
}

/// Bar panels comparing models on the final evaluation's measures.
fn model_bars(names: &[String], per_model: &[Vec<Measures>]) -> Vec<Bars> {
    type Metric = (&'static str, &'static str, fn(&Measures) -> f64);
    let metrics: [Metric; 4] = [
        ("Accuracy, greedy", "share of held-out problems", |m| m.accuracy_greedy),
        ("Accuracy, sampled (T = 1)", "share of responses", |m| m.accuracy_sampled),
        ("Format compliance, sampled", "share of responses", |m| m.format_rate),
        ("Readability: column steps in <think>", "share of sampled responses", |m| m.writes_steps),
    ];
    metrics
        .iter()
        .map(|(title, y, f)| {
            let vals: Vec<Vec<f64>> = per_model.iter().map(|ms| ms.iter().map(f).collect()).collect();
            Bars {
                title: title.to_string(),
                x_label: String::new(),
                y_label: y.to_string(),
                categories: names.to_vec(),
                values: vals.iter().map(|v| stats::mean(v)).collect(),
                errors: (per_model.iter().any(|m| m.len() > 1))
                    .then(|| vals.iter().map(|v| if v.len() > 1 { stats::std(v) } else { 0.0 }).collect()),
            }
        })
        .collect()
}

fn measures(runs: &[&Outcome], problems: &[Problem]) -> Vec<Measures> {
    runs.iter().map(|o| Measures::of(eval_of(o), problems)).collect()
}

fn figure_rejection(
    dir: &RunDir,
    base: &Evaluation,
    teacher: &[&Outcome],
    rej: &[&Outcome],
    problems: &[Problem],
) -> Result<Vec<String>> {
    let names = ["base model", "cold-start SFT", "RL model (cold start → GRPO)", "fresh base, SFT on its kept answers"]
        .map(String::from);
    let per_model = vec![
        vec![Measures::of(base, problems)],
        teacher.iter().map(|o| Measures::of(o.sft_eval.as_ref().expect("evaluated"), problems)).collect(),
        measures(teacher, problems),
        measures(rej, problems),
    ];
    let title = format!(
        "Rejection sampling: keep the RL model's right, well-formed answers ({:.0}% kept), fine-tune a fresh base model ({})",
        100.0 * med(teacher, |o| o.rejection.as_ref().expect("sampled").acceptance()),
        seeds_note(rej.len())
    );
    Ok(plot::bars_panels(&dir.path("rejection_sft"), &title, &model_bars(&names, &per_model), 2)?)
}

fn figure_distill(
    dir: &RunDir,
    args: &Args,
    small: &Evaluation,
    srl: &[&Outcome],
    dist: &[&Outcome],
    teacher: &[&Outcome],
    problems: &[Problem],
) -> Result<Vec<String>> {
    let names = ["small base", "small, GRPO", "small, distilled (SFT on the teacher)", "teacher (large RL model)"]
        .map(String::from);
    let per_model = vec![
        vec![Measures::of(small, problems)],
        measures(srl, problems),
        measures(dist, problems),
        measures(teacher, problems),
    ];
    let mut files = plot::bars_panels(
        &dir.path("distillation"),
        &format!("Distillation versus RL on a model of half the width and layers ({})", seeds_note(dist.len())),
        &model_bars(&names, &per_model),
        2,
    )?;
    // The small model's GRPO curve against the distilled model's accuracy.
    let mut plot = panel(
        "The small model under GRPO, and distilled",
        "GRPO step",
        "held-out accuracy (greedy)",
        vec![band_of(
            "small model, GRPO",
            &srl.iter().map(|o| grpo_series(&o.grpo, Axis::Step, &|s| s.heldout_accuracy)).collect::<Vec<_>>(),
        )],
    );
    plot.title = format!(
        "The small model under GRPO (lr {}), against distillation ({})",
        args.small_rl_lr,
        seeds_note(srl.len())
    );
    plot.hlines =
        vec![(med(dist, |o| eval_of(o).accuracy_greedy), "distilled (SFT on the teacher's answers), final".into())];
    files.extend(plot::curves(&dir.path("distillation_curve"), &plot)?);
    Ok(files)
}

/// The reward model's weights (first seed): what it learned a good answer looks like.
fn figure_reward_model(dir: &RunDir, info: &HackInfo) -> Result<Vec<String>> {
    let Some(rm) = &info.rm else { return Ok(Vec::new()) };
    // Tokens never seen in the labelled answers (the template's, `so`, `carry`, ...)
    // keep weight 0 and are left out.
    let mut pairs: Vec<(String, f64)> = rm
        .tokens
        .iter()
        .zip(&rm.weights)
        .filter(|(t, w)| t.len() < 12 && **w != 0.0)
        .map(|(t, w)| (if t == " " { "space".to_string() } else { t.clone() }, *w))
        .collect();
    pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
    let bars = Bars {
        title: format!(
            "The learned reward model: one weight per token, score = w·counts + b (b = {:.2}); agrees with the rule on {:.0}% of fresh answers",
            rm.bias,
            100.0 * info.rm_agreement_fresh
        ),
        x_label: "token of the response".into(),
        y_label: "weight (change of the score per occurrence)".into(),
        categories: pairs.iter().map(|p| p.0.clone()).collect(),
        values: pairs.iter().map(|p| p.1).collect(),
        errors: None,
    };
    Ok(plot::bars(&dir.path("reward_model"), &bars)?)
}

fn figure_hacking(dir: &RunDir, args: &Args, hack: &[&Outcome]) -> Result<Vec<String>> {
    let one = |label: &str, y: &dyn Fn(&GrpoStepLog) -> Option<f64>| {
        band_of(label, &hack.iter().map(|o| grpo_series(&o.grpo, Axis::Step, y)).collect::<Vec<_>>())
    };
    let proxy = match args.hack_reward {
        HackReward::Rm => "reward-model score (logit)",
        HackReward::Tags => "tags-only check (0 or 1)",
    };
    let step = "GRPO step";
    let panels = vec![
        panel(
            "The proxy reward GRPO maximises",
            step,
            proxy,
            vec![one("mean proxy reward of the batch", &train_y(|s| s.reward))],
        ),
        panel(
            "The truth: the rule's accuracy",
            step,
            "share",
            vec![
                one("accuracy reward of the training samples", &train_y(|s| s.accuracy_reward)),
                one("held-out accuracy (greedy)", &|s| s.heldout_accuracy),
            ],
        ),
        panel(
            "The rule's format check",
            step,
            "share",
            vec![
                one("format reward of the training samples", &train_y(|s| s.format_reward)),
                one("held-out format (greedy)", &|s| s.heldout_format),
            ],
        ),
        panel(
            "Response length",
            step,
            "tokens per response",
            vec![one("mean length of the batch", &train_y(|s| s.length))],
        ),
    ];
    let title = format!(
        "Reward hacking: GRPO on a flawed reward, the {proxy}; β = {}, {}",
        args.hack_beta,
        seeds_note(hack.len())
    );
    Ok(plot::curves_panels(&dir.path("reward_hacking"), &title, &panels, 2)?)
}

/// Greedy answers of the hacked model, with the proxy's and the rule's verdicts.
fn hacked_examples(args: &Args, o: &Outcome, tokenizer: &Tokenizer, problems: &[Problem]) -> Vec<serde_json::Value> {
    let e = eval_of(o);
    let rm = o.hack.as_ref().and_then(|h| h.rm.clone());
    let proxy = |t: &str| match (&rm, args.hack_reward) {
        (Some(rm), HackReward::Rm) => rm.score(tokenizer, t),
        _ => reward_model::tags_only(t),
    };
    let n = e.samples_per_problem;
    problems
        .iter()
        .enumerate()
        .take(6)
        .map(|(p, q)| {
            let greedy = &e.greedy.texts[p];
            let sampled = &e.sampled.texts[p * n];
            serde_json::json!({
                "question": q.question(),
                "answer": q.answer(),
                "greedy": greedy,
                "greedy_proxy": proxy(greedy),
                "greedy_rule_accuracy": task::accuracy_reward(greedy, q),
                "greedy_rule_format": task::format_reward(greedy),
                "sampled": sampled,
                "sampled_proxy": proxy(sampled),
                "sampled_rule_accuracy": task::accuracy_reward(sampled, q),
            })
        })
        .collect()
}

fn samples_text(args: &Args, done: &[(Job, Outcome)], problems: &[Problem]) -> String {
    let mut s = String::from("Greedy and sampled responses to held-out problems, first seed (acc/fmt: the rule)\n\n");
    let seed = args.common.seed;
    let runs: [(Job, &str); 8] = [
        (Job::BaseEval, "base"),
        (Job::Zero(seed), "GRPO (zero)"),
        (Job::Ppo(seed), "PPO critic"),
        (Job::ColdStart(seed), "cold start → GRPO"),
        (Job::RejectionSft(seed), "rejection SFT"),
        (Job::SmallRl(seed), "small GRPO"),
        (Job::Distill(seed), "distilled"),
        (Job::Hack(seed), "hacked"),
    ];
    for (p, q) in problems.iter().enumerate().take(6) {
        s.push_str(&format!("User: {}. Assistant:   (answer {})\n", q.question(), q.answer()));
        for (job, name) in runs {
            let Some(e) = done.iter().find(|(j, _)| *j == job).and_then(|(_, o)| o.eval.as_ref()) else { continue };
            let mut line = |kind: &str, t: &str| {
                let (a, f) = (task::accuracy_reward(t, q), task::format_reward(t));
                s.push_str(&format!("  [{name:18} {kind:7} acc {a} fmt {f}]{t}\n"));
            };
            line("greedy", &e.greedy.texts[p]);
            line("sampled", &e.sampled.texts[p * e.samples_per_problem]);
        }
        s.push('\n');
    }
    s
}

/// The claims and what we measured, one row per comparison (all keys in summary.json).
fn print_results(summary: &Summary) {
    let h = &summary.headline;
    let show = |k: &str| {
        h.get(k).and_then(|v| v.as_f64()).map_or("-".to_string(), |v| {
            if v.abs() >= 1000.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.3}")
            }
        })
    };
    let comparisons = [
        ("PPO critic vs GRPO", "held-out accuracy, greedy", "ppo_critic_accuracy", "grpo_accuracy"),
        ("PPO critic vs GRPO", "held-out accuracy, sampled", "ppo_critic_accuracy_sampled", "grpo_accuracy_sampled"),
        ("PPO critic vs GRPO", "parameters held", "ppo_critic_params", "grpo_params"),
        ("PPO critic vs GRPO", "peak heap of a step (MiB)", "ppo_critic_peak_heap_mb", "grpo_peak_heap_mb"),
        ("PPO critic vs GRPO", "seconds per step, alone", "ppo_critic_seconds_per_step", "grpo_seconds_per_step"),
        ("cold start vs zero", "held-out accuracy, sampled", "cold_start_accuracy_sampled", "zero_accuracy_sampled"),
        (
            "cold start vs zero",
            "training accuracy, first steps",
            "cold_start_early_train_accuracy",
            "zero_early_train_accuracy",
        ),
        ("cold start vs zero", "writes the column steps", "cold_start_writes_steps", "zero_writes_steps"),
        (
            "rejection SFT vs RL teacher",
            "held-out accuracy, sampled",
            "rejection_sft_accuracy_sampled",
            "rl_teacher_accuracy_sampled",
        ),
        ("distilled vs small RL", "held-out accuracy, greedy", "distilled_accuracy", "small_rl_accuracy"),
        (
            "distilled vs small RL",
            "held-out accuracy, sampled",
            "distilled_accuracy_sampled",
            "small_rl_accuracy_sampled",
        ),
        ("hacking: end vs start", "proxy reward", "hacked_proxy_reward", "hacked_proxy_reward_start"),
        (
            "hacking: end vs start",
            "true accuracy of the samples",
            "hacked_train_accuracy",
            "hacked_train_accuracy_start",
        ),
        ("hacking: end vs peak", "held-out accuracy, greedy", "hacked_true_accuracy", "hacked_peak_heldout_accuracy"),
    ];
    let rows: Vec<Vec<String>> = comparisons
        .iter()
        .filter(|(_, _, a, _)| h.contains_key(*a))
        .map(|(c, m, a, b)| vec![c.to_string(), m.to_string(), show(a), show(b)])
        .collect();
    print_table(
        "The claims, measured (medians over seeds; every number is in summary.json)",
        &["comparison", "measure", "first", "second"],
        &rows,
    );
}
