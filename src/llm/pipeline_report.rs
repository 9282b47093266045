//! What chapter 7 reports of its runs: the typed headline of summary.json (one part per
//! experiment, absent when the experiment did not run), the details, the metrics rows,
//! samples.txt and the stdout table of claims.

use super::grpo::GrpoStepLog;
use super::hacking::hacked_examples;
use super::measures::{self, Measures, MeasuresAtK};
use super::pipeline_experiments::{Experiment, Lab, PipelineResults, PipelineRun, RunRecord};
use super::ppo_critic::PpoStepLog;
use super::sft::SftLog;
use super::step_cost::{mb, per_step_seconds, StepCost};
use super::{Evaluation, Problem};
use crate::report::{print_table, Metrics};
use crate::stats;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The median over seeds of a number of each run.
pub fn med(runs: &[&RunRecord], f: impl Fn(&RunRecord) -> f64) -> f64 {
    stats::median(&runs.iter().map(|o| f(o)).collect::<Vec<_>>())
}

/// The last `n` values (all of them when there are fewer).
fn tail(v: &[f64], n: usize) -> &[f64] {
    &v[v.len().saturating_sub(n)..]
}

/// NaN (a median of runs that never got there, a reward model that was not fitted) as
/// `None`, which summary.json writes as null.
fn known(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

/// The training steps of a GRPO log (the last record holds only the final evaluation).
fn trained(log: &[GrpoStepLog]) -> impl Iterator<Item = &GrpoStepLog> {
    log.iter().filter(|s| s.tokens > 0)
}

fn total_tokens<'a>(log: impl IntoIterator<Item = &'a GrpoStepLog>) -> f64 {
    log.into_iter().map(|s| s.tokens).sum::<usize>() as f64
}

/// Sampled tokens before the first held-out evaluation at or above `acc` (NaN if none).
pub fn tokens_to<'a>(log: impl IntoIterator<Item = &'a GrpoStepLog>, acc: f64) -> f64 {
    let mut seen = 0usize;
    for s in log {
        if s.heldout_accuracy.is_some_and(|a| a >= acc) {
            return seen as f64;
        }
        seen += s.tokens;
    }
    f64::NAN
}

/// The common records of a PPO log, to measure it as a GRPO log.
pub fn common(log: &[PpoStepLog]) -> impl Iterator<Item = &GrpoStepLog> + Clone {
    log.iter().map(|s| &s.common)
}

/// The measures of each run's final evaluation (summary.json's details).
pub fn per_seed(runs: &[&RunRecord], problems: &[Problem]) -> Vec<MeasuresAtK> {
    runs.iter().map(|o| MeasuresAtK::of(o.eval(), problems)).collect()
}

// ---------------------------------------------------------------------------------------
// The headline: one part per experiment.
// ---------------------------------------------------------------------------------------

/// summary.json's headline; each part's keys are there only when its experiment ran.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PipelineHeadline {
    #[serde(flatten)]
    pub ppo: Option<PpoVsGrpoHeadline>,
    #[serde(flatten)]
    pub cold_start: Option<ColdStartHeadline>,
    #[serde(flatten)]
    pub rejection: Option<RejectionHeadline>,
    #[serde(flatten)]
    pub distill: Option<DistillHeadline>,
    #[serde(flatten)]
    pub hacking: Option<HackingHeadline>,
}

/// 1. PPO with a critic versus GRPO (medians over seeds; the probe's numbers alone).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PpoVsGrpoHeadline {
    pub ppo_critic_accuracy: f64,
    pub grpo_accuracy: f64,
    pub ppo_critic_accuracy_sampled: f64,
    pub grpo_accuracy_sampled: f64,
    pub ppo_critic_params: usize,
    pub grpo_params: usize,
    pub ppo_critic_trainable_params: usize,
    pub grpo_trainable_params: usize,
    pub ppo_critic_state_mb: f64,
    pub grpo_state_mb: f64,
    /// null without the counting allocator.
    pub ppo_critic_peak_heap_mb: Option<f64>,
    pub grpo_peak_heap_mb: Option<f64>,
    pub ppo_critic_seconds_per_step: f64,
    pub grpo_seconds_per_step: f64,
    pub ppo_critic_seconds_per_step_in_run: f64,
    pub grpo_seconds_per_step_in_run: f64,
    pub ppo_critic_run_seconds: f64,
    pub grpo_run_seconds: f64,
    pub ppo_critic_tokens: f64,
    pub grpo_tokens: f64,
    /// null when the median run never reached 0.9.
    pub ppo_critic_tokens_to_heldout_0_9: Option<f64>,
    pub grpo_tokens_to_heldout_0_9: Option<f64>,
    pub ppo_critic_final_explained_variance: f64,
}

impl PpoVsGrpoHeadline {
    pub fn of(ppo: &[&RunRecord], zero: &[&RunRecord], cost: &StepCost) -> PpoVsGrpoHeadline {
        let to90 = |v: Vec<f64>| known(stats::median_missing_high(&v));
        let explained = |o: &RunRecord| {
            let v: Vec<f64> = o.ppo.iter().filter(|s| s.common.tokens > 0).map(|s| s.explained_variance).collect();
            stats::mean(tail(&v, 5))
        };
        PpoVsGrpoHeadline {
            ppo_critic_accuracy: med(ppo, |o| o.eval().accuracy_greedy),
            grpo_accuracy: med(zero, |o| o.eval().accuracy_greedy),
            ppo_critic_accuracy_sampled: med(ppo, |o| o.eval().accuracy_sampled),
            grpo_accuracy_sampled: med(zero, |o| o.eval().accuracy_sampled),
            ppo_critic_params: cost.ppo_held,
            grpo_params: cost.grpo_held,
            ppo_critic_trainable_params: cost.ppo_trained,
            grpo_trainable_params: cost.grpo_trained,
            ppo_critic_state_mb: mb(cost.ppo_state),
            grpo_state_mb: mb(cost.grpo_state),
            ppo_critic_peak_heap_mb: cost.ppo_peak.map(mb),
            grpo_peak_heap_mb: cost.grpo_peak.map(mb),
            ppo_critic_seconds_per_step: cost.ppo_step_s,
            grpo_seconds_per_step: cost.grpo_step_s,
            ppo_critic_seconds_per_step_in_run: med(ppo, |o| per_step_seconds(common(&o.ppo))),
            grpo_seconds_per_step_in_run: med(zero, |o| per_step_seconds(&o.grpo)),
            ppo_critic_run_seconds: med(ppo, |o| o.seconds),
            grpo_run_seconds: med(zero, |o| o.seconds),
            ppo_critic_tokens: med(ppo, |o| total_tokens(common(&o.ppo))),
            grpo_tokens: med(zero, |o| total_tokens(&o.grpo)),
            ppo_critic_tokens_to_heldout_0_9: to90(ppo.iter().map(|o| tokens_to(common(&o.ppo), 0.9)).collect()),
            grpo_tokens_to_heldout_0_9: to90(zero.iter().map(|o| tokens_to(&o.grpo, 0.9)).collect()),
            ppo_critic_final_explained_variance: med(ppo, explained),
        }
    }
}

/// 2a. Cold start → GRPO (the teacher) versus GRPO from the base model (zero).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ColdStartHeadline {
    pub cold_start_accuracy: f64,
    pub zero_accuracy: f64,
    pub cold_start_accuracy_sampled: f64,
    pub zero_accuracy_sampled: f64,
    pub cold_start_sft_only_accuracy: f64,
    pub cold_start_sft_only_accuracy_sampled: f64,
    pub cold_start_writes_steps: f64,
    pub zero_writes_steps: f64,
    pub cold_start_format_rate: f64,
    pub zero_format_rate: f64,
    /// Mean accuracy reward of the first max(eval_every, 3) training steps.
    pub cold_start_early_train_accuracy: f64,
    pub zero_early_train_accuracy: f64,
    pub cold_start_examples: usize,
}

impl ColdStartHeadline {
    pub fn of(lab: &Lab, teacher: &[&RunRecord], zero: &[&RunRecord]) -> ColdStartHeadline {
        let k = lab.rl.eval_every.max(3);
        let early = |o: &RunRecord| trained(&o.grpo).take(k).map(|s| s.accuracy_reward).sum::<f64>() / k as f64;
        let steps = |o: &RunRecord| Measures::of(o.eval(), lab.problems).writes_steps;
        ColdStartHeadline {
            cold_start_accuracy: med(teacher, |o| o.eval().accuracy_greedy),
            zero_accuracy: med(zero, |o| o.eval().accuracy_greedy),
            cold_start_accuracy_sampled: med(teacher, |o| o.eval().accuracy_sampled),
            zero_accuracy_sampled: med(zero, |o| o.eval().accuracy_sampled),
            cold_start_sft_only_accuracy: med(teacher, |o| o.sft_eval().accuracy_greedy),
            cold_start_sft_only_accuracy_sampled: med(teacher, |o| o.sft_eval().accuracy_sampled),
            cold_start_writes_steps: med(teacher, steps),
            zero_writes_steps: med(zero, steps),
            cold_start_format_rate: med(teacher, |o| o.eval().format_rate),
            zero_format_rate: med(zero, |o| o.eval().format_rate),
            cold_start_early_train_accuracy: med(teacher, early),
            zero_early_train_accuracy: med(zero, early),
            cold_start_examples: lab.cfg.cold_start_examples,
        }
    }
}

/// 2b. A fresh base model fine-tuned on the teacher's rejection-sampled answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RejectionHeadline {
    pub rejection_sft_accuracy: f64,
    pub rejection_sft_accuracy_sampled: f64,
    pub rejection_sft_format_rate: f64,
    pub rl_teacher_accuracy: f64,
    pub rl_teacher_accuracy_sampled: f64,
    pub rejection_acceptance: f64,
    pub rejection_examples: f64,
    pub rejection_sft_seconds: f64,
}

impl RejectionHeadline {
    pub fn of(teacher: &[&RunRecord], rej: &[&RunRecord]) -> RejectionHeadline {
        RejectionHeadline {
            rejection_sft_accuracy: med(rej, |o| o.eval().accuracy_greedy),
            rejection_sft_accuracy_sampled: med(rej, |o| o.eval().accuracy_sampled),
            rejection_sft_format_rate: med(rej, |o| o.eval().format_rate),
            rl_teacher_accuracy: med(teacher, |o| o.eval().accuracy_greedy),
            rl_teacher_accuracy_sampled: med(teacher, |o| o.eval().accuracy_sampled),
            rejection_acceptance: med(teacher, |o| o.rejection().acceptance()),
            rejection_examples: med(rej, |o| o.sft_examples as f64),
            rejection_sft_seconds: med(rej, |o| o.seconds),
        }
    }
}

/// 3. The half-size model: distilled (SFT on the teacher's answers) versus GRPO.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DistillHeadline {
    pub distilled_accuracy: f64,
    pub small_rl_accuracy: f64,
    pub distilled_accuracy_sampled: f64,
    pub small_rl_accuracy_sampled: f64,
    pub small_base_accuracy: f64,
    pub small_base_accuracy_sampled: f64,
    pub small_params: usize,
    pub distilled_seconds: f64,
    pub small_rl_seconds: f64,
    pub distilled_tokens: f64,
    pub small_rl_tokens: f64,
}

impl DistillHeadline {
    pub fn of(small_base: &Evaluation, small_params: usize, srl: &[&RunRecord], dist: &[&RunRecord]) -> Self {
        DistillHeadline {
            distilled_accuracy: med(dist, |o| o.eval().accuracy_greedy),
            small_rl_accuracy: med(srl, |o| o.eval().accuracy_greedy),
            distilled_accuracy_sampled: med(dist, |o| o.eval().accuracy_sampled),
            small_rl_accuracy_sampled: med(srl, |o| o.eval().accuracy_sampled),
            small_base_accuracy: small_base.accuracy_greedy,
            small_base_accuracy_sampled: small_base.accuracy_sampled,
            small_params,
            distilled_seconds: med(dist, |o| o.seconds),
            small_rl_seconds: med(srl, |o| o.seconds),
            distilled_tokens: med(dist, |o| o.sft.last().map_or(0.0, |s| s.tokens as f64)),
            small_rl_tokens: med(srl, |o| total_tokens(&o.grpo)),
        }
    }
}

/// 4. GRPO on a flawed reward: the proxy rises, the truth does not.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HackingHeadline {
    /// Mean over the last (`_start`: first) 5 training steps, median over seeds.
    pub hacked_proxy_reward: f64,
    pub hacked_proxy_reward_start: f64,
    pub hacked_true_accuracy: f64,
    pub hacked_true_accuracy_sampled: f64,
    pub hacked_train_accuracy: f64,
    pub hacked_train_accuracy_start: f64,
    pub hacked_peak_heldout_accuracy: f64,
    pub hacked_format_rate: f64,
    pub hacked_mean_length: f64,
    /// The first seed's reward model on fresh answers; null for the tags-only check.
    pub reward_model_agreement_fresh: Option<f64>,
}

impl HackingHeadline {
    pub fn of(hack: &[&RunRecord]) -> HackingHeadline {
        let per_run = |o: &RunRecord, f: fn(&GrpoStepLog) -> f64| trained(&o.grpo).map(f).collect::<Vec<f64>>();
        let first5 = |f: fn(&GrpoStepLog) -> f64| {
            med(hack, |o| stats::mean(&per_run(o, f).into_iter().take(5).collect::<Vec<_>>()))
        };
        let last5 = |f: fn(&GrpoStepLog) -> f64| med(hack, |o| stats::mean(tail(&per_run(o, f), 5)));
        HackingHeadline {
            hacked_proxy_reward: last5(|s| s.reward),
            hacked_proxy_reward_start: first5(|s| s.reward),
            hacked_true_accuracy: med(hack, |o| o.eval().accuracy_greedy),
            hacked_true_accuracy_sampled: med(hack, |o| o.eval().accuracy_sampled),
            hacked_train_accuracy: last5(|s| s.accuracy_reward),
            hacked_train_accuracy_start: first5(|s| s.accuracy_reward),
            hacked_peak_heldout_accuracy: med(hack, |o| {
                o.grpo.iter().filter_map(|s| s.heldout_accuracy).fold(0.0, f64::max)
            }),
            hacked_format_rate: med(hack, |o| o.eval().format_rate),
            hacked_mean_length: med(hack, |o| o.eval().mean_response_length),
            reward_model_agreement_fresh: hack
                .first()
                .and_then(|o| o.hack.as_ref())
                .and_then(|h| known(h.rm_agreement_fresh)),
        }
    }
}

impl PipelineHeadline {
    /// The headline of the experiments that ran.
    pub fn of(lab: &Lab, results: &PipelineResults, cost: Option<&StepCost>) -> PipelineHeadline {
        let has = |e| lab.cfg.has(e);
        let (zero, teacher) = (results.all(PipelineRun::Zero), results.all(PipelineRun::ColdStart));
        PipelineHeadline {
            ppo: cost
                .filter(|_| has(Experiment::Ppo))
                .map(|c| PpoVsGrpoHeadline::of(&results.all(PipelineRun::Ppo), &zero, c)),
            cold_start: has(Experiment::ColdStart).then(|| ColdStartHeadline::of(lab, &teacher, &zero)),
            rejection: has(Experiment::Rejection)
                .then(|| RejectionHeadline::of(&teacher, &results.all(PipelineRun::RejectionSft))),
            distill: has(Experiment::Distill).then(|| {
                let small = results.get(PipelineRun::SmallBaseEval).expect("the small base is evaluated").eval();
                DistillHeadline::of(
                    small,
                    lab.small.n_params(),
                    &results.all(PipelineRun::SmallRl),
                    &results.all(PipelineRun::Distill),
                )
            }),
            hacking: has(Experiment::Hacking).then(|| HackingHeadline::of(&results.all(PipelineRun::Hack))),
        }
    }

    /// The claims and what we measured, one row per comparison: (comparison, measure,
    /// first, second).
    fn claims(&self) -> Vec<(&'static str, &'static str, Option<f64>, Option<f64>)> {
        let mut rows = Vec::new();
        if let Some(h) = &self.ppo {
            let c = "PPO critic vs GRPO";
            rows.extend([
                (c, "held-out accuracy, greedy", Some(h.ppo_critic_accuracy), Some(h.grpo_accuracy)),
                (c, "held-out accuracy, sampled", Some(h.ppo_critic_accuracy_sampled), Some(h.grpo_accuracy_sampled)),
                (c, "parameters held", Some(h.ppo_critic_params as f64), Some(h.grpo_params as f64)),
                (c, "peak heap of a step (MiB)", h.ppo_critic_peak_heap_mb, h.grpo_peak_heap_mb),
                (c, "seconds per step, alone", Some(h.ppo_critic_seconds_per_step), Some(h.grpo_seconds_per_step)),
            ]);
        }
        if let Some(h) = &self.cold_start {
            let c = "cold start vs zero";
            rows.extend([
                (c, "held-out accuracy, sampled", Some(h.cold_start_accuracy_sampled), Some(h.zero_accuracy_sampled)),
                (
                    c,
                    "training accuracy, first steps",
                    Some(h.cold_start_early_train_accuracy),
                    Some(h.zero_early_train_accuracy),
                ),
                (c, "writes the column steps", Some(h.cold_start_writes_steps), Some(h.zero_writes_steps)),
            ]);
        }
        if let Some(h) = &self.rejection {
            let m = "held-out accuracy, sampled";
            rows.push((
                "rejection SFT vs RL teacher",
                m,
                Some(h.rejection_sft_accuracy_sampled),
                Some(h.rl_teacher_accuracy_sampled),
            ));
        }
        if let Some(h) = &self.distill {
            let c = "distilled vs small RL";
            rows.extend([
                (c, "held-out accuracy, greedy", Some(h.distilled_accuracy), Some(h.small_rl_accuracy)),
                (
                    c,
                    "held-out accuracy, sampled",
                    Some(h.distilled_accuracy_sampled),
                    Some(h.small_rl_accuracy_sampled),
                ),
            ]);
        }
        if let Some(h) = &self.hacking {
            rows.extend([
                (
                    "hacking: end vs start",
                    "proxy reward",
                    Some(h.hacked_proxy_reward),
                    Some(h.hacked_proxy_reward_start),
                ),
                (
                    "hacking: end vs start",
                    "true accuracy of the samples",
                    Some(h.hacked_train_accuracy),
                    Some(h.hacked_train_accuracy_start),
                ),
                (
                    "hacking: end vs peak",
                    "held-out accuracy, greedy",
                    Some(h.hacked_true_accuracy),
                    Some(h.hacked_peak_heldout_accuracy),
                ),
            ]);
        }
        rows
    }

    /// Prints the claims and what we measured (all numbers are in summary.json).
    pub fn print(&self) {
        let show = |v: Option<f64>| {
            v.filter(|v| !v.is_nan()).map_or("-".to_string(), |v| {
                if v.abs() >= 1000.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.3}")
                }
            })
        };
        let rows: Vec<Vec<String>> = self
            .claims()
            .into_iter()
            .map(|(c, m, a, b)| vec![c.to_string(), m.to_string(), show(a), show(b)])
            .collect();
        print_table(
            "The claims, measured (medians over seeds; every number is in summary.json)",
            &["comparison", "measure", "first", "second"],
            &rows,
        );
    }
}

// ---------------------------------------------------------------------------------------
// Details, metrics rows, samples.
// ---------------------------------------------------------------------------------------

/// summary.json's details: the measures of every model per seed, the step costs, the
/// reward models, the hacked model's answers and each run's seconds.
pub fn details(lab: &Lab, results: &PipelineResults, cost: Option<&StepCost>) -> Value {
    let has = |e| lab.cfg.has(e);
    let problems = lab.problems;
    let per_seed = |kind: fn(u64) -> PipelineRun| json!(per_seed(&results.all(kind), problems));
    let of = |run: PipelineRun| json!(MeasuresAtK::of(results.get(run).expect("evaluated").eval(), problems));
    let mut d = serde_json::Map::new();
    d.insert("base".into(), of(PipelineRun::BaseEval));
    if let Some(cost) = cost.filter(|_| has(Experiment::Ppo)) {
        d.insert("ppo_memory".into(), json!(cost));
        d.insert("ppo_critic".into(), per_seed(PipelineRun::Ppo));
        d.insert("grpo_zero".into(), per_seed(PipelineRun::Zero));
    }
    if has(Experiment::ColdStart) {
        let teacher = results.all(PipelineRun::ColdStart);
        d.insert("cold_start".into(), per_seed(PipelineRun::ColdStart));
        let sft_only: Vec<MeasuresAtK> = teacher.iter().map(|o| MeasuresAtK::of(o.sft_eval(), problems)).collect();
        d.insert("cold_start_sft_only".into(), json!(sft_only));
    }
    if has(Experiment::Rejection) {
        d.insert("rejection_sft".into(), per_seed(PipelineRun::RejectionSft));
    }
    if has(Experiment::Distill) {
        d.insert("small_base".into(), of(PipelineRun::SmallBaseEval));
        d.insert("distilled".into(), per_seed(PipelineRun::Distill));
        d.insert("small_rl".into(), per_seed(PipelineRun::SmallRl));
    }
    if has(Experiment::Hacking) {
        let hack = results.all(PipelineRun::Hack);
        let examples = hack.first().map(|o| hacked_examples(o.eval(), o.hack.as_ref(), lab.tokenizer, problems));
        d.insert("hacking".into(), per_seed(PipelineRun::Hack));
        d.insert("hacked_examples".into(), Value::Array(examples.unwrap_or_default()));
        d.insert("reward_model".into(), json!(hack.iter().map(|o| o.hack.clone()).collect::<Vec<_>>()));
    }
    // The start and the end of every RL run's curves, per seed, so that the lesson can
    // quote what the figures draw (their mean over seeds) and the headline's medians.
    let mut curves = serde_json::Map::new();
    for (name, kind) in [
        ("zero", PipelineRun::Zero as fn(u64) -> PipelineRun),
        ("ppo_critic", PipelineRun::Ppo),
        ("cold_start", PipelineRun::ColdStart),
        ("small_rl", PipelineRun::SmallRl),
        ("hacking", PipelineRun::Hack),
    ] {
        let runs = results.all(kind);
        if !runs.is_empty() {
            curves.insert(name.into(), json!(runs.iter().map(|o| RunCurve::of(o)).collect::<Vec<_>>()));
        }
    }
    d.insert("curves".into(), Value::Object(curves));
    if has(Experiment::Ppo) {
        // The cost figure's last panel: each seed's median seconds per step during the
        // runs, and their mean ± std over seeds (what the bars and error bars draw).
        let in_run = |v: Vec<f64>| {
            let std = if v.len() > 1 { stats::std(&v) } else { 0.0 };
            json!({ "per_seed": v, "mean": stats::mean(&v), "std": std, "median": stats::median(&v) })
        };
        let ppo: Vec<f64> = results.all(PipelineRun::Ppo).iter().map(|o| per_step_seconds(common(&o.ppo))).collect();
        let grpo: Vec<f64> = results.all(PipelineRun::Zero).iter().map(|o| per_step_seconds(&o.grpo)).collect();
        d.insert("seconds_per_step_in_run".into(), json!({ "ppo_critic": in_run(ppo), "grpo": in_run(grpo) }));
    }
    let seconds: Vec<(String, f64)> = results.runs.iter().map(|(r, o)| (format!("{r:?}"), o.seconds)).collect();
    d.insert("run_seconds".into(), json!(seconds));
    d.insert(
        "note".into(),
        "accuracies are greedy on the held-out problems unless named _sampled; medians over seeds; run seconds are per run, each on one core, runs in parallel".into(),
    );
    Value::Object(d)
}

/// Per-step numbers averaged over a few training steps of one run.
#[derive(Clone, Debug, Serialize)]
pub struct CurveWindow {
    pub reward: f64,
    pub accuracy_reward: f64,
    pub format_reward: f64,
    pub kl: f64,
    pub length: f64,
    pub writes_steps: f64,
    /// PPO only: how much of the returns' variance the critic explains.
    pub explained_variance: Option<f64>,
}

/// One RL run's curves in a few numbers (`details.curves` in summary.json): the means
/// of its first and last five training steps, its largest per-step KL and the sampled
/// tokens before that step, and every held-out evaluation as (step, greedy accuracy).
#[derive(Clone, Debug, Serialize)]
pub struct RunCurve {
    pub first5: CurveWindow,
    pub last5: CurveWindow,
    pub max_kl: f64,
    pub tokens_at_max_kl: f64,
    pub heldout: Vec<(usize, f64)>,
}

impl RunCurve {
    pub fn of(o: &RunRecord) -> RunCurve {
        // A PPO run's common records are its GRPO-shaped log.
        let log: Vec<&GrpoStepLog> = if o.ppo.is_empty() { o.grpo.iter().collect() } else { common(&o.ppo).collect() };
        let explained: Vec<f64> = o.ppo.iter().filter(|s| s.common.tokens > 0).map(|s| s.explained_variance).collect();
        let steps: Vec<&GrpoStepLog> = log.iter().copied().filter(|s| s.tokens > 0).collect();
        let window = |w: &[&GrpoStepLog], ev: &[f64]| {
            let m = |f: fn(&GrpoStepLog) -> f64| stats::mean(&w.iter().map(|s| f(s)).collect::<Vec<_>>());
            CurveWindow {
                reward: m(|s| s.reward),
                accuracy_reward: m(|s| s.accuracy_reward),
                format_reward: m(|s| s.format_reward),
                kl: m(|s| s.kl),
                length: m(|s| s.length),
                writes_steps: m(|s| s.writes_steps),
                explained_variance: (!ev.is_empty()).then(|| stats::mean(ev)),
            }
        };
        let n = steps.len();
        let (mut seen, mut max_kl, mut tokens_at_max_kl) = (0usize, f64::NEG_INFINITY, 0.0);
        for s in &steps {
            if s.kl > max_kl {
                (max_kl, tokens_at_max_kl) = (s.kl, seen as f64);
            }
            seen += s.tokens;
        }
        RunCurve {
            first5: window(&steps[..n.min(5)], &explained[..explained.len().min(5)]),
            last5: window(&steps[n.saturating_sub(5)..], tail(&explained, 5)),
            max_kl,
            tokens_at_max_kl,
            heldout: log.iter().filter_map(|s| s.heldout_accuracy.map(|a| (s.step, a))).collect(),
        }
    }
}

crate::metrics_row! {
    /// A row of metrics.csv: one RL or SFT step of one run; a cell the run's kind does
    /// not have is empty.
    pub struct PipelineRow {
        pub run: String,
        pub seed: u64,
        pub step: usize,
        /// Tokens sampled (RL: before this step) or learned from (SFT: so far).
        pub tokens: usize,
        pub seconds: f64,
        pub reward: Option<f64>,
        pub accuracy_reward: Option<f64>,
        pub format_reward: Option<f64>,
        pub kl: Option<f64>,
        pub length: Option<f64>,
        pub writes_steps: Option<f64>,
        pub heldout_accuracy: Option<f64>,
        pub heldout_format: Option<f64>,
        pub value_loss: Option<f64>,
        pub explained_variance: Option<f64>,
        pub sft_loss: Option<f64>,
        pub sample_s: Option<f64>,
        pub score_s: Option<f64>,
        pub update_s: Option<f64>,
    }
}

impl PipelineRow {
    /// The rows of an RL log; x = tokens and seconds before the step.
    fn rl(run: &str, seed: u64, log: &[GrpoStepLog], critic: &[PpoStepLog]) -> Vec<PipelineRow> {
        let (mut tokens, mut seconds) = (0usize, 0.0);
        let mut rows = Vec::with_capacity(log.len());
        for (i, s) in log.iter().enumerate() {
            rows.push(PipelineRow {
                run: run.into(),
                seed,
                step: s.step,
                tokens,
                seconds,
                reward: Some(s.reward),
                accuracy_reward: Some(s.accuracy_reward),
                format_reward: Some(s.format_reward),
                kl: Some(s.kl),
                length: Some(s.length),
                writes_steps: Some(s.writes_steps),
                heldout_accuracy: s.heldout_accuracy,
                heldout_format: s.heldout_format,
                value_loss: critic.get(i).map(|c| c.value_loss),
                explained_variance: critic.get(i).map(|c| c.explained_variance),
                sft_loss: None,
                sample_s: Some(s.sample_s),
                score_s: Some(s.score_s),
                update_s: Some(s.update_s),
            });
            tokens += s.tokens;
            seconds += s.sample_s + s.score_s + s.update_s;
        }
        rows
    }

    fn sft(run: &str, seed: u64, log: &[SftLog]) -> Vec<PipelineRow> {
        log.iter()
            .map(|s| PipelineRow {
                run: run.into(),
                seed,
                step: s.step,
                tokens: s.tokens,
                seconds: s.seconds,
                reward: None,
                accuracy_reward: None,
                format_reward: None,
                kl: None,
                length: None,
                writes_steps: None,
                heldout_accuracy: s.heldout_accuracy,
                heldout_format: s.heldout_format,
                value_loss: None,
                explained_variance: None,
                sft_loss: s.loss,
                sample_s: None,
                score_s: None,
                update_s: None,
            })
            .collect()
    }
}

/// metrics.csv: every GRPO run, then every SFT run, then every PPO run, seed by seed.
pub fn metrics(results: &PipelineResults, seeds: &[u64]) -> Metrics<PipelineRow> {
    let mut m = Metrics::new();
    let runs = |kind| results.all(kind).into_iter().zip(seeds);
    for (name, kind) in [
        ("zero", PipelineRun::Zero as fn(u64) -> PipelineRun),
        ("cold_start", PipelineRun::ColdStart),
        ("small_rl", PipelineRun::SmallRl),
        ("hacking", PipelineRun::Hack),
    ] {
        for (o, &seed) in runs(kind) {
            PipelineRow::rl(name, seed, &o.grpo, &[]).iter().for_each(|r| m.push(r));
        }
    }
    for (name, kind) in [
        ("cold_start_sft", PipelineRun::ColdStart as fn(u64) -> PipelineRun),
        ("rejection_sft", PipelineRun::RejectionSft),
        ("distill", PipelineRun::Distill),
    ] {
        for (o, &seed) in runs(kind) {
            PipelineRow::sft(name, seed, &o.sft).iter().for_each(|r| m.push(r));
        }
    }
    for (o, &seed) in runs(PipelineRun::Ppo) {
        let log: Vec<GrpoStepLog> = o.ppo.iter().map(|s| s.common.clone()).collect();
        PipelineRow::rl("ppo_critic", seed, &log, &o.ppo).iter().for_each(|r| m.push(r));
    }
    m
}

/// samples.txt: the greedy and first sampled responses of every model to the first six
/// held-out problems (first seed), with the rule's verdicts.
pub fn samples_text(results: &PipelineResults, seed: u64, problems: &[Problem]) -> String {
    let runs: [(PipelineRun, &str); 8] = [
        (PipelineRun::BaseEval, "base"),
        (PipelineRun::Zero(seed), "GRPO (zero)"),
        (PipelineRun::Ppo(seed), "PPO critic"),
        (PipelineRun::ColdStart(seed), "cold start → GRPO"),
        (PipelineRun::RejectionSft(seed), "rejection SFT"),
        (PipelineRun::SmallRl(seed), "small GRPO"),
        (PipelineRun::Distill(seed), "distilled"),
        (PipelineRun::Hack(seed), "hacked"),
    ];
    let models: Vec<(&str, &Evaluation)> =
        runs.iter().filter_map(|&(run, name)| Some((name, results.get(run)?.eval.as_ref()?))).collect();
    let header = "Greedy and sampled responses to held-out problems, first seed (acc/fmt: the rule)\n\n";
    measures::samples_text(header, problems, &models, 1, 18)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Row;

    fn step(step: usize, tokens: usize, heldout: Option<f64>) -> GrpoStepLog {
        GrpoStepLog { step, tokens, heldout_accuracy: heldout, sample_s: 1.0, ..GrpoStepLog::default() }
    }

    #[test]
    fn tokens_to_counts_the_tokens_sampled_before_the_evaluation() {
        let log = [step(0, 100, Some(0.5)), step(1, 120, None), step(2, 90, Some(0.9)), step(3, 0, Some(1.0))];
        assert_eq!(tokens_to(&log, 0.9), 220.0);
        assert_eq!(tokens_to(&log, 0.5), 0.0);
        assert!(tokens_to(&log[..2], 0.9).is_nan());
        assert_eq!(known(f64::NAN), None);
    }

    #[test]
    fn run_curves_average_the_first_and_last_five_steps_and_locate_the_largest_kl() {
        // Seven training steps with reward = step and KL peaking at step 3, then the
        // final evaluation record (no tokens), which is not a training step.
        let mut log: Vec<GrpoStepLog> = (0..7)
            .map(|k| GrpoStepLog {
                reward: k as f64,
                kl: if k == 3 { 0.5 } else { 0.1 },
                ..step(k, 10 + k, (k % 3 == 0).then_some(k as f64 / 10.0))
            })
            .collect();
        log.push(step(7, 0, Some(0.9)));
        let run = RunRecord { grpo: log, ..RunRecord::default() };
        let c = RunCurve::of(&run);
        assert_eq!(c.first5.reward, 2.0); // steps 0-4
        assert_eq!(c.last5.reward, 4.0); // steps 2-6
        assert_eq!(c.max_kl, 0.5);
        assert_eq!(c.tokens_at_max_kl, (10 + 11 + 12) as f64, "tokens sampled before step 3");
        assert_eq!(c.heldout, vec![(0, 0.0), (3, 0.3), (6, 0.6), (7, 0.9)]);
        assert_eq!(c.last5.explained_variance, None, "a GRPO run has no critic");
    }

    #[test]
    fn rows_count_before_the_step_and_leave_what_a_run_lacks_empty() {
        let rows = PipelineRow::rl("zero", 7, &[step(0, 100, Some(0.5)), step(1, 0, None)], &[]);
        assert_eq!((rows[1].tokens, rows[1].seconds), (100, 1.0));
        let cells = rows[1].cells();
        let col = |name: &str| PipelineRow::columns().iter().position(|c| *c == name).unwrap();
        assert_eq!(cells[col("heldout_accuracy")], "");
        assert_eq!(cells[col("value_loss")], "");
        assert_eq!(cells[col("run")], "zero");
        let log = [SftLog { step: 0, loss: Some(0.5), tokens: 10, seconds: 0.1, ..SftLog::default() }];
        let cells = PipelineRow::sft("distill", 7, &log)[0].cells();
        assert_eq!((cells[col("sft_loss")].as_str(), cells[col("reward")].as_str()), ("0.5", ""));
    }
}
