//! The tasks: add two 3-digit numbers (the course's task) or two 2-digit numbers (the
//! contrast). The rule checker, the R1-Zero template and the detectors of written
//! steps and checks are pure functions here, shared by pre-training (chapter 5) and
//! reinforcement learning (chapters 6 and 7).
//!
//! One-shot, `347+285=632` is hard for a small model (two carries must be done "in its
//! head"); written column by column, `7+5=12 4+8+1=13 3+2+1=6`, every step is a
//! one-digit fact. The answer is checked by a rule, exact match, as in DeepSeek-R1-Zero.

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

/// One problem: `a + b`, both operands with the task's number of digits.
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
}

/// Which addition task: two 3-digit operands (the course's task: the base model's
/// one-shot answer is mostly wrong, its written column steps mostly right, so reasoning
/// pays) or two 2-digit operands (the contrast: the base model adds them in its head).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    #[default]
    Add3,
    Add2,
}

impl Task {
    /// Digits per operand.
    pub fn digits(self) -> u32 {
        match self {
            Task::Add2 => 2,
            Task::Add3 => 3,
        }
    }

    /// The other task (the contrast of a chapter-6 run).
    pub fn other(self) -> Task {
        match self {
            Task::Add2 => Task::Add3,
            Task::Add3 => Task::Add2,
        }
    }

    /// The flag's spelling, `add3` or `add2`.
    pub fn name(self) -> &'static str {
        match self {
            Task::Add2 => "add2",
            Task::Add3 => "add3",
        }
    }

    /// Operands are drawn from `low..high`.
    pub fn range(self) -> (u32, u32) {
        (10u32.pow(self.digits() - 1), 10u32.pow(self.digits()))
    }

    fn draw(self, rng: &mut impl Rng) -> Problem {
        let (lo, hi) = self.range();
        Problem { a: rng.random_range(lo..hi), b: rng.random_range(lo..hi) }
    }

    /// A random problem of the training side of the split.
    pub fn sample_train(self, rng: &mut impl Rng) -> Problem {
        loop {
            let p = self.draw(rng);
            if !p.is_held_out() {
                return p;
            }
        }
    }

    /// The fixed held-out test set: `n` distinct held-out problems (the same for every seed).
    pub fn test_problems(self, n: usize) -> Vec<Problem> {
        let mut rng = crate::rng::seeded(0x7E57, 0);
        let mut out: Vec<Problem> = Vec::with_capacity(n);
        while out.len() < n {
            let p = self.draw(&mut rng);
            if p.is_held_out() && !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

/// Whether the response checks its result inside `<think>` (the corpus's `check` word).
pub fn checks_answer(text: &str) -> bool {
    think_text(text).is_some_and(|t| t.contains("check"))
}

/// Whether a check inside `<think>` found a slip and the response gave another number:
/// `check`, later the word `no` followed by a number (`... check 652-285=367 no 632`).
pub fn corrects_after_check(text: &str) -> bool {
    think_text(text).is_some_and(|t| {
        t.split_once("check").is_some_and(|(_, after)| {
            after
                .split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w[0] == "no" && !w[1].is_empty() && w[1].bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// The text between the first `<think>` and the following `</think>`.
fn think_text(text: &str) -> Option<&str> {
    let a = text.find("<think>")? + "<think>".len();
    let b = text[a..].find("</think>")?;
    Some(&text[a..a + b])
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
    /// Written steps and a check of the result (the word `check` inside `<think>`).
    ThinkCheck,
    /// `<think>` without `<answer>`.
    ThinkNoAnswer,
    Other,
}

impl ResponseForm {
    /// Every form, in the figures' order.
    pub const ALL: [ResponseForm; 7] = [
        ResponseForm::PlainText,
        ResponseForm::AnswerOnly,
        ResponseForm::ThinkOneShot,
        ResponseForm::ThinkSteps,
        ResponseForm::ThinkCheck,
        ResponseForm::ThinkNoAnswer,
        ResponseForm::Other,
    ];

    pub fn of(text: &str) -> ResponseForm {
        let t = text.trim();
        if format_ok(t) {
            // The right format starts with <think>: count the equations before </think>.
            let think = t.split("</think>").next().unwrap_or("");
            if checks_answer(t) {
                ResponseForm::ThinkCheck
            } else if think.matches('=').count() >= 2 {
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
        let check = "<think> 7+5=12 4+8+1=13 check 132-85=47 </think> <answer> 132 </answer>";
        assert_eq!(form(check), ResponseForm::ThinkCheck);
        assert_eq!(form("<think> 7+5=12 so"), ResponseForm::ThinkNoAnswer);
        assert_eq!(form("<answer> 132 </answer>"), ResponseForm::AnswerOnly);
        assert_eq!(form("The answer is 132."), ResponseForm::PlainText);
        assert_eq!(form("The answer is <answer>"), ResponseForm::Other);
    }

    #[test]
    fn checks_and_corrections_are_read_inside_think() {
        let check = " <think> 7+5=12 4+8+1=13 3+2+1=6 check 632-285=347 </think> <answer> 632 </answer>";
        let fix = " <think> 7+5=12 4+8+1=13 3+2+1=6 check 652-285=367 no 632 </think> <answer> 632 </answer>";
        assert!(checks_answer(check) && !corrects_after_check(check));
        assert!(checks_answer(fix) && corrects_after_check(fix));
        // Outside `<think>` a check does not count: after the tags, or with no closing tag.
        assert!(!checks_answer("The answer is 632. check"));
        assert!(!checks_answer(" <think> 7+5=12 </think> check <answer> 632 </answer>"));
        assert!(!checks_answer(" <think> 7+5=12 check 632-285=347"));
        // `no` before the check, or not followed by a number, is not a correction.
        assert!(!corrects_after_check(" <think> no 5 check 632-285=347 </think> <answer> 632 </answer>"));
        assert!(!corrects_after_check(" <think> check 632-285=347 no </think> <answer> 632 </answer>"));
        assert!(!corrects_after_check(" <think> check 632-285=347 </think> no 632 <answer> 632 </answer>"));
        // Only the first `<think>` is read, as the format rule reads it.
        let second = " <think> 7+5=12 </think> <think> check 1-1=0 no 2 </think>";
        assert!(!checks_answer(second) && !corrects_after_check(second));
    }

    #[test]
    fn held_out_split() {
        for task in [Task::Add2, Task::Add3] {
            let (lo, hi) = task.range();
            let test = task.test_problems(200);
            assert!(test.iter().all(|p| p.is_held_out() && (lo..hi).contains(&p.a) && (lo..hi).contains(&p.b)));
            assert!(Problem { a: test[0].b, b: test[0].a }.is_held_out());
            let mut rng = crate::rng::seeded(1, 1);
            assert!((0..1000).all(|_| !task.sample_train(&mut rng).is_held_out()));
        }
        assert_eq!((Task::Add2.range(), Task::Add3.range()), ((10, 100), (100, 1000)));
        let held = (10..100).flat_map(|a| (10..100).map(move |b| Problem { a, b })).filter(|p| p.is_held_out()).count();
        assert!((600..1000).contains(&held), "{held}");
    }
}
