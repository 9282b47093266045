//! The task: add two 2-digit numbers. The rule checker and the R1-Zero template are
//! pure functions here, shared by pre-training (chapter 5) and GRPO (chapter 6).
//!
//! One-shot, `47+85=132` is hard for a small model (the carry must be done "in its
//! head"); written column by column, `7+5=12 4+8+1=13`, every step is a one-digit fact. The answer is checked by a rule, exact match, as in DeepSeek-R1-Zero.

use rand::{Rng, RngExt};

/// The R1-Zero training template (DeepSeek-AI 2025, Table 1), verbatim, with `{prompt}` to fill.
pub const TEMPLATE: &str = "A conversation between User and Assistant. The user asks a question, and the Assistant \
solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the \
answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, \
respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: {prompt}. Assistant:";
/// The template's fixed text before `{prompt}`: one token.
pub const TEMPLATE_PREFIX: &str = "A conversation between User and Assistant. The user asks a question, and the \
Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user \
with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, \
respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: ";
/// The template's fixed text after `{prompt}`: one token.
pub const TEMPLATE_SUFFIX: &str = ". Assistant:";

/// The template with the question filled in.
pub fn r1_prompt(question: &str) -> String {
    TEMPLATE.replace("{prompt}", question)
}

/// The operands are drawn from `LOW..HIGH` (two digits each).
pub const LOW: u32 = 10;
pub const HIGH: u32 = 100;

/// One problem: `a + b` with 2-digit `a` and `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Problem {
    pub a: u32,
    pub b: u32,
}

/// One written step: the ones or the tens column, `x + y (+ carry) = sum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub x: u32,
    pub y: u32,
    pub carry: u32,
    pub sum: u32,
}

impl Problem {
    /// The question as the user writes it, e.g. `47+85`.
    pub fn question(&self) -> String {
        format!("{}+{}", self.a, self.b)
    }

    pub fn answer(&self) -> u32 {
        self.a + self.b
    }

    /// The column steps from the ones up: the written method.
    pub fn steps(&self) -> Vec<Step> {
        let (mut a, mut b, mut carry) = (self.a, self.b, 0);
        let mut steps = Vec::new();
        while a > 0 || b > 0 {
            let (x, y) = (a % 10, b % 10);
            let sum = x + y + carry;
            steps.push(Step { x, y, carry, sum });
            carry = sum / 10;
            a /= 10;
            b /= 10;
        }
        steps
    }

    /// Held-out problems never appear in any training document. The rule is a hash of
    /// the unordered pair, so `b+a` is held out with `a+b`; about 1 in 10 is held out.
    pub fn is_held_out(&self) -> bool {
        let (lo, hi) = (self.a.min(self.b) as u64, self.a.max(self.b) as u64);
        let mut z = (lo * 1000 + hi).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z ^= z >> 29;
        z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        (z >> 32) % 10 == 0
    }

    /// A random problem of the training side of the split.
    pub fn sample_train(rng: &mut impl Rng) -> Problem {
        loop {
            let p = Problem { a: rng.random_range(LOW..HIGH), b: rng.random_range(LOW..HIGH) };
            if !p.is_held_out() {
                return p;
            }
        }
    }
}

/// The fixed held-out test set: `n` distinct held-out problems (the same for every seed).
pub fn test_problems(n: usize) -> Vec<Problem> {
    let mut rng = crate::rng::seeded(0x7E57, 0);
    let mut out: Vec<Problem> = Vec::with_capacity(n);
    while out.len() < n {
        let p = Problem { a: rng.random_range(LOW..HIGH), b: rng.random_range(LOW..HIGH) };
        if p.is_held_out() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// The text inside the first `<answer> ... </answer>` pair, trimmed; `None` without one.
pub fn extract_answer(completion: &str) -> Option<&str> {
    let start = completion.find("<answer>")? + "<answer>".len();
    let len = completion[start..].find("</answer>")?;
    Some(completion[start..start + len].trim())
}

/// Accuracy reward: 1 when the answer inside the tags is exactly the right number.
pub fn accuracy_reward(completion: &str, problem: &Problem) -> f64 {
    match extract_answer(completion) {
        Some(a) if a == problem.answer().to_string() => 1.0,
        _ => 0.0,
    }
}

/// Format compliance: exactly `<think> ... </think> <answer> ... </answer>`, each tag
/// once, in that order, with only white space around and between the two parts.
pub fn format_ok(completion: &str) -> bool {
    let tags = ["<think>", "</think>", "<answer>", "</answer>"];
    if tags.iter().any(|t| completion.matches(t).count() != 1) {
        return false;
    }
    let s = completion.trim();
    let pos: Vec<usize> = tags.iter().map(|t| s.find(t).unwrap_or(usize::MAX)).collect();
    let between = &s[pos[1] + tags[1].len()..pos[2].max(pos[1] + tags[1].len())];
    pos[0] == 0 && pos.windows(2).all(|w| w[0] < w[1]) && s.ends_with("</answer>") && between.trim().is_empty()
}

/// Format reward: 1 when [`format_ok`].
pub fn format_reward(completion: &str) -> f64 {
    if format_ok(completion) {
        1.0
    } else {
        0.0
    }
}

/// The shape of a response, by the corpus form (chapter 5) it resembles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseForm {
    /// `The answer is 132.`, no tags.
    PlainText,
    /// `<answer> 132 </answer>` without `<think>`.
    AnswerOnly,
    /// The right format with one equation inside `<think>`.
    ThinkOneShot,
    /// The right format with written column steps: two or more equations inside `<think>`.
    ThinkSteps,
    /// `<think>` without `<answer>`.
    ThinkNoAnswer,
    Other,
}

impl ResponseForm {
    /// Every form, in the figures' order.
    pub const ALL: [ResponseForm; 6] = [
        ResponseForm::PlainText,
        ResponseForm::AnswerOnly,
        ResponseForm::ThinkOneShot,
        ResponseForm::ThinkSteps,
        ResponseForm::ThinkNoAnswer,
        ResponseForm::Other,
    ];

    pub fn of(text: &str) -> ResponseForm {
        let t = text.trim();
        if format_ok(t) {
            // The right format starts with <think>: count the equations before </think>.
            let think = t.split("</think>").next().unwrap_or("");
            if think.matches('=').count() >= 2 {
                ResponseForm::ThinkSteps
            } else {
                ResponseForm::ThinkOneShot
            }
        } else if t.starts_with("<think>") && !t.contains("<answer>") {
            ResponseForm::ThinkNoAnswer
        } else if t.starts_with("<answer>") {
            ResponseForm::AnswerOnly
        } else if t.starts_with("The answer is") && !t.contains('<') {
            ResponseForm::PlainText
        } else {
            ResponseForm::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_prefix_question_suffix() {
        let p = r1_prompt("12+34");
        assert_eq!(p, format!("{TEMPLATE_PREFIX}12+34{TEMPLATE_SUFFIX}"));
        assert!(p.ends_with("User: 12+34. Assistant:"));
    }

    #[test]
    fn steps_and_answers() {
        let p = Problem { a: 347, b: 285 };
        let s: Vec<u32> = p.steps().iter().map(|s| s.sum).collect();
        assert_eq!(s, vec![12, 13, 6]);
        assert_eq!(p.answer(), 632);
        assert_eq!(Problem { a: 47, b: 85 }.steps().iter().map(|s| s.sum).collect::<Vec<_>>(), vec![12, 13]);
        assert_eq!(Problem { a: 999, b: 999 }.steps().last().unwrap().sum, 19);
    }

    #[test]
    fn checker_on_tricky_strings() {
        let p = Problem { a: 347, b: 285 };
        let good = " <think> 7+5=12 </think> <answer> 632 </answer>";
        assert!(format_ok(good) && accuracy_reward(good, &p) == 1.0);
        assert_eq!(accuracy_reward("<answer>632</answer>", &p), 1.0);
        assert!(!format_ok("<answer>632</answer>"));
        for bad in [
            "<think> x </think> 632",
            "<think> x </think> y <answer> 632 </answer>",
            "<answer> 632 </answer> <think> x </think>",
            "<think> x </think> <answer> 632 </answer> more",
            "<think> <think> x </think> <answer> 632 </answer>",
            "<think> x </think> <answer> 632",
        ] {
            assert!(!format_ok(bad), "{bad}");
        }
        assert_eq!(accuracy_reward("<answer> 0632 </answer>", &p), 0.0);
        assert_eq!(accuracy_reward("<answer> 632 </answer><answer> 1 </answer>", &p), 1.0);
        assert_eq!(accuracy_reward("The answer is 632.", &p), 0.0);
        assert_eq!(extract_answer("</answer> <answer> 5 </answer>"), Some("5"));
    }

    #[test]
    fn response_forms() {
        let form = ResponseForm::of;
        assert_eq!(form(" <think> 7+5=12 4+8+1=13 </think> <answer> 132 </answer>"), ResponseForm::ThinkSteps);
        assert_eq!(form("<think> 47+85=132 </think> <answer> 132 </answer>"), ResponseForm::ThinkOneShot);
        assert_eq!(form("<think> 7+5=12 so"), ResponseForm::ThinkNoAnswer);
        assert_eq!(form("<answer> 132 </answer>"), ResponseForm::AnswerOnly);
        assert_eq!(form("The answer is 132."), ResponseForm::PlainText);
        assert_eq!(form("The answer is <answer>"), ResponseForm::Other);
    }

    #[test]
    fn held_out_split() {
        let test = test_problems(200);
        assert!(test.iter().all(|p| p.is_held_out()));
        assert!(Problem { a: test[0].b, b: test[0].a }.is_held_out());
        let mut rng = crate::rng::seeded(1, 1);
        assert!((0..1000).all(|_| !Problem::sample_train(&mut rng).is_held_out()));
        let held =
            (LOW..HIGH).flat_map(|a| (LOW..HIGH).map(move |b| Problem { a, b })).filter(|p| p.is_held_out()).count();
        assert!((600..1000).contains(&held), "{held}");
    }
}
