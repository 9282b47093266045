//! Chapter 5's experiment: make the base model (pre-train it, or load the shipped one),
//! measure it with the R1-Zero template on held-out problems, and describe what its
//! responses look like. The figures are drawn by [`super::base_model_figures`].

use super::checkpoint;
use super::corpus;
use super::eval::{evaluate, Evaluation};
use super::measures::DetailedMeasures;
use super::model::{Gpt, GptConfig};
use super::pretrain::{self, PretrainConfig, PretrainStepLog};
use super::sample::SampleConfig;
use super::task::{self, Problem, ResponseForm};
use super::tokenizer::Tokenizer;
use crate::error::{check_range, Result};
use crate::report::RunDir;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How the base model is measured: the evaluation's flags.
#[derive(clap::Args, Clone, Debug, Serialize)]
pub struct EvalArgs {
    /// Held-out test problems to evaluate on [1, 512]
    #[arg(long, default_value_t = 256)]
    pub eval_problems: usize,
    /// Samples per problem (pass@k and maj@k for k = 1..this) [1, 256]
    #[arg(long, default_value_t = 16)]
    pub samples: usize,
    /// Sampling temperature of the evaluation [0.001, 10]
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Sample only among the k most likely tokens (0: all) [0, 31]
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Longest response in tokens (the model's context may cut it shorter) [1, 1000]
    #[arg(long, default_value_t = 64)]
    pub max_new: usize,
}

/// The most held-out problems the evaluation accepts (there are 819 in all).
pub const MAX_EVAL_PROBLEMS: usize = 512;
/// The most samples per problem.
pub const MAX_SAMPLES: usize = 256;
/// The most tokens one evaluation may generate: problems × (samples + 1) × --max-new.
pub const MAX_EVAL_TOKENS: u64 = 1 << 24;
/// The most memory (bytes) the evaluation's KV cache may take.
pub const MAX_EVAL_BYTES: u64 = 4 << 30;

impl EvalArgs {
    /// Checks the flags; an error names the flag, its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        check_range("--eval-problems", self.eval_problems as f64, 1.0, MAX_EVAL_PROBLEMS as f64)?;
        check_range("--samples", self.samples as f64, 1.0, MAX_SAMPLES as f64)?;
        check_range("--temperature", self.temperature, 1e-3, 10.0)?;
        check_range("--top-k", self.top_k as f64, 0.0, Tokenizer::default().vocab_size() as f64)?;
        check_range("--max-new", self.max_new as f64, 1.0, 1000.0)
    }

    /// The most tokens the evaluation generates, problems × (samples + 1) × max_new
    /// (greedy once, then the samples), with checked arithmetic.
    pub fn generated_tokens(&self) -> Option<u64> {
        (self.eval_problems as u64).checked_mul(self.samples as u64 + 1)?.checked_mul(self.max_new as u64)
    }

    /// The KV cache's memory (bytes) when evaluating `model`: the greedy pass holds
    /// every problem at once, the sampled passes up to max(256, samples) rows; each row
    /// keeps keys and values of every layer over the whole context.
    pub fn cache_bytes(&self, model: &GptConfig) -> Option<u64> {
        let rows = self.eval_problems.max(self.samples).max(256) as u64;
        rows.checked_mul(model.n_layers as u64)?
            .checked_mul(model.context as u64)?
            .checked_mul(model.d_model as u64)?
            .checked_mul(2 * 4)
    }

    /// The first `eval_problems` test problems of the tokenizer's task, and the model's
    /// greedy and sampled responses to them, scored by the rules.
    pub fn evaluate(
        &self,
        model: &Gpt,
        tokenizer: &Tokenizer,
        rng: &mut impl Rng,
    ) -> Result<(Vec<Problem>, Evaluation)> {
        let problems = tokenizer.task().test_problems(self.eval_problems);
        let cfg = SampleConfig { temperature: self.temperature, top_k: self.top_k, max_new: self.max_new };
        let eval = evaluate(model, tokenizer, &problems, self.samples, &cfg, rng)?;
        Ok((problems, eval))
    }
}

/// The base model and how it was made.
pub struct BaseModel {
    pub model: Gpt,
    /// Its tokenizer, which names its task.
    pub tokenizer: Tokenizer,
    /// The pre-training log; empty when the model was loaded.
    pub log: Vec<PretrainStepLog>,
    /// The checkpoint's record of how it was made (seed, steps, tokens, loss curve).
    pub info: serde_json::Value,
}

impl BaseModel {
    /// Pre-trains a model from `seed` on the corpus mix of the tokenizer's task and
    /// saves it as `base.safetensors` in `dir` (and as the task's shipped model with
    /// `write_assets`).
    pub fn pretrain(
        shape: &GptConfig,
        cfg: &PretrainConfig,
        tokenizer: Tokenizer,
        seed: u64,
        dir: &RunDir,
        write_assets: bool,
    ) -> Result<Self> {
        let task = tokenizer.task();
        let (model, log) = pretrain::pretrain_with_progress(shape, cfg, &tokenizer, corpus::mix(task), seed)?;
        let last = log.last().expect("at least one step");
        let info = serde_json::json!({
            "task": task, "seed": seed, "steps": cfg.steps, "tokens": last.tokens, "final_loss": pretrain::smoothed_final_loss(&log),
            "seconds": last.seconds, "pretrain": cfg.effective(),
            // The curve travels with the model, so a default run can still draw it.
            "loss_curve": log.iter().map(|s| s.loss).collect::<Vec<_>>(),
        });
        let path = dir.path("base.safetensors");
        checkpoint::save(&model, &tokenizer, info.clone(), &path)?;
        crate::say!("wrote the model to {}", path.display());
        if write_assets {
            let shipped = checkpoint::shipped_path(task);
            checkpoint::save(&model, &tokenizer, info.clone(), &shipped)?;
            crate::say!("and to {} (the shipped base model)", shipped.display());
        }
        Ok(BaseModel { model, tokenizer, log, info })
    }

    /// Loads a checkpoint (with its .json beside it); its vocabulary names its task.
    pub fn load(path: &Path) -> Result<Self> {
        let tokenizer = checkpoint::tokenizer_of(path)?;
        let (model, meta) = checkpoint::load(path, &tokenizer)?;
        crate::say!("loaded {} ({} parameters, task {})", path.display(), model.n_params(), tokenizer.task().name());
        Ok(BaseModel { model, tokenizer, log: Vec::new(), info: meta.info })
    }

    /// The pre-training loss per step as (tokens seen, loss): from the log, else from
    /// the checkpoint's record (empty if it has none).
    pub fn loss_curve(&self) -> Vec<(usize, f64)> {
        if !self.log.is_empty() {
            return self.log.iter().map(|s| (s.tokens, s.loss)).collect();
        }
        let per_step = self.info["pretrain"]["batch"].as_u64().unwrap_or(0) as usize
            * self.info["pretrain"]["seq_len"].as_u64().unwrap_or(0) as usize;
        let losses = self.info["loss_curve"].as_array().cloned().unwrap_or_default();
        losses.iter().enumerate().map(|(i, l)| ((i + 1) * per_step, l.as_f64().unwrap_or(f64::NAN))).collect()
    }

    /// `summary.json`'s details: the model's shape, how it was made, the corpus mix and
    /// the evaluation.
    pub fn details(&self, eval: &Evaluation, problems: &[Problem]) -> serde_json::Value {
        serde_json::json!({
            "model_config": self.model.cfg,
            "checkpoint_info": self.info,
            "task": self.tokenizer.task(),
            "corpus_mix": corpus::mix(self.tokenizer.task()).iter().map(|(f, w)| (format!("{f:?}"), *w)).collect::<Vec<_>>(),
            "evaluation": eval,
            "test_problems": problems.len(),
            "response_forms": forms_table(eval, problems),
            "response_lengths": LengthGroup::ALL.map(|g| g.summary(eval)),
        })
    }
}

/// Per form of [`ResponseForm::ALL`], its share of the sampled responses and how often its number
/// is right (the two bar charts, as numbers).
fn forms_table(eval: &Evaluation, problems: &[Problem]) -> Vec<serde_json::Value> {
    let (share, right) = forms_and_right_numbers(eval, problems);
    ResponseForm::ALL
        .iter()
        .zip(share.iter().zip(&right))
        .map(|(&form, (s, r))| serde_json::json!({ "form": form_name(form), "share": s, "number_right": r }))
        .collect()
}

/// The two kinds of response the length histogram separates: with or without a
/// `<think>` block (the first decides the cost in tokens, and what GRPO will grow).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LengthGroup {
    NoThink,
    Think,
}

impl LengthGroup {
    pub const ALL: [LengthGroup; 2] = [LengthGroup::NoThink, LengthGroup::Think];

    pub fn of(text: &str) -> Self {
        if text.contains("<think>") {
            LengthGroup::Think
        } else {
            LengthGroup::NoThink
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LengthGroup::NoThink => "without <think> (plain text, <answer> only)",
            LengthGroup::Think => "with <think>",
        }
    }

    /// The lengths (tokens, end token included) of the sampled responses in this group.
    pub fn lengths(self, eval: &Evaluation) -> Vec<usize> {
        eval.sampled
            .texts
            .iter()
            .zip(&eval.lengths)
            .filter(|(t, _)| LengthGroup::of(t) == self)
            .map(|(_, &l)| l)
            .collect()
    }

    /// Share of the samples, and the 5th, 50th and 95th percentile of their lengths.
    fn summary(self, eval: &Evaluation) -> serde_json::Value {
        let mut l = self.lengths(eval);
        l.sort_unstable();
        let q = |p: f64| if l.is_empty() { f64::NAN } else { l[((l.len() - 1) as f64 * p).round() as usize] as f64 };
        serde_json::json!({
            "group": self.label(),
            "share": l.len() as f64 / eval.lengths.len().max(1) as f64,
            "p5": q(0.05),
            "median": q(0.5),
            "p95": q(0.95),
        })
    }
}

/// Chapter 5's headline in `summary.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BaseModelHeadline {
    pub params: usize,
    pub tokens_seen: u64,
    /// Mean loss of the last 10% of pre-training steps (none if the checkpoint lacks it).
    pub final_loss: Option<f64>,
    /// 6·N·D, eq. (6) of the lesson.
    pub pretrain_compute_flops: f64,
    pub accuracy_greedy: f64,
    pub format_rate_greedy: f64,
    /// Greedy responses whose number is right, tags or not.
    pub number_accuracy_greedy: f64,
    pub accuracy_sampled: f64,
    pub format_rate: f64,
    pub mean_response_length: f64,
    /// Sampled responses that check their result, and that fix a slip after a check.
    pub checks_answer: f64,
    pub corrects_after_check: f64,
    pub pass_at_1: f64,
    /// None with fewer than 16 samples per problem.
    pub pass_at_16: Option<f64>,
    pub maj_at_16: Option<f64>,
    pub train_tokens_per_s: f64,
    pub sample_tokens_per_s: f64,
    /// Only when the run pre-trained the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrain_seconds: Option<f64>,
}

impl BaseModelHeadline {
    pub fn new(base: &BaseModel, eval: &Evaluation, problems: &[Problem], train_tokens_per_s: f64) -> Self {
        let params = base.model.n_params();
        let m = DetailedMeasures::of(eval, problems);
        let tokens_seen = base.info["tokens"].as_u64().unwrap_or(0);
        BaseModelHeadline {
            params,
            tokens_seen,
            final_loss: base.info["final_loss"].as_f64(),
            pretrain_compute_flops: 6.0 * params as f64 * tokens_seen as f64,
            accuracy_greedy: eval.accuracy_greedy,
            format_rate_greedy: eval.format_rate_greedy,
            number_accuracy_greedy: m.number_greedy,
            accuracy_sampled: eval.accuracy_sampled,
            format_rate: eval.format_rate,
            mean_response_length: eval.mean_response_length,
            checks_answer: m.measures.checks_answer,
            corrects_after_check: m.measures.corrects_after_check,
            pass_at_1: eval.pass_at_k[0],
            pass_at_16: eval.pass_at_k.get(15).copied(),
            maj_at_16: eval.maj_at_k.get(15).copied(),
            train_tokens_per_s: train_tokens_per_s.round(),
            sample_tokens_per_s: eval.sample_tokens_per_s.round(),
            pretrain_seconds: base.log.last().map(|s| s.seconds),
        }
    }
}

/// The name of a response form in chapter 5's figures and summary (the corpus form it
/// resembles).
pub fn form_name(form: ResponseForm) -> &'static str {
    match form {
        ResponseForm::PlainText => "plain text",
        ResponseForm::AnswerOnly => "<answer> only",
        ResponseForm::ThinkOneShot => "<think> one-shot </think> <answer>",
        ResponseForm::ThinkSteps => "<think> steps </think> <answer>",
        ResponseForm::ThinkCheck => "<think> steps, check </think> <answer>",
        ResponseForm::ThinkNoAnswer => "<think> without <answer>",
        ResponseForm::Other => "other",
    }
}

/// Per form of [`ResponseForm::ALL`]: its share of the sampled responses, and the share of its
/// responses whose number is right (in the tags, else the last number: what the format
/// costs).
pub fn forms_and_right_numbers(eval: &Evaluation, problems: &[Problem]) -> (Vec<f64>, Vec<f64>) {
    let n = eval.sampled.texts.len() as f64;
    let mut share = vec![0.0; ResponseForm::ALL.len()];
    let mut right = vec![0.0; ResponseForm::ALL.len()];
    for (text, &p) in eval.sampled.texts.iter().zip(&eval.sampled.prompt) {
        let k = ResponseForm::ALL.iter().position(|&f| f == ResponseForm::of(text)).expect("every form is listed");
        share[k] += 1.0 / n;
        let last_number = text.split(|c: char| !c.is_ascii_digit()).rfind(|w| !w.is_empty());
        let number = task::extract_answer(text).or(last_number);
        right[k] += (number == Some(problems[p].answer().to_string().as_str())) as u8 as f64;
    }
    let right_share = right.iter().zip(&share).map(|(r, s)| if s * n > 0.0 { r / (s * n) } else { 0.0 }).collect();
    (share, right_share)
}

/// Greedy and sampled responses to the first problems, with their rewards.
pub fn samples_text(problems: &[Problem], eval: &Evaluation) -> String {
    let mut s = String::from("Base model responses to held-out problems (R1-Zero template; prompt abridged)\n");
    s.push_str("acc = accuracy reward, fmt = format reward\n\n");
    for (p, problem) in problems.iter().enumerate().take(8) {
        s.push_str(&format!("User: {}. Assistant:   (answer {})\n", problem.question(), problem.answer()));
        let mut line = |kind: &str, text: &str| {
            let (a, f) = (task::accuracy_reward(text, problem), task::format_reward(text));
            s.push_str(&format!("  [{kind:7} acc {a} fmt {f}]{text}\n"));
        };
        line("greedy", &eval.greedy.texts[p]);
        for i in 0..eval.samples_per_problem.min(6) {
            line("sampled", &eval.sampled.texts[p * eval.samples_per_problem + i]);
        }
        s.push('\n');
    }
    s
}

/// Three training documents of each form of the task's mix, to show the corpus.
pub fn corpus_text(task: task::Task, noise: f64, rng: &mut impl Rng) -> String {
    let mut s = String::from("Pre-training documents (the template's fixed text shown as <template> ... User:)\n\n");
    for &(form, weight) in corpus::mix(task) {
        s.push_str(&format!("{form:?} ({:.1}% of documents)\n", 100.0 * weight));
        for _ in 0..3 {
            let doc = corpus::document(task, form, noise, rng).replace(task::TEMPLATE_PREFIX, "<template> ... User: ");
            s.push_str(&format!("  {doc}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_groups_split_the_samples_by_think_and_summarise_their_lengths() {
        let texts = [" The answer is 12.", " <think> 7+5=12 </think> <answer> 12 </answer>", " <answer> 3 </answer>"];
        let eval = Evaluation {
            lengths: vec![6, 14, 5],
            sampled: crate::llm::sample::Samples {
                texts: texts.iter().map(|t| t.to_string()).collect(),
                ..Default::default()
            },
            ..Evaluation::default()
        };
        assert_eq!(LengthGroup::NoThink.lengths(&eval), vec![6, 5]);
        assert_eq!(LengthGroup::Think.lengths(&eval), vec![14]);
        let s = LengthGroup::NoThink.summary(&eval);
        assert!((s["share"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((s["p5"].as_f64(), s["p95"].as_f64()), (Some(5.0), Some(6.0)));
    }
}
