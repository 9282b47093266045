//! An mdBook preprocessor for the lessons: math for MathJax, links between lessons.
//!
//! The lessons write math as GitHub renders it: `$$ ... \tag{n} $$` for display math (and
//! `$...$` inline). mdBook's Markdown parser knows no math: before MathJax sees the page it
//! turns `\,` into `,`, `\\` into `\`, `Q^*(s) ... Q^*(s')` into emphasis and `'` into a
//! curly quote. This preprocessor escapes every ASCII punctuation character inside the
//! math with a backslash, so that the parser gives back exactly the original text, and
//! writes inline math as `\( ... \)`, the delimiters of mdBook's MathJax.
//!
//! mdBook also renders each `README.md` as `index.html`, but turns a link to
//! `../05-language-model/README.md` into `README.html`; the links are pointed at
//! `index.md` instead, which mdBook then turns into `index.html`.
//!
//! book.toml runs it (`[preprocessor.lessons]`); mdBook is optional and nothing else uses
//! it. Protocol: `mdbook-lessons supports <renderer>` exits 0 for html; otherwise stdin holds
//! `[context, book]` as JSON and stdout gets the book back.

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("supports") {
        // Only the HTML renderer runs MathJax.
        return if args.get(2).map(String::as_str) == Some("html") { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("error: mdbook-lessons: cannot read the book from stdin: {e}");
        return ExitCode::FAILURE;
    }
    let mut book = match serde_json::from_str::<serde_json::Value>(&input) {
        Ok(serde_json::Value::Array(mut pair)) if pair.len() == 2 => pair.remove(1),
        _ => {
            eprintln!("error: mdbook-lessons: stdin is not mdBook's [context, book] JSON");
            return ExitCode::FAILURE;
        }
    };
    protect_chapters(&mut book);
    println!("{book}");
    ExitCode::SUCCESS
}

/// Rewrites the `content` of every chapter, however deeply nested.
fn protect_chapters(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.contains_key("sub_items") {
                if let Some(serde_json::Value::String(content)) = map.get_mut("content") {
                    *content = protect_page(content);
                }
            }
            map.values_mut().for_each(protect_chapters);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(protect_chapters),
        _ => {}
    }
}

/// Escapes the math of a Markdown page and points links to lessons at `index.md`,
/// leaving fenced code blocks and code spans alone.
pub fn protect_page(page: &str) -> String {
    let mut out = String::with_capacity(page.len() + page.len() / 4);
    let mut prose = String::new();
    let mut fence: Option<(char, usize)> = None;
    for line in page.split_inclusive('\n') {
        let marker = fence_marker(line);
        match (fence, marker) {
            (None, Some((c, n, _))) => {
                out.push_str(&protect_prose(&prose));
                prose.clear();
                out.push_str(line);
                fence = Some((c, n));
            }
            (None, None) => prose.push_str(line),
            (Some((open, len)), marker) => {
                out.push_str(line);
                if marker.is_some_and(|(c, n, rest)| c == open && n >= len && rest.trim().is_empty()) {
                    fence = None;
                }
            }
        }
    }
    out.push_str(&protect_prose(&prose));
    out
}

/// A fence line: its character (backtick or tilde), how many, and the rest of the line.
fn fence_marker(line: &str) -> Option<(char, usize, &str)> {
    let trimmed = line.trim_start();
    let c = trimmed.chars().next().filter(|&c| c == '`' || c == '~')?;
    let n = trimmed.chars().take_while(|&b| b == c).count();
    (n >= 3).then(|| (c, n, &trimmed[n..]))
}

/// Escapes `$$...$$` and `$...$`, and rewrites `](.../README.md)` links, in text that
/// holds no fenced code block.
fn protect_prose(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            // An escaped character (`\$` is a dollar sign, not math).
            out.push(c);
            out.push(chars[i + 1]);
            i += 2;
        } else if c == '`' {
            // A code span runs to the next run of as many backticks.
            let run = chars[i..].iter().take_while(|&&b| b == '`').count();
            let end = (i + run..chars.len())
                .find(|&j| chars[j..].iter().take_while(|&&b| b == '`').count() == run && chars[j - 1] != '`');
            let stop = end.map_or(i + run, |j| j + run);
            out.extend(&chars[i..stop]);
            i = stop;
        } else if c == ']' && chars.get(i + 1) == Some(&'(') {
            let end =
                (i + 2..chars.len()).find(|&j| chars[j] == ')' || chars[j].is_whitespace()).unwrap_or(chars.len());
            let target: String = chars[i + 2..end].iter().collect();
            out.push_str("](");
            out.push_str(&readme_to_index(&target));
            i = end;
        } else if c == '$' && chars.get(i + 1) == Some(&'$') {
            match find(&chars, i + 2, &['$', '$']) {
                Some(end) => {
                    out.push_str("$$");
                    out.push_str(&escape(&chars[i + 2..end]));
                    out.push_str("$$");
                    i = end + 2;
                }
                None => {
                    out.push_str("$$");
                    i += 2;
                }
            }
        } else if c == '$' {
            // Inline math as GitHub reads it: no space inside the dollars, one line.
            let end = find(&chars, i + 1, &['$']).filter(|&end| {
                end > i + 1
                    && !chars[i + 1].is_whitespace()
                    && !chars[end - 1].is_whitespace()
                    && !chars[i + 1..end].contains(&'\n')
                    && !chars.get(end + 1).is_some_and(char::is_ascii_digit)
            });
            match end {
                Some(end) => {
                    out.push_str("\\\\(");
                    out.push_str(&escape(&chars[i + 1..end]));
                    out.push_str("\\\\)");
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `../05-language-model/README.md#pseudocode` becomes `../05-language-model/index.md#pseudocode`;
/// web addresses and other files are left alone.
fn readme_to_index(target: &str) -> String {
    let (path, anchor) = target.split_at(target.find('#').unwrap_or(target.len()));
    if target.contains("://") || !(path == "README.md" || path.ends_with("/README.md")) {
        return target.to_string();
    }
    format!("{}index.md{anchor}", &path[..path.len() - "README.md".len()])
}

/// The first position at or after `from` where `pattern` starts.
fn find(chars: &[char], from: usize, pattern: &[char]) -> Option<usize> {
    (from..chars.len()).find(|&j| chars[j..].starts_with(pattern))
}

/// A backslash before every ASCII punctuation character: Markdown then reads each one
/// literally. Trailing spaces are dropped, so that no line ends in a hard break.
fn escape(math: &[char]) -> String {
    let text: String = math.iter().collect();
    let mut out = String::with_capacity(2 * text.len());
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        for c in line.trim_end_matches(' ').chars() {
            if c.is_ascii_punctuation() {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}
