//! Flags every chapter shares, and the one way a chapter ends on bad input.

use crate::error::{Error, Result};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// `--seed`, `--seeds`, `--out`, `--quick`: flattened into every chapter's flags.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// First seed; the run uses seeds seed, seed+1, ..., seed+N-1.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of seeds N (curves show mean ± std over them) [default: the chapter's].
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
        if n == 0 || n > 1000 {
            return Err(Error::invalid("--seeds", n, "must be between 1 and 1000"));
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
    let args = A::parse();
    match chapter(args) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
