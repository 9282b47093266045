//! The book of a run (`<out>/book/`): every lesson renders with its math typeset, its
//! links and figures in place; the book shows the run's numbers and figures; and every
//! headline number a person sees has a label.

use rl_sandbox::book;
use rl_sandbox::report::{labels, Summary};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A fresh folder under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rl-sandbox-book-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every `attr="…"` value of a page.
fn attributes<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let key = format!(" {attr}=\"");
    html.match_indices(&key).map(|(i, _)| &html[i + key.len()..]).map(|rest| &rest[..rest.find('"').unwrap()]).collect()
}

/// Checks a written book: every image and local link of every page lands on a file.
fn check_written(dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let page = entry.unwrap().path();
        if page.extension().is_none_or(|x| x != "html") {
            continue;
        }
        let html = read(&page);
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        for src in attributes(&html, "src") {
            if !dir.join(src).is_file() {
                problems.push(format!("{name}: missing figure {src}"));
            }
        }
        for href in attributes(&html, "href") {
            let file = href.split('#').next().unwrap();
            if let Some(path) = file.strip_prefix("file://") {
                if !Path::new(path).exists() {
                    problems.push(format!("{name}: broken link {href}"));
                }
            } else if !href.contains("://") && !file.is_empty() && !dir.join(file).is_file() {
                problems.push(format!("{name}: broken link {href}"));
            }
        }
    }
    problems
}

#[test]
fn every_lesson_renders_with_its_math_typeset_and_its_links_and_figures_in_place() {
    // An empty output folder: every figure is the committed one, copied in.
    let out = scratch("lessons");
    let book = book::build(&root(), &out).unwrap();
    assert!(book.problems.is_empty(), "the lessons do not render fully:\n{}", book.problems.join("\n"));
    let entries = book::contents(&root()).unwrap();
    assert_eq!(book.pages.len(), entries.len());
    let lessons =
        std::fs::read_dir(root().join("chapters")).unwrap().filter(|e| e.as_ref().unwrap().path().is_dir()).count();
    assert_eq!(entries.iter().filter(|e| e.chapter.is_some()).count(), lessons, "every lesson is a page");
    assert_eq!(entries[0].file, "index.html");
    if root().join("chapters/GLOSSARY.md").exists() {
        assert!(entries.iter().any(|e| e.file == "glossary.html"), "the glossary is a page");
    }
    for ((file, html), entry) in book.pages.iter().zip(&entries) {
        let markdown = read(&root().join(&entry.source));
        // Every equation became MathML: as many <math> elements as $$ pairs (and more
        // with inline math), no dollar left outside code.
        let display = markdown.matches("$$").count() / 2;
        assert!(html.matches("<math").count() >= display, "{file}: {display} display equations");
        let prose: String =
            html.split("<pre").map(|part| part.split_once("</pre>").map_or(part, |(_, after)| after)).collect();
        let prose: String =
            prose.split("<code>").map(|p| p.split_once("</code>").map_or(p, |(_, after)| after)).collect();
        let prose: String =
            prose.split("<annotation").map(|p| p.split_once("</annotation>").map_or(p, |(_, a)| a)).collect();
        assert!(!prose.contains('$'), "{file}: math left raw");
        assert!(!html.contains("<merror"), "{file}: the converter flagged an error");
        for src in attributes(html, "src") {
            assert!(
                !src.contains("assets/figures") || src.starts_with("files/"),
                "{file}: {src} points into the repository"
            );
        }
    }
    let dir = book.write(&out, &root()).unwrap().parent().unwrap().to_path_buf();
    let problems = check_written(&dir);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let _ = std::fs::remove_dir_all(&out);
}

/// A small repository with one lesson that ties a number and shows two figures.
fn tiny_repo(lesson: &str) -> PathBuf {
    let repo = scratch("repo");
    write(
        &repo.join("chapters/SUMMARY.md"),
        b"# Summary\n\n[About](README.md)\n\n- [Chapter 1](01-q-learning/README.md)\n",
    );
    write(&repo.join("chapters/README.md"), b"# The lessons\n\nStart with [chapter 1](01-q-learning/README.md).\n");
    write(&repo.join("chapters/01-q-learning/README.md"), lesson.as_bytes());
    write(&repo.join("assets/figures/ch01-q-learning/q_table.png"), b"committed");
    write(&repo.join("assets/figures/ch01-q-learning/only_committed.png"), b"committed");
    repo
}

#[test]
fn the_book_shows_this_runs_numbers_and_figures() {
    let lesson = "# Chapter 1: Q-learning\n\n## Values\n\nV*(start) is <!--n:headline.v_star_start-->17.29 here.\n\n\
                  $$V = 1 \\tag{1}$$\n\n![q](../../assets/figures/ch01-q-learning/q_table.png)\n\n\
                  ![c](../../assets/figures/ch01-q-learning/only_committed.png)\n\nBack to [the start](../README.md), \
                  [the values](#values).\n";
    let repo = tiny_repo(lesson);
    let out = scratch("run");
    let mut summary = Summary::new("ch01-q-learning", &[0, 1, 2], false, serde_json::json!({}));
    summary.headline.insert("v_star_start".into(), serde_json::json!(12.3456));
    write(&out.join("ch01-q-learning/summary.json"), serde_json::to_string(&summary).unwrap().as_bytes());
    write(&out.join("ch01-q-learning/q_table.png"), b"this run");

    let book = book::build(&repo, &out).unwrap();
    assert!(book.problems.is_empty(), "{:?}", book.problems);
    let (file, html) = &book.pages[1];
    assert_eq!(file, "ch01-q-learning.html");
    assert!(
        html.contains("V*(start) is <!--n:headline.v_star_start-->12.35 here"),
        "the run's number, at the lesson's precision"
    );
    assert!(!html.contains("17.29"));
    // The run's headline at the top, labelled and rounded.
    assert!(
        html.contains("<td title=\"v_star_start\">V*(start), the optimal value of the start</td><td>12.35</td>"),
        "{html}"
    );
    assert!(html.contains("src=\"../ch01-q-learning/q_table.png\""), "this run's figure");
    assert!(html.contains("src=\"files/assets/figures/ch01-q-learning/only_committed.png\""), "the committed one");
    assert!(html.contains("href=\"index.html\""), "lesson links point at the book's pages");
    assert!(book.pages[0].1.contains("href=\"ch01-q-learning.html\"") && html.contains("href=\"#values\""));
    assert!(html.contains("rel=\"prev\" href=\"index.html\"") && html.contains("Contents"));
    let dir = book.write(&out, &repo).unwrap().parent().unwrap().to_path_buf();
    assert_eq!(read(&dir.join("files/assets/figures/ch01-q-learning/only_committed.png")), "committed");
    assert!(check_written(&dir).is_empty(), "{:?}", check_written(&dir));

    // Without a run, the lesson keeps its number and every figure is the committed one.
    let empty = scratch("no-run");
    let book = book::build(&repo, &empty).unwrap();
    assert!(book.pages[1].1.contains("-->17.29 here") && book.pages[1].1.contains("did not run"));
    assert!(book.pages[1].1.contains("src=\"files/assets/figures/ch01-q-learning/q_table.png\""));
    for dir in [repo, out, empty] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn untypeset_math_broken_links_and_missing_figures_are_problems() {
    let lesson =
        "# Chapter 1\n\n$$x = \\nosuchcommand \\tag{1}$$\n\nA lone $ sign.\n\n[gone](../02-nothing/README.md)\n\n\
                  [no heading](../README.md#nowhere)\n\n![missing](../../assets/figures/ch01-q-learning/nothing.png)\n";
    let repo = tiny_repo(lesson);
    let out = scratch("problems");
    let problems = book::build(&repo, &out).unwrap().problems;
    let expect = [
        "cannot typeset",
        "math left as text",
        "broken link ../02-nothing/README.md",
        "missing figure",
        "names no heading",
    ];
    assert_eq!(problems.len(), expect.len(), "{problems:#?}");
    for (problem, what) in problems.iter().zip(expect) {
        assert!(problem.contains(what) && problem.starts_with("chapters/01-q-learning/README.md"), "{problem}: {what}");
    }
    for dir in [repo, out] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Every headline key has a label: in the committed summaries (a default run) when they
/// are there, and in a fresh quick course, whose book, report and index also use them.
#[test]
fn the_quick_course_writes_the_book_and_labels_every_headline_number() {
    let committed = root().join("assets/figures");
    for entry in std::fs::read_dir(&committed).unwrap() {
        let path = entry.unwrap().path().join("summary.json");
        if let Ok(summary) = Summary::read(&path) {
            assert_eq!(labels::unlabelled(&summary), Vec::<String>::new(), "{}", path.display());
        }
    }
    let out = scratch("course");
    let run = Command::new(env!("CARGO_BIN_EXE_course"))
        .current_dir(root())
        .args(["--quick", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(!stdout.contains("book:"), "the book reports problems:\n{stdout}");
    assert!(!stdout.contains('\r') && !stdout.contains('\x1b'), "no progress drawn into a pipe");
    assert!(
        String::from_utf8_lossy(&run.stderr).trim().is_empty(),
        "nothing on stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("The course in numbers"), "{stdout}");
    let index = read(&out.join("index.html"));
    let report = read(&out.join("REPORT.md"));
    assert!(!index.contains("file://"), "the index links into the book, not into the checkout");
    for (chapter, _) in labels::REGISTRY {
        let summary = Summary::read(&out.join(chapter).join("summary.json")).unwrap();
        assert_eq!(labels::unlabelled(&summary), Vec::<String>::new(), "{chapter}");
        let page = read(&out.join("book").join(format!("{chapter}.html")));
        let top = labels::headline(&summary).into_iter().find(|s| s.top).unwrap();
        assert!(page.contains(&top.label) && stdout.contains(&top.label), "{chapter}: {}", top.label);
        assert!(index.contains(&format!("href=\"book/{chapter}.html\"")), "{chapter}");
        assert!(report.contains(&format!("| {} | {} |", top.label, top.value)), "{chapter}");
    }
    let problems = check_written(&out.join("book"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let _ = std::fs::remove_dir_all(&out);
}
