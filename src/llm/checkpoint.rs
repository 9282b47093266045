//! Checkpoints: the weights in safetensors (candle reads and writes it natively) and a
//! small JSON file beside it with the model's shape and the tokenizer's vocabulary.
//! A damaged or mismatched pair ends in one clear error naming the file.

use super::model::{Gpt, GptConfig};
use super::task::Task;
use super::tokenizer::Tokenizer;
use crate::error::{Error, Result};
use candle_core::Device;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The JSON half of a checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub config: GptConfig,
    /// The tokenizer's vocabulary in id order: a model only makes sense with its own.
    pub vocab: Vec<String>,
    /// Free-form facts about how it was made (seed, steps, tokens, loss).
    #[serde(default)]
    pub info: serde_json::Value,
}

/// The shipped base model of the 3-digit task (the course's), relative to the crate root.
pub const SHIPPED: &str = "assets/models/ch05-base.safetensors";
/// The shipped base model of the 2-digit task (chapter 6's contrast).
pub const SHIPPED_ADD2: &str = "assets/models/ch05-base-add2.safetensors";

/// The small base model of chapter 7's distillation experiment (half the width, half
/// the layers and heads; pre-trained by `ch05-language-model --pretrain --d-model 64
/// --layers 1 --heads 2`).
pub const SHIPPED_SMALL: &str = "assets/models/ch07-small-base.safetensors";

/// The shipped base model's path for a task: found from the working directory, else
/// from the crate's source folder (tests and `cargo run` from elsewhere).
pub fn shipped_path(task: Task) -> PathBuf {
    asset_path(match task {
        Task::Add3 => SHIPPED,
        Task::Add2 => SHIPPED_ADD2,
    })
}

/// A shipped file (relative to the crate root): found from the working directory, else
/// from the crate's source folder.
pub fn asset_path(relative: &str) -> PathBuf {
    let local = PathBuf::from(relative);
    if local.exists() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
    }
}

/// The JSON file that goes with a `.safetensors` file.
pub fn meta_path(weights: &Path) -> PathBuf {
    weights.with_extension("json")
}

use crate::nn::saved::{invalid_file as invalid, read_limited};

/// Writes `weights` (.safetensors) and its JSON beside it.
pub fn save(model: &Gpt, tokenizer: &Tokenizer, info: serde_json::Value, weights: &Path) -> Result<()> {
    if let Some(dir) = weights.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tensors: HashMap<String, candle_core::Tensor> =
        model.named_vars().into_iter().map(|(n, v)| (n, v.as_tensor().clone())).collect();
    // Saved under a temporary name, then renamed: never a half-written checkpoint.
    let tmp = crate::report::temporary_sibling(weights);
    candle_core::safetensors::save(&tensors, &tmp).map_err(|e| invalid(weights, e.to_string()))?;
    std::fs::rename(&tmp, weights).map_err(|e| Error::io(weights, e))?;
    let vocab = (0..tokenizer.vocab_size() as u32).map(|i| tokenizer.token(i).to_string()).collect();
    let meta = CheckpointMeta { config: model.cfg.clone(), vocab, info };
    let text = serde_json::to_string_pretty(&meta).map_err(|e| invalid(weights, e.to_string()))?;
    let path = meta_path(weights);
    crate::report::write_atomic(&path, (text + "\n").as_bytes())
}

/// The most bytes a checkpoint's JSON or safetensors header may have (the shipped
/// ones have 30 kB and 2 kB).
const MAX_JSON_BYTES: u64 = 16 << 20;
const MAX_HEADER_BYTES: u64 = 16 << 20;

/// Tokens of the task's prompt (the R1-Zero template around the longest question the
/// tokenizer's task asks): a model's context must hold it and at least one response token.
pub fn prompt_tokens(tokenizer: &Tokenizer) -> usize {
    let high = tokenizer.task().range().1;
    let longest = super::task::Problem { a: high - 1, b: high - 1 };
    tokenizer.encode(&super::task::r1_prompt(&longest.question())).map(|t| t.len()).unwrap_or(0)
}

/// The tokenizer of a checkpoint: the task whose vocabulary its JSON lists.
pub fn tokenizer_of(weights: &Path) -> Result<Tokenizer> {
    let mpath = meta_path(weights);
    let bytes = read_limited(&mpath, MAX_JSON_BYTES)?;
    let meta: CheckpointMeta =
        serde_json::from_slice(&bytes).map_err(|e| invalid(&mpath, format!("not a checkpoint config: {e}")))?;
    [Task::Add3, Task::Add2]
        .into_iter()
        .map(Tokenizer::for_task)
        .find(|t| (0..t.vocab_size() as u32).map(|i| t.token(i)).eq(meta.vocab.iter().map(String::as_str)))
        .ok_or_else(|| invalid(&mpath, "the checkpoint's vocabulary is neither task's (add3 or add2)"))
}

/// Reads and checks the JSON half of a checkpoint: a config, the tokenizer's
/// vocabulary, every shape within the ranges of the shape flags, and a context that
/// holds the task's prompt plus one token. Nothing is allocated from it.
pub fn load_meta(weights: &Path, tokenizer: &Tokenizer) -> Result<CheckpointMeta> {
    let mpath = meta_path(weights);
    let bytes = read_limited(&mpath, MAX_JSON_BYTES)?;
    let meta: CheckpointMeta =
        serde_json::from_slice(&bytes).map_err(|e| invalid(&mpath, format!("not a checkpoint config: {e}")))?;
    let vocab: Vec<&str> = (0..tokenizer.vocab_size() as u32).map(|i| tokenizer.token(i)).collect();
    if meta.vocab != vocab || meta.config.vocab_size != vocab.len() {
        return Err(invalid(&mpath, "the checkpoint's vocabulary differs from this tokenizer's"));
    }
    let c = &meta.config;
    c.check_shape().map_err(|why| invalid(&mpath, format!("impossible model shape: {why}")))?;
    let prompt = prompt_tokens(tokenizer);
    if c.context < prompt + 1 {
        return Err(invalid(
            &mpath,
            format!(
                "the model's context ({} tokens) is shorter than the task's prompt ({prompt} tokens) plus one response token",
                c.context
            ),
        ));
    }
    Ok(meta)
}

/// Checks a safetensors file's header against `config` before any tensor is read:
/// the 8-byte header length, the JSON header, every tensor's name, dtype (F32), shape
/// and byte range, and the file's length.
pub fn check_header(weights: &Path, config: &GptConfig) -> Result<()> {
    let expected: Vec<(String, &str, Vec<usize>)> =
        config.param_shapes().into_iter().map(|(name, shape)| (name, "F32", shape)).collect();
    crate::nn::saved::check_safetensors_header(weights, &expected, "the config", MAX_HEADER_BYTES)
}

/// Reads a checkpoint, checking it against the tokenizer and the config before
/// anything is allocated from it (see [`load_meta`] and [`check_header`]), and every
/// weight for NaN and infinity after.
pub fn load(weights: &Path, tokenizer: &Tokenizer) -> Result<(Gpt, CheckpointMeta)> {
    if !weights.exists() {
        return Err(Error::io(weights, std::io::Error::new(std::io::ErrorKind::NotFound, "no such checkpoint")));
    }
    let meta = load_meta(weights, tokenizer)?;
    check_header(weights, &meta.config)?;
    let tensors = candle_core::safetensors::load(weights, &Device::Cpu)
        .map_err(|e| invalid(weights, format!("not a readable safetensors file ({e})")))?;
    for (name, _) in meta.config.param_shapes() {
        let tensor = tensors.get(&name).ok_or_else(|| invalid(weights, format!("tensor '{name}' is missing")))?;
        let values = tensor
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| invalid(weights, format!("tensor '{name}': {e}")))?;
        if let Some(x) = values.iter().find(|x| !x.is_finite()) {
            return Err(invalid(weights, format!("tensor '{name}' holds a non-finite weight ({x})")));
        }
    }
    let model = Gpt::from_tensors(meta.config.clone(), &tensors).map_err(|e| invalid(weights, e))?;
    Ok((model, meta))
}
