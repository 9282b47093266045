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
//! The experiments live in `llm::pipeline_experiments`, their figures in
//! `llm::pipeline_figures` and their report in `llm::pipeline_report`. Independent runs
//! go in parallel threads, one intra-op thread each. The lesson (README.md beside the
//! chapter's main.rs) explains every number and figure.

use crate::cli::CommonArgs;
use crate::error::Result;

use crate::llm::pipeline_experiments::{check_budget, probe_step_cost, quick_budget, Experiment, Lab, PipelineConfig};
use crate::llm::pipeline_report::{details, metrics, samples_text, PipelineHeadline};
use crate::llm::ppo_critic::CriticFlags;
use crate::llm::task::Task;
use crate::llm::{load_base, load_small_base, pipeline_figures, GrpoFlags};
use crate::report::Summary;
use crate::run::{ChapterArgs, RunContext};
use clap::Parser;
use serde::Serialize;

pub const CHAPTER: &str = "ch07-r1-pipeline";

/// Chapter 7: beyond R1-Zero (PPO with a critic, cold start, rejection sampling, distillation, reward hacking).
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch07-r1-pipeline", version, allow_negative_numbers = true)]
// The lesson's RL runs are shorter than chapter 6's and evaluated more often.
#[command(mut_arg("steps", |a| a.default_value("60").help("RL steps of every GRPO and PPO run (each samples prompts × group responses) [1, 10000]")))]
#[command(mut_arg("eval_every", |a| a.default_value("3")))]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    /// GRPO's flags; PPO runs at the same budget (`pipeline_experiments::critic_ppo_config`).
    #[command(flatten)]
    #[serde(flatten)]
    pub rl: GrpoFlags,
    /// PPO's critic: its learning rate and the token-level GAE.
    #[command(flatten)]
    #[serde(flatten)]
    pub critic: CriticFlags,
    /// The experiments and their budgets.
    #[command(flatten)]
    #[serde(flatten)]
    pub pipeline: PipelineConfig,
}

impl ChapterArgs for Args {
    const CHAPTER: &'static str = CHAPTER;
    const DEFAULT_SEEDS: (usize, usize) = (1, 3);

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn prepare(&mut self) {
        // A flag out of its range is refused as given, not clamped by --quick first.
        if self.common.quick && self.validate().is_ok() {
            quick_budget(&mut self.rl, &mut self.pipeline);
        }
    }

    fn validate(&self) -> Result<()> {
        self.pipeline.validate()?;
        self.rl.validate()?;
        self.critic.validate()
    }

    /// The run's work, in token passes, summed over the chosen experiments' runs: an RL
    /// run (GRPO or PPO) samples steps × prompts × group responses of up to max_new
    /// tokens and passes over them μ + 2 times; an SFT update passes over a batch of
    /// 64-token examples 3 times; rejection sampling, the reward model's answers and the
    /// evaluations add sampled tokens. The default (3 seeds, every experiment) is about
    /// 21 M token passes, 18 minutes at 2 jobs; the limit, twice that, is about an hour
    /// on one core. One batch holds at most 4096 responses (prompts × group).
    fn check_budget(&self, n_seeds: usize) -> Result<()> {
        let d = <Args as Parser>::parse_from([CHAPTER]);
        check_budget(&self.rl, &d.rl, &self.pipeline, &d.pipeline, n_seeds, Self::DEFAULT_SEEDS.1)
    }
}

/// Runs the chapter and writes `<out>/ch07-r1-pipeline/`.
pub fn run(mut args: Args) -> Result<Summary> {
    let ctx = RunContext::start(&mut args)?;
    let mut summary = ctx.summary(&args);
    let (base, tokenizer) = load_base(Task::Add3)?;
    let small = load_small_base()?;
    let problems = tokenizer.task().test_problems(args.pipeline.final_problems);
    let seeds = &ctx.seeds.clone();
    crate::say!(
        "base model {} parameters, small model {}; experiments {:?}; {} seed{}",
        base.n_params(),
        small.n_params(),
        args.pipeline.experiments,
        seeds.len(),
        if seeds.len() == 1 { "" } else { "s" }
    );

    // Peak heap, parameters and seconds of one PPO step and one GRPO step, each measured
    // alone before the runs (nothing else allocates meanwhile).
    let cost = if args.pipeline.has(Experiment::Ppo) {
        Some(probe_step_cost(&args.rl, &args.critic, ctx.quick)?)
    } else {
        None
    };

    // Every run of every experiment: phase 1 from the shipped models, phase 2 on the
    // cold-start RL model's rejection-sampled answers.
    let lab = Lab {
        rl: &args.rl,
        critic: &args.critic,
        cfg: &args.pipeline,
        seed: args.common.seed,
        base: &base,
        small: &small,
        tokenizer: &tokenizer,
        problems: &problems,
    };
    let results = lab.run_all(seeds)?;

    summary.figures = pipeline_figures::figures(&ctx.dir, &lab, &results, cost.as_ref())?;
    let headline = PipelineHeadline::of(&lab, &results, cost.as_ref());
    summary.set_headline(&headline)?;
    summary.details = details(&lab, &results, cost.as_ref());
    ctx.dir.write("samples.txt", &samples_text(&results, args.common.seed, &problems))?;
    let dir = ctx.finish(&mut summary, &metrics(&results, seeds))?;
    headline.print();
    crate::say!("\nwrote {} in {:.1} s", dir.display(), summary.wall_time_s);
    Ok(summary)
}
