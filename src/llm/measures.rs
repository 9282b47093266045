//! The numbers the lessons of chapters 6 and 7 compare about one final evaluation
//! (an [`Evaluation`] of a model on held-out problems), and the responses they quote.
//!
//! [`Measures`] holds what both chapters report; [`DetailedMeasures`] adds the ones
//! that separate the arithmetic from the format (chapter 6), [`MeasuresAtK`] adds
//! pass@k and maj@k at the evaluation's largest k (chapter 7).

use super::eval::Evaluation;
use super::grpo::{number_answer, writes_steps};
use super::task::{self, Problem};
use serde::Serialize;

/// The numbers of one final evaluation that every lesson compares.
#[derive(Clone, Debug, Serialize)]
pub struct Measures {
    pub accuracy_greedy: f64,
    pub format_rate_greedy: f64,
    pub accuracy_sampled: f64,
    pub format_rate: f64,
    /// Sampled responses whose number is right, with or without tags.
    pub number_sampled: f64,
    /// Sampled responses that write column steps inside `<think>` (readability).
    pub writes_steps: f64,
    /// Mean tokens per sampled response.
    pub mean_length: f64,
    /// Sampled responses that check their result inside `<think>` (the word `check`).
    pub checks_answer: f64,
    /// Sampled responses whose check finds a slip and gives another number (`no 632`).
    pub corrects_after_check: f64,
}

impl Measures {
    pub fn of(e: &Evaluation, problems: &[Problem]) -> Measures {
        let sampled: Vec<(&String, &Problem)> =
            e.sampled.texts.iter().zip(&e.sampled.prompt).map(|(t, &p)| (t, &problems[p])).collect();
        Measures {
            accuracy_greedy: e.accuracy_greedy,
            format_rate_greedy: e.format_rate_greedy,
            accuracy_sampled: e.accuracy_sampled,
            format_rate: e.format_rate,
            number_sampled: share(&sampled, |(t, p)| number_right(t, p)),
            writes_steps: share(&e.sampled.texts, |t| writes_steps(t)),
            mean_length: e.mean_response_length,
            checks_answer: share(&e.sampled.texts, |t| task::checks_answer(t)),
            corrects_after_check: share(&e.sampled.texts, |t| task::corrects_after_check(t)),
        }
    }
}

/// Whether the response's number is right, tags or not (not a reward: a diagnostic).
pub fn number_right(text: &str, problem: &Problem) -> bool {
    number_answer(text) == Some(problem.answer().to_string().as_str())
}

/// The share of `items` for which `keep` holds (0 for none).
fn share<T>(items: &[T], keep: impl Fn(&T) -> bool) -> f64 {
    items.iter().filter(|x| keep(x)).count() as f64 / items.len().max(1) as f64
}

/// pass@k or maj@k at one k (1-based) from its curve, NaN when the evaluation drew fewer.
pub fn at_k(curve: &[f64], k: usize) -> f64 {
    curve.get(k.wrapping_sub(1)).copied().unwrap_or(f64::NAN)
}

/// [`Measures`] plus those that separate the arithmetic (is the number right, tags or
/// not) from the format, and pass@k, maj@k at the lesson's k (chapter 6).
#[derive(Clone, Debug, Serialize)]
pub struct DetailedMeasures {
    #[serde(flatten)]
    pub measures: Measures,
    /// Greedy responses whose number is right, tags or not.
    pub number_greedy: f64,
    /// Accuracy among the sampled responses with the right format (NaN: none has it).
    pub accuracy_among_formatted: f64,
    /// Sampled responses that use the corpus's words "so" or "carry".
    pub so_or_carry: f64,
    pub maj_at_16: f64,
    pub pass_at_1: f64,
    pub pass_at_16: f64,
}

impl DetailedMeasures {
    pub fn of(e: &Evaluation, problems: &[Problem]) -> DetailedMeasures {
        let greedy: Vec<(&String, &Problem)> = e.greedy.texts.iter().zip(problems).collect();
        let formatted: Vec<(&String, &Problem)> = e
            .sampled
            .texts
            .iter()
            .zip(&e.sampled.prompt)
            .filter(|(t, _)| task::format_ok(t))
            .map(|(t, &p)| (t, &problems[p]))
            .collect();
        let among = formatted.iter().map(|(t, p)| task::accuracy_reward(t, p)).sum::<f64>();
        DetailedMeasures {
            measures: Measures::of(e, problems),
            number_greedy: share(&greedy, |(t, p)| number_right(t, p)),
            accuracy_among_formatted: if formatted.is_empty() { f64::NAN } else { among / formatted.len() as f64 },
            so_or_carry: share(&e.sampled.texts, |t| t.contains("so") || t.contains("carry")),
            maj_at_16: at_k(&e.maj_at_k, 16),
            pass_at_1: at_k(&e.pass_at_k, 1),
            pass_at_16: at_k(&e.pass_at_k, 16),
        }
    }
}

/// The sampled responses that check their result, and what the checks did: how many
/// found a slip and gave another number (`no`), how many of those ended right, and the
/// first few of each kind as examples (chapter 6's "aha" question).
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub samples: usize,
    pub checks: usize,
    /// Checking responses whose answer is right.
    pub checks_right: usize,
    pub corrects: usize,
    /// Correcting responses whose answer is right (the check caught a real slip).
    pub corrects_right: usize,
    /// Up to four correcting responses, `question → response (right or wrong)`.
    pub correction_examples: Vec<String>,
    /// Up to four checking responses without a correction.
    pub check_examples: Vec<String>,
}

impl CheckReport {
    pub fn of(e: &Evaluation, problems: &[Problem]) -> CheckReport {
        let sampled: Vec<(&str, &Problem)> =
            e.sampled.texts.iter().zip(&e.sampled.prompt).map(|(t, &p)| (t.as_str(), &problems[p])).collect();
        let checks: Vec<(&str, &Problem)> = sampled.iter().copied().filter(|(t, _)| task::checks_answer(t)).collect();
        let (corrects, plain): (Vec<_>, Vec<_>) = checks.iter().partition(|(t, _)| task::corrects_after_check(t));
        let right = |(t, p): &(&str, &Problem)| task::accuracy_reward(t, p) == 1.0;
        let show = |(t, p): &(&str, &Problem)| {
            let verdict = if right(&(t, p)) { "right" } else { "wrong" };
            format!("{} →{t} ({verdict})", p.question())
        };
        CheckReport {
            samples: sampled.len(),
            checks: checks.len(),
            checks_right: checks.iter().filter(|x| right(x)).count(),
            corrects: corrects.len(),
            corrects_right: corrects.iter().filter(|x| right(x)).count(),
            correction_examples: corrects.iter().take(4).map(show).collect(),
            check_examples: plain.iter().take(4).map(show).collect(),
        }
    }
}

/// [`Measures`] plus pass@k and maj@k at the evaluation's largest k (chapter 7).
#[derive(Clone, Debug, Serialize)]
pub struct MeasuresAtK {
    #[serde(flatten)]
    pub measures: Measures,
    pub pass_at_k: f64,
    pub maj_at_k: f64,
}

impl MeasuresAtK {
    pub fn of(e: &Evaluation, problems: &[Problem]) -> MeasuresAtK {
        MeasuresAtK {
            measures: Measures::of(e, problems),
            pass_at_k: e.pass_at_k.last().copied().unwrap_or(f64::NAN),
            maj_at_k: e.maj_at_k.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// The greedy and the first `sampled` sampled responses of each model to the first six
/// problems, each with its rule rewards: `samples.txt`. `header` opens the file;
/// `label_width` pads the models' names.
pub fn samples_text(
    header: &str,
    problems: &[Problem],
    models: &[(&str, &Evaluation)],
    sampled: usize,
    label_width: usize,
) -> String {
    let mut s = String::from(header);
    for (p, problem) in problems.iter().enumerate().take(6) {
        s.push_str(&format!("User: {}. Assistant:   (answer {})\n", problem.question(), problem.answer()));
        for (name, e) in models {
            let mut line = |kind: &str, text: &str| {
                let (a, f) = (task::accuracy_reward(text, problem), task::format_reward(text));
                s.push_str(&format!("  [{name:label_width$} {kind:7} acc {a} fmt {f}]{text}\n"));
            };
            line("greedy", &e.greedy.texts[p]);
            let n = e.samples_per_problem;
            for i in 0..n.min(sampled) {
                line("sampled", &e.sampled.texts[p * n + i]);
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_k_is_one_based_and_nan_past_the_end() {
        let curve = [0.25, 0.5, 0.75];
        assert_eq!(at_k(&curve, 1), 0.25);
        assert_eq!(at_k(&curve, 3), 0.75);
        assert!(at_k(&curve, 16).is_nan());
        assert!(at_k(&curve, 0).is_nan());
    }

    #[test]
    fn number_right_ignores_the_tags() {
        let p = Problem { a: 47, b: 85 };
        assert!(number_right("The answer is 132.", &p));
        assert!(number_right("<think> 7+5=12 </think> <answer> 132 </answer>", &p));
        assert!(!number_right("<answer> 131 </answer>", &p));
    }
}
