//! The run context every chapter program opens and closes, so that all seven do the
//! same things in the same order: set up candle's threads, fill the flags' derived
//! defaults and apply `--quick`'s budget, validate, pick the seeds, create the output
//! folder; and at the end, record the wall time and write `metrics.csv` and
//! `summary.json`.

use crate::cli::CommonArgs;
use crate::error::Result;
use crate::report::{Metrics, Row, RunDir, Summary};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// What a chapter's flags tell the run context.
pub trait ChapterArgs: Serialize {
    /// The chapter's name: its binary and its output folder, e.g. "ch01-q-learning".
    const CHAPTER: &'static str;
    /// How many seeds run when `--seeds` is not given: (with `--quick`, without).
    const DEFAULT_SEEDS: (usize, usize);

    /// The flags every chapter shares.
    fn common(&self) -> &CommonArgs;

    /// candle's intra-op threads. Independent runs go in parallel threads, one intra-op
    /// thread each: on a small machine that beats giving every matmul several threads.
    fn intra_op_threads(&self) -> usize {
        1
    }

    /// Fills the defaults that depend on other flags and applies `--quick`'s budget,
    /// so that the summary records what actually ran.
    fn prepare(&mut self) {}

    /// Checks every flag; an error names the flag, its value and the allowed range.
    fn validate(&self) -> Result<()>;
}

/// One run of a chapter: its seeds, its output folder and its clock.
pub struct RunContext {
    pub chapter: &'static str,
    pub seeds: Vec<u64>,
    pub quick: bool,
    pub dir: RunDir,
    started: Instant,
}

impl RunContext {
    /// Starts a run, in this order: candle's threads (before its pools start: they read
    /// the setting once), derived defaults and `--quick`, validation, seeds, folder.
    pub fn start<A: ChapterArgs>(args: &mut A) -> Result<RunContext> {
        set_intra_op_threads(args.intra_op_threads());
        args.prepare();
        args.validate()?;
        let common = args.common();
        let (quick_seeds, full_seeds) = A::DEFAULT_SEEDS;
        let seeds = common.seed_list(if common.quick { quick_seeds } else { full_seeds })?;
        let dir = RunDir::create(&common.out, A::CHAPTER)?;
        Ok(RunContext { chapter: A::CHAPTER, seeds, quick: common.quick, dir, started: Instant::now() })
    }

    /// An empty summary of this run, recording every flag of `hyperparameters`.
    pub fn summary(&self, hyperparameters: &impl Serialize) -> Summary {
        Summary::new(self.chapter, &self.seeds, self.quick, hyperparameters)
    }

    /// The path of a file in the run's folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path(name)
    }

    /// Seconds since the run started.
    pub fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Ends the run: records the wall time and writes `metrics.csv` and `summary.json`.
    pub fn finish<R: Row>(&self, summary: &mut Summary, metrics: &Metrics<R>) -> Result<()> {
        summary.wall_time_s = self.elapsed_s();
        metrics.write(&self.dir)?;
        summary.write(&self.dir)
    }
}

/// Gives candle `n` threads per operation (`RAYON_NUM_THREADS`, `CANDLE_NUM_THREADS`),
/// unless the user set them; the pools read these variables once, when they start.
pub fn set_intra_op_threads(n: usize) {
    for var in ["RAYON_NUM_THREADS", "CANDLE_NUM_THREADS"] {
        if std::env::var_os(var).is_none() {
            std::env::set_var(var, n.to_string());
        }
    }
}
