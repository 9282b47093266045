//! The whole course: runs every chapter in order with its default settings.
//!
//! `cargo run --release` runs it all; `-- --quick` the small versions; `-- --only 1`
//! picks chapters; `-- --assets` also copies the lesson figures into assets/figures/.
//! Each chapter is also its own binary (`cargo run --release --bin ch01-q-learning`).

use clap::Parser;
use rl_sandbox::course::{Chapter, CHAPTERS};
use rl_sandbox::error::{Error, Result};
use rl_sandbox::report::lesson_numbers::{compare_runs, Summaries};
use rl_sandbox::report::Summary;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Runs every chapter of rl-sandbox and writes their outputs and a report.
#[derive(Parser, Debug)]
#[command(name = "course", version)]
struct Args {
    /// The small, fast version of every chapter.
    #[arg(long)]
    quick: bool,
    /// Only these chapters, e.g. `--only 1,3`.
    #[arg(long, value_delimiter = ',')]
    only: Vec<u32>,
    /// Output folder.
    #[arg(long, default_value = "runs")]
    out: PathBuf,
    /// Also copy the figures the lessons embed, and each chapter's summary.json, into
    /// assets/figures/.
    #[arg(long)]
    assets: bool,
    /// After the run, compare its numbers with the summaries in DIR (e.g. assets/figures):
    /// every number a lesson quotes at its printed precision, other headline numbers to
    /// three significant digits, times aside. Lists the differences and fails if any.
    #[arg(long, value_name = "DIR")]
    check: Option<PathBuf>,
}

/// Counts heap bytes only while chapter 7 measures the peak memory of PPO and GRPO;
/// outside that measurement every call goes straight to the system allocator.
#[global_allocator]
static ALLOC: rl_sandbox::llm::memory::PeakAlloc = rl_sandbox::llm::memory::PeakAlloc;

fn main() -> ExitCode {
    rl_sandbox::cli::run(course)
}

fn course(args: Args) -> Result<()> {
    if let Some(n) = args.only.iter().find(|n| !CHAPTERS.iter().any(|c| c.number == **n)) {
        let known: Vec<String> = CHAPTERS.iter().map(|c| c.number.to_string()).collect();
        return Err(Error::invalid("--only", n, &format!("no such chapter (chapters: {})", known.join(", "))));
    }
    if let Some(dir) = &args.check {
        if args.quick {
            return Err(Error::invalid("--check", dir.display(), "compares a default run; drop --quick"));
        }
        if Summaries::from_dir(dir).is_empty() {
            return Err(Error::invalid("--check", dir.display(), "holds no <chapter>/summary.json"));
        }
    }
    let started = Instant::now();
    let mut report = String::from("# rl-sandbox: course report\n\n");
    let mut done = Vec::new();
    let chosen: Vec<&Chapter> =
        CHAPTERS.iter().filter(|c| args.only.is_empty() || args.only.contains(&c.number)).collect();
    for (i, chapter) in chosen.iter().enumerate() {
        rl_sandbox::say!("\n=== [{}/{}] Chapter {}: {} ===", i + 1, chosen.len(), chapter.number, chapter.name);
        let t = Instant::now();
        let summary = (chapter.run)(&args.out, args.quick)?;
        rl_sandbox::say!("=== chapter {} done in {:.1} s ===", chapter.number, t.elapsed().as_secs_f64());
        report.push_str(&report_section(&summary));
        if args.assets {
            copy_figures(&args.out, &summary)?;
        }
        done.push((summary, lesson_link(chapter.name)));
    }
    report.push_str(&format!("Total time: {:.1} s\n", started.elapsed().as_secs_f64()));
    let path = args.out.join("REPORT.md");
    rl_sandbox::report::write_atomic(&path, report.as_bytes())?;
    let index = args.out.join("index.html");
    let html = rl_sandbox::report::html::index_html(&args.out, &done);
    rl_sandbox::report::write_atomic(&index, html.as_bytes())?;
    rl_sandbox::say!("\nreport: {} and {}", path.display(), index.display());
    match &args.check {
        Some(dir) => check_against(&args.out, dir),
        None => Ok(()),
    }
}

/// Compares this run (in `out`) with the committed summaries in `dir`; see `--check`.
fn check_against(out: &Path, dir: &Path) -> Result<()> {
    let differences = compare_runs(Path::new("."), &Summaries::from_dir(out), &Summaries::from_dir(dir));
    if differences.is_empty() {
        rl_sandbox::say!("check: every number agrees with {}", dir.display());
        return Ok(());
    }
    for d in &differences {
        eprintln!("  {d}");
    }
    let why = format!("{} numbers differ from this run (listed above)", differences.len());
    Err(Error::invalid("--check", dir.display(), &why))
}

/// The lesson of a chapter ("ch01-q-learning" lives in chapters/01-q-learning/), as an
/// absolute file URL when the checkout is here, so that the page's link works from
/// any output folder.
fn lesson_link(chapter: &str) -> String {
    let relative = format!("chapters/{}/README.md", chapter.trim_start_matches("ch"));
    match std::fs::canonicalize(&relative) {
        Ok(path) => format!("file://{}", path.display()),
        Err(_) => relative,
    }
}

/// A chapter's headline numbers and figures as Markdown.
fn report_section(s: &Summary) -> String {
    let mut md = format!(
        "## {}\n\nseeds {:?}, {:.1} s{}\n\n| key | value |\n|---|---|\n",
        s.chapter,
        s.seeds,
        s.wall_time_s,
        if s.quick { ", quick" } else { "" }
    );
    for (k, v) in &s.headline {
        md.push_str(&format!("| {k} | {v} |\n"));
    }
    md.push('\n');
    for f in s.figures.iter().filter(|f| f.ends_with(".png")) {
        md.push_str(&format!("![{f}]({}/{f})\n", s.chapter));
    }
    md.push('\n');
    md
}

/// Copies a chapter's PNG figures and GIF animations to assets/figures/<chapter>/ for
/// the lessons, with its summary.json, which the lessons' quoted numbers are checked
/// against.
fn copy_figures(out: &Path, s: &Summary) -> Result<()> {
    let dest = Path::new("assets/figures").join(&s.chapter);
    std::fs::create_dir_all(&dest).map_err(|e| Error::io(&dest, e))?;
    let shown = s.figures.iter().filter(|f| f.ends_with(".png") || f.ends_with(".gif"));
    for f in shown.chain(std::iter::once(&"summary.json".to_string())) {
        let from = out.join(&s.chapter).join(f);
        std::fs::copy(&from, dest.join(f)).map_err(|e| Error::io(&from, e))?;
    }
    rl_sandbox::say!("copied the figures of {} to {}", s.chapter, dest.display());
    Ok(())
}
