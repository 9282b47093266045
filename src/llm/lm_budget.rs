//! Chapter 5's budget: the products of its flags bounded, so that no accepted
//! combination pre-trains for hours or allocates more than a few GB, and a loaded
//! checkpoint's shape checked against the flags that use it.

use crate::error::{Error, Result};
use crate::llm::base_model::{EvalArgs, MAX_EVAL_BYTES, MAX_EVAL_TOKENS};
use crate::llm::model::{GptArgs, GptConfig, MAX_PARAMS};
use crate::llm::pretrain::{self, PretrainConfig};
use crate::llm::Tokenizer;

/// Bounds the products of flags: pre-training compute (6·params·steps·batch·seq_len),
/// a training step's memory (batch × seq_len × width × layers, also the speed
/// measurement's), the evaluation's generated tokens and its KV cache.
pub fn check_budget(t: &PretrainConfig, shape_args: &GptArgs, e: &EvalArgs, pretrain: bool) -> Result<()> {
    let tokens = e.generated_tokens();
    if tokens.is_none_or(|n| n > MAX_EVAL_TOKENS) {
        let (flag, value, range) = blame(&[
            ("--eval-problems", e.eval_problems, 256, "[1, 512]"),
            ("--samples", e.samples, 16, "[1, 256]"),
            ("--max-new", e.max_new, 48, "[1, 1000]"),
        ]);
        return Err(over(
            flag,
            value,
            range,
            "--eval-problems × (--samples + 1) × --max-new tokens",
            tokens,
            MAX_EVAL_TOKENS,
        ));
    }
    if !pretrain {
        // The loaded model's shape is checked against these flags once it is read.
        return Ok(());
    }
    let shape = shape_args.config(Tokenizer::default().vocab_size());
    let shape_flags = [
        ("--d-model", shape_args.d_model, 128, "[1, 1024]"),
        ("--layers", shape_args.layers, 2, "[1, 32]"),
        ("--context", shape_args.context, 80, "[max(--seq-len, 16), 1024]"),
        ("--heads", shape_args.heads, 4, "[1, 64]"),
    ];
    let params = shape.param_count();
    if params.is_none_or(|n| n > MAX_PARAMS) {
        let (flag, value, range) = blame(&shape_flags[..3]);
        return Err(over(flag, value, range, "the model's parameters", params, MAX_PARAMS));
    }
    let mut all = shape_flags.to_vec();
    all.extend([
        ("--steps", t.steps, 1200, "[1, 100000]"),
        ("--batch", t.batch, 32, "[1, 4096]"),
        ("--seq-len", t.seq_len, 80, "[8, 1024]"),
    ]);
    let flops = params.and_then(|n| {
        n.checked_mul(6)?.checked_mul(t.steps as u64)?.checked_mul(t.batch as u64)?.checked_mul(t.seq_len as u64)
    });
    if flops.is_none_or(|f| f > MAX_PRETRAIN_FLOPS) {
        let (flag, value, range) = blame(&all[..2].iter().chain(&all[4..]).copied().collect::<Vec<_>>());
        return Err(over(
            flag,
            value,
            range,
            "pre-training compute (6·params·tokens, FLOPs)",
            flops,
            MAX_PRETRAIN_FLOPS,
        ));
    }
    check_model_budget(&shape, t, e, &all)
}

/// The most pre-training compute, 6·params·steps·batch·seq_len FLOPs: about an hour on
/// one laptop core (the default run is 4·10¹² in about two minutes).
const MAX_PRETRAIN_FLOPS: u64 = 100_000_000_000_000;
/// The most memory a training step (or the speed measurement) may take.
const MAX_TRAIN_BYTES: u64 = 4 << 30;

/// Memory checks that need the model's shape (from the flags, or from a loaded
/// checkpoint): a training step on --batch rows of --seq-len tokens, and the
/// evaluation's KV cache.
fn check_model_budget(
    shape: &GptConfig,
    t: &PretrainConfig,
    e: &EvalArgs,
    flags: &[(&'static str, usize, usize, &'static str)],
) -> Result<()> {
    let pick = |names: &[&str]| blame(&flags.iter().filter(|f| names.contains(&f.0)).copied().collect::<Vec<_>>());
    let bytes = pretrain::training_bytes(shape, t.batch, t.seq_len);
    if bytes.is_none_or(|b| b > MAX_TRAIN_BYTES) {
        let (flag, value, range) = pick(&["--batch", "--seq-len", "--d-model", "--layers", "--heads", "--model"]);
        return Err(over(flag, value, range, "a training step's memory (bytes)", bytes, MAX_TRAIN_BYTES));
    }
    let cache = e.cache_bytes(shape);
    if cache.is_none_or(|b| b > MAX_EVAL_BYTES) {
        let (flag, value, range) =
            pick(&["--eval-problems", "--samples", "--d-model", "--layers", "--context", "--model"]);
        return Err(over(flag, value, range, "the evaluation's KV cache (bytes)", cache, MAX_EVAL_BYTES));
    }
    Ok(())
}

/// Of the flags in a product, (name, value, range) of the one furthest above its
/// default: the one the user most likely gave.
fn blame(flags: &[(&'static str, usize, usize, &'static str)]) -> (&'static str, String, &'static str) {
    let ratio = |&(_, v, d, _): &(&str, usize, usize, &str)| v as f64 / d.max(1) as f64;
    let f = flags.iter().max_by(|a, b| ratio(a).total_cmp(&ratio(b))).expect("at least one flag");
    (f.0, f.1.to_string(), f.3)
}

fn over(flag: &str, value: String, range: &str, what: &str, amount: Option<u64>, limit: u64) -> Error {
    let amount = amount.map_or("beyond 2^64".to_string(), |a| a.to_string());
    Error::invalid(flag, value, &format!("{what} would be {amount}, more than {limit}: lower it (range {range})"))
}

/// After loading `model` from `path`: the flags that use it must fit it (the speed
/// measurement's rows in its context, the memory bounds with its shape).
pub fn check_loaded(path: &std::path::Path, model: &GptConfig, t: &PretrainConfig, eval: &EvalArgs) -> Result<()> {
    if t.seq_len > model.context {
        return Err(Error::invalid(
            "--seq-len",
            t.seq_len,
            &format!(
                "longer than the context of {} ({} tokens), which the speed measurement's rows must fit in",
                path.display(),
                model.context
            ),
        ));
    }
    let flags = [
        ("--batch", t.batch, 32, "[1, 4096]"),
        ("--seq-len", t.seq_len, 80, "[8, 1024]"),
        ("--eval-problems", eval.eval_problems, 256, "[1, 512]"),
        ("--samples", eval.samples, 16, "[1, 256]"),
        ("--model", 1, 1, "a smaller checkpoint"),
    ];
    check_model_budget(model, t, eval, &flags).map_err(|e| match e {
        Error::InvalidArg { name, why, .. } if name == "--model" => {
            Error::InvalidArg { name, value: path.display().to_string(), why }
        }
        e => e,
    })
}
