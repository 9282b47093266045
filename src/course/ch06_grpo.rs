//! Chapter 6: GRPO straight on the base model of chapter 5, DeepSeek-R1-Zero style:
//! the R1-Zero template, rule rewards (accuracy + format), a group baseline instead of
//! a critic, and a k3 KL penalty to the frozen base model.
//!
//! Default: 3 seeds at β = 0.04 plus a β sweep, in parallel threads with one intra-op
//! thread each. The lesson (README.md beside this file) explains every number and figure.

use crate::cli::CommonArgs;
use crate::error::{check_min, check_range, Error, Result};
use crate::llm::grpo::{self, number_answer, writes_steps, StepLog};
use crate::llm::task::{self, test_problems, Problem};
use crate::llm::{evaluate, load_base, Aggregation, Evaluation, Gpt, GrpoConfig, LossConfig, SampleConfig, Tokenizer};
use crate::plot::{self, Band, Bars, CurvePlot};
use crate::report::{print_table, Progress, RunDir, Summary, UntypedMetrics};
use crate::{rng, stats};
use clap::Parser;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub const CHAPTER: &str = "ch06-grpo";

/// Chapter 6: GRPO with rule rewards on the chapter-5 base model (DeepSeek-R1-Zero style).
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch06-grpo", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
    /// GRPO steps (each samples prompts × group responses)
    #[arg(long, default_value_t = 90)]
    pub steps: usize,
    /// Prompts (questions) per step
    #[arg(long, default_value_t = 16)]
    pub prompts: usize,
    /// Responses per prompt, the group size G (at least 2)
    #[arg(long, default_value_t = 8)]
    pub group: usize,
    /// AdamW learning rate
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Weight β of the k3 KL penalty to the reference (base) model
    #[arg(long, default_value_t = 0.04)]
    pub beta: f64,
    /// Clip range ε of the ratio π_θ / π_θold
    #[arg(long, default_value_t = 0.2)]
    pub clip_eps: f64,
    /// ε added to the group's std in the advantage
    #[arg(long, default_value_t = 1e-4)]
    pub adv_eps: f64,
    /// Gradient updates per sampled batch, μ (>1 makes the ratio and the clip matter)
    #[arg(long, default_value_t = 1)]
    pub mu: usize,
    /// How per-token terms are averaged: sequence (GRPO), token (DAPO), constant (Dr. GRPO)
    #[arg(long, value_enum, default_value_t = Aggregation::Sequence)]
    pub aggregation: Aggregation,
    /// Sampling temperature during training and evaluation
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Sample only among the k most likely tokens (0: all)
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Longest response in tokens (also Dr. GRPO's constant divisor)
    #[arg(long, default_value_t = 40)]
    pub max_new: usize,
    /// Held-out greedy evaluation every this many steps
    #[arg(long, default_value_t = 5)]
    pub eval_every: usize,
    /// Held-out problems for the evaluation during training
    #[arg(long, default_value_t = 128)]
    pub eval_problems: usize,
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

impl Args {
    fn validate(&self) -> Result<()> {
        check_min("--steps", self.steps, 1)?;
        check_min("--prompts", self.prompts, 1)?;
        if self.group < 2 {
            return Err(Error::invalid("--group", self.group, "must be at least 2: the baseline is the group's mean"));
        }
        if !(self.lr > 0.0 && self.lr <= 1.0) {
            return Err(Error::invalid("--lr", self.lr, "must lie in (0, 1]"));
        }
        if !(self.beta >= 0.0 && self.beta.is_finite()) {
            return Err(Error::invalid("--beta", self.beta, "must be 0 or positive"));
        }
        if let Some(b) = self.sweep_betas.iter().find(|b| !(**b >= 0.0 && b.is_finite())) {
            return Err(Error::invalid("--sweep-betas", b, "every β must be 0 or positive"));
        }
        if !(self.clip_eps > 0.0 && self.clip_eps < 1.0) {
            return Err(Error::invalid("--clip-eps", self.clip_eps, "must lie in (0, 1)"));
        }
        if !(self.adv_eps > 0.0 && self.adv_eps <= 1.0) {
            return Err(Error::invalid("--adv-eps", self.adv_eps, "must lie in (0, 1]"));
        }
        check_min("--mu", self.mu, 1)?;
        check_range("--temperature", self.temperature, 1e-3, 10.0)?;
        // The longest prompt is 9 tokens and the context 64.
        check_range("--max-new", self.max_new as f64, 4.0, 55.0)?;
        check_min("--eval-every", self.eval_every, 1)?;
        check_min("--eval-problems", self.eval_problems, 1)?;
        check_min("--final-problems", self.final_problems, 1)?;
        check_min("--samples", self.samples, 1)?;
        check_range("--jobs", self.jobs as f64, 1.0, 64.0)?;
        Ok(())
    }

    fn grpo_config(&self, beta: f64) -> GrpoConfig {
        GrpoConfig {
            steps: self.steps,
            prompts: self.prompts,
            group: self.group,
            lr: self.lr,
            adv_eps: self.adv_eps,
            mu: self.mu,
            loss: LossConfig { clip_eps: self.clip_eps, beta, aggregation: self.aggregation, max_len: self.max_new },
            sample: self.sample_config(),
            eval_every: self.eval_every,
            eval_problems: self.eval_problems,
        }
    }

    fn sample_config(&self) -> SampleConfig {
        SampleConfig { temperature: self.temperature, top_k: self.top_k, max_new: self.max_new }
    }
}

/// One unit of work for the pool: the base model's evaluation or a GRPO run.
#[derive(Clone, Copy, Debug)]
enum Job {
    Base,
    Train { beta: f64, seed: u64, main: bool },
}

/// What a job returns. `eval` is the before/after evaluation (main runs and the base).
struct Outcome {
    job: Job,
    log: Vec<StepLog>,
    eval: Option<Evaluation>,
    seconds: f64,
}

/// Runs the chapter and writes `<out>/ch06-grpo/`.
pub fn run(mut args: Args) -> Result<Summary> {
    args.validate()?;
    // When called from the course binary, main() above did not run: the same default.
    crate::nn::one_thread_per_run();
    let started = Instant::now();
    if args.common.quick {
        // Small enough for the tests and the course's quick mode (seconds).
        args.steps = args.steps.min(6);
        args.prompts = args.prompts.min(6);
        args.group = args.group.min(4);
        args.eval_every = args.eval_every.min(3);
        args.eval_problems = args.eval_problems.min(24);
        args.final_problems = args.final_problems.min(24);
        args.samples = args.samples.min(4);
        args.max_new = args.max_new.min(32);
    }
    let seeds = args.common.seed_list(if args.common.quick { 1 } else { 3 })?;
    let dir = RunDir::create(&args.common.out, CHAPTER)?;
    let mut summary = Summary::new(CHAPTER, &seeds, args.common.quick, &args);
    let (base, tokenizer) = load_base()?;
    println!("loaded the base model ({} parameters); {} seeds, β = {}", base.n_params(), seeds.len(), args.beta);

    // The work list: the base model's evaluation, the main runs, then the sweep.
    let mut jobs = vec![Job::Base];
    jobs.extend(seeds.iter().map(|&seed| Job::Train { beta: args.beta, seed, main: true }));
    let sweep: Vec<f64> = if args.no_sweep {
        Vec::new()
    } else {
        let mut b: Vec<f64> = args.sweep_betas.iter().copied().filter(|b| *b != args.beta).collect();
        b.dedup();
        b
    };
    for &beta in &sweep {
        jobs.extend(seeds.iter().map(|&seed| Job::Train { beta, seed, main: false }));
    }
    let outcomes = run_jobs(&args, &base, &tokenizer, &jobs)?;
    let base_eval = outcomes[0].eval.clone().expect("the base job evaluates");
    let main: Vec<&Outcome> = outcomes.iter().filter(|o| matches!(o.job, Job::Train { main: true, .. })).collect();
    let problems = test_problems(args.final_problems);

    // Figures.
    let mut figures = Vec::new();
    figures.extend(figure_training(&dir, &args, &main)?);
    figures.extend(figure_length(&dir, &main)?);
    figures.extend(figure_pass_maj(&dir, &base_eval, &main)?);
    figures.extend(figure_forms(&dir, &base_eval, &main, &problems)?);
    let mut betas = vec![args.beta];
    betas.extend(&sweep);
    betas.sort_by(f64::total_cmp);
    if betas.len() > 1 {
        figures.extend(figure_beta_sweep(&dir, &outcomes, &betas)?);
    }

    // metrics.csv: one row per step per run.
    let mut metrics = UntypedMetrics::new(&[
        "experiment",
        "beta",
        "seed",
        "step",
        "reward",
        "accuracy_reward",
        "format_reward",
        "kl",
        "length",
        "clip_fraction",
        "zero_spread",
        "writes_steps",
        "number_right",
        "loss",
        "heldout_accuracy",
        "heldout_format",
        "sample_s",
        "score_s",
        "update_s",
        "tokens",
    ]);
    for o in &outcomes {
        if let Job::Train { beta, seed, main } = o.job {
            let exp = if main { "main" } else { "beta_sweep" };
            for s in &o.log {
                let (ha, hf) = (s.heldout_accuracy.unwrap_or(f64::NAN), s.heldout_format.unwrap_or(f64::NAN));
                metrics.push(&[
                    &exp,
                    &beta,
                    &seed,
                    &s.step,
                    &s.reward,
                    &s.accuracy_reward,
                    &s.format_reward,
                    &s.kl,
                    &s.length,
                    &s.clip_fraction,
                    &s.zero_spread,
                    &s.writes_steps,
                    &s.number_right,
                    &s.loss,
                    &ha,
                    &hf,
                    &s.sample_s,
                    &s.score_s,
                    &s.update_s,
                    &s.tokens,
                ]);
            }
        }
    }

    // Headline: before (the base model) and after (median over the main runs' seeds).
    let before = Measures::of(&base_eval, &problems);
    let after: Vec<Measures> =
        main.iter().map(|o| Measures::of(o.eval.as_ref().expect("main runs evaluate"), &problems)).collect();
    let med = |f: Measure| stats::median(&after.iter().map(f).collect::<Vec<_>>());
    let pairs: [(&str, Measure); 13] = [
        ("accuracy", |m| m.accuracy_greedy),
        ("format_rate", |m| m.format_rate),
        ("format_rate_greedy", |m| m.format_rate_greedy),
        ("accuracy_sampled", |m| m.accuracy_sampled),
        ("number_accuracy_greedy", |m| m.number_greedy),
        ("number_accuracy_sampled", |m| m.number_sampled),
        ("accuracy_among_formatted", |m| m.accuracy_among_formatted),
        ("writes_steps", |m| m.writes_steps),
        ("maj_at_16", |m| m.maj_at_16),
        ("pass_at_1", |m| m.pass_at_1),
        ("pass_at_16", |m| m.pass_at_16),
        ("mean_length", |m| m.mean_length),
        ("mentions_so_or_carry", |m| m.so_or_carry),
    ];
    for (key, f) in pairs {
        summary.headline(&format!("{key}_before"), f(&before));
        summary.headline(&format!("{key}_after"), med(f));
    }
    let last_kl = |o: &Outcome| {
        let train: Vec<f64> = o.log.iter().filter(|s| s.tokens > 0).map(|s| s.kl).collect();
        stats::mean(&train[train.len().saturating_sub(5)..])
    };
    let per_step = |o: &Outcome, f: fn(&StepLog) -> f64| {
        let v: Vec<f64> = o.log.iter().filter(|s| s.tokens > 0).map(f).collect();
        stats::mean(&v)
    };
    let med_main = |f: &dyn Fn(&Outcome) -> f64| stats::median(&main.iter().map(|o| f(o)).collect::<Vec<_>>());
    summary.headline("final_kl", med_main(&last_kl));
    summary.headline("steps", args.steps);
    let (sample_s, score_s, update_s) = (
        med_main(&|o| per_step(o, |s| s.sample_s)),
        med_main(&|o| per_step(o, |s| s.score_s)),
        med_main(&|o| per_step(o, |s| s.update_s)),
    );
    summary.headline("seconds_per_step", sample_s + score_s + update_s);
    summary.headline("sample_seconds_per_step", sample_s);
    summary.headline("score_seconds_per_step", score_s);
    summary.headline("update_seconds_per_step", update_s);
    let tokens = med_main(&|o| per_step(o, |s| s.tokens as f64));
    summary.headline("sample_tokens_per_s", (tokens / sample_s).round());
    summary.headline("update_tokens_per_s", (tokens * args.mu as f64 / update_s).round());
    summary.headline("seconds_per_run", med_main(&|o| o.seconds));
    let first_step_at = |o: &Outcome, acc: f64| {
        o.log.iter().find(|s| s.heldout_accuracy.is_some_and(|a| a >= acc)).map_or(f64::NAN, |s| s.step as f64)
    };
    summary.headline(
        "steps_to_heldout_accuracy_0_9",
        stats::median_missing_high(&main.iter().map(|o| first_step_at(o, 0.9)).collect::<Vec<_>>()),
    );
    let sweep_rows = sweep_table(&outcomes, &betas);
    for (beta, kl, acc, fmt) in &sweep_rows {
        summary.headline(&format!("beta_{beta}_final_kl"), kl);
        summary.headline(&format!("beta_{beta}_heldout_accuracy"), acc);
        summary.headline(&format!("beta_{beta}_heldout_format"), fmt);
    }
    summary.details = serde_json::json!({
        "before": before,
        "after_per_seed": after,
        "evaluation_before": base_eval,
        "evaluation_after_per_seed": main.iter().map(|o| o.eval.clone()).collect::<Vec<_>>(),
        "beta_sweep": sweep_rows.iter().map(|(b, kl, a, f)| serde_json::json!({"beta": b, "final_kl": kl, "heldout_accuracy": a, "heldout_format": f})).collect::<Vec<_>>(),
        "run_seconds": outcomes.iter().map(|o| (format!("{:?}", o.job), o.seconds)).collect::<Vec<_>>(),
        "jobs": args.jobs,
        "note": "seconds are per run, each on one core, runs in parallel; per-step times are medians over the main runs' seeds",
    });
    dir.write("samples.txt", &samples_text(&problems, &base_eval, main[0].eval.as_ref().expect("evaluated")))?;
    summary.figures = figures;
    summary.wall_time_s = started.elapsed().as_secs_f64();
    metrics.write(&dir)?;
    summary.write(&dir)?;
    print_results(&summary, &problems, &base_eval, main[0].eval.as_ref().expect("evaluated"));
    println!("\nwrote {} in {:.1} s", dir.dir.display(), summary.wall_time_s);
    Ok(summary)
}

/// Runs the jobs on `args.jobs` threads; the results come back in job order, so the
/// numbers do not depend on which thread finished first.
fn run_jobs(args: &Args, base: &Gpt, tokenizer: &Tokenizer, jobs: &[Job]) -> Result<Vec<Outcome>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Outcome>>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let total_steps = jobs.iter().filter(|j| matches!(j, Job::Train { .. })).count() * args.steps;
    let progress = Mutex::new((Progress::new("GRPO", total_steps), 0usize));
    let problems = test_problems(args.final_problems);
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.min(jobs.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&job) = jobs.get(i) else { break };
                let t = Instant::now();
                let out = run_job(args, base, tokenizer, &problems, job, &progress).map(|(log, eval)| Outcome {
                    job,
                    log,
                    eval,
                    seconds: t.elapsed().as_secs_f64(),
                });
                if let Ok(o) = &out {
                    if let Job::Train { beta, seed, .. } = job {
                        let acc = o.log.last().and_then(|s| s.heldout_accuracy).unwrap_or(f64::NAN);
                        println!(
                            "  run β = {beta}, seed {seed}: {:.0} s, held-out greedy accuracy {acc:.3}",
                            o.seconds
                        );
                    }
                }
                results.lock().expect("no thread panicked")[i] = Some(out);
            });
        }
    });
    progress.lock().expect("no thread panicked").0.finish();
    results.into_inner().expect("no thread panicked").into_iter().map(|r| r.expect("every job ran")).collect()
}

type JobResult = (Vec<StepLog>, Option<Evaluation>);

fn run_job(
    args: &Args,
    base: &Gpt,
    tokenizer: &Tokenizer,
    problems: &[Problem],
    job: Job,
    progress: &Mutex<(Progress, usize)>,
) -> Result<JobResult> {
    let seed0 = args.common.seed;
    match job {
        // The base model's before-evaluation, once: its samples from the first seed's stream 2.
        Job::Base => Ok((
            Vec::new(),
            Some(evaluate(base, tokenizer, problems, args.samples, &args.sample_config(), &mut rng::seeded(seed0, 2))?),
        )),
        Job::Train { beta, seed, main } => {
            // Stream 1 for training; the sweep shares the seed's problems and differs only in β.
            let (model, log) = grpo::train(base, tokenizer, &args.grpo_config(beta), seed, 1, |s| {
                let mut p = progress.lock().expect("no thread panicked");
                p.1 += (s.tokens > 0) as usize;
                let done = p.1;
                p.0.update(done, || {
                    format!("β {beta} seed {seed} step {}: reward {:.2} KL {:.3}", s.step, s.reward, s.kl)
                });
            })?;
            let eval = if main {
                Some(evaluate(
                    &model,
                    tokenizer,
                    problems,
                    args.samples,
                    &args.sample_config(),
                    &mut rng::seeded(seed, 3),
                )?)
            } else {
                None
            };
            Ok((log, eval))
        }
    }
}

/// Reads one number of [`Measures`].
type Measure = fn(&Measures) -> f64;

/// The before/after numbers of one evaluation, including the ones that separate the
/// arithmetic (is the number right, tags or not) from the format.
#[derive(Clone, Debug, Serialize)]
struct Measures {
    accuracy_greedy: f64,
    format_rate_greedy: f64,
    accuracy_sampled: f64,
    format_rate: f64,
    /// Greedy and sampled responses whose number is right, with or without tags.
    number_greedy: f64,
    number_sampled: f64,
    /// Accuracy among the sampled responses with the right format.
    accuracy_among_formatted: f64,
    /// Sampled responses that write column steps inside `<think>`.
    writes_steps: f64,
    /// Sampled responses that use the corpus's words "so" or "carry".
    so_or_carry: f64,
    maj_at_16: f64,
    pass_at_1: f64,
    pass_at_16: f64,
    mean_length: f64,
}

impl Measures {
    fn of(e: &Evaluation, problems: &[Problem]) -> Measures {
        let right = |t: &str, p: &Problem| (number_answer(t) == Some(p.answer().to_string().as_str())) as u8 as f64;
        let share = |f: &dyn Fn(&str) -> bool| {
            e.sampled.texts.iter().filter(|t| f(t)).count() as f64 / e.sampled.texts.len().max(1) as f64
        };
        let formatted: Vec<(usize, &String)> =
            e.sampled.prompt.iter().copied().zip(&e.sampled.texts).filter(|(_, t)| task::format_ok(t)).collect();
        let among = formatted.iter().map(|(p, t)| task::accuracy_reward(t, &problems[*p])).sum::<f64>();
        Measures {
            accuracy_greedy: e.accuracy_greedy,
            format_rate_greedy: e.format_rate_greedy,
            accuracy_sampled: e.accuracy_sampled,
            format_rate: e.format_rate,
            number_greedy: stats::mean(
                &e.greedy.texts.iter().zip(problems).map(|(t, p)| right(t, p)).collect::<Vec<_>>(),
            ),
            number_sampled: stats::mean(
                &e.sampled
                    .texts
                    .iter()
                    .zip(&e.sampled.prompt)
                    .map(|(t, &p)| right(t, &problems[p]))
                    .collect::<Vec<_>>(),
            ),
            accuracy_among_formatted: if formatted.is_empty() { f64::NAN } else { among / formatted.len() as f64 },
            writes_steps: share(&|t| writes_steps(t)),
            so_or_carry: share(&|t| t.contains("so") || t.contains("carry")),
            maj_at_16: e.maj_at_k.get(15).copied().unwrap_or(f64::NAN),
            pass_at_1: e.pass_at_k[0],
            pass_at_16: e.pass_at_k.get(15).copied().unwrap_or(f64::NAN),
            mean_length: e.mean_response_length,
        }
    }
}

/// (β, final KL, final held-out greedy accuracy, final held-out format), medians over seeds.
fn sweep_table(outcomes: &[Outcome], betas: &[f64]) -> Vec<(f64, f64, f64, f64)> {
    betas
        .iter()
        .map(|&b| {
            let runs: Vec<&Outcome> =
                outcomes.iter().filter(|o| matches!(o.job, Job::Train { beta, .. } if beta == b)).collect();
            let med = |f: &dyn Fn(&Outcome) -> f64| stats::median(&runs.iter().map(|o| f(o)).collect::<Vec<_>>());
            let kl = med(&|o| {
                let v: Vec<f64> = o.log.iter().filter(|s| s.tokens > 0).map(|s| s.kl).collect();
                stats::mean(&v[v.len().saturating_sub(5)..])
            });
            let last = |o: &Outcome| o.log.last().cloned().unwrap_or_default();
            (
                b,
                kl,
                med(&|o| last(o).heldout_accuracy.unwrap_or(f64::NAN)),
                med(&|o| last(o).heldout_format.unwrap_or(f64::NAN)),
            )
        })
        .collect()
}

/// A band over the main runs' seeds of a per-step quantity (training steps only).
fn band(label: &str, runs: &[&Outcome], f: fn(&StepLog) -> f64) -> Band {
    let steps: Vec<&StepLog> = runs[0].log.iter().filter(|s| s.tokens > 0).collect();
    Band {
        label: label.into(),
        x: steps.iter().map(|s| s.step as f64 + 1.0).collect(),
        runs: runs.iter().map(|o| o.log.iter().filter(|s| s.tokens > 0).map(f).collect()).collect(),
    }
}

/// A band of the held-out evaluations (every few steps, x = updates done).
fn heldout_band(label: &str, runs: &[&Outcome], f: fn(&StepLog) -> Option<f64>) -> Band {
    let x: Vec<f64> = runs[0].log.iter().filter(|s| f(s).is_some()).map(|s| s.step as f64).collect();
    Band { label: label.into(), x, runs: runs.iter().map(|o| o.log.iter().filter_map(f).collect()).collect() }
}

fn panel(title: &str, y: &str, bands: Vec<Band>) -> CurvePlot {
    CurvePlot {
        title: title.into(),
        x_label: "GRPO step (updates done)".into(),
        y_label: y.into(),
        log_y: false,
        bands,
        hlines: vec![],
        smooth: 1,
    }
}

fn figure_training(dir: &RunDir, args: &Args, runs: &[&Outcome]) -> Result<Vec<String>> {
    let n = runs.len();
    let panels = vec![
        panel(
            "Total reward (accuracy + format)",
            "mean reward of the batch (0-2)",
            vec![band("r = r_acc + r_fmt", runs, |s| s.reward)],
        ),
        panel(
            "Accuracy reward",
            "share of samples",
            vec![band("right number inside <answer>", runs, |s| s.accuracy_reward)],
        ),
        panel(
            "Format reward",
            "share of samples",
            vec![band("<think> … </think> <answer> … </answer>", runs, |s| s.format_reward)],
        ),
        panel(
            "Held-out problems, greedy decoding",
            "share of problems",
            vec![
                heldout_band("accuracy (the rule)", runs, |s| s.heldout_accuracy),
                heldout_band("format compliance", runs, |s| s.heldout_format),
            ],
        ),
        panel(
            "KL to the reference (k3, per token)",
            "nats per token",
            vec![band("KL(π_θold ‖ π_ref)", runs, |s| s.kl)],
        ),
        panel("Response length", "tokens per response", vec![band("mean length of the batch", runs, |s| s.length)]),
        panel(
            &format!("Clip fraction (μ = {})", args.mu),
            "share of tokens clipped",
            vec![band("ratio outside [1−ε, 1+ε], clip active", runs, |s| s.clip_fraction)],
        ),
        panel(
            "Groups with zero reward spread",
            "share of groups",
            vec![band("all G rewards equal: advantage 0", runs, |s| s.zero_spread)],
        ),
    ];
    let title = format!(
        "GRPO on the base model: {} prompts × G = {} per step, β = {}, mean ± std over {} seed{}",
        args.prompts,
        args.group,
        args.beta,
        n,
        if n == 1 { "" } else { "s" }
    );
    Ok(plot::curves_panels(&dir.path("training"), &title, &panels, 2)?)
}

fn figure_length(dir: &RunDir, runs: &[&Outcome]) -> Result<Vec<String>> {
    let panels = vec![
        panel(
            "Mean response length (as in the R1-Zero paper)",
            "tokens per response",
            vec![band("mean length of the batch", runs, |s| s.length)],
        ),
        panel(
            "Do responses write column steps?",
            "share of samples",
            vec![band("<think> holds ≥ 2 equations (written steps)", runs, |s| s.writes_steps)],
        ),
        panel(
            "Arithmetic versus format",
            "share of samples",
            vec![
                band("the number is right (tags or not)", runs, |s| s.number_right),
                band("accuracy reward (right number inside <answer>)", runs, |s| s.accuracy_reward),
            ],
        ),
    ];
    Ok(plot::curves_panels(
        &dir.path("length_and_steps"),
        "What the responses look like during GRPO (training samples, T = 1)",
        &panels,
        3,
    )?)
}

fn figure_pass_maj(dir: &RunDir, base: &Evaluation, runs: &[&Outcome]) -> Result<Vec<String>> {
    let k = base.samples_per_problem;
    let x: Vec<f64> = (1..=k).map(|k| k as f64).collect();
    let evals: Vec<&Evaluation> = runs.iter().filter_map(|o| o.eval.as_ref()).collect();
    let plot = CurvePlot {
        title: format!("Test-time compute on {} held-out problems, before and after GRPO", base.problems),
        x_label: "k (samples per problem, T = 1)".into(),
        y_label: "share of problems solved".into(),
        log_y: false,
        bands: vec![
            Band { label: "pass@k, base model".into(), x: x.clone(), runs: vec![base.pass_at_k.clone()] },
            Band { label: "maj@k, base model".into(), x: x.clone(), runs: vec![base.maj_at_k.clone()] },
            Band {
                label: "pass@k, after GRPO".into(),
                x: x.clone(),
                runs: evals.iter().map(|e| e.pass_at_k.clone()).collect(),
            },
            Band { label: "maj@k, after GRPO".into(), x, runs: evals.iter().map(|e| e.maj_at_k.clone()).collect() },
        ],
        hlines: vec![],
        smooth: 1,
    };
    Ok(plot::curves(&dir.path("pass_maj_at_k"), &plot)?)
}

/// The shape of a response, by the corpus form it resembles (as in chapter 5).
fn form(text: &str) -> &'static str {
    let t = text.trim();
    if task::format_ok(t) {
        if writes_steps(t) {
            "think steps"
        } else {
            "think one-shot"
        }
    } else if t.starts_with("<think>") && !t.contains("<answer>") {
        "think, no answer"
    } else if t.starts_with("<answer>") {
        "answer only"
    } else if t.starts_with("The answer is") && !t.contains('<') {
        "plain text"
    } else {
        "other"
    }
}

const FORMS: [&str; 6] = ["plain text", "answer only", "think one-shot", "think steps", "think, no answer", "other"];

fn form_shares(e: &Evaluation) -> Vec<f64> {
    let n = e.sampled.texts.len().max(1) as f64;
    FORMS.iter().map(|f| e.sampled.texts.iter().filter(|t| form(t) == *f).count() as f64 / n).collect()
}

fn figure_forms(dir: &RunDir, base: &Evaluation, runs: &[&Outcome], _problems: &[Problem]) -> Result<Vec<String>> {
    let before = form_shares(base);
    let after: Vec<Vec<f64>> = runs.iter().filter_map(|o| o.eval.as_ref()).map(form_shares).collect();
    let (mut categories, mut values, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for (i, f) in FORMS.iter().enumerate() {
        let a: Vec<f64> = after.iter().map(|v| v[i]).collect();
        categories.push(format!("{f}: base"));
        values.push(before[i]);
        errors.push(0.0);
        categories.push(format!("{f}: GRPO"));
        values.push(stats::mean(&a));
        errors.push(stats::std(&a));
    }
    let bars = Bars {
        title: format!("What sampled responses look like, base model versus after GRPO ({} seeds)", after.len()),
        x_label: "response form (format reward 1 only for the two 'think' forms with <answer>)".into(),
        y_label: "share of sampled responses".into(),
        categories,
        values,
        errors: Some(errors),
    };
    Ok(plot::bars(&dir.path("response_forms"), &bars)?)
}

fn figure_beta_sweep(dir: &RunDir, outcomes: &[Outcome], betas: &[f64]) -> Result<Vec<String>> {
    let runs_of = |b: f64| -> Vec<&Outcome> {
        outcomes.iter().filter(|o| matches!(o.job, Job::Train { beta, .. } if beta == b)).collect()
    };
    let mut kl = Vec::new();
    let mut acc = Vec::new();
    let mut len = Vec::new();
    for &b in betas {
        let runs = runs_of(b);
        kl.push(band(&format!("β = {b}"), &runs, |s| s.kl));
        acc.push(heldout_band(&format!("β = {b}"), &runs, |s| s.heldout_accuracy));
        len.push(band(&format!("β = {b}"), &runs, |s| s.length));
    }
    let n = runs_of(betas[0]).len();
    let panels = vec![
        panel("KL to the reference (k3, per token)", "nats per token", kl),
        panel("Held-out accuracy, greedy", "share of problems", acc),
        panel("Response length", "tokens per response", len),
    ];
    let title = format!("β sweep: the KL penalty holds the policy near the base model (mean ± std over {n} seeds)");
    Ok(plot::curves_panels(&dir.path("beta_sweep"), &title, &panels, 3)?)
}

/// Greedy and sampled responses of the base and the trained model (first seed).
fn samples_text(problems: &[Problem], before: &Evaluation, after: &Evaluation) -> String {
    let mut s = String::from("Responses to held-out problems (R1-Zero template; prompt abridged)\n");
    s.push_str("acc = accuracy reward, fmt = format reward; 'after' is the first seed's model\n\n");
    let n = before.samples_per_problem;
    for (p, problem) in problems.iter().enumerate().take(6) {
        s.push_str(&format!("User: {}. Assistant:   (answer {})\n", problem.question(), problem.answer()));
        for (who, e) in [("base", before), ("GRPO", after)] {
            let mut line = |kind: &str, text: &str| {
                let (a, f) = (task::accuracy_reward(text, problem), task::format_reward(text));
                s.push_str(&format!("  [{who} {kind:7} acc {a} fmt {f}]{text}\n"));
            };
            line("greedy", &e.greedy.texts[p]);
            for i in 0..n.min(3) {
                line("sampled", &e.sampled.texts[p * n + i]);
            }
        }
        s.push('\n');
    }
    s
}

fn print_results(summary: &Summary, problems: &[Problem], before: &Evaluation, after: &Evaluation) {
    let rows: Vec<Vec<String>> = problems
        .iter()
        .enumerate()
        .take(3)
        .map(|(p, pr)| vec![pr.question(), before.greedy.texts[p].clone(), after.greedy.texts[p].clone()])
        .collect();
    print_table("Greedy responses (held-out problems)", &["question", "base model", "after GRPO"], &rows);
    let h = &summary.headline;
    let show = |k: &str| h.get(k).and_then(|v| v.as_f64()).map_or("-".to_string(), |v| format!("{v:.3}"));
    let rows: Vec<Vec<String>> = [
        ("greedy accuracy (the rule)", "accuracy"),
        ("format compliance, sampled", "format_rate"),
        ("format compliance, greedy", "format_rate_greedy"),
        ("sampled accuracy (pass@1)", "accuracy_sampled"),
        ("number right, greedy (tags or not)", "number_accuracy_greedy"),
        ("number right, sampled (tags or not)", "number_accuracy_sampled"),
        ("accuracy among well-formed samples", "accuracy_among_formatted"),
        ("writes column steps, sampled", "writes_steps"),
        ("maj@16", "maj_at_16"),
        ("mean response length (tokens)", "mean_length"),
    ]
    .iter()
    .map(|(name, k)| vec![name.to_string(), show(&format!("{k}_before")), show(&format!("{k}_after"))])
    .collect();
    print_table("Before and after GRPO (after: median over seeds)", &["measure", "base", "GRPO"], &rows);
    let rows: Vec<Vec<String>> = [
        "final_kl",
        "seconds_per_step",
        "sample_seconds_per_step",
        "score_seconds_per_step",
        "update_seconds_per_step",
        "sample_tokens_per_s",
        "update_tokens_per_s",
    ]
    .iter()
    .map(|k| vec![k.to_string(), show(k)])
    .collect();
    print_table("Training", &["key", "value"], &rows);
}
