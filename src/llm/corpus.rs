//! The pre-training corpus: an endless stream of documents generated from the seed,
//! a mix of text forms like arithmetic found on the web. Only training-side problems
//! appear ([`Problem::sample_train`]); the held-out test problems never do.

use super::task::{r1_prompt, Problem};
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
}

/// The default mix: (form, weight). Why these numbers: see the lesson. In short, most
/// text is plain arithmetic (where the skill comes from); conversations in the template
/// mostly answer in plain words, so the base model's most likely reply breaks the
/// format, yet a third of them show the tags, so sampling finds the format sometimes.
pub const MIX: [(Form, f64); 7] = [
    (Form::Equation, 0.25),
    (Form::Worked, 0.25),
    (Form::ChatPlain, 0.27),
    (Form::ChatAnswerOnly, 0.03),
    (Form::ChatThinkShort, 0.08),
    (Form::ChatThinkSteps, 0.09),
    (Form::ChatThinkNoAnswer, 0.03),
];

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

/// A wrong answer near the right one: one digit changed.
fn typo(answer: u32, rng: &mut impl Rng) -> u32 {
    let digits = answer.to_string().len() as u32;
    let place = 10u32.pow(rng.random_range(0..digits));
    let digit = (answer / place) % 10;
    let new = (digit + rng.random_range(1..10)) % 10;
    let wrong = answer - digit * place + new * place;
    if wrong < super::task::LOW {
        answer + place
    } else {
        wrong
    }
}

/// One document of the given form. With probability `noise` it contains a mistake
/// (a typo in the result, or the carries forgotten), as text from the web does.
pub fn document(form: Form, noise: f64, rng: &mut impl Rng) -> String {
    let p = Problem::sample_train(rng);
    let q = p.question();
    let noisy = rng.random::<f64>() < noise;
    let forget = noisy && rng.random::<bool>();
    let (work, mut answer) = steps(&p, " ", forget);
    if noisy && !forget {
        answer = typo(answer, rng);
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

/// One training row of `len` tokens: documents separated by the end token, the first
/// starting at position 0 (as prompts do at test time), the last cut off.
pub fn row(tokenizer: &Tokenizer, mix: &[(Form, f64)], noise: f64, len: usize, rng: &mut impl Rng) -> Result<Vec<u32>> {
    let mut ids = Vec::with_capacity(len + 64);
    while ids.len() < len {
        ids.extend(tokenizer.encode(&document(draw_form(mix, rng), noise, rng))?);
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
            let w = typo(632, &mut rng);
            assert!(w != 632 && w >= 10);
        }
    }
}
