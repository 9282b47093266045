//! Checkpoints: the weights in safetensors (candle reads and writes it natively) and a
//! small JSON file beside it with the model's shape and the tokenizer's vocabulary.
//! A damaged or mismatched pair ends in one clear error naming the file.

use super::model::{Gpt, GptConfig};
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

/// The shipped base model, relative to the crate root.
pub const SHIPPED: &str = "assets/models/ch05-base.safetensors";

/// The small base model of chapter 7's distillation experiment (half the width, half
/// the layers and heads; pre-trained by `ch05-language-model --pretrain --d-model 64
/// --layers 1 --heads 2`).
pub const SHIPPED_SMALL: &str = "assets/models/ch07-small-base.safetensors";

/// The shipped base model's path: found from the working directory, else from the
/// crate's source folder (tests and `cargo run` from elsewhere).
pub fn shipped_path() -> PathBuf {
    asset_path(SHIPPED)
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

fn invalid(path: &Path, msg: impl Into<String>) -> Error {
    // One line: a candle error may carry a backtrace on the lines after its message.
    let msg: String = msg.into();
    let line = msg.lines().next().unwrap_or("").trim_end().to_string();
    Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidData, line))
}

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

/// Tokens of the task's prompt (the R1-Zero template around a question of two 2-digit
/// numbers, the longest question the task asks): a model's context must hold it and at
/// least one response token.
pub fn prompt_tokens(tokenizer: &Tokenizer) -> usize {
    let longest = super::task::Problem { a: super::task::HIGH - 1, b: super::task::HIGH - 1 };
    tokenizer.encode(&super::task::r1_prompt(&longest.question())).map(|t| t.len()).unwrap_or(0)
}

/// Reads at most `limit` bytes of `path`, refusing a longer file.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if !file.metadata().map_err(|e| Error::io(path, e))?.is_file() {
        return Err(invalid(path, "not a regular file"));
    }
    if len > limit {
        return Err(invalid(path, format!("{len} bytes, more than a checkpoint's config may have ({limit})")));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(invalid(path, format!("more than {limit} bytes")));
    }
    Ok(bytes)
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
    use std::io::Read;
    let bad = |msg: String| invalid(weights, format!("not a readable safetensors file ({msg})"));
    let mut file = std::fs::File::open(weights).map_err(|e| Error::io(weights, e))?;
    let meta = file.metadata().map_err(|e| Error::io(weights, e))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    let len = meta.len();
    let mut prefix = [0u8; 8];
    file.read_exact(&mut prefix).map_err(|_| bad(format!("{len} bytes, shorter than the 8-byte header length")))?;
    let n = u64::from_le_bytes(prefix);
    if n > MAX_HEADER_BYTES || n > len - 8 {
        return Err(bad(format!("a header of {n} bytes in a file of {len}")));
    }
    let mut header = vec![0u8; n as usize];
    file.read_exact(&mut header).map_err(|e| bad(e.to_string()))?;
    #[derive(Deserialize)]
    struct Entry {
        dtype: String,
        shape: Vec<usize>,
        data_offsets: (u64, u64),
    }
    let mut entries: HashMap<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(format!("header: {e}")))?;
    entries.remove("__metadata__");
    let data = len - 8 - n;
    let expected = config.param_shapes();
    let mut total = 0u64;
    for (name, shape) in &expected {
        let value = entries.remove(name).ok_or_else(|| invalid(weights, format!("tensor '{name}' is missing")))?;
        let e: Entry = serde_json::from_value(value).map_err(|e| bad(format!("tensor '{name}': {e}")))?;
        if e.dtype != "F32" || &e.shape != shape {
            return Err(invalid(
                weights,
                format!("tensor '{name}' has shape {:?} ({}), the config needs {shape:?} (F32)", e.shape, e.dtype),
            ));
        }
        let bytes = shape.iter().product::<usize>() as u64 * 4;
        let (a, b) = e.data_offsets;
        if a > b || b > data || b - a != bytes {
            return Err(bad(format!("tensor '{name}' has bytes {a}..{b} of {data}, needs {bytes}")));
        }
        total += bytes;
    }
    if let Some(name) = entries.keys().next() {
        return Err(invalid(
            weights,
            format!(
                "tensor '{name}' is not part of the model ({} tensors, the config needs {})",
                expected.len() + entries.len(),
                expected.len()
            ),
        ));
    }
    if total != data {
        return Err(bad(format!("{data} bytes of tensor data, the header describes {total}")));
    }
    Ok(())
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
