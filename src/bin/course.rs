//! The whole course: runs every chapter in order with its default settings.
//!
//! `cargo run --release` runs it all; `-- --quick` the small versions; `-- --only 1`
//! picks chapters; `-- --assets` also copies the lesson figures into assets/figures/.
//! Each chapter is also its own binary (`cargo run --release --bin ch01-q-learning`).

use clap::Parser;
use rl_sandbox::course::{Chapter, CHAPTERS};
use rl_sandbox::error::{Error, Result};
use rl_sandbox::report::lesson_numbers::{compare_runs, Difference, Summaries};
use rl_sandbox::report::progress::CourseProgress;
use rl_sandbox::report::{labels, Summary};
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
    /// With --check: chapters whose differences are listed as warnings but do not fail the
    /// check, e.g. `--check-advisory 5,6,7` (see ARCHITECTURE.md, "Numbers in the lessons").
    #[arg(long, value_delimiter = ',', value_name = "CHAPTERS", requires = "check")]
    check_advisory: Vec<u32>,
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
    let bars = CourseProgress::new(chosen.iter().map(|c| expected_seconds(&args.out, c, args.quick)).collect());
    for (i, chapter) in chosen.iter().enumerate() {
        rl_sandbox::say!("\n=== [{}/{}] Chapter {}: {} ===", i + 1, chosen.len(), chapter.number, chapter.name);
        bars.start(i, &format!("chapter {}: {}", chapter.number, chapter.name));
        let t = Instant::now();
        let summary = (chapter.run)(&args.out, args.quick)?;
        bars.finish_chapter();
        rl_sandbox::say!("=== chapter {} done in {:.1} s ===", chapter.number, t.elapsed().as_secs_f64());
        report.push_str(&report_section(&summary));
        if args.assets {
            copy_figures(&args.out, &summary)?;
        }
        done.push((summary, format!("book/{}.html", chapter.name)));
    }
    drop(bars);
    report.push_str(&format!("Total time: {:.1} s\n", started.elapsed().as_secs_f64()));
    let path = args.out.join("REPORT.md");
    rl_sandbox::report::write_atomic(&path, report.as_bytes())?;
    let index = args.out.join("index.html");
    let html = rl_sandbox::report::html::index_html(&args.out, &done);
    rl_sandbox::report::write_atomic(&index, html.as_bytes())?;
    let book = write_book(&args.out);
    print_course_summary(&done);
    rl_sandbox::say!("\nreport: {} and {}", path.display(), index.display());
    if let Some(book) = book {
        rl_sandbox::say!("the lessons with this run's numbers and figures: {}", book.display());
    }
    match &args.check {
        Some(dir) => check_against(&args.out, dir, &args.check_advisory),
        None => Ok(()),
    }
}

/// Compares this run (in `out`) with the committed summaries in `dir`; see `--check`.
/// Differences that read only `advisory` chapters are listed but do not fail.
fn check_against(out: &Path, dir: &Path, advisory: &[u32]) -> Result<()> {
    let differences = compare_runs(Path::new("."), &Summaries::from_dir(out), &Summaries::from_dir(dir));
    let is_advisory =
        |d: &Difference| d.chapters.iter().all(|c| c[2..].parse::<u32>().is_ok_and(|n| advisory.contains(&n)));
    let (warnings, failures): (Vec<&Difference>, Vec<&Difference>) = differences.iter().partition(|d| is_advisory(d));
    for d in &warnings {
        eprintln!("  warning (advisory chapter): {}", d.message);
    }
    for d in &failures {
        eprintln!("  {}", d.message);
    }
    if failures.is_empty() {
        rl_sandbox::say!("check: every number agrees with {} ({} advisory differences)", dir.display(), warnings.len());
        return Ok(());
    }
    let why = format!("{} numbers differ from this run (listed above)", failures.len());
    Err(Error::invalid("--check", dir.display(), &why))
}

/// A chapter's headline numbers and figures as Markdown.
fn report_section(s: &Summary) -> String {
    let mut md = format!(
        "## {}\n\nseeds {:?}, {:.1} s{}; lesson: [book/{0}.html](book/{0}.html)\n\n| measure | value | key |\n|---|---|---|\n",
        s.chapter,
        s.seeds,
        s.wall_time_s,
        if s.quick { ", quick" } else { "" }
    );
    for shown in labels::headline(s) {
        md.push_str(&format!("| {} | {} | `{}` |\n", shown.label, shown.value, shown.key));
    }
    md.push('\n');
    for f in s.figures.iter().filter(|f| f.ends_with(".png") || f.ends_with(".gif")) {
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

/// Seconds a chapter is expected to take, for the time-left estimate: its last run in
/// `out` when that was of the same kind (full or quick), else the typical time on two
/// cores (README.md's table).
fn expected_seconds(out: &Path, chapter: &Chapter, quick: bool) -> f64 {
    const TYPICAL: [(f64, f64); 7] =
        [(2.0, 0.1), (20.0, 2.0), (25.0, 1.0), (108.0, 4.0), (4.0, 1.0), (282.0, 1.0), (366.0, 1.0)];
    let last = Summary::read(&out.join(chapter.name).join("summary.json")).ok().filter(|s| s.quick == quick);
    let typical = TYPICAL.get(chapter.number as usize - 1).map_or(60.0, |t| if quick { t.1 } else { t.0 });
    last.map_or(typical, |s| s.wall_time_s)
}

/// The book of the run, `<out>/book/`, from the lessons of this checkout; a lesson the
/// book cannot render fully is reported, and a book that cannot be written at all is
/// skipped: neither is worth failing a finished run for.
fn write_book(out: &Path) -> Option<PathBuf> {
    let Some(repo) = rl_sandbox::book::find_repo() else {
        rl_sandbox::say!("no book: the lessons (chapters/SUMMARY.md) are not here");
        return None;
    };
    let written = rl_sandbox::book::build(&repo, out).and_then(|book| {
        for problem in &book.problems {
            rl_sandbox::say!("book: {problem}");
        }
        book.write(out, &repo)
    });
    match written {
        Ok(path) => Some(path),
        Err(e) => {
            rl_sandbox::say!("no book: {e}");
            None
        }
    }
}

/// The course's closing table: each chapter's top numbers, labelled and rounded.
fn print_course_summary(done: &[(Summary, String)]) {
    let mut rows = Vec::new();
    for (s, _) in done {
        for (n, shown) in labels::headline(s).into_iter().filter(|x| x.top).enumerate() {
            let chapter = if n == 0 { s.chapter.clone() } else { String::new() };
            rows.push(vec![chapter, shown.label, shown.value]);
        }
    }
    rl_sandbox::report::print_table("The course in numbers", &["chapter", "measure", "value"], &rows);
}
