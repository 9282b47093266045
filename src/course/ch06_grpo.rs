//! Chapter 6: GRPO straight on the base model of chapter 5, DeepSeek-R1-Zero style:
//! the R1-Zero template, rule rewards (accuracy + format), a group baseline instead of
//! a critic, and a k3 KL penalty to the frozen base model.
//!
//! Default: 3 seeds at β = 0.04 plus a β sweep, in parallel threads with one intra-op
//! thread each. The lesson (chapters/06-grpo/README.md) explains every number and figure.

use crate::cli::CommonArgs;
use crate::error::{check_min, check_range, Error, Result};
use crate::llm::grpo_experiments::{print_greedy_responses, sweep_betas, BetaStudy, StudySettings};
use crate::llm::measures::samples_text;
use crate::llm::task::test_problems;
use crate::llm::{figures, load_base, GrpoFlags, GrpoVariantFlags};
use crate::report::Summary;
use crate::run::{ChapterArgs, RunContext};
use clap::Parser;
use serde::Serialize;

pub const CHAPTER: &str = "ch06-grpo";

/// Chapter 6: GRPO with rule rewards on the chapter-5 base model (DeepSeek-R1-Zero style).
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch06-grpo", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub grpo: GrpoFlags,
    #[command(flatten)]
    #[serde(flatten)]
    pub variant: GrpoVariantFlags,
    /// Held-out problems for the before/after evaluation
    #[arg(long, default_value_t = 256)]
    pub final_problems: usize,
    /// Samples per problem in the before/after evaluation (pass@k, maj@k for k = 1..this)
    #[arg(long, default_value_t = 16)]
    pub samples: usize,
    /// β values of the sweep, besides --beta (comma-separated)
    #[arg(long, value_delimiter = ',', default_values_t = vec![0.0, 0.4])]
    pub sweep_betas: Vec<f64>,
    /// Skip the β sweep
    #[arg(long)]
    pub no_sweep: bool,
    /// Runs in parallel, one intra-op thread each
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
        if self.common.quick {
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
        if let Some(b) = self.sweep_betas.iter().find(|b| !(**b >= 0.0 && b.is_finite())) {
            return Err(Error::invalid("--sweep-betas", b, "every β must be 0 or positive"));
        }
        check_min("--final-problems", self.final_problems, 1)?;
        check_min("--samples", self.samples, 1)?;
        check_range("--jobs", self.jobs as f64, 1.0, 64.0)
    }
}

/// Runs the chapter and writes `<out>/ch06-grpo/`.
pub fn run(mut args: Args) -> Result<Summary> {
    let ctx = RunContext::start(&mut args)?;
    let mut summary = ctx.summary(&args);
    let (base, tokenizer) = load_base()?;
    let seeds = &ctx.seeds;
    crate::say!(
        "loaded the base model ({} parameters); {} seeds, β = {}",
        base.n_params(),
        seeds.len(),
        args.grpo.beta
    );

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
    let problems = test_problems(args.final_problems);
    summary.figures = figures::grpo_study(&ctx.dir, &study, &args.grpo)?;

    // Before (the base model) and after (median over the main runs' seeds).
    let headline = study.headline(&problems, &args.grpo);
    summary.set_headline(&headline)?;
    summary.details = study.details(&problems, args.jobs)?;
    let (before, after) = (study.base_eval(), study.main()[0].eval());
    let header = "Responses to held-out problems (R1-Zero template; prompt abridged)\n\
                  acc = accuracy reward, fmt = format reward; 'after' is the first seed's model\n\n";
    ctx.dir.write("samples.txt", &samples_text(header, &problems, &[("base", before), ("GRPO", after)], 3, 0))?;
    let dir = ctx.finish(&mut summary, &study.metrics())?;

    print_greedy_responses(&problems, before, after);
    headline.print();
    crate::say!("\nwrote {} in {:.1} s", dir.display(), summary.wall_time_s);
    Ok(summary)
}
