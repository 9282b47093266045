//! Chapter 5: a small transformer language model, pre-trained as the "base model"
//! that chapter 6 improves with GRPO (as DeepSeek-R1-Zero started from V3-Base).
//!
//! Default: load the shipped base model (assets/models/) and measure it with the
//! R1-Zero template on held-out problems. `--pretrain` rebuilds it from the seed.
//! The lesson (README.md beside this file) explains every number and figure.

use crate::cli::CommonArgs;
use crate::error::{check_min, check_range, Error, Result};
use crate::llm::corpus::{self, MIX};
use crate::llm::pretrain::{self, PretrainConfig, StepLog};
use crate::llm::task::{self, test_problems};
use crate::llm::{checkpoint, evaluate, Evaluation, Gpt, GptConfig, SampleConfig, Tokenizer};
use crate::plot::{self, Band, Bars, CurvePlot};
use crate::report::{print_table, Progress, RunDir, Summary, UntypedMetrics};
use crate::rng;
use clap::Parser;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

pub const CHAPTER: &str = "ch05-language-model";

/// Chapter 5: a small GPT pre-trained on arithmetic text, measured as a base model.
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch05-language-model", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    /// Checkpoint to evaluate (.safetensors, with its .json beside it) [default: the shipped base model]
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Pre-train a new base model from the seed instead of loading one
    #[arg(long)]
    pub pretrain: bool,
    /// With --pretrain: also write the model into assets/models/ (the shipped one)
    #[arg(long)]
    pub write_assets: bool,
    /// Pre-training steps (AdamW updates)
    #[arg(long, default_value_t = 800)]
    pub steps: usize,
    /// Rows per pre-training batch
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Tokens per row
    #[arg(long, default_value_t = 64)]
    pub seq_len: usize,
    /// Peak learning rate, reached after the warm-up
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Learning rate at the end of the cosine decay
    #[arg(long, default_value_t = 3e-4)]
    pub min_lr: f64,
    /// Warm-up steps (linear from 0 to --lr)
    #[arg(long, default_value_t = 50)]
    pub warmup: usize,
    /// AdamW weight decay on the weight matrices
    #[arg(long, default_value_t = 0.1)]
    pub weight_decay: f64,
    /// Share of corpus documents that contain a mistake
    #[arg(long, default_value_t = 0.1)]
    pub noise: f64,
    /// Width of the residual stream d
    #[arg(long, default_value_t = 128)]
    pub d_model: usize,
    /// Attention heads per layer
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Transformer blocks
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Context length in tokens (prompt + response)
    #[arg(long, default_value_t = 64)]
    pub context: usize,
    /// Held-out test problems to evaluate on
    #[arg(long, default_value_t = 256)]
    pub eval_problems: usize,
    /// Samples per problem (pass@k and maj@k for k = 1..this)
    #[arg(long, default_value_t = 16)]
    pub samples: usize,
    /// Sampling temperature of the evaluation
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Sample only among the k most likely tokens (0: all)
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Longest response in tokens
    #[arg(long, default_value_t = 48)]
    pub max_new: usize,
    /// Intra-op threads for candle (1 is as fast on 2 shared cores and reproducible)
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

impl Args {
    fn validate(&self) -> Result<()> {
        check_min("--steps", self.steps, 1)?;
        check_min("--batch", self.batch, 1)?;
        check_min("--seq-len", self.seq_len, 8)?;
        check_range("--lr", self.lr, 1e-8, 1.0)?;
        check_range("--min-lr", self.min_lr, 0.0, self.lr)?;
        check_range("--weight-decay", self.weight_decay, 0.0, 1.0)?;
        check_range("--noise", self.noise, 0.0, 1.0)?;
        check_min("--heads", self.heads, 1)?;
        check_min("--layers", self.layers, 1)?;
        if self.d_model == 0 || self.d_model % self.heads != 0 {
            return Err(Error::invalid("--d-model", self.d_model, "must be a positive multiple of --heads"));
        }
        check_min("--context", self.context, self.seq_len.max(16))?;
        check_min("--eval-problems", self.eval_problems, 1)?;
        check_min("--samples", self.samples, 1)?;
        check_range("--temperature", self.temperature, 1e-3, 10.0)?;
        check_range("--max-new", self.max_new as f64, 1.0, 1000.0)?;
        check_range("--threads", self.threads as f64, 1.0, 64.0)?;
        if self.write_assets && (!self.pretrain || self.common.quick) {
            return Err(Error::invalid("--write-assets", true, "needs --pretrain, and not --quick (a short run)"));
        }
        Ok(())
    }

    fn model_config(&self) -> GptConfig {
        GptConfig {
            vocab_size: Tokenizer::new().vocab_size(),
            context: self.context,
            d_model: self.d_model,
            n_heads: self.heads,
            n_layers: self.layers,
            tied_head: true,
        }
    }

    fn pretrain_config(&self) -> PretrainConfig {
        PretrainConfig {
            steps: self.steps,
            batch: self.batch,
            seq_len: self.seq_len,
            lr: self.lr,
            min_lr: self.min_lr,
            warmup: self.warmup.min(self.steps),
            weight_decay: self.weight_decay,
            noise: self.noise,
        }
    }
}

/// Runs the chapter and writes `<out>/ch05-language-model/`.
pub fn run(mut args: Args) -> Result<Summary> {
    args.validate()?;
    // Before candle starts its thread pools (they read these once).
    for var in ["RAYON_NUM_THREADS", "CANDLE_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, args.threads.to_string());
        }
    }
    let started = Instant::now();
    if args.common.seed_list(1)?.len() > 1 {
        return Err(Error::invalid(
            "--seeds",
            args.common.seeds.unwrap_or(1),
            "chapter 5 makes one model; pick it with --seed",
        ));
    }
    let seed = args.common.seed;
    if args.common.quick {
        // The quick run evaluates the shipped model on fewer problems; pre-training, if
        // asked for, is a short demonstration.
        args.eval_problems = args.eval_problems.min(48);
        args.steps = args.steps.min(40);
        args.warmup = args.warmup.min(10);
    }
    let dir = RunDir::create(&args.common.out, CHAPTER)?;
    let mut summary = Summary::new(CHAPTER, &[seed], args.common.quick, &args);
    let tokenizer = Tokenizer::new();
    let mut figures = Vec::new();
    let mut metrics = UntypedMetrics::new(&["step", "tokens", "loss", "lr", "seconds"]);

    // 1. The base model: pre-trained here, or loaded.
    let (model, log, info) = if args.pretrain {
        let (model, log) = run_pretraining(&args)?;
        let last = log.last().expect("at least one step");
        let info = serde_json::json!({
            "seed": seed, "steps": args.steps, "tokens": last.tokens, "final_loss": smoothed_final_loss(&log),
            "seconds": last.seconds, "pretrain": args.pretrain_config(),
            // The curve travels with the model, so a default run can still draw it.
            "loss_curve": log.iter().map(|s| s.loss).collect::<Vec<_>>(),
        });
        let path = dir.path("base.safetensors");
        checkpoint::save(&model, &tokenizer, info.clone(), &path)?;
        println!("wrote the model to {}", path.display());
        if args.write_assets {
            let shipped = checkpoint::shipped_path();
            checkpoint::save(&model, &tokenizer, info.clone(), &shipped)?;
            println!("and to {} (the shipped base model)", shipped.display());
        }
        (model, log, info)
    } else {
        let path = args.model.clone().unwrap_or_else(checkpoint::shipped_path);
        let (model, meta) = checkpoint::load(&path, &tokenizer)?;
        println!("loaded {} ({} parameters)", path.display(), model.n_params());
        (model, Vec::new(), meta.info)
    };
    for s in &log {
        metrics.push(&[&s.step, &s.tokens, &s.loss, &s.lr, &s.seconds]);
    }

    // 2. Evaluation with the R1-Zero template on held-out problems.
    let problems = test_problems(args.eval_problems);
    let cfg = SampleConfig { temperature: args.temperature, top_k: args.top_k, max_new: args.max_new };
    let eval = evaluate(&model, &tokenizer, &problems, args.samples, &cfg, &mut rng::seeded(seed, 2))?;
    let train_speed = train_tokens_per_s(&model, &args)?;

    // 3. Figures and text outputs.
    let curve = if log.is_empty() { loss_curve_of(&info) } else { log.clone() };
    if !curve.is_empty() {
        figures.extend(figure_loss(&dir, &curve)?);
    }
    figures.extend(figure_pass_maj(&dir, &eval)?);
    figures.extend(figure_lengths(&dir, &eval)?);
    figures.extend(figure_kinds(&dir, &eval, &problems)?);
    dir.write("samples.txt", &samples_text(&problems, &eval))?;
    dir.write("corpus_sample.txt", &corpus_text(args.noise, seed))?;

    // 4. Summary.
    let tokens = info["tokens"].as_u64().unwrap_or(0);
    let final_loss = info["final_loss"].as_f64().unwrap_or(f64::NAN);
    summary.headline("params", model.n_params());
    summary.headline("tokens_seen", tokens);
    summary.headline("final_loss", final_loss);
    summary.headline("pretrain_compute_flops", 6.0 * model.n_params() as f64 * tokens as f64);
    summary.headline("accuracy_greedy", eval.accuracy_greedy);
    summary.headline("format_rate_greedy", eval.format_rate_greedy);
    summary.headline("accuracy_sampled", eval.accuracy_sampled);
    summary.headline("format_rate", eval.format_rate);
    summary.headline("mean_response_length", eval.mean_response_length);
    summary.headline("pass_at_1", eval.pass_at_k[0]);
    summary.headline("pass_at_16", eval.pass_at_k.get(15).copied().unwrap_or(f64::NAN));
    summary.headline("maj_at_16", eval.maj_at_k.get(15).copied().unwrap_or(f64::NAN));
    summary.headline("train_tokens_per_s", train_speed.round());
    summary.headline("sample_tokens_per_s", eval.sample_tokens_per_s.round());
    if let Some(s) = log.last() {
        summary.headline("pretrain_seconds", s.seconds);
    }
    summary.details = serde_json::json!({
        "model_config": model.cfg,
        "checkpoint_info": info,
        "corpus_mix": MIX.iter().map(|(f, w)| (format!("{f:?}"), *w)).collect::<Vec<_>>(),
        "evaluation": eval,
        "test_problems": problems.len(),
    });
    summary.figures = figures;
    summary.wall_time_s = started.elapsed().as_secs_f64();
    metrics.write(&dir)?;
    summary.write(&dir)?;
    print_results(&summary, &eval, &problems);
    println!("\nwrote {}", dir.dir.display());
    Ok(summary)
}

fn run_pretraining(args: &Args) -> Result<(Gpt, Vec<StepLog>)> {
    let cfg = args.pretrain_config();
    let mut progress = Progress::new("pre-training", cfg.steps);
    let mut last_print = Instant::now();
    let quiet = !std::io::IsTerminal::is_terminal(&std::io::stdout());
    let out = pretrain::pretrain(&args.model_config(), &cfg, &MIX, args.common.seed, |s| {
        progress.update(s.step, || format!("step {} loss {:.3} lr {:.1e}", s.step, s.loss, s.lr));
        if quiet && (last_print.elapsed().as_secs() >= 20 || s.step == cfg.steps) {
            println!("  pre-training step {}/{}: loss {:.3}, {:.0} s", s.step, cfg.steps, s.loss, s.seconds);
            last_print = Instant::now();
        }
    })?;
    progress.finish();
    Ok(out)
}

/// The pre-training record stored in a checkpoint's JSON (empty if it has none).
fn loss_curve_of(info: &serde_json::Value) -> Vec<StepLog> {
    let per_step = info["pretrain"]["batch"].as_u64().unwrap_or(0) * info["pretrain"]["seq_len"].as_u64().unwrap_or(0);
    let losses = info["loss_curve"].as_array().cloned().unwrap_or_default();
    losses
        .iter()
        .enumerate()
        .map(|(i, l)| StepLog {
            step: i + 1,
            loss: l.as_f64().unwrap_or(f64::NAN),
            lr: f64::NAN,
            tokens: (i + 1) * per_step as usize,
            seconds: f64::NAN,
        })
        .collect()
}

/// The mean loss of the last 10% of steps (a single batch is noisy).
fn smoothed_final_loss(log: &[StepLog]) -> f64 {
    let n = (log.len() / 10).max(1);
    log[log.len() - n..].iter().map(|s| s.loss).sum::<f64>() / n as f64
}

/// Training throughput: a few forward + backward passes of a full batch.
fn train_tokens_per_s(model: &Gpt, args: &Args) -> Result<f64> {
    let c = |e: candle_core::Error| Error::invalid("speed measurement", e, "candle failed");
    let tokenizer = Tokenizer::new();
    let mut r = rng::seeded(args.common.seed, 3);
    let rows = (0..args.batch)
        .map(|_| corpus::row(&tokenizer, &MIX, args.noise, args.seq_len + 1, &mut r))
        .collect::<Result<Vec<_>>>()?;
    let reps = if args.common.quick { 2 } else { 4 };
    let t = Instant::now();
    for _ in 0..reps {
        pretrain::lm_loss(model, &rows).map_err(c)?.backward().map_err(c)?;
    }
    Ok((reps * args.batch * args.seq_len) as f64 / t.elapsed().as_secs_f64())
}

fn figure_loss(dir: &RunDir, log: &[StepLog]) -> Result<Vec<String>> {
    let x: Vec<f64> = log.iter().map(|s| s.tokens as f64 / 1e6).collect();
    let plot = CurvePlot {
        title: "Pre-training: next-token cross-entropy".into(),
        x_label: "tokens seen (millions)".into(),
        y_label: "loss (nats per token)".into(),
        log_y: false,
        bands: vec![Band {
            label: "training batch loss (moving average of 10 steps)".into(),
            x,
            runs: vec![log.iter().map(|s| s.loss).collect()],
        }],
        hlines: vec![],
        smooth: 10,
    };
    Ok(plot::curves(&dir.path("pretrain_loss"), &plot)?)
}

fn figure_pass_maj(dir: &RunDir, eval: &Evaluation) -> Result<Vec<String>> {
    let x: Vec<f64> = (1..=eval.samples_per_problem).map(|k| k as f64).collect();
    let plot = CurvePlot {
        title: format!("Base model on {} held-out problems: pass@k and maj@k", eval.problems),
        x_label: "k (samples per problem)".into(),
        y_label: "share of problems solved".into(),
        log_y: false,
        bands: vec![
            Band { label: "pass@k: some sample is right".into(), x: x.clone(), runs: vec![eval.pass_at_k.clone()] },
            Band { label: "maj@k: the most common answer is right".into(), x, runs: vec![eval.maj_at_k.clone()] },
        ],
        hlines: vec![(eval.accuracy_greedy, "greedy accuracy".into())],
        smooth: 1,
    };
    Ok(plot::curves(&dir.path("pass_maj_at_k"), &plot)?)
}

fn figure_lengths(dir: &RunDir, eval: &Evaluation) -> Result<Vec<String>> {
    // Response lengths in bins of 4 tokens, as a share of samples.
    let width = 4;
    let max = eval.lengths.iter().copied().max().unwrap_or(0);
    let bins = max / width + 1;
    let mut counts = vec![0.0; bins];
    for &l in &eval.lengths {
        counts[l / width] += 1.0 / eval.lengths.len() as f64;
    }
    let bars = Bars {
        title: format!("Base model: length of {} sampled responses", eval.lengths.len()),
        x_label: "response length (tokens)".into(),
        y_label: "share of responses".into(),
        categories: (0..bins).map(|b| format!("{}-{}", b * width, b * width + width - 1)).collect(),
        values: counts,
        errors: None,
    };
    Ok(plot::bars(&dir.path("response_lengths"), &bars)?)
}

/// The shape of a response, by the corpus form it resembles.
fn kind(text: &str) -> &'static str {
    let t = text.trim();
    let think = t.split("</think>").next().unwrap_or("");
    if task::format_ok(t) {
        // Written steps have at least two equations inside <think>; one-shot has one.
        if think.matches('=').count() >= 2 {
            "<think> steps </think> <answer>"
        } else {
            "<think> one-shot </think> <answer>"
        }
    } else if t.starts_with("<think>") && !t.contains("<answer>") {
        "<think> without <answer>"
    } else if t.starts_with("<answer>") {
        "<answer> only"
    } else if t.starts_with("The answer is") && !t.contains('<') {
        "plain text"
    } else {
        "other"
    }
}

fn figure_kinds(dir: &RunDir, eval: &Evaluation, problems: &[task::Problem]) -> Result<Vec<String>> {
    let kinds = [
        "plain text",
        "<answer> only",
        "<think> one-shot </think> <answer>",
        "<think> steps </think> <answer>",
        "<think> without <answer>",
        "other",
    ];
    let n = eval.sampled.texts.len() as f64;
    let mut share = vec![0.0; kinds.len()];
    let mut right = vec![0.0; kinds.len()];
    for (text, &p) in eval.sampled.texts.iter().zip(&eval.sampled.prompt) {
        let k = kinds.iter().position(|&k| k == kind(text)).unwrap_or(kinds.len() - 1);
        share[k] += 1.0 / n;
        // "Right" by the number (in the tags, else the last number), to show what the format costs.
        let last_number = text.split(|c: char| !c.is_ascii_digit()).rfind(|w| !w.is_empty());
        let number = task::extract_answer(text).or(last_number);
        right[k] += (number == Some(problems[p].answer().to_string().as_str())) as u8 as f64;
    }
    let count: Vec<f64> = share.iter().map(|s| s * n).collect();
    let mut figs = plot::bars(
        &dir.path("response_kinds"),
        &Bars {
            title: format!("Base model: what {} sampled responses look like", eval.sampled.texts.len()),
            x_label: "response form (format reward 1 only for the two <think> ... <answer> forms)".into(),
            y_label: "share of responses".into(),
            categories: kinds.iter().map(|k| k.to_string()).collect(),
            values: share,
            errors: None,
        },
    )?;
    figs.extend(plot::bars(
        &dir.path("correct_by_kind"),
        &Bars {
            title: "Base model: is the number right? (tags or not), by response form".into(),
            x_label: "response form".into(),
            y_label: "share with the right number".into(),
            categories: kinds.iter().map(|k| k.to_string()).collect(),
            values: right.iter().zip(&count).map(|(r, c)| if *c > 0.0 { r / c } else { 0.0 }).collect(),
            errors: None,
        },
    )?);
    Ok(figs)
}

/// Greedy and sampled responses to the first problems, with their rewards.
fn samples_text(problems: &[task::Problem], eval: &Evaluation) -> String {
    let mut s = String::from("Base model responses to held-out problems (R1-Zero template; prompt abridged)\n");
    s.push_str("acc = accuracy reward, fmt = format reward\n\n");
    for (p, problem) in problems.iter().enumerate().take(8) {
        s.push_str(&format!("User: {}. Assistant:   (answer {})\n", problem.question(), problem.answer()));
        let mut line = |kind: &str, text: &str| {
            let (a, f) = (task::accuracy_reward(text, problem), task::format_reward(text));
            s.push_str(&format!("  [{kind:7} acc {a} fmt {f}]{text}\n"));
        };
        line("greedy", &eval.greedy.texts[p]);
        for i in 0..eval.samples_per_problem.min(6) {
            line("sampled", &eval.sampled.texts[p * eval.samples_per_problem + i]);
        }
        s.push('\n');
    }
    s
}

/// A few training documents, to show the corpus mix.
fn corpus_text(noise: f64, seed: u64) -> String {
    let mut r = rng::seeded(seed, 4);
    let mut s = String::from("Pre-training documents (the template's fixed text shown as <template> ... User:)\n\n");
    for (form, weight) in MIX {
        s.push_str(&format!("{form:?} ({:.0}% of documents)\n", 100.0 * weight));
        for _ in 0..3 {
            let doc = corpus::document(form, noise, &mut r).replace(task::TEMPLATE_PREFIX, "<template> ... User: ");
            s.push_str(&format!("  {doc}\n"));
        }
    }
    s
}

fn print_results(summary: &Summary, eval: &Evaluation, problems: &[task::Problem]) {
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
