//! Figure builders of the language-model chapters: one panel of learning curves, and
//! chapter 6's GRPO figures (training curves, response forms, pass@k, the β sweep).

use super::eval::Evaluation;
use super::grpo::{GrpoFlags, GrpoStepLog};
use super::grpo_experiments::{BetaStudy, GrpoRun};
use super::task::{ResponseForm, Task};
use crate::error::Result;
use crate::plot::{self, Band, Bars, CurveOptions, CurvePlot};
use crate::report::RunDir;
use crate::stats;

/// One panel of curves, in the course's style (no smoothing, linear y).
pub fn panel(title: &str, x_label: &str, y_label: &str, bands: Vec<Band>) -> CurvePlot {
    CurvePlot {
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        log_y: false,
        bands,
        hlines: vec![],
        smooth: 1,
    }
}

// ---------------------------------------------------------------------------------------
// Chapter 6: GRPO on the base model.
// ---------------------------------------------------------------------------------------

/// The x axis of GRPO's training curves.
const GRPO_STEPS: &str = "GRPO step (updates done)";

/// Every figure of chapter 6, in the order of the summary: training curves, response
/// length and steps, pass@k and maj@k, response forms, and the β sweep when one ran.
pub fn grpo_study(dir: &RunDir, study: &BetaStudy, grpo: &GrpoFlags) -> Result<Vec<String>> {
    let (base, main) = (study.base_eval(), study.main());
    let mut figures = training(dir, grpo, &main)?;
    figures.extend(length_and_steps(dir, &main)?);
    figures.extend(pass_maj(dir, base, &main)?);
    figures.extend(response_forms(dir, base, &main)?);
    if study.betas.len() > 1 {
        figures.extend(beta_sweep(dir, study)?);
    }
    Ok(figures)
}

/// A band over runs (seeds) of a per-step quantity, training steps only.
fn band(label: &str, runs: &[&GrpoRun], f: fn(&GrpoStepLog) -> f64) -> Band {
    let steps: Vec<&GrpoStepLog> = runs[0].log.iter().filter(|s| s.tokens > 0).collect();
    Band {
        label: label.into(),
        x: steps.iter().map(|s| s.step as f64 + 1.0).collect(),
        runs: runs.iter().map(|o| o.log.iter().filter(|s| s.tokens > 0).map(f).collect()).collect(),
    }
}

/// A band of the held-out evaluations, measured every few steps (x = updates done):
/// only the measured points, drawn as dots (a NaN between them breaks the line, so no
/// line claims values between two evaluations).
fn heldout_band(label: &str, runs: &[&GrpoRun], f: fn(&GrpoStepLog) -> Option<f64>) -> Band {
    let last = runs[0].log.iter().map(|s| s.step).max().unwrap_or(0);
    let at = |o: &GrpoRun| {
        let mut y = vec![f64::NAN; last + 1];
        for s in &o.log {
            if let Some(v) = f(s) {
                y[s.step] = v;
            }
        }
        y
    };
    Band { label: label.into(), x: (0..=last).map(|k| k as f64).collect(), runs: runs.iter().map(|o| at(o)).collect() }
}

fn training(dir: &RunDir, grpo: &GrpoFlags, runs: &[&GrpoRun]) -> Result<Vec<String>> {
    let n = runs.len();
    let p = |title: &str, y: &str, bands| panel(title, GRPO_STEPS, y, bands);
    let panels = vec![
        p(
            "Total reward (accuracy + format)",
            "mean reward of the batch (0-2)",
            vec![band("r = r_acc + r_fmt", runs, |s| s.reward)],
        ),
        p(
            "Accuracy reward",
            "share of samples",
            vec![band("right number inside <answer>", runs, |s| s.accuracy_reward)],
        ),
        p(
            "Format reward",
            "share of samples",
            vec![band("<think> … </think> <answer> … </answer>", runs, |s| s.format_reward)],
        ),
        p(
            "Held-out problems, greedy (every few steps)",
            "share of problems",
            vec![
                heldout_band("accuracy (the rule), mean of the seeds", runs, |s| s.heldout_accuracy),
                heldout_band("format compliance, mean of the seeds", runs, |s| s.heldout_format),
            ],
        ),
        p("KL to the reference (k3, per token)", "nats per token", vec![band("KL(π_θold ‖ π_ref)", runs, |s| s.kl)]),
        p("Response length", "tokens per response", vec![band("mean length of the batch", runs, |s| s.length)]),
        // Both are shares of the batch that carry no push: with μ = 1 the ratio ρ is
        // exactly 1 at the only update, so the clip fraction is 0 by construction (it
        // moves with --mu > 1); drawn here on the zero-spread axis so that its 0 reads
        // as 0 and not as the middle of an empty axis.
        p(
            &format!("Samples without a push (μ = {})", grpo.mu),
            "share",
            vec![
                band("groups with zero reward spread (all G rewards equal: A = 0)", runs, |s| s.zero_spread),
                band("tokens clipped (ρ outside [1−ε, 1+ε])", runs, |s| s.clip_fraction),
            ],
        ),
        p(
            "Seconds per step, by phase",
            "seconds (one core per run)",
            vec![
                band("sampling", runs, |s| s.sample_s),
                band("scoring (rewards, advantages, π_ref)", runs, |s| s.score_s),
                band(&format!("update (forward, backward, AdamW; μ = {})", grpo.mu), runs, |s| s.update_s),
            ],
        ),
    ];
    let title = format!(
        "GRPO on the base model: {} prompts × G = {} per step, β = {}, mean ± std over {} seed{}",
        grpo.prompts,
        grpo.group,
        grpo.beta,
        n,
        if n == 1 { "" } else { "s" }
    );
    Ok(plot::curves_panels(&dir.path("training"), &title, &panels, 2)?)
}

fn length_and_steps(dir: &RunDir, runs: &[&GrpoRun]) -> Result<Vec<String>> {
    let panels = vec![
        panel(
            "Mean response length (as in the R1-Zero paper)",
            GRPO_STEPS,
            "tokens per response",
            vec![band("mean length of the batch", runs, |s| s.length)],
        ),
        panel(
            "Do responses write column steps?",
            GRPO_STEPS,
            "share of samples",
            vec![band("<think> holds ≥ 2 equations (written steps)", runs, |s| s.writes_steps)],
        ),
        panel(
            "Arithmetic versus format",
            GRPO_STEPS,
            "share of samples",
            vec![
                band("the number is right (tags or not)", runs, |s| s.number_right),
                band("accuracy reward (right number inside <answer>)", runs, |s| s.accuracy_reward),
            ],
        ),
    ];
    let share = CurveOptions { y_limits: Some((0.0, 1.0)), ..CurveOptions::default() };
    Ok(plot::curves_panels_with(
        &dir.path("length_and_steps"),
        "What the responses look like during GRPO (training samples, T = 1)",
        &panels,
        &[CurveOptions::default(), share, share],
        3,
    )?)
}

fn pass_maj(dir: &RunDir, base: &Evaluation, runs: &[&GrpoRun]) -> Result<Vec<String>> {
    let k = base.samples_per_problem;
    let x: Vec<f64> = (1..=k).map(|k| k as f64).collect();
    let evals: Vec<&Evaluation> = runs.iter().filter_map(|o| o.eval.as_ref()).collect();
    let bands = vec![
        Band { label: "pass@k, base model".into(), x: x.clone(), runs: vec![base.pass_at_k.clone()] },
        Band { label: "maj@k, base model".into(), x: x.clone(), runs: vec![base.maj_at_k.clone()] },
        Band {
            label: "pass@k, after GRPO".into(),
            x: x.clone(),
            runs: evals.iter().map(|e| e.pass_at_k.clone()).collect(),
        },
        Band { label: "maj@k, after GRPO".into(), x, runs: evals.iter().map(|e| e.maj_at_k.clone()).collect() },
    ];
    let plot = panel(
        &format!("Test-time compute on {} held-out problems, before and after GRPO", base.problems),
        "k (samples per problem, T = 1)",
        "share of problems solved",
        bands,
    );
    Ok(plot::curves(&dir.path("pass_maj_at_k"), &plot)?)
}

/// The label of a response form in chapter 6's figure.
pub fn form_label(form: ResponseForm) -> &'static str {
    match form {
        ResponseForm::PlainText => "plain text",
        ResponseForm::AnswerOnly => "answer only",
        ResponseForm::ThinkOneShot => "think one-shot",
        ResponseForm::ThinkSteps => "think steps",
        ResponseForm::ThinkCheck => "think steps, check",
        ResponseForm::ThinkNoAnswer => "think, no answer",
        ResponseForm::Other => "other",
    }
}

/// The share of an evaluation's sampled responses in each form.
pub fn form_shares(e: &Evaluation) -> Vec<f64> {
    let n = e.sampled.texts.len().max(1) as f64;
    ResponseForm::ALL
        .iter()
        .map(|f| e.sampled.texts.iter().filter(|t| ResponseForm::of(t) == *f).count() as f64 / n)
        .collect()
}

/// One small panel per response form, base model and trained model side by side: bar
/// 0 (base) and bar 1 (after GRPO) keep their colours in every panel.
fn response_forms(dir: &RunDir, base: &Evaluation, runs: &[&GrpoRun]) -> Result<Vec<String>> {
    let before = form_shares(base);
    let after: Vec<Vec<f64>> = runs.iter().filter_map(|o| o.eval.as_ref()).map(form_shares).collect();
    let panels: Vec<Bars> = ResponseForm::ALL
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            let a: Vec<f64> = after.iter().map(|v| v[i]).collect();
            let reward = match f {
                ResponseForm::ThinkOneShot | ResponseForm::ThinkSteps | ResponseForm::ThinkCheck => "format reward 1",
                _ => "format reward 0",
            };
            Bars {
                title: format!("{} ({reward})", form_label(f)),
                x_label: String::new(),
                y_label: "share of sampled responses".into(),
                categories: vec!["base model".into(), format!("after GRPO (mean of {})", a.len())],
                values: vec![before[i], stats::mean(&a)],
                // NaN: the base model's single evaluation has no spread to show.
                errors: Some(vec![f64::NAN, stats::std(&a)]),
            }
        })
        .collect();
    let title = format!(
        "What sampled responses look like: base model (one evaluation) versus after GRPO ({} seed{}, ± 1 std)",
        after.len(),
        if after.len() == 1 { "" } else { "s" }
    );
    Ok(plot::bars_panels(&dir.path("response_forms"), &title, &panels, 3)?)
}

fn beta_sweep(dir: &RunDir, study: &BetaStudy) -> Result<Vec<String>> {
    let (mut kl, mut acc, mut sampled, mut len) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &b in &study.betas {
        let runs = study.at_beta(b);
        kl.push(band(&format!("β = {b}"), &runs, |s| s.kl));
        acc.push(heldout_band(&format!("β = {b}"), &runs, |s| s.heldout_accuracy));
        sampled.push(band(&format!("β = {b}"), &runs, |s| s.accuracy_reward));
        len.push(band(&format!("β = {b}"), &runs, |s| s.length));
    }
    let n = study.at_beta(study.betas[0]).len();
    // Greedy accuracy needs only the most likely form to flip; the sampled accuracy
    // shows how much of the distribution moved, which is where β makes a difference.
    let panels = vec![
        panel("KL to the reference (k3, per token)", GRPO_STEPS, "nats per token", kl),
        panel("Held-out accuracy, greedy (mean of the seeds)", GRPO_STEPS, "share of problems", acc),
        panel("Accuracy reward of the training samples (T = 1)", GRPO_STEPS, "share of samples", sampled),
        panel("Response length", GRPO_STEPS, "tokens per response", len),
    ];
    let title = format!(
        "β sweep: the KL penalty holds the policy near the base model (mean ± std over {n} seed{})",
        if n == 1 { "" } else { "s" }
    );
    Ok(plot::curves_panels(&dir.path("beta_sweep"), &title, &panels, 2)?)
}

/// The contrast, side by side: the same GRPO on the 2-digit task (left), where the base
/// model's one-shot answer is already right and RL learns the format, and on the 3-digit
/// task (right), where the written steps pay and RL learns to write them; accuracy and
/// length rising together, as in the R1-Zero paper's figures.
pub fn contrast(dir: &RunDir, a: (Task, &BetaStudy), b: (Task, &BetaStudy)) -> Result<Vec<String>> {
    let (easy, hard) = if a.0 == Task::Add2 { (a, b) } else { (b, a) };
    let name = |t: Task| match t {
        Task::Add2 => "2-digit sums",
        Task::Add3 => "3-digit sums",
    };
    let mut panels = Vec::new();
    let columns = [easy, hard];
    for (task, study) in columns {
        let runs = study.main();
        panels.push(panel(
            &format!("{}: accuracy", name(task)),
            GRPO_STEPS,
            "share",
            vec![
                band("number right, tags or not (samples)", &runs, |s| s.number_right),
                band("accuracy reward: right number in <answer> (samples)", &runs, |s| s.accuracy_reward),
                heldout_band("held-out greedy accuracy (the rule)", &runs, |s| s.heldout_accuracy),
            ],
        ));
    }
    for (task, study) in columns {
        let runs = study.main();
        let title = format!("{}: response length", name(task));
        panels.push(panel(&title, GRPO_STEPS, "tokens per response", vec![band("mean length", &runs, |s| s.length)]));
    }
    for (task, study) in columns {
        let runs = study.main();
        panels.push(panel(
            &format!("{}: what the responses write", name(task)),
            GRPO_STEPS,
            "share of samples",
            vec![
                band("written column steps in <think>", &runs, |s| s.writes_steps),
                band("a check of the result in <think>", &runs, |s| s.checks),
            ],
        ));
    }
    // Shares on 0-1, and one length axis for both tasks, so the columns compare by eye.
    let lengths: Vec<f64> = columns
        .iter()
        .flat_map(|(_, study)| study.main().into_iter().flat_map(|r| r.log.iter().filter(|s| s.tokens > 0)))
        .map(|s| s.length)
        .collect();
    let lo = (lengths.iter().copied().fold(f64::INFINITY, f64::min) / 5.0).floor() * 5.0;
    let hi = (lengths.iter().copied().fold(f64::NEG_INFINITY, f64::max) / 5.0).ceil() * 5.0;
    let limits = |y| CurveOptions { y_limits: Some(y), ..CurveOptions::default() };
    let options = [(0.0, 1.0), (0.0, 1.0), (lo, hi), (lo, hi), (0.0, 1.0), (0.0, 1.0)].map(limits);
    let n = easy.1.main().len();
    let title = format!(
        "The same GRPO on two tasks: on 2-digit sums it learns the format, on 3-digit sums it learns to write \
         the steps (training samples, T = 1; mean ± std over {n} seed{})",
        if n == 1 { "" } else { "s" }
    );
    Ok(plot::curves_panels_with(&dir.path("contrast"), &title, &panels, &options, 2)?)
}
