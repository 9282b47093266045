//! The course as a whole: the quick run end to end, and the lessons' links.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn quick_course_writes_every_chapter_and_a_report() {
    let out = std::env::temp_dir().join(format!("rl-sandbox-course-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run =
        Command::new(env!("CARGO_BIN_EXE_course")).args(["--quick", "--out", out.to_str().unwrap()]).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    for chapter in std::fs::read_dir(root().join("chapters")).unwrap() {
        let name = chapter.unwrap().file_name().into_string().unwrap();
        // Folder "01-q-learning" is the binary "ch01-q-learning".
        let id = format!("ch{name}");
        let summary = out.join(&id).join("summary.json");
        let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert_eq!(s["chapter"], id.as_str());
        assert!(!s["headline"].as_object().unwrap().is_empty());
        for f in s["figures"].as_array().unwrap() {
            assert!(out.join(&id).join(f.as_str().unwrap()).exists(), "{id}: {f}");
        }
        assert!(report.contains(&format!("## {id}")), "REPORT.md lacks {id}");
        assert!(index.contains(&format!("<h2 id=\"{id}\">")), "index.html lacks {id}");
    }
    assert!(index.contains("data:image/png;base64,iVBORw0KGgo"), "figures are embedded as PNG data");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn unknown_chapter_is_refused() {
    let run =
        Command::new(env!("CARGO_BIN_EXE_course")).args(["--only", "99", "--out", "/nonexistent"]).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--only"));
}

/// Every relative link and image in the README and the lessons points at a file.
#[test]
fn lesson_links_resolve() {
    let mut pages = vec![root().join("README.md")];
    for chapter in std::fs::read_dir(root().join("chapters")).unwrap() {
        pages.push(chapter.unwrap().path().join("README.md"));
    }
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        for target in link_targets(&text) {
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let path = page.parent().unwrap().join(target.split('#').next().unwrap());
            assert!(path.exists(), "{} links {target}, which does not exist", page.display());
        }
    }
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
