//! Chapter 6's experiment: GRPO straight on the base model, DeepSeek-R1-Zero style.
//! The main runs train at one β, one per seed, and are evaluated before and after; a
//! sweep trains at other βs. Every run is a job of the one job pool ([`crate::jobs`]);
//! the results come back in job order, so no number depends on which thread ran what.
//!
//! This module also reads the runs: the headline numbers, the β sweep's table, the
//! rows of `metrics.csv` and the details of `summary.json`.

use super::base_model::forms_and_right_numbers;
use super::eval::{evaluate, Evaluation};
use super::figures::{form_label, form_shares};
use super::grpo::{self, GrpoFlags, GrpoStepLog, GrpoVariantFlags};
use super::measures::{CheckReport, DetailedMeasures};
use super::model::Gpt;
use super::task::{Problem, ResponseForm, Task};
use super::tokenizer::Tokenizer;
use crate::error::Result;
use crate::jobs::{self, SharedProgress};
use crate::report::{print_table, Metrics};
use crate::{rng, stats};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// One unit of work: the base model's evaluation, or a GRPO run at one β and seed
/// (`main`: a run of the main β, evaluated after training).
#[derive(Clone, Copy, Debug)]
pub enum GrpoJob {
    Base,
    Train { beta: f64, seed: u64, main: bool },
}

/// What a job returns: the run's step log, its before/after evaluation (the base model
/// and the main runs) and its wall time.
pub struct GrpoRun {
    pub job: GrpoJob,
    pub log: Vec<GrpoStepLog>,
    pub eval: Option<Evaluation>,
    pub seconds: f64,
}

impl GrpoRun {
    /// The run's training steps (the last record holds only the final evaluation).
    fn train_steps(&self) -> impl Iterator<Item = &GrpoStepLog> {
        self.log.iter().filter(|s| s.tokens > 0)
    }

    /// Mean per-token KL over the last five training steps.
    fn final_kl(&self) -> f64 {
        let kl: Vec<f64> = self.train_steps().map(|s| s.kl).collect();
        stats::mean(&kl[kl.len().saturating_sub(5)..])
    }

    /// Mean of a per-step number over the training steps.
    fn per_step(&self, f: impl Fn(&GrpoStepLog) -> f64) -> f64 {
        stats::mean(&self.train_steps().map(f).collect::<Vec<_>>())
    }

    /// The first step whose held-out greedy accuracy reaches `acc` (NaN: never).
    fn first_step_at(&self, acc: f64) -> f64 {
        self.log.iter().find(|s| s.heldout_accuracy.is_some_and(|a| a >= acc)).map_or(f64::NAN, |s| s.step as f64)
    }

    pub fn eval(&self) -> &Evaluation {
        self.eval.as_ref().expect("the base model and the main runs are evaluated")
    }
}

/// What the study runs, besides GRPO's own flags.
pub struct StudySettings<'a> {
    pub grpo: &'a GrpoFlags,
    pub variant: &'a GrpoVariantFlags,
    /// Held-out problems and samples per problem of the before/after evaluation.
    pub final_problems: usize,
    pub samples: usize,
    /// The first seed: the base model's evaluation draws from its stream 2.
    pub first_seed: u64,
    /// Runs in parallel, one intra-op thread each.
    pub workers: usize,
}

/// The runs of the study, in job order: the base model's evaluation, the main runs,
/// then the sweep (seed by seed within each β).
pub struct BetaStudy {
    pub runs: Vec<GrpoRun>,
    /// Every β that ran, the main one included, in increasing order.
    pub betas: Vec<f64>,
}

/// The sweep's βs besides the main one, in the flags' order (none with `skip`).
pub fn sweep_betas(main: f64, betas: &[f64], skip: bool) -> Vec<f64> {
    if skip {
        return Vec::new();
    }
    let mut b: Vec<f64> = betas.iter().copied().filter(|b| *b != main).collect();
    b.dedup();
    b
}

impl BetaStudy {
    /// Runs the base model's evaluation, the main runs at the flags' β (one per seed)
    /// and the sweep at `sweep`'s βs.
    pub fn run(s: &StudySettings, base: &Gpt, tokenizer: &Tokenizer, seeds: &[u64], sweep: &[f64]) -> Result<Self> {
        let beta = s.grpo.beta;
        let mut list = vec![GrpoJob::Base];
        list.extend(seeds.iter().map(|&seed| GrpoJob::Train { beta, seed, main: true }));
        for &beta in sweep {
            list.extend(seeds.iter().map(|&seed| GrpoJob::Train { beta, seed, main: false }));
        }
        let problems = tokenizer.task().test_problems(s.final_problems);
        let progress = SharedProgress::new("GRPO", (list.len() - 1) * s.grpo.steps);
        let runs = jobs::run(list.len(), s.workers, |i| {
            let (job, t) = (list[i], Instant::now());
            let (log, eval) = run_job(s, base, tokenizer, &problems, job, &progress)?;
            let run = GrpoRun { job, log, eval, seconds: t.elapsed().as_secs_f64() };
            if let GrpoJob::Train { beta, seed, .. } = job {
                let acc = run.log.last().and_then(|s| s.heldout_accuracy).unwrap_or(f64::NAN);
                crate::say!("  run β = {beta}, seed {seed}: {:.0} s, held-out greedy accuracy {acc:.3}", run.seconds);
            }
            Ok(run)
        });
        progress.finish();
        let mut betas = vec![beta];
        betas.extend(sweep);
        betas.sort_by(f64::total_cmp);
        Ok(BetaStudy { runs: runs?, betas })
    }

    /// The base model's evaluation.
    pub fn base_eval(&self) -> &Evaluation {
        self.runs[0].eval()
    }

    /// The main runs, one per seed.
    pub fn main(&self) -> Vec<&GrpoRun> {
        self.runs.iter().filter(|r| matches!(r.job, GrpoJob::Train { main: true, .. })).collect()
    }

    /// The runs at β = `b`, one per seed.
    pub fn at_beta(&self, b: f64) -> Vec<&GrpoRun> {
        self.runs.iter().filter(|r| matches!(r.job, GrpoJob::Train { beta, .. } if beta == b)).collect()
    }

    /// Per β: the final KL and the last held-out greedy accuracy and format rate,
    /// medians over seeds.
    pub fn sweep_table(&self) -> Vec<SweepRow> {
        let last = |r: &GrpoRun| r.log.last().cloned().unwrap_or_default();
        self.betas
            .iter()
            .map(|&beta| {
                let runs = self.at_beta(beta);
                let med = |f: &dyn Fn(&GrpoRun) -> f64| stats::median(&runs.iter().map(|r| f(r)).collect::<Vec<_>>());
                SweepRow {
                    beta,
                    final_kl: med(&GrpoRun::final_kl),
                    heldout_accuracy: med(&|r| last(r).heldout_accuracy.unwrap_or(f64::NAN)),
                    heldout_format: med(&|r| last(r).heldout_format.unwrap_or(f64::NAN)),
                }
            })
            .collect()
    }

    /// One row per step per run (the base model's evaluation has none), then the
    /// contrast's runs (experiment `contrast`).
    pub fn metrics(&self, contrast: Option<&BetaStudy>) -> Metrics<GrpoMetricsRow> {
        let mut metrics = Metrics::new();
        let studies = [Some((self, "main")), contrast.map(|c| (c, "contrast"))];
        for (study, name) in studies.into_iter().flatten() {
            for r in &study.runs {
                let GrpoJob::Train { beta, seed, main } = r.job else { continue };
                for s in &r.log {
                    metrics.push(&GrpoMetricsRow::of(if main { name } else { "beta_sweep" }, beta, seed, s));
                }
            }
        }
        metrics
    }

    /// The headline: before (the base model) and after (medians over the main runs'
    /// seeds) on `problems`, the training's speed, and the sweep.
    pub fn headline(&self, problems: &[Problem], grpo: &GrpoFlags) -> GrpoHeadline {
        let main = self.main();
        let b = DetailedMeasures::of(self.base_eval(), problems);
        let after: Vec<DetailedMeasures> = main.iter().map(|r| DetailedMeasures::of(r.eval(), problems)).collect();
        let a = |f: fn(&DetailedMeasures) -> f64| stats::median(&after.iter().map(f).collect::<Vec<_>>());
        let med = |f: &dyn Fn(&GrpoRun) -> f64| stats::median(&main.iter().map(|r| f(r)).collect::<Vec<_>>());
        let sample_s = med(&|r| r.per_step(|s| s.sample_s));
        let score_s = med(&|r| r.per_step(|s| s.score_s));
        let update_s = med(&|r| r.per_step(|s| s.update_s));
        let tokens = med(&|r| r.per_step(|s| s.tokens as f64));
        let mut beta_sweep = BTreeMap::new();
        for row in self.sweep_table() {
            let beta = row.beta;
            beta_sweep.insert(format!("beta_{beta}_final_kl"), row.final_kl);
            beta_sweep.insert(format!("beta_{beta}_heldout_accuracy"), row.heldout_accuracy);
            beta_sweep.insert(format!("beta_{beta}_heldout_format"), row.heldout_format);
        }
        GrpoHeadline {
            accuracy_before: b.measures.accuracy_greedy,
            accuracy_after: a(|m| m.measures.accuracy_greedy),
            format_rate_before: b.measures.format_rate,
            format_rate_after: a(|m| m.measures.format_rate),
            format_rate_greedy_before: b.measures.format_rate_greedy,
            format_rate_greedy_after: a(|m| m.measures.format_rate_greedy),
            accuracy_sampled_before: b.measures.accuracy_sampled,
            accuracy_sampled_after: a(|m| m.measures.accuracy_sampled),
            number_accuracy_greedy_before: b.number_greedy,
            number_accuracy_greedy_after: a(|m| m.number_greedy),
            number_accuracy_sampled_before: b.measures.number_sampled,
            number_accuracy_sampled_after: a(|m| m.measures.number_sampled),
            accuracy_among_formatted_before: b.accuracy_among_formatted,
            accuracy_among_formatted_after: a(|m| m.accuracy_among_formatted),
            writes_steps_before: b.measures.writes_steps,
            writes_steps_after: a(|m| m.measures.writes_steps),
            maj_at_16_before: b.maj_at_16,
            maj_at_16_after: a(|m| m.maj_at_16),
            pass_at_1_before: b.pass_at_1,
            pass_at_1_after: a(|m| m.pass_at_1),
            pass_at_16_before: b.pass_at_16,
            pass_at_16_after: a(|m| m.pass_at_16),
            mean_length_before: b.measures.mean_length,
            mean_length_after: a(|m| m.measures.mean_length),
            mentions_so_or_carry_before: b.so_or_carry,
            mentions_so_or_carry_after: a(|m| m.so_or_carry),
            checks_answer_before: b.measures.checks_answer,
            checks_answer_after: a(|m| m.measures.checks_answer),
            corrects_after_check_before: b.measures.corrects_after_check,
            corrects_after_check_after: a(|m| m.measures.corrects_after_check),
            final_kl: med(&GrpoRun::final_kl),
            steps: grpo.steps,
            seconds_per_step: sample_s + score_s + update_s,
            sample_seconds_per_step: sample_s,
            score_seconds_per_step: score_s,
            update_seconds_per_step: update_s,
            sample_tokens_per_s: (tokens / sample_s).round(),
            update_tokens_per_s: (tokens * grpo.mu as f64 / update_s).round(),
            seconds_per_run: med(&|r| r.seconds),
            steps_to_heldout_accuracy_0_9: stats::median_missing_high(
                &main.iter().map(|r| r.first_step_at(0.9)).collect::<Vec<_>>(),
            ),
            beta_sweep,
            contrast: None,
        }
    }

    /// `summary.json`'s details: the measures and evaluations behind the headline.
    pub fn details(&self, problems: &[Problem], workers: usize) -> Result<serde_json::Value> {
        let main = self.main();
        Ok(serde_json::json!({
            "before": DetailedMeasures::of(self.base_eval(), problems),
            "after_per_seed": main.iter().map(|r| DetailedMeasures::of(r.eval(), problems)).collect::<Vec<_>>(),
            "evaluation_before": self.base_eval(),
            "evaluation_after_per_seed": main.iter().map(|r| &r.eval).collect::<Vec<_>>(),
            "beta_sweep": self.sweep_table(),
            "curves_main": main.iter().map(|r| CurveEnds::of(r)).collect::<Vec<_>>(),
            "curves_by_beta": self.betas.iter().map(|&beta| serde_json::json!({
                "beta": beta,
                "runs": self.at_beta(beta).iter().map(|r| CurveEnds::of(r)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "response_forms": {
                "forms": ResponseForm::ALL.map(form_label),
                "before": form_shares(self.base_eval()),
                "after_per_seed": main.iter().map(|r| form_shares(r.eval())).collect::<Vec<_>>(),
                // Per form, the share of its responses whose number is right.
                "number_right_before": forms_and_right_numbers(self.base_eval(), problems).1,
                "number_right_after_per_seed":
                    main.iter().map(|r| forms_and_right_numbers(r.eval(), problems).1).collect::<Vec<_>>(),
            },
            "checks": {
                "before": CheckReport::of(self.base_eval(), problems),
                "after_per_seed": main.iter().map(|r| CheckReport::of(r.eval(), problems)).collect::<Vec<_>>(),
            },
            "run_seconds": self.runs.iter().map(|r| (format!("{:?}", r.job), r.seconds)).collect::<Vec<_>>(),
            "jobs": workers,
            "note": "seconds are per run, each on one core, runs in parallel; per-step times are medians over the main runs' seeds",
        }))
    }
}

/// The start and the end of one run's training curves (means over its first and its
/// last five training steps, as the lesson reads the curves), and its largest KL.
#[derive(Clone, Debug, Serialize)]
pub struct CurveEnds {
    pub seed: u64,
    pub first5: CurvePoint,
    pub last5: CurvePoint,
    /// The largest per-step KL of the run (the spikes of the β sweep's figure).
    pub max_kl: f64,
}

/// Per-step quantities of the training curves, averaged over a few steps.
#[derive(Clone, Debug, Serialize)]
pub struct CurvePoint {
    pub reward: f64,
    pub accuracy_reward: f64,
    pub format_reward: f64,
    pub kl: f64,
    pub length: f64,
    pub zero_spread: f64,
    pub writes_steps: f64,
    pub number_right: f64,
    pub clip_fraction: f64,
}

impl CurvePoint {
    fn of(steps: &[&GrpoStepLog]) -> Self {
        let m = |f: fn(&GrpoStepLog) -> f64| stats::mean(&steps.iter().map(|s| f(s)).collect::<Vec<_>>());
        CurvePoint {
            reward: m(|s| s.reward),
            accuracy_reward: m(|s| s.accuracy_reward),
            format_reward: m(|s| s.format_reward),
            kl: m(|s| s.kl),
            length: m(|s| s.length),
            zero_spread: m(|s| s.zero_spread),
            writes_steps: m(|s| s.writes_steps),
            number_right: m(|s| s.number_right),
            clip_fraction: m(|s| s.clip_fraction),
        }
    }
}

impl CurveEnds {
    fn of(run: &GrpoRun) -> Self {
        let steps: Vec<&GrpoStepLog> = run.train_steps().collect();
        let seed = match run.job {
            GrpoJob::Train { seed, .. } => seed,
            GrpoJob::Base => 0,
        };
        CurveEnds {
            seed,
            first5: CurvePoint::of(&steps[..steps.len().min(5)]),
            last5: CurvePoint::of(&steps[steps.len().saturating_sub(5)..]),
            max_kl: steps.iter().map(|s| s.kl).fold(f64::NAN, f64::max),
        }
    }
}

fn run_job(
    s: &StudySettings,
    base: &Gpt,
    tokenizer: &Tokenizer,
    problems: &[Problem],
    job: GrpoJob,
    progress: &SharedProgress,
) -> Result<(Vec<GrpoStepLog>, Option<Evaluation>)> {
    let sample = s.grpo.sample_config(s.variant);
    let final_eval = |model: &Gpt, seed: u64, stream: u64| {
        evaluate(model, tokenizer, problems, s.samples, &sample, &mut rng::seeded(seed, stream))
    };
    match job {
        // The base model's before-evaluation, once: its samples from the first seed's stream 2.
        GrpoJob::Base => Ok((Vec::new(), Some(final_eval(base, s.first_seed, 2)?))),
        GrpoJob::Train { beta, seed, main } => {
            // Stream 1 for training; the sweep shares the seed's problems and differs only in β.
            let mut cfg = s.grpo.config(s.variant);
            cfg.loss.beta = beta;
            let (model, log) = grpo::train(base, tokenizer, &cfg, seed, 1, |st| {
                progress.tick((st.tokens > 0) as usize, || {
                    format!("β {beta} seed {seed} step {}: reward {:.2} KL {:.3}", st.step, st.reward, st.kl)
                });
            })?;
            let eval = if main { Some(final_eval(&model, seed, 3)?) } else { None };
            Ok((log, eval))
        }
    }
}

/// One line of the β sweep's table: medians over seeds.
#[derive(Clone, Debug, Serialize)]
pub struct SweepRow {
    pub beta: f64,
    pub final_kl: f64,
    pub heldout_accuracy: f64,
    pub heldout_format: f64,
}

crate::metrics_row! {
    /// A row of chapter 6's `metrics.csv`: one GRPO step of one run.
    pub struct GrpoMetricsRow {
        pub experiment: &'static str,
        pub beta: f64,
        pub seed: u64,
        pub step: usize,
        pub reward: f64,
        pub accuracy_reward: f64,
        pub format_reward: f64,
        pub kl: f64,
        pub length: f64,
        pub clip_fraction: f64,
        pub zero_spread: f64,
        pub writes_steps: f64,
        pub number_right: f64,
        pub checks: f64,
        pub loss: f64,
        pub heldout_accuracy: Option<f64>,
        pub heldout_format: Option<f64>,
        pub sample_s: f64,
        pub score_s: f64,
        pub update_s: f64,
        pub tokens: usize,
    }
}

impl GrpoMetricsRow {
    fn of(experiment: &'static str, beta: f64, seed: u64, s: &GrpoStepLog) -> Self {
        GrpoMetricsRow {
            experiment,
            beta,
            seed,
            step: s.step,
            reward: s.reward,
            accuracy_reward: s.accuracy_reward,
            format_reward: s.format_reward,
            kl: s.kl,
            length: s.length,
            clip_fraction: s.clip_fraction,
            zero_spread: s.zero_spread,
            writes_steps: s.writes_steps,
            number_right: s.number_right,
            checks: s.checks,
            loss: s.loss,
            heldout_accuracy: s.heldout_accuracy,
            heldout_format: s.heldout_format,
            sample_s: s.sample_s,
            score_s: s.score_s,
            update_s: s.update_s,
            tokens: s.tokens,
        }
    }
}

/// Chapter 6's headline in `summary.json`. Before: the base model; after: medians over
/// the main runs' seeds. A missing number (NaN, e.g. maj@16 with fewer samples) is
/// written as null and read back as NaN.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrpoHeadline {
    /// Greedy accuracy on the held-out problems (the rule: right number inside `<answer>`).
    pub accuracy_before: f64,
    pub accuracy_after: f64,
    /// Format compliance of the sampled responses.
    pub format_rate_before: f64,
    pub format_rate_after: f64,
    pub format_rate_greedy_before: f64,
    pub format_rate_greedy_after: f64,
    pub accuracy_sampled_before: f64,
    pub accuracy_sampled_after: f64,
    /// The number is right, tags or not.
    pub number_accuracy_greedy_before: f64,
    pub number_accuracy_greedy_after: f64,
    pub number_accuracy_sampled_before: f64,
    pub number_accuracy_sampled_after: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub accuracy_among_formatted_before: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub accuracy_among_formatted_after: f64,
    pub writes_steps_before: f64,
    pub writes_steps_after: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub maj_at_16_before: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub maj_at_16_after: f64,
    pub pass_at_1_before: f64,
    pub pass_at_1_after: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub pass_at_16_before: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub pass_at_16_after: f64,
    pub mean_length_before: f64,
    pub mean_length_after: f64,
    pub mentions_so_or_carry_before: f64,
    pub mentions_so_or_carry_after: f64,
    /// Sampled responses that check their result inside `<think>`.
    pub checks_answer_before: f64,
    pub checks_answer_after: f64,
    /// Sampled responses whose check finds a slip and gives another number.
    pub corrects_after_check_before: f64,
    pub corrects_after_check_after: f64,
    /// Mean k3 KL per token over the last five steps (median over seeds).
    pub final_kl: f64,
    pub steps: usize,
    pub seconds_per_step: f64,
    pub sample_seconds_per_step: f64,
    pub score_seconds_per_step: f64,
    pub update_seconds_per_step: f64,
    pub sample_tokens_per_s: f64,
    pub update_tokens_per_s: f64,
    pub seconds_per_run: f64,
    /// The first evaluated step with held-out greedy accuracy ≥ 0.9 (null: a median
    /// run never got there).
    #[serde(deserialize_with = "nan_if_null")]
    pub steps_to_heldout_accuracy_0_9: f64,
    /// `beta_<β>_final_kl`, `beta_<β>_heldout_accuracy`, `beta_<β>_heldout_format` for
    /// every β that ran (the keys depend on the flags).
    #[serde(flatten, deserialize_with = "beta_keys")]
    pub beta_sweep: BTreeMap<String, f64>,
    /// The same measures on the other task (the contrast), when it ran.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub contrast: Option<ContrastHeadline>,
}

/// The contrast of a chapter-6 run: the same seeds and flags on another task's shipped
/// base model, without a sweep.
pub struct Contrast {
    pub task: Task,
    pub study: BetaStudy,
    pub problems: Vec<Problem>,
}

impl Contrast {
    pub fn run(s: &StudySettings, task: Task, seeds: &[u64]) -> Result<Self> {
        crate::say!("the contrast: the same {} seeds on the {} task", seeds.len(), task.name());
        let (base, tokenizer) = super::load_base(task)?;
        let study = BetaStudy::run(s, &base, &tokenizer, seeds, &[])?;
        Ok(Contrast { task, study, problems: task.test_problems(s.final_problems) })
    }

    pub fn headline(&self, grpo: &GrpoFlags) -> ContrastHeadline {
        ContrastHeadline::of(&self.study.headline(&self.problems, grpo))
    }

    pub fn details(&self, workers: usize) -> Result<serde_json::Value> {
        self.study.details(&self.problems, workers)
    }
}

/// The contrast's headline: the other task's before and after, medians over its seeds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContrastHeadline {
    pub contrast_accuracy_before: f64,
    pub contrast_accuracy_after: f64,
    pub contrast_number_accuracy_greedy_before: f64,
    pub contrast_number_accuracy_greedy_after: f64,
    pub contrast_number_accuracy_sampled_before: f64,
    pub contrast_number_accuracy_sampled_after: f64,
    pub contrast_format_rate_before: f64,
    pub contrast_format_rate_after: f64,
    pub contrast_writes_steps_before: f64,
    pub contrast_writes_steps_after: f64,
    pub contrast_mean_length_before: f64,
    pub contrast_mean_length_after: f64,
    pub contrast_checks_answer_before: f64,
    pub contrast_checks_answer_after: f64,
    pub contrast_corrects_after_check_after: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub contrast_pass_at_16_before: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub contrast_pass_at_16_after: f64,
}

impl ContrastHeadline {
    /// The contrast's numbers, read from its own study's headline.
    pub fn of(h: &GrpoHeadline) -> Self {
        ContrastHeadline {
            contrast_accuracy_before: h.accuracy_before,
            contrast_accuracy_after: h.accuracy_after,
            contrast_number_accuracy_greedy_before: h.number_accuracy_greedy_before,
            contrast_number_accuracy_greedy_after: h.number_accuracy_greedy_after,
            contrast_number_accuracy_sampled_before: h.number_accuracy_sampled_before,
            contrast_number_accuracy_sampled_after: h.number_accuracy_sampled_after,
            contrast_format_rate_before: h.format_rate_before,
            contrast_format_rate_after: h.format_rate_after,
            contrast_writes_steps_before: h.writes_steps_before,
            contrast_writes_steps_after: h.writes_steps_after,
            contrast_mean_length_before: h.mean_length_before,
            contrast_mean_length_after: h.mean_length_after,
            contrast_checks_answer_before: h.checks_answer_before,
            contrast_checks_answer_after: h.checks_answer_after,
            contrast_corrects_after_check_after: h.corrects_after_check_after,
            contrast_pass_at_16_before: h.pass_at_16_before,
            contrast_pass_at_16_after: h.pass_at_16_after,
        }
    }
}

impl GrpoHeadline {
    /// Prints the before/after table and the training's numbers.
    pub fn print(&self) {
        let show = |v: f64| if v.is_finite() { format!("{v:.3}") } else { "-".to_string() };
        let rows: Vec<Vec<String>> = [
            ("greedy accuracy (the rule)", self.accuracy_before, self.accuracy_after),
            ("format compliance, sampled", self.format_rate_before, self.format_rate_after),
            ("format compliance, greedy", self.format_rate_greedy_before, self.format_rate_greedy_after),
            ("sampled accuracy (pass@1)", self.accuracy_sampled_before, self.accuracy_sampled_after),
            (
                "number right, greedy (tags or not)",
                self.number_accuracy_greedy_before,
                self.number_accuracy_greedy_after,
            ),
            (
                "number right, sampled (tags or not)",
                self.number_accuracy_sampled_before,
                self.number_accuracy_sampled_after,
            ),
            (
                "accuracy among well-formed samples",
                self.accuracy_among_formatted_before,
                self.accuracy_among_formatted_after,
            ),
            ("writes column steps, sampled", self.writes_steps_before, self.writes_steps_after),
            ("checks its result, sampled", self.checks_answer_before, self.checks_answer_after),
            (
                "corrects a slip after a check, sampled",
                self.corrects_after_check_before,
                self.corrects_after_check_after,
            ),
            ("maj@16", self.maj_at_16_before, self.maj_at_16_after),
            ("mean response length (tokens)", self.mean_length_before, self.mean_length_after),
        ]
        .iter()
        .map(|(name, before, after)| vec![name.to_string(), show(*before), show(*after)])
        .collect();
        print_table("Before and after GRPO (after: median over seeds)", &["measure", "base", "GRPO"], &rows);
        if let Some(c) = &self.contrast {
            let rows: Vec<Vec<String>> = [
                ("greedy accuracy (the rule)", c.contrast_accuracy_before, c.contrast_accuracy_after),
                (
                    "number right, greedy (tags or not)",
                    c.contrast_number_accuracy_greedy_before,
                    c.contrast_number_accuracy_greedy_after,
                ),
                ("writes column steps, sampled", c.contrast_writes_steps_before, c.contrast_writes_steps_after),
                ("mean response length (tokens)", c.contrast_mean_length_before, c.contrast_mean_length_after),
            ]
            .iter()
            .map(|(name, before, after)| vec![name.to_string(), show(*before), show(*after)])
            .collect();
            print_table("The contrast: the other task, same seeds", &["measure", "base", "GRPO"], &rows);
        }
        let rows: Vec<Vec<String>> = [
            ("final_kl", self.final_kl),
            ("seconds_per_step", self.seconds_per_step),
            ("sample_seconds_per_step", self.sample_seconds_per_step),
            ("score_seconds_per_step", self.score_seconds_per_step),
            ("update_seconds_per_step", self.update_seconds_per_step),
            ("sample_tokens_per_s", self.sample_tokens_per_s),
            ("update_tokens_per_s", self.update_tokens_per_s),
        ]
        .iter()
        .map(|(k, v)| vec![k.to_string(), show(*v)])
        .collect();
        print_table("Training", &["key", "value"], &rows);
    }
}

/// Prints the first problems' greedy responses, before and after GRPO.
pub fn print_greedy_responses(problems: &[Problem], before: &Evaluation, after: &Evaluation) {
    let rows: Vec<Vec<String>> = problems
        .iter()
        .enumerate()
        .take(3)
        .map(|(p, pr)| vec![pr.question(), before.greedy.texts[p].clone(), after.greedy.texts[p].clone()])
        .collect();
    print_table("Greedy responses (held-out problems)", &["question", "base model", "after GRPO"], &rows);
}

/// JSON has no NaN: serde_json writes it as null; read null back as NaN.
fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The β sweep's keys among the headline's other keys (a flattened map sees them all),
/// null read back as NaN.
fn beta_keys<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<BTreeMap<String, f64>, D::Error> {
    let map = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
    Ok(map
        .into_iter()
        .filter(|(k, _)| k.starts_with("beta_"))
        .map(|(k, v)| (k, v.as_f64().unwrap_or(f64::NAN)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_ends_average_the_first_and_last_five_training_steps() {
        // Eight training steps (length = step, KL peaking at step 2) and the final
        // evaluation record, which has no tokens and must not count.
        let mut log: Vec<GrpoStepLog> = (0..8)
            .map(|k| GrpoStepLog {
                step: k,
                tokens: 100,
                length: k as f64,
                kl: if k == 2 { 0.3 } else { 0.1 },
                ..GrpoStepLog::default()
            })
            .collect();
        log.push(GrpoStepLog { step: 8, heldout_accuracy: Some(1.0), ..GrpoStepLog::default() });
        let run = GrpoRun { job: GrpoJob::Train { beta: 0.04, seed: 3, main: true }, log, eval: None, seconds: 1.0 };
        let c = CurveEnds::of(&run);
        assert_eq!(c.seed, 3);
        assert_eq!(c.first5.length, 2.0); // steps 0-4
        assert_eq!(c.last5.length, 5.0); // steps 3-7, not the evaluation record
        assert_eq!(c.max_kl, 0.3);
    }
}
