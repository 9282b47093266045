//! Every number a lesson or the README quotes from a run agrees with the run that drew
//! the lesson's figures: the `summary.json` committed beside them in assets/figures/.

use rl_sandbox::report::lesson_numbers::{check, pages, Summaries};
use std::path::Path;

#[test]
fn every_quoted_number_agrees_with_the_committed_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let summaries = Summaries::from_dir(&root.join("assets/figures"));
    let mut problems = Vec::new();
    let mut counts = Vec::new();
    for (page, chapter) in pages(root) {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(root).unwrap().display().to_string();
        if let Some(c) = &chapter {
            assert!(summaries.get(c).is_some(), "assets/figures/ has no summary.json for {c}");
        }
        let (tied, page_problems) = check(&text, chapter.as_deref(), &summaries);
        if chapter.is_some() {
            assert!(tied > 0, "{name} ties no number to its run");
        }
        counts.push(format!("{name}: {tied}"));
        problems.extend(page_problems.into_iter().map(|p| format!("{name}:{}: {}", p.line, p.message)));
    }
    eprintln!("numbers tied to the run:\n  {}", counts.join("\n  "));
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
