//! Chapter 7's reward-hacking experiment: GRPO on a flawed reward (DeepSeek-AI 2025, the R1 report: R1
//! used rules because "neural reward models get hacked"). The flawed rewards themselves
//! are in [`super::reward_model`]; here they are fitted and turned into GRPO rewards,
//! and the hacked model's answers are set beside the proxy's and the rule's verdicts.

use super::eval::{prompts, Evaluation};
use super::reward_model::{self, FitConfig, RewardModel};
use super::{sample, task, Gpt, Problem, SampleConfig, Tokenizer};
use crate::error::Result;
use crate::rng;
use serde::Serialize;

/// The flawed reward of the hacking experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
pub enum HackReward {
    /// A bag-of-tokens reward model fitted to a few hundred labelled answers
    Rm,
    /// A format check that only looks for the four tags
    Tags,
}

/// The flawed reward of a hacking run and, for the reward model, how it was fitted.
#[derive(Clone, Serialize)]
pub struct FlawedRewardFit {
    pub reward: HackReward,
    pub rm: Option<RewardModel>,
    pub rm_final_loss: f64,
    /// Share of responses on which the reward model's sign agrees with the rule: on its
    /// own training answers, and on fresh base-model answers.
    pub rm_agreement_train: f64,
    pub rm_agreement_fresh: f64,
    pub positives: usize,
}

/// A reward GRPO can maximise: the score of one response to one problem.
pub type BoxedReward<'a> = Box<dyn Fn(&str, &Problem) -> f64 + Sync + 'a>;

/// `n` base-model answers to training problems (4 per problem) as bag-of-tokens
/// features, labelled by the rule; drawn from `seeded(seed, stream)`.
fn labelled_answers(
    base: &Gpt,
    tokenizer: &Tokenizer,
    sampling: &SampleConfig,
    n: usize,
    (seed, stream): (u64, u64),
) -> Result<(Vec<Vec<f64>>, Vec<f64>)> {
    let mut r = rng::seeded(seed, stream);
    let per = 4;
    let ps: Vec<Problem> = (0..n.div_ceil(per)).map(|_| tokenizer.task().sample_train(&mut r)).collect();
    let prompts = prompts(tokenizer, &ps)?;
    let s = sample(base, tokenizer, &prompts, per, sampling, &mut r)?;
    let xs = s.texts.iter().map(|t| reward_model::features(tokenizer, t)).collect();
    let ys = s.texts.iter().zip(&s.prompt).map(|(t, &p)| reward_model::label(t, &ps[p])).collect();
    Ok((xs, ys))
}

/// The flawed reward `kind`: the tags-only check, or a reward model fitted to
/// `rm_examples` labelled base-model answers (and checked on as many fresh ones).
pub fn flawed_reward<'a>(
    kind: HackReward,
    rm_examples: usize,
    base: &Gpt,
    tokenizer: &'a Tokenizer,
    sampling: &SampleConfig,
    seed: u64,
) -> Result<(BoxedReward<'a>, FlawedRewardFit)> {
    if kind == HackReward::Tags {
        let fit = FlawedRewardFit {
            reward: HackReward::Tags,
            rm: None,
            rm_final_loss: f64::NAN,
            rm_agreement_train: f64::NAN,
            rm_agreement_fresh: f64::NAN,
            positives: 0,
        };
        return Ok((Box::new(|t: &str, _: &Problem| reward_model::tags_only(t)), fit));
    }
    let (xs, ys) = labelled_answers(base, tokenizer, sampling, rm_examples, (seed, 7))?;
    let (fx, fy) = labelled_answers(base, tokenizer, sampling, rm_examples, (seed, 8))?;
    let (rm, losses) = RewardModel::fit(tokenizer, &xs, &ys, &FitConfig { iterations: 2000, lr: 0.1, l2: 1e-3 });
    let fit = FlawedRewardFit {
        reward: HackReward::Rm,
        rm_final_loss: losses.last().copied().unwrap_or(f64::NAN),
        rm_agreement_train: rm.agreement(&xs, &ys),
        rm_agreement_fresh: rm.agreement(&fx, &fy),
        positives: ys.iter().filter(|&&y| y > 0.5).count(),
        rm: Some(rm.clone()),
    };
    Ok((Box::new(move |t: &str, _: &Problem| rm.score(tokenizer, t)), fit))
}

/// Greedy and sampled answers of the hacked model to the first six held-out problems,
/// with the proxy's and the rule's verdicts.
pub fn hacked_examples(
    e: &Evaluation,
    fit: Option<&FlawedRewardFit>,
    tokenizer: &Tokenizer,
    problems: &[Problem],
) -> Vec<serde_json::Value> {
    let proxy = |t: &str| match fit.and_then(|f| f.rm.as_ref().filter(|_| f.reward == HackReward::Rm)) {
        Some(rm) => rm.score(tokenizer, t),
        None => reward_model::tags_only(t),
    };
    let n = e.samples_per_problem;
    problems
        .iter()
        .enumerate()
        .take(6)
        .map(|(p, q)| {
            let greedy = &e.greedy.texts[p];
            let sampled = &e.sampled.texts[p * n];
            serde_json::json!({
                "question": q.question(),
                "answer": q.answer(),
                "greedy": greedy,
                "greedy_proxy": proxy(greedy),
                "greedy_rule_accuracy": task::accuracy_reward(greedy, q),
                "greedy_rule_format": task::format_reward(greedy),
                "sampled": sampled,
                "sampled_proxy": proxy(sampled),
                "sampled_rule_accuracy": task::accuracy_reward(sampled, q),
            })
        })
        .collect()
}
