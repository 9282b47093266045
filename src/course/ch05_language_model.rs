//! Chapter 5: a small transformer language model, pre-trained as the "base model"
//! that chapter 6 improves with GRPO (as DeepSeek-R1-Zero started from V3-Base).
//!
//! Default: load the shipped base model of the 3-digit task (assets/models/) and measure
//! it with the R1-Zero template on held-out problems. `--pretrain` rebuilds it from the
//! seed; `--task add2` does both for the 2-digit task (chapter 6's contrast).
//! The lesson (README.md beside this file) explains every number and figure.

use crate::cli::CommonArgs;
use crate::error::{check_range, Error, Result};
use crate::llm::base_model::{corpus_text, samples_text, BaseModel, BaseModelHeadline, EvalArgs, MAX_EVAL_PROBLEMS};
use crate::llm::eval::Evaluation;
use crate::llm::model::GptArgs;
use crate::llm::pretrain::{self, PretrainConfig, PretrainStepLog};
use crate::llm::{base_model_figures, checkpoint, lm_budget, task::Problem, Task, Tokenizer};
use crate::report::{print_table, Metrics, Summary};
use crate::rng;
use crate::run::{ChapterArgs, RunContext};
use clap::Parser;
use serde::Serialize;
use std::path::PathBuf;

pub const CHAPTER: &str = "ch05-language-model";

/// Chapter 5: a small GPT pre-trained on arithmetic text, measured as a base model.
#[derive(Parser, Debug, Clone, Serialize)]
// The default seed is 2: the seed of the shipped base model, so that `--pretrain`
// alone rebuilds it byte for byte (the lesson says how other seeds come out).
#[command(name = "ch05-language-model", version, allow_negative_numbers = true)]
#[command(mut_arg("seed", |a| a.default_value("2")))]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    /// The task: add3 (two 3-digit numbers) or add2 (two 2-digit numbers, the contrast)
    #[arg(long, value_enum, default_value_t = Task::Add3)]
    pub task: Task,
    /// Checkpoint to evaluate (.safetensors, with its .json beside it; its vocabulary
    /// names its task) [default: the task's shipped base model]
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Pre-train a new base model from the seed instead of loading one
    #[arg(long)]
    pub pretrain: bool,
    /// With --pretrain: also write the model into assets/models/ (the task's shipped one)
    #[arg(long)]
    pub write_assets: bool,
    #[command(flatten)]
    #[serde(flatten)]
    pub training: PretrainConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub shape: GptArgs,
    #[command(flatten)]
    #[serde(flatten)]
    pub eval: EvalArgs,
    /// Intra-op threads for candle (1 is as fast on 2 shared cores and reproducible) [1, 64]
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

impl ChapterArgs for Args {
    const CHAPTER: &'static str = CHAPTER;
    const DEFAULT_SEEDS: (usize, usize) = (1, 1);

    fn common(&self) -> &CommonArgs {
        &self.common
    }

    fn intra_op_threads(&self) -> usize {
        self.threads
    }

    fn prepare(&mut self) {
        if self.common.quick {
            // The quick run evaluates the shipped model on fewer problems; pre-training,
            // if asked for, is a short demonstration.
            // A value out of its range is left as given, for validate() to refuse.
            let clamp = |v: &mut usize, quick: usize, max: usize| {
                if *v <= max {
                    *v = (*v).min(quick);
                }
            };
            clamp(&mut self.eval.eval_problems, 48, MAX_EVAL_PROBLEMS);
            clamp(&mut self.training.steps, 40, pretrain::MAX_STEPS);
            clamp(&mut self.training.warmup, 10, pretrain::MAX_STEPS);
        }
    }

    fn validate(&self) -> Result<()> {
        self.training.validate()?;
        if self.training.seq_len > self.shape.context && self.shape.context == 80 {
            // --seq-len was given (--context is at its default): name it, not --context.
            let why =
                format!("must fit in --context ({}); raise --context with it (range [8, 1024])", self.shape.context);
            return Err(Error::invalid("--seq-len", self.training.seq_len, &why));
        }
        self.shape.validate(self.training.seq_len)?;
        self.eval.validate()?;
        check_range("--threads", self.threads as f64, 1.0, 64.0)?;
        if self.write_assets && (!self.pretrain || self.common.quick) {
            return Err(Error::invalid("--write-assets", true, "needs --pretrain, and not --quick (a short run)"));
        }
        if self.model.is_some() && self.pretrain {
            return Err(Error::invalid("--model", "given", "--pretrain makes a new model; pass one of the two"));
        }
        if self.common.seed_list(1)?.len() > 1 {
            let seeds = self.common.seeds.unwrap_or(1);
            return Err(Error::invalid("--seeds", seeds, "chapter 5 makes one model; pick it with --seed"));
        }
        Ok(())
    }

    /// Bounds the products of flags: pre-training compute (6·params·steps·batch·seq_len),
    /// a training step's memory (batch × seq_len × width × layers, also the speed
    /// measurement's), the evaluation's generated tokens and its KV cache.
    fn check_budget(&self, _n_seeds: usize) -> Result<()> {
        lm_budget::check_budget(&self.training, &self.shape, &self.eval, self.pretrain)
    }
}

/// Runs the chapter and writes `<out>/ch05-language-model/`.
pub fn run(mut args: Args) -> Result<Summary> {
    let ctx = RunContext::start(&mut args)?;
    let seed = args.common.seed;
    let mut summary = ctx.summary(&args);

    // 1. The base model: pre-trained here (weights from stream 0, corpus from 1), or loaded.
    let base = if args.pretrain {
        let tokenizer = Tokenizer::for_task(args.task);
        let shape = args.shape.config(tokenizer.vocab_size());
        BaseModel::pretrain(&shape, &args.training, tokenizer, seed, &ctx.dir, args.write_assets)?
    } else {
        let path = args.model.clone().unwrap_or_else(|| checkpoint::shipped_path(args.task));
        let base = BaseModel::load(&path)?;
        lm_budget::check_loaded(&path, &base.model.cfg, &args.training, &args.eval)?;
        base
    };
    let mut metrics = Metrics::<PretrainStepLog>::new();
    base.log.iter().for_each(|s| metrics.push(s));

    // 2. Evaluation with the R1-Zero template on held-out problems (stream 2), and the
    //    training throughput on a batch from the corpus (stream 3).
    let tokenizer = &base.tokenizer;
    let (problems, eval) = args.eval.evaluate(&base.model, tokenizer, &mut rng::seeded(seed, 2))?;
    let reps = if ctx.quick { 2 } else { 4 };
    let train_speed =
        pretrain::train_tokens_per_s(&base.model, &args.training, tokenizer, reps, &mut rng::seeded(seed, 3))?;

    // 3. Figures and text outputs (the corpus sample from stream 4).
    summary.figures = base_model_figures::draw_all(&ctx.dir, &base, &eval, &problems)?;
    ctx.dir.write("samples.txt", &samples_text(&problems, &eval))?;
    ctx.dir
        .write("corpus_sample.txt", &corpus_text(tokenizer.task(), args.training.noise, &mut rng::seeded(seed, 4)))?;

    // 4. Summary.
    summary.set_headline(&BaseModelHeadline::new(&base, &eval, &problems, train_speed))?;
    summary.details = base.details(&eval, &problems);
    let dir = ctx.finish(&mut summary, &metrics)?;
    print_results(&summary, &eval, &problems);
    crate::say!("\nwrote {}", dir.display());
    Ok(summary)
}

fn print_results(summary: &Summary, eval: &Evaluation, problems: &[Problem]) {
    let rows: Vec<Vec<String>> = problems
        .iter()
        .enumerate()
        .take(4)
        .map(|(p, pr)| {
            vec![pr.question(), eval.greedy.texts[p].clone(), eval.sampled.texts[p * eval.samples_per_problem].clone()]
        })
        .collect();
    print_table("Sample responses (held-out problems)", &["question", "greedy", "sampled (T = 1)"], &rows);
    summary.print_headline(
        "Headline",
        &[
            "params",
            "tokens_seen",
            "final_loss",
            "accuracy_greedy",
            "format_rate_greedy",
            "number_accuracy_greedy",
            "accuracy_sampled",
            "format_rate",
            "mean_response_length",
            "pass_at_16",
            "maj_at_16",
            "train_tokens_per_s",
            "sample_tokens_per_s",
        ],
    );
}
