//! Chapter 5's figures: the pre-training loss, pass@k and maj@k, and what the base
//! model's responses look like (their length, their form, and whether the number in
//! each form is right).

use super::base_model::{form_name, forms_and_right_numbers, BaseModel, LengthGroup};
use super::eval::Evaluation;
use super::task::Problem;
use super::task::ResponseForm;
use crate::error::Result;
use crate::plot::{self, Band, Bars, CurvePlot};
use crate::report::RunDir;

/// Draws every figure of the chapter (the loss curve only if the model has one) and
/// returns the files written.
pub fn draw_all(dir: &RunDir, base: &BaseModel, eval: &Evaluation, problems: &[Problem]) -> Result<Vec<String>> {
    let mut figures = Vec::new();
    let curve = base.loss_curve();
    if !curve.is_empty() {
        figures.extend(pretrain_loss(dir, &curve)?);
    }
    figures.extend(pass_maj(dir, eval)?);
    figures.extend(response_lengths(dir, eval)?);
    figures.extend(response_forms(dir, eval, problems)?);
    Ok(figures)
}

/// The batch loss against tokens seen, from (tokens, loss) per step.
pub fn pretrain_loss(dir: &RunDir, curve: &[(usize, f64)]) -> Result<Vec<String>> {
    let plot = CurvePlot {
        title: "Pre-training: next-token cross-entropy".into(),
        x_label: "tokens seen (millions)".into(),
        y_label: "loss (nats per token)".into(),
        log_y: false,
        bands: vec![Band {
            label: "training batch loss (moving average of 10 steps)".into(),
            x: curve.iter().map(|&(tokens, _)| tokens as f64 / 1e6).collect(),
            runs: vec![curve.iter().map(|&(_, loss)| loss).collect()],
        }],
        hlines: vec![],
        smooth: 10,
    };
    Ok(plot::curves(&dir.path("pretrain_loss"), &plot)?)
}

/// pass@k and maj@k for k = 1 … samples per problem, against greedy accuracy.
pub fn pass_maj(dir: &RunDir, eval: &Evaluation) -> Result<Vec<String>> {
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

/// A histogram of the sampled responses' lengths (one bar per token count), one colour
/// per kind of response (with or without `<think>`), so that a colour means a kind and
/// not a bar. The plot library's bars take one colour per bar, so each kind's bars are
/// drawn as one outline: up, across and down at every length it has.
pub fn response_lengths(dir: &RunDir, eval: &Evaluation) -> Result<Vec<String>> {
    let n = eval.lengths.len().max(1) as f64;
    let half = 0.4;
    let bands = LengthGroup::ALL
        .iter()
        .map(|&g| {
            let lengths = g.lengths(eval);
            let max = lengths.iter().copied().max().unwrap_or(0);
            let (mut x, mut y) = (Vec::new(), Vec::new());
            for l in 0..=max {
                let share = lengths.iter().filter(|&&k| k == l).count() as f64 / n;
                if share > 0.0 {
                    let l = l as f64;
                    x.extend([l - half, l - half, l + half, l + half]);
                    y.extend([0.0, share, share, 0.0]);
                }
            }
            Band {
                label: format!("{}: {:.0}% of responses", g.label(), 100.0 * lengths.len() as f64 / n),
                x,
                runs: vec![y],
            }
        })
        .collect();
    let plot = CurvePlot {
        title: format!("Base model: length of {} sampled responses, by kind", eval.lengths.len()),
        x_label: "response length (tokens, end token included)".into(),
        y_label: "share of all sampled responses".into(),
        log_y: false,
        bands,
        hlines: vec![],
        smooth: 1,
    };
    Ok(plot::curves(&dir.path("response_lengths"), &plot)?)
}

/// Two bar charts over the response forms: how common each is, and how often its
/// number is right.
pub fn response_forms(dir: &RunDir, eval: &Evaluation, problems: &[Problem]) -> Result<Vec<String>> {
    let (share, right) = forms_and_right_numbers(eval, problems);
    let categories: Vec<String> = ResponseForm::ALL.iter().map(|&f| form_name(f).to_string()).collect();
    let mut figures = plot::bars(
        &dir.path("response_kinds"),
        &Bars {
            title: format!("Base model: what {} sampled responses look like", eval.sampled.texts.len()),
            x_label: "response form (format reward 1 only for the two <think> ... <answer> forms)".into(),
            y_label: "share of responses".into(),
            categories: categories.clone(),
            values: share,
            errors: None,
        },
    )?;
    figures.extend(plot::bars(
        &dir.path("correct_by_kind"),
        &Bars {
            title: "Base model: is the number right? (tags or not), by response form".into(),
            x_label: "response form".into(),
            y_label: "share with the right number".into(),
            categories,
            values: right,
            errors: None,
        },
    )?);
    Ok(figures)
}
