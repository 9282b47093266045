//! The book of a run: every lesson as an HTML page in `<out>/book/`, readable offline.
//!
//! The pages follow `chapters/SUMMARY.md` (the front page is `chapters/README.md`, the
//! glossary `chapters/GLOSSARY.md` when there is one). Each chapter page opens with this
//! run's headline numbers; every number a lesson ties to the run (`<!--n:EXPR-->0.996`)
//! is reprinted from this run's summaries; every figure is this run's
//! `<out>/<chapter>/X.png` when the run drew it, else the committed one, copied in. The
//! math is MathML (browsers typeset it without a script or a network), the style sheet
//! is inline, and links between lessons point at the book's pages.
//!
//! mdBook (`book.toml`, tools/mdbook-lessons.rs) still builds the committed lessons;
//! this book is the run's own.

pub mod markdown;
pub mod math;
mod page;

use crate::error::{Error, Result};
use crate::report::lesson_numbers::{substitute, Summaries};
use crate::report::Summary;
use markdown::Resolve;
use std::cell::RefCell;
use std::path::{Component, Path, PathBuf};

/// The checkout whose lessons make the book: the current folder when it has them (as
/// under `cargo run`), else the one the program was built from.
pub fn find_repo() -> Option<PathBuf> {
    [PathBuf::from("."), PathBuf::from(env!("CARGO_MANIFEST_DIR"))]
        .into_iter()
        .find(|p| p.join("chapters/SUMMARY.md").is_file())
}

/// One page of the book: where its Markdown is, its title and its file in the book.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The Markdown, relative to the repository (`chapters/04-ppo/README.md`).
    pub source: PathBuf,
    /// The title in the table of contents.
    pub title: String,
    /// The page's file in the book (`ch04-ppo.html`, `index.html`).
    pub file: String,
    /// The chapter id (`ch04-ppo`) of a lesson; None for the front page and glossary.
    pub chapter: Option<String>,
}

/// The book's pages in `chapters/SUMMARY.md`'s order, the glossary last if SUMMARY.md
/// does not list it.
pub fn contents(repo: &Path) -> Result<Vec<Entry>> {
    let path = repo.join("chapters/SUMMARY.md");
    let summary = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let mut entries: Vec<Entry> = Vec::new();
    for line in summary.lines() {
        let Some((title, target)) = line.split_once("](").and_then(|(head, tail)| {
            let title = head.rsplit_once('[')?.1;
            let target = tail.split(')').next()?;
            Some((title, target))
        }) else {
            continue;
        };
        entries.push(entry(Path::new("chapters").join(target), title));
    }
    let glossary = Path::new("chapters/GLOSSARY.md");
    if repo.join(glossary).is_file() && !entries.iter().any(|e| e.source == glossary) {
        entries.push(entry(glossary.to_path_buf(), "Glossary"));
    }
    Ok(entries)
}

fn entry(source: PathBuf, title: &str) -> Entry {
    let folder = source.parent().and_then(Path::file_name).map(|f| f.to_string_lossy().into_owned());
    let is_lesson = source.file_name().is_some_and(|f| f == "README.md") && folder.as_deref() != Some("chapters");
    let (file, chapter) = match folder {
        Some(folder) if is_lesson => (format!("ch{folder}.html"), Some(format!("ch{folder}"))),
        _ if source == Path::new("chapters/README.md") => ("index.html".to_string(), None),
        _ => {
            let stem = source.file_stem().map_or_else(String::new, |s| s.to_string_lossy().to_lowercase());
            (format!("{stem}.html"), None)
        }
    };
    Entry { source, title: title.to_string(), file, chapter }
}

/// A rendered book, not yet written.
#[derive(Debug, Default)]
pub struct Book {
    /// (file in the book, HTML).
    pub pages: Vec<(String, String)>,
    /// Committed files the pages show, to copy in: (from, to relative to the book).
    pub copies: Vec<(PathBuf, PathBuf)>,
    /// What could not be rendered, one line each, naming the page.
    pub problems: Vec<String>,
}

/// Renders the book of the run in `out` from the lessons of the repository at `repo`.
/// Every number a lesson ties to the run is reprinted from `out/<chapter>/summary.json`;
/// a chapter that did not run into `out` keeps the lesson's number.
pub fn build(repo: &Path, out: &Path) -> Result<Book> {
    let entries = contents(repo)?;
    let summaries = Summaries::from_dir(out);
    let mut book = Book::default();
    let mut rendered = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let path = repo.join(&e.source);
        let text = std::fs::read_to_string(&path).map_err(|err| Error::io(&path, err))?;
        let text = substitute(&text, e.chapter.as_deref(), &summaries);
        let links = Links {
            repo,
            out,
            dir: e.source.parent().unwrap_or(Path::new("")),
            entries: &entries,
            copies: RefCell::new(Vec::new()),
        };
        let page = markdown::render(&text, &links);
        book.problems.extend(page.problems.iter().map(|p| format!("{}: {p}", e.source.display())));
        for copy in links.copies.into_inner() {
            if !book.copies.contains(&copy) {
                book.copies.push(copy);
            }
        }
        let summary = e.chapter.as_ref().and_then(|c| Summary::read(&out.join(c).join("summary.json")).ok());
        let html = page::page(&entries, i, &page, summary.as_ref(), out.join("index.html").is_file());
        rendered.push((e, page));
        book.pages.push((e.file.clone(), html));
    }
    // Every link into the book lands on a page and, with an anchor, on a heading of it.
    for (e, page) in &rendered {
        for link in &page.links {
            let (file, anchor) = link.split_once('#').unwrap_or((link, ""));
            let file = if file.is_empty() { e.file.as_str() } else { file };
            let Some((_, target)) = rendered.iter().find(|(t, _)| t.file == file) else { continue };
            if !anchor.is_empty() && !target.ids.iter().any(|id| id == anchor) {
                book.problems.push(format!("{}: the link {link} names no heading of {file}", e.source.display()));
            }
        }
    }
    Ok(book)
}

impl Book {
    /// Writes the pages and copies into `<out>/book/`; returns the front page's path.
    pub fn write(&self, out: &Path, repo: &Path) -> Result<PathBuf> {
        let dir = out.join("book");
        for (from, to) in &self.copies {
            let to = dir.join(to);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            let from = repo.join(from);
            std::fs::copy(&from, &to).map_err(|e| Error::io(&from, e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        for (file, html) in &self.pages {
            crate::report::write_atomic(&dir.join(file), html.as_bytes())?;
        }
        Ok(dir.join("index.html"))
    }
}

/// `a/b/../c` → `a/c`, without touching the disk; None if it climbs above the start.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// A page's links: `dir` is the folder of its Markdown, relative to the repository.
struct Links<'a> {
    repo: &'a Path,
    out: &'a Path,
    dir: &'a Path,
    entries: &'a [Entry],
    copies: RefCell<Vec<(PathBuf, PathBuf)>>,
}

impl Links<'_> {
    fn is_url(target: &str) -> bool {
        target.contains("://") || target.starts_with("mailto:")
    }

    /// A committed file as the book shows it: copied in under `files/`.
    fn copied(&self, path: &Path) -> Option<String> {
        if !self.repo.join(path).is_file() {
            return None;
        }
        let to = Path::new("files").join(path);
        self.copies.borrow_mut().push((path.to_path_buf(), to.clone()));
        Some(to.to_string_lossy().replace('\\', "/"))
    }
}

impl Resolve for Links<'_> {
    fn link(&self, target: &str) -> std::result::Result<String, String> {
        if Self::is_url(target) || target.starts_with('#') {
            return Ok(target.to_string());
        }
        let (path, anchor) = target.split_at(target.find('#').unwrap_or(target.len()));
        let Some(resolved) = normalize(&self.dir.join(path)) else {
            return Err(format!("the link {target} leaves the repository"));
        };
        if let Some(page) = self.entries.iter().find(|e| e.source == resolved) {
            return Ok(format!("{}{anchor}", page.file));
        }
        if resolved.extension().is_some_and(|x| x == "png" || x == "svg") {
            return self.image(target);
        }
        // Another file of the repository (a source file): its absolute address, since the
        // book lives in the output folder.
        match std::fs::canonicalize(self.repo.join(&resolved)) {
            Ok(absolute) => Ok(format!("file://{}{anchor}", absolute.display())),
            Err(_) => Err(format!("broken link {target}")),
        }
    }

    fn image(&self, src: &str) -> std::result::Result<String, String> {
        if Self::is_url(src) {
            return Err(format!("the image {src} needs a network"));
        }
        let resolved =
            normalize(&self.dir.join(src)).ok_or_else(|| format!("the image {src} leaves the repository"))?;
        // assets/figures/<chapter>/X.png: this run's figure when it drew one.
        if let Ok(figure) = resolved.strip_prefix("assets/figures") {
            if self.out.join(figure).is_file() {
                return Ok(format!("../{}", figure.to_string_lossy().replace('\\', "/")));
            }
        }
        self.copied(&resolved).ok_or_else(|| format!("missing figure {src}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_named_after_their_chapter() {
        let e = entry(PathBuf::from("chapters/04-ppo/README.md"), "PPO");
        assert_eq!((e.file.as_str(), e.chapter.as_deref()), ("ch04-ppo.html", Some("ch04-ppo")));
        let e = entry(PathBuf::from("chapters/README.md"), "About");
        assert_eq!((e.file.as_str(), e.chapter), ("index.html", None));
        let e = entry(PathBuf::from("chapters/GLOSSARY.md"), "Glossary");
        assert_eq!((e.file.as_str(), e.chapter), ("glossary.html", None));
    }

    #[test]
    fn normalize_resolves_parent_folders() {
        let p = normalize(Path::new("chapters/04-ppo/../../assets/figures/ch04-ppo/x.png")).unwrap();
        assert_eq!(p, Path::new("assets/figures/ch04-ppo/x.png"));
        assert_eq!(normalize(Path::new("chapters/../../x")), None);
    }
}
