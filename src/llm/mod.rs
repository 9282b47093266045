//! A small language model as a policy: the tokenizer, a GPT, KV-cache sampling,
//! per-token log-probabilities, checkpoints, the arithmetic task with its rule
//! rewards, the pre-training corpus and loop, and evaluation (chapters 5 and 6).
//!
//! Chapter 6 starts from [`load_base`]: the shipped base model and its tokenizer.
//! Chapter 7 adds SFT, PPO with a critic, the R1 pipeline's data and flawed rewards.

pub mod base_model; // chapter 5's experiment: make or load the base model, measure it, describe its responses
pub mod base_model_figures; // chapter 5's figures: loss, pass@k and maj@k, response lengths and forms
pub mod checkpoint; // safetensors weights + JSON config, checked on load
pub mod corpus; // the generated pre-training documents and their mix
pub mod eval; // accuracy, format rate, pass@k, maj@k
pub mod figures; // curve panels and chapter 6's GRPO figures
pub mod fused; // layer norm, attention and token log-probs as fused kernels with their own backward
pub mod grpo; // GRPO: rule rewards, group advantages, k3 KL, the clipped loss, the loop
pub mod grpo_experiments; // chapter 6: main runs and a β sweep on the job pool; headline, metrics
pub mod hacking; // chapter 7's reward hacking: flawed rewards fitted, the hacked answers
pub mod lm_budget; // chapter 5's budget: products of flags bounded; a loaded model against the flags
pub mod measures; // the numbers the lessons compare about one evaluation; samples.txt
pub mod memory; // a counting allocator (peak heap) and the training state's bytes
pub mod model; // the GPT: embeddings, causal attention, MLP, KV cache
pub mod pipeline; // R1's data: cold-start traces, rejection sampling
pub mod pipeline_experiments; // chapter 7's experiments: flags, runs, the job list
pub mod pipeline_figures; // chapter 7's figures
pub mod pipeline_report; // chapter 7's headline, details, metrics rows, samples
pub mod ppo_critic; // RLHF-style PPO: critic with a value head, KL in the reward, token GAE
pub mod pretrain; // next-token cross-entropy, AdamW, warm-up + cosine
pub mod reward_model; // flawed rewards: a tags-only check, a bag-of-tokens reward model
pub mod sample; // batched KV-cache sampling, token log-probabilities
pub mod sft; // supervised fine-tuning on response tokens only
pub mod step_cost; // PPO-with-a-critic versus GRPO: parameters, memory, seconds per step
pub mod task; // 3- and 2-digit addition, the R1-Zero template, rule rewards, steps and checks
pub mod tokenizer; // characters + tags + template text as tokens

pub use eval::{evaluate, maj_at_k, pass_at_k, Evaluation};
pub use grpo::{grpo_loss, Aggregation, GrpoConfig, GrpoFlags, GrpoStepLog, GrpoVariantFlags, LossConfig};
pub use model::{Gpt, GptConfig};
pub use sample::{sample, token_logprobs, SampleConfig, Samples};
pub use task::{Problem, Task};
pub use tokenizer::Tokenizer;

/// The shipped base model of a task (`assets/models/ch05-base.safetensors` for the
/// 3-digit task, `ch05-base-add2.safetensors` for the 2-digit one) and its tokenizer.
pub fn load_base(task: task::Task) -> crate::error::Result<(Gpt, Tokenizer)> {
    let tokenizer = Tokenizer::for_task(task);
    let (model, _) = checkpoint::load(&checkpoint::shipped_path(task), &tokenizer)?;
    Ok((model, tokenizer))
}

/// A base model: the checkpoint at `path` (its vocabulary names its task, which must
/// agree with `task` when both are given; at most `max_params` parameters, the size a
/// chapter's work budget allows), else the shipped base model of `task` (default: add3).
pub fn load_base_or(
    path: Option<&std::path::Path>,
    task: Option<task::Task>,
    max_params: usize,
) -> crate::error::Result<(Gpt, Tokenizer)> {
    use crate::error::Error;
    let Some(path) = path else {
        return load_base(task.unwrap_or_default());
    };
    let tokenizer = checkpoint::tokenizer_of(path)?;
    if let Some(task) = task.filter(|&t| t != tokenizer.task()) {
        let why = format!("{} is a model of the {} task", path.display(), tokenizer.task().name());
        return Err(Error::invalid("--task", task.name(), &why));
    }
    let (model, _) = checkpoint::load(path, &tokenizer)?;
    if model.n_params() > max_params {
        let why = format!("has {} parameters; at most {max_params} fit the run's work budget", model.n_params());
        return Err(Error::invalid("--model", path.display(), &why));
    }
    Ok((model, tokenizer))
}

/// The shipped small base model of chapter 7 (`assets/models/ch07-small-base.safetensors`,
/// 3-digit task: half the width, layers and heads of [`load_base`]'s).
pub fn load_small_base() -> crate::error::Result<Gpt> {
    let tokenizer = Tokenizer::for_task(task::Task::Add3);
    let (model, _) = checkpoint::load(&checkpoint::asset_path(checkpoint::SHIPPED_SMALL), &tokenizer)?;
    Ok(model)
}

/// Asks glibc to keep freed buffers instead of returning them to the OS after every
/// step (measured: a GPT train step went from 0.77 s to 0.47 s). No effect on
/// results; a no-op elsewhere than Linux with glibc.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before heavy allocation.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
