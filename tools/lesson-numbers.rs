//! Lists the numbers the lessons tie to a run, and the ones that disagree with it.
//!
//! `cargo run --release --example lesson-numbers` checks the lessons and the README
//! against the summaries in assets/figures/ (what `tests/lesson_numbers.rs` asserts);
//! `-- --summaries runs` checks them against another run; `-- --update` rewrites every
//! tied number from the summaries at its printed precision (then read the sentences
//! around each changed number: a number that moved may change what the text claims).

use rl_sandbox::report::lesson_numbers::{check, pages, substitute, Summaries};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let update = args.iter().any(|a| a == "--update");
    let dir = args
        .iter()
        .position(|a| a == "--summaries")
        .and_then(|i| args.get(i + 1))
        .map_or_else(|| PathBuf::from("assets/figures"), PathBuf::from);
    let summaries = Summaries::from_dir(&dir);
    if summaries.is_empty() {
        eprintln!("error: no <chapter>/summary.json under {}", dir.display());
        return ExitCode::from(2);
    }
    let mut disagreements = 0;
    for (page, chapter) in pages(std::path::Path::new(".")) {
        let Ok(text) = std::fs::read_to_string(&page) else { continue };
        let (tied, problems) = check(&text, chapter.as_deref(), &summaries);
        println!("{}: {tied} numbers tied, {} problems", page.display(), problems.len());
        for p in &problems {
            println!("  line {}: {}", p.line, p.message);
        }
        disagreements += problems.len();
        if update && !problems.is_empty() {
            let fixed = substitute(&text, chapter.as_deref(), &summaries);
            if let Err(e) = rl_sandbox::report::write_atomic(&page, fixed.as_bytes()) {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            println!("  rewritten from {}", dir.display());
        }
    }
    if disagreements > 0 && !update {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
