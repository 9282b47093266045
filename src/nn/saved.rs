//! A trained agent kept on disk and read back: the policy network (and the value
//! network, when the algorithm has one) in safetensors, and a JSON file beside it
//! saying what the networks are (layer sizes, activation, precision) and what they were
//! trained for (chapter, environment, algorithm, seed). Chapter 5's checkpoints use the
//! same pair of files.
//!
//! Reading never trusts the files: the JSON is size-limited and checked (shapes within
//! bounds, the environment the caller expects), the safetensors header is checked
//! against the JSON before any tensor is read, and every weight must be finite. Any
//! problem is one error naming the file.

use super::{Activation, Mlp, PlainMlp};
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The `format` field of every agent file: a file of another kind is refused.
pub const FORMAT: &str = "rl-sandbox agent v1";

/// A policy network, its action head and (optionally) a value network.
#[derive(Clone, Debug)]
pub struct Agent {
    /// Logits (categorical) or the action's mean (Gaussian).
    pub policy: Mlp,
    /// log σ of a Gaussian policy; None for a categorical one.
    pub log_std: Option<Vec<f32>>,
    pub value: Option<Mlp>,
}

/// One network in the JSON file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetSpec {
    /// Layer sizes, inputs first.
    pub sizes: Vec<usize>,
    pub activation: Activation,
    /// "F32" or "F64", as safetensors names them.
    pub dtype: String,
}

/// The JSON half of a saved agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentMeta {
    pub format: String,
    /// The chapter that trained it, e.g. "ch04-ppo".
    pub chapter: String,
    /// The environment it acts in, e.g. "CartPole-v1".
    pub env: String,
    /// e.g. "PPO-clip".
    pub algorithm: String,
    /// The seed of the training run.
    pub seed: u64,
    pub policy: NetSpec,
    /// Gaussian policies have a log σ tensor ("policy.log_std", one per action dimension).
    pub gaussian: bool,
    pub value: Option<NetSpec>,
    /// Free-form facts about how it was trained (steps, final return).
    #[serde(default)]
    pub info: serde_json::Value,
}

/// What the caller expects of a saved agent.
#[derive(Clone, Copy, Debug)]
pub struct Expect<'a> {
    pub chapter: &'a str,
    pub env: &'a str,
    pub obs_dim: usize,
    /// Actions (categorical) or action dimensions (Gaussian).
    pub outputs: usize,
    pub gaussian: bool,
}

/// Bounds on what a JSON file may describe, so a hostile one cannot make us allocate
/// much: at most 8 layers of at most 4096 units, at most 16 M parameters in all.
const MAX_LAYERS: usize = 8;
const MAX_WIDTH: usize = 4096;
const MAX_PARAMS: usize = 16 << 20;
const MAX_JSON_BYTES: u64 = 1 << 20;
const MAX_HEADER_BYTES: u64 = 1 << 20;

impl Agent {
    /// The agent's networks as plain vectors, for acting.
    pub fn plain(&self) -> Result<PlainAgent> {
        let net = self.policy.plain().map_err(super::candle_error("the saved policy"))?;
        Ok(PlainAgent { net, log_std: self.log_std.clone() })
    }

    /// Every tensor under its name in the file.
    fn tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::new();
        for (prefix, net) in [("policy", Some(&self.policy)), ("value", self.value.as_ref())] {
            for (k, var) in net.map(Mlp::vars).unwrap_or_default().iter().enumerate() {
                let part = if k % 2 == 0 { "weight" } else { "bias" };
                out.insert(format!("{prefix}.{}.{part}", k / 2), var.as_tensor().clone());
            }
        }
        if let Some(log_std) = &self.log_std {
            if let Ok(t) = Tensor::from_vec(log_std.clone(), log_std.len(), &Device::Cpu) {
                out.insert("policy.log_std".into(), t);
            }
        }
        out
    }
}

/// A saved agent's policy as plain vectors.
#[derive(Clone, Debug)]
pub struct PlainAgent {
    pub net: PlainMlp,
    pub log_std: Option<Vec<f32>>,
}

impl PlainAgent {
    /// The most likely action of a categorical policy.
    pub fn greedy_action(&self, obs: &[f32]) -> usize {
        let logits = self.net.forward(obs);
        (0..logits.len()).fold(0, |best, a| if logits[a] > logits[best] { a } else { best })
    }

    /// The mean action of a Gaussian policy (its first dimension).
    pub fn mean_action(&self, obs: &[f32]) -> f64 {
        f64::from(self.net.forward(obs)[0])
    }

    /// An action drawn from a categorical policy.
    pub fn sample_action<R: Rng + ?Sized>(&self, obs: &[f32], rng: &mut R) -> usize {
        super::sample_categorical(&self.net.forward(obs), rng)
    }
}

fn spec(net: &Mlp) -> NetSpec {
    let dtype = if net.dtype() == DType::F64 { "F64" } else { "F32" };
    NetSpec { sizes: net.sizes().to_vec(), activation: net.activation(), dtype: dtype.into() }
}

/// The two files of the agent `name` in `dir`: `<name>.safetensors` and `<name>.json`.
pub fn paths(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (dir.join(format!("{name}.safetensors")), dir.join(format!("{name}.json")))
}

/// Describes `agent` for its JSON file.
pub fn describe(agent: &Agent, chapter: &str, env: &str, algorithm: &str, seed: u64) -> AgentMeta {
    AgentMeta {
        format: FORMAT.into(),
        chapter: chapter.into(),
        env: env.into(),
        algorithm: algorithm.into(),
        seed,
        policy: spec(&agent.policy),
        gaussian: agent.log_std.is_some(),
        value: agent.value.as_ref().map(spec),
        info: serde_json::Value::Null,
    }
}

/// Writes the agent `name` into `dir` (created if needed): weights first, then the
/// JSON, each under a temporary name renamed into place.
pub fn save(agent: &Agent, meta: &AgentMeta, dir: &Path, name: &str) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (weights, json) = paths(dir, name);
    let tmp = crate::report::temporary_sibling(&weights);
    candle_core::safetensors::save(&agent.tensors(), &tmp).map_err(|e| invalid_file(&weights, e.to_string()))?;
    std::fs::rename(&tmp, &weights).map_err(|e| Error::io(&weights, e))?;
    let text = serde_json::to_string_pretty(meta).map_err(|e| invalid_file(&json, e.to_string()))?;
    crate::report::write_atomic(&json, (text + "\n").as_bytes())
}

/// One line naming the file and what is wrong with it.
pub fn invalid_file(path: &Path, msg: impl Into<String>) -> Error {
    // One line: a candle error may carry a backtrace on the lines after its message.
    let msg: String = msg.into();
    let line = msg.lines().next().unwrap_or("").trim_end().to_string();
    Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidData, line))
}

/// Reads at most `limit` bytes of `path`, refusing a longer file or one that is not a
/// regular file.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(invalid_file(path, "not a regular file"));
    }
    if meta.len() > limit {
        return Err(invalid_file(path, format!("{} bytes, more than such a file may have ({limit})", meta.len())));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(invalid_file(path, format!("more than {limit} bytes")));
    }
    Ok(bytes)
}

/// Checks a safetensors file's header before any tensor is read: the 8-byte header
/// length, the JSON header, every tensor of `expected` (name, dtype, shape) and its byte
/// range, no tensor besides them, and the file's length. `source` says where the
/// expected shapes come from ("the config", "the agent's JSON").
pub fn check_safetensors_header(
    weights: &Path,
    expected: &[(String, &str, Vec<usize>)],
    source: &str,
    max_header: u64,
) -> Result<()> {
    use std::io::Read;
    let bad = |msg: String| invalid_file(weights, format!("not a readable safetensors file ({msg})"));
    let mut file = std::fs::File::open(weights).map_err(|e| Error::io(weights, e))?;
    let meta = file.metadata().map_err(|e| Error::io(weights, e))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    let len = meta.len();
    let mut prefix = [0u8; 8];
    file.read_exact(&mut prefix).map_err(|_| bad(format!("{len} bytes, shorter than the 8-byte header length")))?;
    let n = u64::from_le_bytes(prefix);
    if n > max_header || n > len - 8 {
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
    let mut total = 0u64;
    for (name, dtype, shape) in expected {
        let value = entries.remove(name).ok_or_else(|| invalid_file(weights, format!("tensor '{name}' is missing")))?;
        let e: Entry = serde_json::from_value(value).map_err(|e| bad(format!("tensor '{name}': {e}")))?;
        if e.dtype != *dtype || &e.shape != shape {
            return Err(invalid_file(
                weights,
                format!("tensor '{name}' has shape {:?} ({}), {source} needs {shape:?} ({dtype})", e.shape, e.dtype),
            ));
        }
        let width = if *dtype == "F64" { 8 } else { 4 };
        let bytes = shape.iter().product::<usize>() as u64 * width;
        let (a, b) = e.data_offsets;
        if a > b || b > data || b - a != bytes {
            return Err(bad(format!("tensor '{name}' has bytes {a}..{b} of {data}, needs {bytes}")));
        }
        total += bytes;
    }
    if let Some(name) = entries.keys().next() {
        return Err(invalid_file(
            weights,
            format!(
                "tensor '{name}' is not part of the model ({} tensors, {source} needs {})",
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

/// Checks one network's description: layer count, widths, precision, inputs.
fn check_spec(json: &Path, what: &str, net: &NetSpec, inputs: usize, outputs: usize) -> Result<usize> {
    let fail = |why: String| Err(invalid_file(json, format!("the {what} network {why}")));
    if net.sizes.len() < 2 || net.sizes.len() > MAX_LAYERS + 1 {
        return fail(format!("has {} layer sizes, not 2 to {}", net.sizes.len(), MAX_LAYERS + 1));
    }
    if let Some(w) = net.sizes.iter().find(|&&w| w == 0 || w > MAX_WIDTH) {
        return fail(format!("has a layer of {w} units, not 1 to {MAX_WIDTH}"));
    }
    if net.dtype != "F32" && net.dtype != "F64" {
        return fail(format!("has dtype '{}', not F32 or F64", net.dtype));
    }
    let (first, last) = (net.sizes[0], net.sizes[net.sizes.len() - 1]);
    if first != inputs || last != outputs {
        return fail(format!("maps {first} inputs to {last} outputs; this environment needs {inputs} to {outputs}"));
    }
    Ok(net.sizes.windows(2).map(|p| p[0] * p[1] + p[1]).sum())
}

/// The tensors a network of `net` has in the file.
fn expected_tensors<'a>(prefix: &str, net: &'a NetSpec) -> Vec<(String, &'a str, Vec<usize>)> {
    let mut out = Vec::new();
    for (k, pair) in net.sizes.windows(2).enumerate() {
        out.push((format!("{prefix}.{k}.weight"), net.dtype.as_str(), vec![pair[0], pair[1]]));
        out.push((format!("{prefix}.{k}.bias"), net.dtype.as_str(), vec![pair[1]]));
    }
    out
}

/// Reads and checks the JSON half: the format, the chapter, the environment, and each
/// network's shape. Nothing is allocated from it.
pub fn load_meta(json: &Path, expect: &Expect) -> Result<AgentMeta> {
    let bytes = read_limited(json, MAX_JSON_BYTES)?;
    let meta: AgentMeta =
        serde_json::from_slice(&bytes).map_err(|e| invalid_file(json, format!("not a saved agent: {e}")))?;
    if meta.format != FORMAT {
        return Err(invalid_file(json, format!("format '{}' is not '{FORMAT}'", meta.format)));
    }
    if meta.chapter != expect.chapter || meta.env != expect.env {
        return Err(invalid_file(
            json,
            format!(
                "an agent of {} for {}, this needs one of {} for {}",
                meta.chapter, meta.env, expect.chapter, expect.env
            ),
        ));
    }
    if meta.gaussian != expect.gaussian {
        let kind = |g: bool| if g { "Gaussian" } else { "categorical" };
        return Err(invalid_file(
            json,
            format!("a {} policy, this needs a {} one", kind(meta.gaussian), kind(expect.gaussian)),
        ));
    }
    let mut params = check_spec(json, "policy", &meta.policy, expect.obs_dim, expect.outputs)?;
    if let Some(value) = &meta.value {
        params += check_spec(json, "value", value, expect.obs_dim, 1)?;
    }
    if params > MAX_PARAMS {
        return Err(invalid_file(json, format!("{params} parameters, more than {MAX_PARAMS}")));
    }
    Ok(meta)
}

/// Reads the agent `name` from `dir`, checking the JSON against `expect`, the
/// safetensors header against the JSON, and every weight for NaN and infinity.
pub fn load(dir: &Path, name: &str, expect: &Expect) -> Result<(Agent, AgentMeta)> {
    let (weights, json) = paths(dir, name);
    for path in [&json, &weights] {
        if !path.exists() {
            return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no saved agent here")));
        }
    }
    let meta = load_meta(&json, expect)?;
    let mut expected = expected_tensors("policy", &meta.policy);
    if meta.gaussian {
        expected.push(("policy.log_std".into(), "F32", vec![expect.outputs]));
    }
    if let Some(value) = &meta.value {
        expected.extend(expected_tensors("value", value));
    }
    check_safetensors_header(&weights, &expected, "the agent's JSON", MAX_HEADER_BYTES)?;
    let tensors = candle_core::safetensors::load(&weights, &Device::Cpu)
        .map_err(|e| invalid_file(&weights, format!("not a readable safetensors file ({e})")))?;
    let get = |name: &str| -> Result<Tensor> {
        let t = tensors.get(name).ok_or_else(|| invalid_file(&weights, format!("tensor '{name}' is missing")))?;
        let values = t
            .flatten_all()
            .and_then(|t| t.to_dtype(DType::F64))
            .and_then(|t| t.to_vec1::<f64>())
            .map_err(|e| invalid_file(&weights, format!("tensor '{name}': {e}")))?;
        if let Some(x) = values.iter().find(|x| !x.is_finite()) {
            return Err(invalid_file(&weights, format!("tensor '{name}' holds a non-finite weight ({x})")));
        }
        Ok(t.clone())
    };
    let net = |prefix: &str, spec: &NetSpec| -> Result<Mlp> {
        let layers = (0..spec.sizes.len() - 1)
            .map(|k| Ok((get(&format!("{prefix}.{k}.weight"))?, get(&format!("{prefix}.{k}.bias"))?)))
            .collect::<Result<Vec<_>>>()?;
        Mlp::from_tensors(layers, spec.activation).map_err(|e| invalid_file(&weights, e.to_string()))
    };
    let policy = net("policy", &meta.policy)?;
    let log_std = if meta.gaussian {
        let t = get("policy.log_std")?;
        Some(t.to_vec1::<f32>().map_err(|e| invalid_file(&weights, e.to_string()))?)
    } else {
        None
    };
    let value = meta.value.as_ref().map(|v| net("value", v)).transpose()?;
    Ok((Agent { policy, log_std, value }, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(gaussian: bool) -> Agent {
        let mut rng = crate::rng::seeded(3, 0);
        let policy = Mlp::new(&[4, 8, 2], Activation::Tanh, 1.0, DType::F64, &mut rng).unwrap();
        let value = Mlp::new(&[4, 8, 1], Activation::Relu, 1.0, DType::F32, &mut rng).unwrap();
        Agent { policy, log_std: gaussian.then(|| vec![-0.5, 0.25]), value: Some(value) }
    }

    const EXPECT: Expect = Expect { chapter: "chX", env: "Env-v0", obs_dim: 4, outputs: 2, gaussian: false };

    #[test]
    fn a_saved_agent_reads_back_bit_for_bit() {
        let dir = std::env::temp_dir().join(format!("rl-sandbox-saved-{}", std::process::id()));
        for gaussian in [false, true] {
            let a = agent(gaussian);
            save(&a, &describe(&a, "chX", "Env-v0", "test", 7), &dir, "agent").unwrap();
            let (b, meta) = load(&dir, "agent", &Expect { gaussian, ..EXPECT }).unwrap();
            assert_eq!((meta.seed, meta.policy.dtype.as_str()), (7, "F64"));
            assert_eq!(b.log_std, a.log_std);
            let (pa, pb) = (a.plain().unwrap(), b.plain().unwrap());
            for obs in [[0.1f32, -0.2, 0.3, 0.0], [1.0, 2.0, -1.0, 0.5]] {
                assert_eq!(pa.net.forward(&obs), pb.net.forward(&obs));
            }
            let (va, vb) = (a.value.unwrap(), b.value.unwrap());
            assert_eq!(va.values(&[0.5; 4]).unwrap(), vb.values(&[0.5; 4]).unwrap());
            assert_eq!(vb.activation(), Activation::Relu);
        }
        // The wrong environment, the wrong kind of policy, the wrong shapes: refused.
        let e = |x: Expect| load(&dir, "agent", &x).unwrap_err().to_string();
        assert!(e(Expect { env: "Other-v1", ..EXPECT }).contains("for Env-v0"));
        assert!(e(EXPECT).contains("Gaussian policy"));
        assert!(e(Expect { obs_dim: 3, gaussian: true, ..EXPECT }).contains("needs 3 to 2"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
