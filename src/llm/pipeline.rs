//! The data of DeepSeek-R1's pipeline beyond R1-Zero (chapter 7; DeepSeek-AI 2025):
//! the cold-start traces, written by a rule as clean, readable examples, and rejection
//! sampling, which keeps only the correct, well-formed responses of an RL model.

use super::eval::prompts;
use super::model::Gpt;
use super::sample::{sample, SampleConfig};
use super::sft::Example;
use super::task::{accuracy_reward, format_ok, Problem, Task};
use super::tokenizer::Tokenizer;
use crate::error::Result;
use rand::Rng;

/// A clean, readable trace: the column steps inside `<think>`, then the answer, e.g.
/// ` <think> 7+5=12 4+8+1=13 </think> <answer> 132 </answer>` for 47+85 (the text after
/// `Assistant:`, in the corpus's spacing). Always right: it is written by the rule.
pub fn cold_start_text(problem: &Problem) -> String {
    let steps: Vec<String> = problem
        .steps()
        .iter()
        .map(|s| {
            if s.carry > 0 {
                format!("{}+{}+{}={}", s.x, s.y, s.carry, s.sum)
            } else {
                format!("{}+{}={}", s.x, s.y, s.sum)
            }
        })
        .collect();
    format!(" <think> {} </think> <answer> {} </answer>", steps.join(" "), problem.answer())
}

/// `n` distinct training problems of the task (never a held-out one), each with its
/// cold-start trace.
pub fn cold_start_set(task: Task, n: usize, rng: &mut impl Rng) -> Vec<(Problem, String)> {
    let mut out: Vec<(Problem, String)> = Vec::with_capacity(n);
    while out.len() < n {
        let p = task.sample_train(rng);
        if out.iter().all(|(q, _)| q != &p) {
            out.push((p, cold_start_text(&p)));
        }
    }
    out
}

/// The rejection filter (eq. 9; R1's stage 3): keep a response only if the rule says it is
/// right (the number inside `<answer>`) and well-formed (`<think> … </think> <answer> … </answer>`).
pub fn keep(response: &str, problem: &Problem) -> bool {
    accuracy_reward(response, problem) == 1.0 && format_ok(response)
}

/// What rejection sampling drew and kept.
#[derive(Clone, Debug, Default)]
pub struct RejectionSet {
    /// The kept (problem, response) pairs, in the order drawn.
    pub kept: Vec<(Problem, String)>,
    /// Responses drawn in all.
    pub drawn: usize,
}

impl RejectionSet {
    /// Share of drawn responses kept.
    pub fn acceptance(&self) -> f64 {
        self.kept.len() as f64 / self.drawn.max(1) as f64
    }

    /// The kept pairs as SFT examples.
    pub fn examples(&self, tokenizer: &Tokenizer) -> Result<Vec<Example>> {
        self.kept.iter().map(|(p, t)| Example::new(tokenizer, p, t)).collect()
    }
}

/// Draws `per_problem` responses from `model` for each of `problems` and keeps those
/// that pass [`keep`]. Sampling goes in chunks of at most 256 responses.
pub fn rejection_sample(
    model: &Gpt,
    tokenizer: &Tokenizer,
    problems: &[Problem],
    per_problem: usize,
    cfg: &SampleConfig,
    rng: &mut impl Rng,
) -> Result<RejectionSet> {
    let all = prompts(tokenizer, problems)?;
    let chunk = (256 / per_problem.max(1)).max(1);
    let mut set = RejectionSet::default();
    for (i, ps) in all.chunks(chunk).enumerate() {
        let s = sample(model, tokenizer, ps, per_problem, cfg, rng)?;
        set.drawn += s.texts.len();
        for (text, &p) in s.texts.iter().zip(&s.prompt) {
            let problem = problems[i * chunk + p];
            if keep(text, &problem) {
                set.kept.push((problem, text.clone()));
            }
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cold_start_traces_are_right_and_well_formed() {
        let p = Problem { a: 47, b: 85 };
        assert_eq!(cold_start_text(&p), " <think> 7+5=12 4+8+1=13 </think> <answer> 132 </answer>");
        assert_eq!(cold_start_text(&Problem { a: 12, b: 34 }), " <think> 2+4=6 1+3=4 </think> <answer> 46 </answer>");
        let set = cold_start_set(Task::Add3, 50, &mut crate::rng::seeded(0, 0));
        assert_eq!(set.len(), 50);
        for (p, t) in &set {
            assert!(keep(t, p) && !p.is_held_out(), "{t}");
        }
    }
}
