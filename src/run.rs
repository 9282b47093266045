//! The run context every chapter program opens and closes, so that all seven do the
//! same things in the same order: set up candle's threads, fill the flags' derived
//! defaults and apply `--quick`'s budget, validate, pick the seeds, create the output
//! folder; and at the end, record the wall time and write `metrics.csv` and
//! `summary.json`.

use crate::cli::CommonArgs;
use crate::error::{Error, Result};
use crate::report::{Metrics, Row, RunDir, Summary};
use serde::Serialize;
use std::path::{Path, PathBuf};
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

    /// Checks that the whole run, with `n_seeds` seeds, stays within the machine: the
    /// products of counts (seeds × steps × ...) computed with checked arithmetic and
    /// bounded, so that no accepted combination runs for hours or allocates more than a
    /// few GB. The error names a flag the user gave and its allowed range.
    fn check_budget(&self, _n_seeds: usize) -> Result<()> {
        Ok(())
    }
}

/// One run of a chapter: its seeds, its output folder and its clock.
///
/// The run writes into a fresh folder, `<out>/<chapter>.incomplete/`, and only
/// [`RunContext::finish`] moves it to `<out>/<chapter>/`, replacing the previous run's
/// folder: a run that is killed, or fails, leaves the previous complete run as it was
/// and its own outputs in a folder whose name says they are incomplete.
pub struct RunContext {
    pub chapter: &'static str,
    pub seeds: Vec<u64>,
    pub quick: bool,
    /// Where the run writes (the incomplete folder until `finish`).
    pub dir: RunDir,
    /// Where the outputs end up.
    pub final_dir: PathBuf,
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
        args.check_budget(seeds.len())?;
        let final_dir = common.out.join(A::CHAPTER);
        let staging = format!("{}.incomplete", A::CHAPTER);
        let _ = std::fs::remove_dir_all(common.out.join(&staging));
        let mut dir = RunDir::create(&common.out, &staging)?;
        dir.chapter = A::CHAPTER.to_string();
        Ok(RunContext { chapter: A::CHAPTER, seeds, quick: common.quick, dir, final_dir, started: Instant::now() })
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

    /// Ends the run: draws the chapter's diagrams (listed with its figures), records
    /// the wall time, writes `metrics.csv` and `summary.json` (last, so a folder with a
    /// summary is complete), and moves the finished folder into place. Every output
    /// must be written before; the run's folder is then `final_dir`.
    pub fn finish<R: Row>(self, summary: &mut Summary, metrics: &Metrics<R>) -> Result<PathBuf> {
        // The lesson's diagrams are redrawn by every run, --quick too: they take milliseconds.
        summary.figures.extend(crate::diagrams::draw_for_chapter(self.chapter, &self.dir.dir)?);
        summary.wall_time_s = self.elapsed_s();
        metrics.write(&self.dir)?;
        summary.write(&self.dir)?;
        replace_dir(&self.dir.dir, &self.final_dir)?;
        Ok(self.final_dir)
    }
}

/// Moves the finished folder `from` to `to`, replacing what was there. The previous
/// folder is first renamed aside, so at no moment is a mix of two runs in `to`.
fn replace_dir(from: &Path, to: &Path) -> Result<()> {
    let aside = to.with_file_name(format!(
        ".{}.previous-{}",
        to.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    let had_previous = match std::fs::rename(to, &aside) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io(to, e)),
    };
    std::fs::rename(from, to).map_err(|e| Error::io(to, e))?;
    if had_previous {
        let _ = std::fs::remove_dir_all(&aside);
    }
    Ok(())
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
