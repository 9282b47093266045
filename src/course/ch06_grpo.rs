//! Chapter 6: GRPO straight on the base model of chapter 5, DeepSeek-R1-Zero style:
//! the R1-Zero template, rule rewards (accuracy + format), a group baseline instead of
//! a critic, and a k3 KL penalty to the frozen base model.
//!
//! Default: 3 seeds at β = 0.04 on the 3-digit task plus a β sweep, and the same 3 seeds
//! on the 2-digit task as the contrast (there reasoning does not pay), in parallel threads
//! with one intra-op thread each. The lesson (chapters/06-grpo/README.md) explains every
//! number and figure.

use crate::cli::CommonArgs;
use crate::error::{check_range, Error, Result};
use crate::llm::grpo::{check_count, check_work, product, Factor, MAX_BETA, MAX_HELD_OUT, MAX_NEW};
use crate::llm::grpo_experiments::{print_greedy_responses, sweep_betas, BetaStudy, Contrast, StudySettings};
use crate::llm::measures::samples_text;
use crate::llm::task::Task;
use crate::llm::{figures, load_base_or, GrpoFlags, GrpoVariantFlags};
use crate::report::Summary;
use crate::run::{ChapterArgs, RunContext};
use clap::Parser;
use serde::Serialize;
use std::path::PathBuf;

pub const CHAPTER: &str = "ch06-grpo";

/// The largest `--model`: the work budget counts token passes of about the shipped size.
const MAX_MODEL_PARAMS: usize = 2_000_000;

/// The most β values of the sweep.
const MAX_SWEEP: usize = 8;
/// The most token passes of one run (see `check_budget`): about 40 minutes on one core.
const WORK_LIMIT: u64 = 120_000_000;

/// Chapter 6: GRPO with rule rewards on the chapter-5 base model (DeepSeek-R1-Zero style).
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch06-grpo", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    /// The task: add3 (two 3-digit numbers: written steps pay) or add2 (two 2-digit
    /// numbers: the base model adds them in its head) [default: add3, or --model's task]
    #[arg(long, value_enum)]
    pub task: Option<Task>,
    /// A base model to start from (.safetensors with its .json beside it, e.g. from
    /// chapter 5's --pretrain; its vocabulary names its task) [default: the task's shipped one]
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Skip the contrast (the same seeds at --beta on the other task)
    #[arg(long)]
    pub no_contrast: bool,
    #[command(flatten)]
    #[serde(flatten)]
    pub grpo: GrpoFlags,
    #[command(flatten)]
    #[serde(flatten)]
    pub variant: GrpoVariantFlags,
    /// Held-out problems for the before/after evaluation [1, 800]
    #[arg(long, default_value_t = 256)]
    pub final_problems: usize,
    /// Samples per problem in the before/after evaluation (pass@k, maj@k for k = 1..this) [1, 64]
    #[arg(long, default_value_t = 16)]
    pub samples: usize,
    /// β values of the sweep, besides --beta (comma-separated; at most 8, each in [0, 10])
    #[arg(long, value_delimiter = ',', default_values_t = vec![0.0, 0.4])]
    pub sweep_betas: Vec<f64>,
    /// Skip the β sweep
    #[arg(long)]
    pub no_sweep: bool,
    /// Runs in parallel, one intra-op thread each [1, 64]
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
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
            // Small enough for the tests and the course's quick mode (seconds).
            let g = &mut self.grpo;
            g.steps = g.steps.min(6);
            g.prompts = g.prompts.min(6);
            g.group = g.group.min(4);
            g.eval_every = g.eval_every.min(3);
            g.eval_problems = g.eval_problems.min(24);
            g.max_new = g.max_new.min(32);
            self.final_problems = self.final_problems.min(24);
            self.samples = self.samples.min(4);
        }
    }

    fn validate(&self) -> Result<()> {
        self.grpo.validate()?;
        self.variant.validate()?;
        if let Some(b) = self.sweep_betas.iter().find(|b| !(**b >= 0.0 && **b <= MAX_BETA)) {
            return Err(Error::invalid("--sweep-betas", b, "every β must lie in [0, 10]"));
        }
        if self.sweep_betas.len() > MAX_SWEEP {
            let n = format!("{} values", self.sweep_betas.len());
            return Err(Error::invalid("--sweep-betas", n, &format!("list at most {MAX_SWEEP} values")));
        }
        check_count("--final-problems", self.final_problems, 1, MAX_HELD_OUT)?;
        check_count("--samples", self.samples, 1, 64)?;
        check_range("--jobs", self.jobs as f64, 1.0, 64.0)
    }

    /// The run's work, in token passes: every training run samples steps × prompts ×
    /// group responses of up to max_new tokens and passes over them μ + 2 times (the
    /// sampling, the reference model, μ updates); its evaluations and the final ones
    /// add greedy and sampled tokens. The default (3 seeds, 3 βs, the contrast) is about
    /// 32 M token passes, 5 minutes at 2 jobs; the limit, about 4 times that, is about 40
    /// minutes on one core.
    /// One batch holds at most 4096 responses (prompts × group).
    fn check_budget(&self, n_seeds: usize) -> Result<()> {
        let d = <Args as Parser>::parse_from([CHAPTER]);
        let (g, dg) = (&self.grpo, &d.grpo);
        let sweep = sweep_betas(g.beta, &self.sweep_betas, self.no_sweep).len();
        let f = |flag, value, default, lo, hi| Factor { flag, value, default, lo, hi };
        let batch = [f("--prompts", g.prompts, dg.prompts, 1, 1024), f("--group", g.group, dg.group, 2, 256)];
        check_work(&batch, 4096, "a batch's responses (prompts × group)", product)?;
        let factors = [
            f("--seeds", n_seeds, Self::DEFAULT_SEEDS.1, 1, 100),
            f("--sweep-betas", sweep, sweep_betas(dg.beta, &d.sweep_betas, false).len(), 0, MAX_SWEEP),
            f("--steps", g.steps, dg.steps, 1, 10_000),
            f("--prompts", g.prompts, dg.prompts, 1, 1024),
            f("--group", g.group, dg.group, 2, 256),
            f("--mu", g.mu, dg.mu, 1, 64),
            f("--max-new", g.max_new, dg.max_new, 4, MAX_NEW),
            f("--eval-problems", g.eval_problems, dg.eval_problems, 1, MAX_HELD_OUT),
            f("--final-problems", self.final_problems, d.final_problems, 1, MAX_HELD_OUT),
            f("--samples", self.samples, d.samples, 1, 64),
        ];
        let eval_every = g.eval_every;
        let contrast = !self.no_contrast as usize;
        check_work(&factors, WORK_LIMIT, "the run's work in token passes", |v| {
            let [seeds, sweep, steps, prompts, group, mu, max_new, eval_problems, final_problems, samples] = v else {
                return None;
            };
            // The contrast trains the same seeds once more, at the main β.
            let runs = seeds.checked_mul(sweep + 1 + contrast)?;
            let train = product(&[runs, *steps, *prompts, *group, *max_new, mu + 2])?;
            let evals = product(&[runs, steps / eval_every + 1, *eval_problems, *max_new])?;
            let finals = product(&[runs + 1 + contrast, *final_problems, *samples, *max_new])?;
            train.checked_add(evals)?.checked_add(finals)
        })
    }
}

/// Runs the chapter and writes `<out>/ch06-grpo/`.
pub fn run(mut args: Args) -> Result<Summary> {
    let ctx = RunContext::start(&mut args)?;
    let mut summary = ctx.summary(&args);
    let (base, tokenizer) = load_base_or(args.model.as_deref(), args.task, MAX_MODEL_PARAMS)?;
    let task = tokenizer.task();
    let seeds = &ctx.seeds;
    let (name, params, n, beta) = (task.name(), base.n_params(), seeds.len(), args.grpo.beta);
    crate::say!("loaded the base model of the {name} task ({params} parameters); {n} seeds, β = {beta}");

    // The base model's evaluation, the main runs at --beta, then the sweep.
    let settings = StudySettings {
        grpo: &args.grpo,
        variant: &args.variant,
        final_problems: args.final_problems,
        samples: args.samples,
        first_seed: args.common.seed,
        workers: args.jobs,
    };
    let sweep = sweep_betas(args.grpo.beta, &args.sweep_betas, args.no_sweep);
    let study = BetaStudy::run(&settings, &base, &tokenizer, seeds, &sweep)?;
    let problems = task.test_problems(args.final_problems);
    // The contrast: the same seeds and flags on the other task's base model, no sweep.
    let contrast = (!args.no_contrast).then(|| Contrast::run(&settings, task.other(), seeds)).transpose()?;
    summary.figures = figures::grpo_study(&ctx.dir, &study, &args.grpo)?;

    // Before (the base model) and after (median over the main runs' seeds).
    let mut headline = study.headline(&problems, &args.grpo);
    summary.details = study.details(&problems, args.jobs)?;
    if let Some(c) = &contrast {
        summary.figures.extend(figures::contrast(&ctx.dir, (task, &study), (c.task, &c.study))?);
        headline.contrast = Some(c.headline(&args.grpo));
        summary.details["contrast"] = c.details(args.jobs)?;
    }
    summary.set_headline(&headline)?;
    let (before, after) = (study.base_eval(), study.main()[0].eval());
    let header = "Responses to held-out problems (R1-Zero template; prompt abridged)\n\
                  acc = accuracy reward, fmt = format reward; 'after' is the first seed's model\n\n";
    ctx.dir.write("samples.txt", &samples_text(header, &problems, &[("base", before), ("GRPO", after)], 3, 0))?;
    let dir = ctx.finish(&mut summary, &study.metrics(contrast.as_ref().map(|c| &c.study)))?;

    print_greedy_responses(&problems, before, after);
    headline.print();
    crate::say!("\nwrote {} in {:.1} s", dir.display(), summary.wall_time_s);
    Ok(summary)
}
