//! Flags every chapter shares, and the one way a chapter ends on bad input.

use crate::error::{Error, Result};
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The most seeds one run may have: each seed is a full training run.
pub const MAX_SEEDS: usize = 100;

/// `--seed`, `--seeds`, `--out`, `--quick`: flattened into every chapter's flags.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// First seed; the run uses seeds seed, seed+1, ..., seed+N-1 [0, 2^64 - N]
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of seeds N (curves show mean ± std over them) [1, 100] [default: the chapter's]
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Folder for the outputs; the chapter writes into <out>/<chapter>/.
    #[arg(long, default_value = "runs")]
    pub out: PathBuf,
    /// A small, fast run (for tests and the course's quick mode).
    #[arg(long)]
    pub quick: bool,
}

impl CommonArgs {
    /// The seeds to run: `--seeds` of them from `--seed`, else the chapter's default count.
    pub fn seed_list(&self, default_count: usize) -> Result<Vec<u64>> {
        let n = self.seeds.unwrap_or(default_count);
        if n == 0 || n > MAX_SEEDS {
            return Err(Error::invalid("--seeds", n, &format!("must lie in [1, {MAX_SEEDS}]")));
        }
        if self.seed.checked_add(n as u64 - 1).is_none() {
            return Err(Error::invalid(
                "--seed",
                self.seed,
                &format!("with --seeds {n} the seeds would pass 2^64 - 1 (at most {})", u64::MAX - (n as u64 - 1)),
            ));
        }
        Ok((0..n as u64).map(|i| self.seed + i).collect())
    }
}

/// Parses the flags and runs a chapter. Bad flags end in clap's message (exit 2);
/// any error of the run prints one line `error: ...` and exits with code 2.
pub fn run<A: Parser, T>(chapter: impl FnOnce(A) -> Result<T>) -> ExitCode {
    // Freed tensor buffers stay in the heap (see `llm::tune_allocator`); set once, here,
    // for every program, before the first allocation of any size that matters.
    crate::llm::tune_allocator();
    one_line_panics();
    let args = match A::try_parse_from(attach_non_finite_values(std::env::args_os())) {
        Ok(args) => args,
        // --help and --version are not errors.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // clap's message without its usage lines: one line, like every other error.
        Err(e) => {
            let text = e.to_string();
            let line = one_line(&text);
            let line = line.strip_prefix("error: ").unwrap_or(line);
            let _ = writeln!(std::io::stderr(), "error: {line} (see --help)");
            return ExitCode::from(2);
        }
    };
    match chapter(args) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {}", one_line(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

/// The first line of a message, for the one line the user is promised.
fn one_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim_end()
}

/// A panic is a bug: it still prints one line (no backtrace, whatever `RUST_BACKTRACE`
/// says) and exits with code 101.
fn one_line_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_string());
        let place = info.location().map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
        let _ = writeln!(std::io::stderr(), "error: internal error (a bug){place}: {}", one_line(&message));
    }));
}

/// `--gamma -inf` would be read as the flag `-i`: clap takes a value that starts with a
/// hyphen only when it looks like a number, and `-inf`, `-infinity` and `-nan` do not.
/// Attaching them (`--gamma=-inf`) lets the flag's range refuse them with a clear message.
pub fn attach_non_finite_values(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    for arg in args {
        let text = arg.to_string_lossy().to_ascii_lowercase();
        let non_finite = matches!(text.as_str(), "-inf" | "-infinity" | "-nan");
        match out.last_mut() {
            Some(flag) if non_finite && is_bare_long_flag(flag) => {
                flag.push("=");
                flag.push(&arg);
            }
            _ => out.push(arg),
        }
    }
    out
}

fn is_bare_long_flag(arg: &OsString) -> bool {
    let text = arg.to_string_lossy();
    text.starts_with("--") && text.len() > 2 && !text.contains('=')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attach(args: &[&str]) -> Vec<String> {
        attach_non_finite_values(args.iter().map(OsString::from)).iter().map(|a| a.to_string_lossy().into()).collect()
    }

    #[test]
    fn non_finite_values_attach_to_their_flag() {
        assert_eq!(attach(&["ch", "--gamma", "-inf", "--quick"]), ["ch", "--gamma=-inf", "--quick"]);
        assert_eq!(attach(&["ch", "--lr", "-NaN"]), ["ch", "--lr=-NaN"]);
        // Numbers, attached values and short flags are left to clap.
        assert_eq!(attach(&["ch", "--gamma", "-0.5"]), ["ch", "--gamma", "-0.5"]);
        assert_eq!(attach(&["ch", "--gamma=1", "-inf"]), ["ch", "--gamma=1", "-inf"]);
        assert_eq!(attach(&["ch", "-inf"]), ["ch", "-inf"]);
    }

    #[test]
    fn seeds_may_not_wrap() {
        let common = |seed, seeds| CommonArgs { seed, seeds: Some(seeds), out: PathBuf::new(), quick: false };
        assert_eq!(common(u64::MAX, 1).seed_list(3).unwrap(), vec![u64::MAX]);
        let err = common(u64::MAX, 2).seed_list(3).unwrap_err().to_string();
        assert!(err.contains("--seed") && err.contains("18446744073709551614"), "{err}");
        assert!(common(0, 101).seed_list(3).unwrap_err().to_string().contains("[1, 100]"));
    }
}
