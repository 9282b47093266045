//! The pre-training corpus: an endless stream of documents generated from the seed,
//! a mix of text forms like arithmetic found on the web. Only training-side problems
//! appear ([`Task::sample_train`]); the held-out test problems never do.

use super::task::{r1_prompt, Problem, Task};
use super::tokenizer::{Tokenizer, EOS};
use crate::error::Result;
use rand::{Rng, RngExt};

/// The kinds of document, with how often each appears (weights are normalised).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Form {
    /// `47+85=132`
    Equation,
    /// `47+85: 7+5=12 4+8+1=13 so 132` (two styles)
    Worked,
    /// Template conversation answered in plain text: `The answer is 632.` (format broken)
    ChatPlain,
    /// Template conversation with `<answer>` but no `<think>` (format broken)
    ChatAnswerOnly,
    /// `<think> 47+85=132 </think> <answer> 132 </answer>`: right format, one-shot sum
    ChatThinkShort,
    /// `<think> 7+5=12 4+8+1=13 </think> <answer> 132 </answer>`: written steps
    ChatThinkSteps,
    /// Written steps in `<think>`, then the bare number without `<answer>` (format broken)
    ChatThinkNoAnswer,
    /// Written steps, then a check by subtracting back: `... check 632-285=347 </think>`
    ChatThinkCheck,
    /// Written steps, a slip in the result, a check that finds it and the fix:
    /// `... check 652-285=367 no 632 </think> <answer> 632 </answer>`
    ChatThinkCorrect,
}

/// The 3-digit task's mix: (form, weight). Why these numbers: see chapter 5's lesson. In
/// short, most text is worked column addition (where the written skill comes from) and
/// little is one-shot (`Equation`, and the plain chats), so the base model's written
/// steps are far more often right than its one-shot answers; three chats in four answer
/// in plain words, so its most likely reply breaks the format; one in four writes steps
/// in the tags, and one chat in twenty also checks its result (a few of those find a
/// slip and fix it). Together the chats are 30% of the documents.
pub const MIX_ADD3: [(Form, f64); 9] = [
    (Form::Equation, 0.05),
    (Form::Worked, 0.65),
    (Form::ChatPlain, 0.17),
    (Form::ChatAnswerOnly, 0.02),
    (Form::ChatThinkShort, 0.03),
    (Form::ChatThinkSteps, 0.05),
    (Form::ChatThinkNoAnswer, 0.01),
    (Form::ChatThinkCheck, 0.01),
    (Form::ChatThinkCorrect, 0.005),
];

/// The 2-digit task's mix (the contrast). Most text is plain arithmetic; conversations
/// in the template mostly answer in plain words, so the base model's most likely reply
/// breaks the format, yet a third of them show the tags, so sampling finds the format
/// sometimes. Its one-shot answers are as good as its written steps.
pub const MIX_ADD2: [(Form, f64); 7] = [
    (Form::Equation, 0.25),
    (Form::Worked, 0.25),
    (Form::ChatPlain, 0.27),
    (Form::ChatAnswerOnly, 0.03),
    (Form::ChatThinkShort, 0.08),
    (Form::ChatThinkSteps, 0.09),
    (Form::ChatThinkNoAnswer, 0.03),
];

/// The corpus mix of a task.
pub fn mix(task: Task) -> &'static [(Form, f64)] {
    match task {
        Task::Add3 => &MIX_ADD3,
        Task::Add2 => &MIX_ADD2,
    }
}

/// The written steps, e.g. `7+5=12 4+8+1=13`, and the answer they lead to.
/// `forget_carry` writes every column without its carry (a classic mistake).
fn steps(p: &Problem, sep: &str, forget_carry: bool) -> (String, u32) {
    let mut parts = Vec::new();
    let mut answer = 0;
    let n = p.steps().len();
    for (i, s) in p.steps().iter().enumerate() {
        let carry = if forget_carry { 0 } else { s.carry };
        let sum = s.x + s.y + carry;
        parts.push(if carry > 0 {
            format!("{}+{}+{}={}", s.x, s.y, carry, sum)
        } else {
            format!("{}+{}={}", s.x, s.y, sum)
        });
        // The last column keeps its two digits; the others give their ones digit.
        answer += if i + 1 == n { sum * 10u32.pow(i as u32) } else { (sum % 10) * 10u32.pow(i as u32) };
    }
    (parts.join(sep), answer)
}

/// A wrong answer near the right one: one digit changed, never below `low` (a changed
/// leading digit moves up instead).
fn typo(answer: u32, low: u32, rng: &mut impl Rng) -> u32 {
    let digits = answer.to_string().len() as u32;
    let place = 10u32.pow(rng.random_range(0..digits));
    let digit = (answer / place) % 10;
    let new = (digit + rng.random_range(1..10)) % 10;
    let wrong = answer - digit * place + new * place;
    if wrong < low {
        answer + place
    } else {
        wrong
    }
}

/// One document of the given form about one of the task's training problems. With
/// probability `noise` it contains a mistake (a typo in the result, or the carries
/// forgotten), as text from the web does.
pub fn document(task: Task, form: Form, noise: f64, rng: &mut impl Rng) -> String {
    let p = task.sample_train(rng);
    let q = p.question();
    let noisy = rng.random::<f64>() < noise;
    let forget = noisy && rng.random::<bool>();
    let (work, mut answer) = steps(&p, " ", forget);
    if noisy && !forget {
        answer = typo(answer, 10, rng);
    }
    match form {
        Form::Equation => format!("{q}={answer}"),
        Form::Worked => {
            if rng.random::<bool>() {
                format!("{q}: {work} so {answer}")
            } else {
                let (work, _) = steps(&p, ", ", forget);
                format!("{q} carry: {work}, so {q}={answer}.")
            }
        }
        Form::ChatPlain => format!("{} The answer is {answer}.", r1_prompt(&q)),
        Form::ChatAnswerOnly => format!("{} <answer> {answer} </answer>", r1_prompt(&q)),
        Form::ChatThinkShort => format!("{} <think> {q}={answer} </think> <answer> {answer} </answer>", r1_prompt(&q)),
        Form::ChatThinkSteps => format!("{} <think> {work} </think> <answer> {answer} </answer>", r1_prompt(&q)),
        Form::ChatThinkNoAnswer => format!("{} <think> {work} </think> {answer}", r1_prompt(&q)),
        Form::ChatThinkCheck => {
            let back = answer as i64 - p.b as i64;
            format!(
                "{} <think> {work} check {answer}-{}={back} </think> <answer> {answer} </answer>",
                r1_prompt(&q),
                p.b
            )
        }
        Form::ChatThinkCorrect => {
            let slip = typo(answer, task.range().0, rng);
            let back = slip as i64 - p.b as i64;
            format!(
                "{} <think> {work} check {slip}-{}={back} no {answer} </think> <answer> {answer} </answer>",
                r1_prompt(&q),
                p.b
            )
        }
    }
}

/// A form drawn with the mix's weights.
pub fn draw_form(mix: &[(Form, f64)], rng: &mut impl Rng) -> Form {
    let total: f64 = mix.iter().map(|(_, w)| w).sum();
    let mut u = rng.random::<f64>() * total;
    for &(form, w) in mix {
        if u < w {
            return form;
        }
        u -= w;
    }
    mix[mix.len() - 1].0
}

/// One training row of `len` tokens: documents of the tokenizer's task separated by the
/// end token, the first starting at position 0 (as prompts do at test time), the last
/// cut off.
pub fn row(tokenizer: &Tokenizer, mix: &[(Form, f64)], noise: f64, len: usize, rng: &mut impl Rng) -> Result<Vec<u32>> {
    let mut ids = Vec::with_capacity(len + 64);
    while ids.len() < len {
        ids.extend(tokenizer.encode(&document(tokenizer.task(), draw_form(mix, rng), noise, rng))?);
        ids.push(EOS);
    }
    ids.truncate(len);
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_mistakes() {
        let p = Problem { a: 347, b: 285 };
        assert_eq!(steps(&p, " ", false), ("7+5=12 4+8+1=13 3+2+1=6".to_string(), 632));
        assert_eq!(steps(&p, " ", true), ("7+5=12 4+8=12 3+2=5".to_string(), 522));
        assert_eq!(steps(&Problem { a: 999, b: 1 }, " ", false).1, 1000);
        let mut rng = crate::rng::seeded(0, 0);
        for _ in 0..100 {
            let w = typo(632, 10, &mut rng);
            assert!(w != 632 && w >= 10);
            let w = typo(102, 100, &mut rng);
            assert!(w != 102 && w >= 100, "{w}");
        }
    }

    /// The kind of a generated document, read back from its text.
    fn kind(doc: &str) -> Form {
        let Some(reply) = doc.split_once(" Assistant: ").map(|(_, r)| r) else {
            return if doc.contains(':') { Form::Worked } else { Form::Equation };
        };
        if reply.starts_with("The answer is") {
            Form::ChatPlain
        } else if reply.starts_with("<answer>") {
            Form::ChatAnswerOnly
        } else if reply.contains(" no ") {
            Form::ChatThinkCorrect
        } else if reply.contains("check") {
            Form::ChatThinkCheck
        } else if !reply.contains("<answer>") {
            Form::ChatThinkNoAnswer
        } else if reply.split("</think>").next().is_some_and(|think| think.matches('=').count() == 1) {
            Form::ChatThinkShort
        } else {
            Form::ChatThinkSteps
        }
    }

    #[test]
    fn the_corpus_has_each_form_as_often_as_its_weight() {
        // Read the forms back from the tokens of training rows (not from the draws), so
        // a form written wrongly, or a weight mixed up, shows.
        for task in [Task::Add3, Task::Add2] {
            let tok = Tokenizer::for_task(task);
            let mut rng = crate::rng::seeded(3, 1);
            let mut counts = std::collections::HashMap::new();
            // One long row: only its last document is cut off, so long and short
            // documents are counted alike (short rows would drop long ones more often).
            let text = tok.decode(&row(&tok, mix(task), 0.1, 300_000, &mut rng).unwrap());
            let docs: Vec<&str> = text.split("<eos>").collect();
            let n = (docs.len() - 1) as f64;
            for doc in &docs[..docs.len() - 1] {
                *counts.entry(format!("{:?}", kind(doc))).or_insert(0.0) += 1.0;
            }
            let total: f64 = mix(task).iter().map(|(_, w)| w).sum();
            for (form, w) in mix(task) {
                let p = w / total;
                let share = counts.get(&format!("{form:?}")).copied().unwrap_or(0.0) / n;
                let tol = 4.0 * (p * (1.0 - p) / n).sqrt();
                assert!((share - p).abs() < tol, "{task:?} {form:?}: share {share:.4}, weight {p:.4}");
            }
        }
    }

    #[test]
    fn three_digit_documents_fit_the_context() {
        // Longest document (end token included) per form over many draws: written steps
        // need 48 tokens, steps and a check 64, a corrected slip 71, so the 3-digit model's
        // context is 80.
        let mut rng = crate::rng::seeded(0, 0);
        let tok = Tokenizer::for_task(Task::Add3);
        for (form, limit) in [
            (Form::ChatPlain, 22),
            (Form::ChatThinkSteps, 48),
            (Form::ChatThinkCheck, 64),
            (Form::ChatThinkCorrect, 71),
        ] {
            let longest = (0..3000)
                .map(|_| tok.encode(&document(Task::Add3, form, 0.1, &mut rng)).unwrap().len() + 1)
                .max()
                .unwrap();
            assert!(longest <= limit && longest + 4 > limit, "{form:?}: {longest} tokens");
        }
        let doc = document(Task::Add3, Form::ChatThinkCorrect, 0.0, &mut rng);
        let reply = doc.split("Assistant:").nth(1).unwrap();
        assert!(super::super::task::corrects_after_check(reply) && super::super::task::format_ok(reply), "{doc}");
    }
}
