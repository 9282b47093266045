//! The course as a whole: the quick run end to end, the lessons' structure and links,
//! and the book (`book.toml`, `chapters/SUMMARY.md`, the mdBook preprocessor).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

// The book's preprocessor, compiled in to test its rewriting (mdBook itself is optional).
#[allow(dead_code)]
#[path = "../tools/mdbook-lessons.rs"]
mod mdbook_lessons;

/// What a lesson that is still a placeholder says (the course lead replaces them).
const PLACEHOLDER: &str = "*Being written.*";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The chapter folders `chapters/NN-name/`, in order, as ("NN-name", path). chapters/ also
/// holds the book's SUMMARY.md and README.md, which are files.
fn chapter_dirs() -> Vec<(String, PathBuf)> {
    let mut dirs: Vec<(String, PathBuf)> = std::fs::read_dir(root().join("chapters"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| (path.file_name().unwrap().to_str().unwrap().to_string(), path))
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn quick_course_writes_every_chapter_and_a_report() {
    let out = std::env::temp_dir().join(format!("rl-sandbox-course-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run =
        Command::new(env!("CARGO_BIN_EXE_course")).args(["--quick", "--out", out.to_str().unwrap()]).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report = read(&out.join("REPORT.md"));
    let index = read(&out.join("index.html"));
    for (name, dir) in chapter_dirs() {
        // Folder "01-q-learning" is the binary "ch01-q-learning".
        let id = format!("ch{name}");
        let s: serde_json::Value = serde_json::from_str(&read(&out.join(&id).join("summary.json"))).unwrap();
        assert_eq!(s["chapter"], id.as_str());
        let headline = s["headline"].as_object().unwrap();
        assert!(!headline.is_empty(), "{id}: empty headline");
        let figures: Vec<&str> = s["figures"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        for f in &figures {
            let bytes = std::fs::read(out.join(&id).join(f)).unwrap_or_else(|e| panic!("{id}: {f}: {e}"));
            assert!(bytes.len() > 1000, "{id}: {f} is almost empty");
        }
        if !read(&dir.join("README.md")).contains(PLACEHOLDER) {
            // A written chapter draws figures, and its lesson shows figures the program draws
            // (so that `--assets` regenerates them).
            assert!(!headline.contains_key("placeholder"), "{id}: the lesson is written but the program is not");
            assert!(figures.iter().any(|f| f.ends_with(".png")), "{id}: no figure");
            for embedded in lesson_figures(&read(&dir.join("README.md")), &id) {
                assert!(
                    figures.contains(&embedded.as_str()),
                    "{id}: the lesson shows {embedded}, not drawn by --quick"
                );
            }
        }
        assert!(report.contains(&format!("## {id}")), "REPORT.md lacks {id}");
        assert!(index.contains(&format!("<h2 id=\"{id}\">")), "index.html lacks {id}");
    }
    assert!(index.contains("data:image/png;base64,iVBORw0KGgo"), "figures are embedded as PNG data");
    let _ = std::fs::remove_dir_all(&out);
}

/// The chapter programs stay thin: flags, library calls, figures, report. A program
/// that grows past 200 lines has an experiment or a figure builder that belongs in the
/// library, next to its algorithm.
#[test]
fn chapter_programs_are_thin() {
    let mut programs: Vec<PathBuf> = chapter_dirs().into_iter().map(|(_, dir)| dir.join("main.rs")).collect();
    let course = root().join("src/course");
    programs.extend(
        std::fs::read_dir(&course)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("ch"))),
    );
    assert_eq!(programs.len(), 14, "seven chapter binaries and seven chapter programs");
    for path in programs {
        let lines = read(&path).lines().count();
        assert!(lines <= 200, "{} has {lines} lines (at most 200)", path.display());
    }
}

/// Every binary reaches the chapters through the library: an included source file
/// would be compiled twice and could bring its own global allocator along.
#[test]
fn binaries_include_no_source_files() {
    let mut binaries: Vec<PathBuf> = chapter_dirs().into_iter().map(|(_, dir)| dir.join("main.rs")).collect();
    binaries.push(root().join("src/bin/course.rs"));
    for path in binaries {
        let text = read(&path);
        assert!(!text.contains("#[path") && !text.contains("include!("), "{} includes a source file", path.display());
    }
}

#[test]
fn unknown_chapter_is_refused() {
    let run =
        Command::new(env!("CARGO_BIN_EXE_course")).args(["--only", "99", "--out", "/nonexistent"]).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--only"));
}

/// Every relative link and image in the README, the book's pages and the lessons points at
/// a file.
#[test]
fn lesson_links_resolve() {
    let mut pages = vec![
        root().join("README.md"),
        root().join("chapters/README.md"),
        root().join("chapters/SUMMARY.md"),
        root().join("chapters/GLOSSARY.md"),
    ];
    pages.extend(chapter_dirs().into_iter().map(|(_, dir)| dir.join("README.md")));
    for page in pages {
        let text = read(&page);
        for target in link_targets(&text) {
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let path = page.parent().unwrap().join(target.split('#').next().unwrap());
            assert!(path.exists(), "{} links {target}, which does not exist", page.display());
        }
    }
}

/// The book holds every lesson, in order: `mdbook build` renders chapters/ (book.toml).
#[test]
fn the_book_lists_every_lesson() {
    let book = read(&root().join("book.toml"));
    assert!(book.lines().any(|l| l.replace(' ', "") == "src=\"chapters\""), "book.toml: src must be chapters");
    let lessons: Vec<String> = chapter_dirs().into_iter().map(|(name, _)| format!("{name}/README.md")).collect();
    for page in ["chapters/SUMMARY.md", "chapters/README.md"] {
        let linked: Vec<String> =
            link_targets(&read(&root().join(page))).into_iter().filter(|t| t.ends_with("/README.md")).collect();
        assert_eq!(linked, lessons, "{page} must link every lesson, in order");
    }
}

/// Every written lesson follows the course's lesson structure: title and commands, a link to
/// the glossary, goals, quick facts, at least three numbered equations, pseudocode, a map
/// from every equation to the code, its figures, its outputs, what can go wrong and where
/// to look, exercises (each marked flags-only or code, with a hint and a worked solution)
/// and references.
#[test]
fn every_lesson_has_the_lesson_structure() {
    let mut problems = Vec::new();
    for (name, dir) in chapter_dirs() {
        let text = read(&dir.join("README.md"));
        if text.contains(PLACEHOLDER) {
            continue;
        }
        problems.extend(lesson_problems(&name, &text).into_iter().map(|p| format!("chapters/{name}/README.md: {p}")));
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The structure check catches what it should (on a made-up lesson).
#[test]
fn the_structure_check_finds_missing_parts() {
    let good = "# Chapter 9: Test\n\n```sh\ncargo run --release --bin ch09-test\ncargo run --release --bin ch09-test -- --quick\ncargo run --release --bin ch09-test -- --help\n```\n\n\
        Notation: the [glossary](../GLOSSARY.md).\n\n\
        ## What you will learn\n\n- a\n\n\
        ## Quick facts\n\n| | |\n|---|---|\n| **On- or off-policy** | on |\n| **Action space** | discrete |\n| **Needs** | a critic |\n\n\
        $$a \\tag{1}$$\n\n$$b \\tag{2}$$\n\n$$c \\tag{3}$$\n\n\
        ## Pseudocode\n\n```text\nloop\n```\n\n## Where each equation lives in the code\n\n| eq | code |\n|---|---|\n| (1) | `f` |\n| (2)-(3) | `g` |\n\n\
        ![fig](../../assets/figures/ch09-test/a.png)\n\n## Outputs\n\n`summary.json`, `metrics.csv`\n\n\
        ## What can go wrong\n\n| symptom | cause | look at |\n|---|---|---|\n| a | b | `metrics.csv` column `x` |\n| c | d | e |\n| f | g | h |\n\n\
        ## Exercises\n\n\
        1. **[flags only]** One. *Hint: a.*\n\n   <details><summary>Solution</summary>\n\n   A.\n\n   </details>\n\
        2. **[code: `m::f`]** Two.\n   *Hint: b.*\n   <details><summary>Solution</summary>\n   B.\n   </details>\n\
        3. **[flags only]** Three. *Hint: c.* <details><summary>Solution</summary>C.</details>\n\n\
        ## References\n\n- [A paper](https://arxiv.org/abs/1)\n";
    assert_eq!(lesson_problems("09-test", good), Vec::<String>::new());
    let broken = [
        ("# Chapter 9:", "# Chapter 8:"),
        ("## What you will learn", "## Goals"),
        ("$$c \\tag{3}$$", "$$c$$"),
        ("```text\nloop\n```", "    loop"),
        ("| (2)-(3) | `g` |", "| (2) | `g` |"),
        ("ch09-test/a.png", "ch08/a.png"),
        ("`summary.json`, `metrics.csv`", "files"),
        ("2. **[code: `m::f`]** Two.\n   *Hint: b.*", "2. **[code: `m::f`]** Two."),
        ("3. **[flags only]** Three. *Hint: c.* <details><summary>Solution</summary>C.</details>\n", ""),
        ("ch09-test -- --quick", "ch09-test -- --fast"),
        ("](../GLOSSARY.md)", "](GLOSSARY.md)"),
        ("## Quick facts", "## Facts"),
        ("| **Needs** | a critic |", "| Needs | a critic |"),
        ("| **Action space** | discrete |\n", ""),
        ("## What can go wrong", "## Problems"),
        ("| f | g | h |\n", ""),
        ("`metrics.csv` column `x`", "the logs"),
        ("1. **[flags only]** One.", "1. One."),
        ("2. **[code: `m::f`]** Two.", "2. **[code]** Two."),
        ("   A.\n\n   </details>\n", "   A.\n"),
        ("<details><summary>Solution</summary>C.</details>", ""),
        ("## References", "## Reading"),
        ("(https://arxiv.org/abs/1)", "(paper.md)"),
    ];
    for (from, to) in broken {
        assert!(good.contains(from), "{from}");
        let problems = lesson_problems("09-test", &good.replace(from, to));
        assert!(!problems.is_empty(), "replacing {from:?} by {to:?} went unnoticed");
    }
}

/// What a lesson (chapters/`name`/README.md) lacks, one line per problem.
fn lesson_problems(name: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let id = format!("ch{name}");
    let number: u32 = name[..2].parse().unwrap();
    let sections = sections(text);
    let section = |title: &str| sections.iter().find(|(t, _)| *t == title).map(|(_, lines)| lines.clone());
    if !text.starts_with(&format!("# Chapter {number}:")) {
        problems.push(format!("the first line must be `# Chapter {number}: ...`"));
    }
    // The commands to run it come first, in a fenced block before the first section.
    let first_block: String =
        text.split("```").nth(1).filter(|_| text.find("```") < text.find("\n## ")).unwrap_or("").to_string();
    for flag in [format!("--bin {id}"), "--quick".to_string(), "--help".to_string()] {
        if !first_block.contains(&flag) {
            problems.push(format!("the commands at the top lack `{flag}`"));
        }
    }
    match section("What you will learn") {
        Some(s) if s.iter().any(|l| l.starts_with("- ")) => {}
        Some(_) => problems.push("`## What you will learn` has no bullet list".into()),
        None => problems.push("no `## What you will learn`".into()),
    }
    let tags = equation_tags(text);
    if tags.len() < 3 {
        problems.push(format!("{} numbered equations ($$ ... \\tag{{n}} $$), at least 3 wanted", tags.len()));
    }
    match section("Pseudocode") {
        Some(s) if s.iter().any(|l| l.trim_start().starts_with("```")) => {}
        Some(_) => problems.push("`## Pseudocode` has no fenced code block".into()),
        None => problems.push("no `## Pseudocode`".into()),
    }
    match section("Where each equation lives in the code") {
        Some(s) => {
            let cited = equation_numbers_cited(&s.join("\n"));
            for tag in tags.iter().filter(|t| !cited.contains(*t)) {
                problems.push(format!("equation ({tag}) is missing from `## Where each equation lives in the code`"));
            }
            if !s.iter().any(|l| l.starts_with('|')) {
                problems.push("`## Where each equation lives in the code` has no table".into());
            }
        }
        None => problems.push("no `## Where each equation lives in the code`".into()),
    }
    if lesson_figures(text, &id).is_empty() {
        problems.push(format!("no figure embedded as ![...](../../assets/figures/{id}/NAME.png)"));
    }
    match section("Outputs") {
        Some(s) if ["summary.json", "metrics.csv"].iter().all(|f| s.iter().any(|l| l.contains(f))) => {}
        Some(_) => problems.push("`## Outputs` must describe summary.json and metrics.csv".into()),
        None => problems.push("no `## Outputs`".into()),
    }
    match section("Exercises") {
        Some(s) => {
            let exercises = numbered_items(&s);
            if exercises.len() < 3 {
                problems.push(format!("{} exercises, at least 3 wanted", exercises.len()));
            }
            for (n, exercise) in exercises.iter().enumerate() {
                if !exercise.contains("*Hint:") {
                    problems.push(format!("exercise {} has no *Hint:*", n + 1));
                }
                let kind = exercise.split_once(". ").map_or("", |(_, rest)| rest);
                if !kind.starts_with("**[flags only]**") && !kind.starts_with("**[code: `") {
                    problems
                        .push(format!("exercise {} must start with **[flags only]** or **[code: `function`]**", n + 1));
                }
                let solution = exercise.find("<details><summary>Solution</summary>");
                if solution.is_none_or(|at| !exercise[at..].contains("</details>")) {
                    problems.push(format!(
                        "exercise {} has no worked solution in <details><summary>Solution</summary> ... </details>",
                        n + 1
                    ));
                }
            }
        }
        None => problems.push("no `## Exercises`".into()),
    }
    if !text.contains("](../GLOSSARY.md)") {
        problems.push("no link to the glossary (../GLOSSARY.md)".into());
    }
    match section("Quick facts") {
        Some(s) => {
            for row in ["On- or off-policy", "Action space", "Needs"] {
                if !s.iter().any(|l| l.starts_with('|') && l.contains(&format!("**{row}**"))) {
                    problems.push(format!("`## Quick facts` has no table row **{row}**"));
                }
            }
        }
        None => problems.push("no `## Quick facts`".into()),
    }
    match section("What can go wrong") {
        Some(s) => {
            let rows = s.iter().filter(|l| l.starts_with('|') && !l.contains("---")).count();
            if rows < 4 {
                problems.push(format!("`## What can go wrong` has {} rows, a header and 3 wanted", rows));
            }
            if !s.iter().any(|l| l.contains("metrics.csv") || l.contains(".png")) {
                problems.push("`## What can go wrong` never says where to look (metrics.csv, a figure)".into());
            }
        }
        None => problems.push("no `## What can go wrong`".into()),
    }
    match section("References") {
        Some(s) if s.iter().any(|l| l.contains("](http")) => {}
        Some(_) => problems.push("`## References` has no link".into()),
        None => problems.push("no `## References`".into()),
    }
    problems
}

/// The level-2 sections `## title` of a page with their lines (code blocks included), each
/// up to the next level-2 heading outside a code block.
fn sections(text: &str) -> Vec<(&str, Vec<&str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") || line.trim_start().starts_with("~~~") {
            fenced = !fenced;
        }
        if let (Some(title), false) = (line.strip_prefix("## "), fenced) {
            out.push((title.trim(), Vec::new()));
        } else if let Some((_, lines)) = out.last_mut() {
            lines.push(line);
        }
    }
    out
}

/// The `\tag{n}` labels of the display equations.
fn equation_tags(text: &str) -> BTreeSet<u32> {
    text.split("\\tag{").skip(1).filter_map(|rest| rest.split('}').next()?.trim().parse().ok()).collect()
}

/// Equation numbers written as `(n)`, with ranges `(a)-(b)` or `(a)–(b)` filled in.
fn equation_numbers_cited(text: &str) -> BTreeSet<u32> {
    let mut cited = BTreeSet::new();
    let mut last: Option<(u32, usize)> = None;
    for (i, _) in text.match_indices('(') {
        let inside = text[i + 1..].split(')').next().unwrap_or("");
        let Ok(n) = inside.parse::<u32>() else { continue };
        if let Some((a, end)) = last {
            if matches!(text[end..i].trim(), "-" | "–" | "to") {
                cited.extend(a..n);
            }
        }
        cited.insert(n);
        last = Some((n, i + 1 + inside.len() + 1));
    }
    cited
}

/// The items `1. ...` of a numbered list, each with its continuation lines.
fn numbered_items(lines: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for line in lines {
        let starts_item =
            line.split_once(". ").is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if starts_item {
            items.push(line.to_string());
        } else if let Some(item) = items.last_mut() {
            item.push('\n');
            item.push_str(line);
        }
    }
    items
}

/// The figures a lesson embeds from its chapter's folder: `../../assets/figures/<id>/NAME.png`.
fn lesson_figures(text: &str, id: &str) -> Vec<String> {
    let prefix = format!("../../assets/figures/{id}/");
    link_targets(text).into_iter().filter_map(|t| t.strip_prefix(&prefix).map(str::to_string)).collect()
}

/// Targets of Markdown links `[..](target)` and HTML `src="target"`.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        if let Some(end) = rest.find(')') {
            out.push(rest[..end].split_whitespace().next().unwrap_or("").to_string());
        }
    }
    for (i, _) in text.match_indices("src=\"") {
        let rest = &text[i + 5..];
        if let Some(end) = rest.find('"') {
            out.push(rest[..end].to_string());
        }
    }
    out.retain(|t| !t.is_empty() && !Path::new(t).is_absolute());
    out
}

// ---------------------------------------------------------------- the book's preprocessor

#[test]
fn preprocessor_escapes_math_for_mdbook() {
    // Each ASCII punctuation character inside the math gets a backslash, so that Markdown
    // reads it literally: `\,` stays `\,`, `Q^*` is no emphasis, `\\` stays `\\`.
    let page = "Text $$Q^*(s,a) = r\\,\\{x_1\\} \\\\ y \\tag{2}$$ more.\n";
    assert_eq!(
        mdbook_lessons::protect_page(page),
        "Text $$Q\\^\\*\\(s\\,a\\) \\= r\\\\\\,\\\\\\{x\\_1\\\\\\} \\\\\\\\ y \\\\tag\\{2\\}$$ more.\n"
    );
    // Display math over two lines; trailing spaces (a Markdown line break) are dropped.
    assert_eq!(mdbook_lessons::protect_page("$$a = b  \n- c$$\n"), "$$a \\= b\n\\- c$$\n");
    // Inline math becomes \( \) for MathJax; a price is not math.
    assert_eq!(mdbook_lessons::protect_page("so $x_1$ costs $5 or $6\n"), "so \\\\(x\\_1\\\\) costs $5 or $6\n");
}

#[test]
fn preprocessor_leaves_code_alone_and_fixes_lesson_links() {
    let code = "```sh\necho $$HOME $$x\n```\nand `$$y$$` or ``a ` $$z$$``\n";
    assert_eq!(mdbook_lessons::protect_page(code), code);
    // mdBook renders README.md as index.html; links follow, other links do not move.
    assert_eq!(
        mdbook_lessons::protect_page(
            "[5](../05-language-model/README.md#tokens) [r](README.md) [x](a/README.md.bak) [w](https://x/README.md)"
        ),
        "[5](../05-language-model/index.md#tokens) [r](index.md) [x](a/README.md.bak) [w](https://x/README.md)"
    );
}

/// Every equation of every lesson comes out of the preprocessor, once Markdown has
/// removed the escapes again, exactly as GitHub shows it.
#[test]
fn preprocessor_round_trips_every_lesson_equation() {
    for (name, dir) in chapter_dirs() {
        let text = read(&dir.join("README.md"));
        let protected = mdbook_lessons::protect_page(&text);
        let originals: Vec<&str> = text.split("$$").skip(1).step_by(2).collect();
        let escaped: Vec<&str> = protected.split("$$").skip(1).step_by(2).collect();
        assert_eq!(originals.len(), escaped.len(), "{name}");
        for (original, escaped) in originals.iter().zip(escaped) {
            let expected: Vec<&str> = original.split('\n').map(|l| l.trim_end_matches(' ')).collect();
            assert_eq!(unescape_markdown(escaped), expected.join("\n"), "{name}");
        }
    }
}

/// CommonMark's backslash escapes: `\` before ASCII punctuation stands for that character.
fn unescape_markdown(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(&next) if c == '\\' && next.is_ascii_punctuation() => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}
