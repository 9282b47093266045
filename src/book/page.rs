//! The frame of every page: navigation, this run's headline numbers, the style sheet.

use super::markdown::Rendered;
use super::Entry;
use crate::report::labels;
use crate::report::Summary;

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Readable without a network: system fonts, the system's math font, nothing fetched.
const CSS: &str = r#"
:root { --text: #1d1d1f; --muted: #5f6368; --line: #d8dbe0; --soft: #f5f6f8; --accent: #1a5fb4; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--text); background: #fff; font: 17px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
nav { display: grid; grid-template-columns: 1fr auto 1fr; gap: .3rem 1.5rem; align-items: center; max-width: 52rem; margin: 0 auto; padding: .7rem 1.5rem; font-size: .95rem; }
header { border-bottom: 1px solid var(--line); background: var(--soft); position: sticky; top: 0; z-index: 1; }
footer { border-top: 1px solid var(--line); background: var(--soft); margin-top: 2rem; }
nav .middle { display: flex; gap: 1.5rem; }
nav [rel=next] { text-align: right; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { font-size: 2rem; line-height: 1.25; margin: 1.2rem 0 1rem; }
h2 { font-size: 1.45rem; margin: 2.2rem 0 .8rem; padding-bottom: .2rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.2rem; margin: 1.6rem 0 .6rem; }
h1, h2, h3 { scroll-margin-top: 4rem; }
code, pre, kbd { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: .88em; }
:not(pre) > code { background: var(--soft); padding: .1em .3em; border-radius: 4px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; overflow-x: auto; line-height: 1.45; }
table { border-collapse: collapse; margin: 1rem 0; display: block; overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid var(--line); padding: .35rem .7rem; text-align: left; vertical-align: top; }
th { background: var(--soft); }
tr:nth-child(even) td { background: #fafbfc; }
img { max-width: 100%; height: auto; display: block; margin: 1rem auto; border: 1px solid #eee; }
blockquote { margin: 1rem 0; padding: .2rem 1rem; border-left: 4px solid var(--line); color: var(--muted); }
details { margin: .8rem 0; padding: .4rem .9rem; border: 1px solid var(--line); border-radius: 6px; background: #fcfcfd; }
details > summary { cursor: pointer; font-weight: 600; color: var(--accent); }
details[open] > summary { margin-bottom: .5rem; }
math { font-family: "Latin Modern Math", "STIX Two Math", "Cambria Math", "Libertinus Math", math; font-size: 1.1em; }
.equation { display: block; overflow-x: auto; overflow-y: hidden; margin: 1rem 0; padding: .2rem 0; }
.run { border: 1px solid #b9d3f0; background: #f2f7fd; border-radius: 8px; padding: .6rem 1.1rem; margin: 1rem 0 1.5rem; }
.run p { margin: .3rem 0; }
.run table { margin: .5rem 0; display: table; }
.run td { background: #fff !important; }
.run td:last-child { font-variant-numeric: tabular-nums; white-space: nowrap; }
.run details { background: #fff; }
.footnote-definition { font-size: .9rem; color: var(--muted); }
.footnote-definition p { display: inline; }
"#;

fn nav(entries: &[Entry], i: usize, report: bool) -> String {
    let previous = i.checked_sub(1).and_then(|p| entries.get(p));
    let next = entries.get(i + 1);
    let side = |e: Option<&Entry>, arrow_first: bool| match e {
        Some(e) if arrow_first => format!("<a rel=\"prev\" href=\"{}\">← {}</a>", e.file, escape(&e.title)),
        Some(e) => format!("<a rel=\"next\" href=\"{}\">{} →</a>", e.file, escape(&e.title)),
        None => "<span></span>".to_string(),
    };
    format!(
        "<nav>{}<span class=\"middle\"><a href=\"index.html#contents\">Contents</a>{}</span>{}</nav>",
        side(previous, true),
        if report { "<a href=\"../index.html\">Run report</a>" } else { "" },
        side(next, false)
    )
}

fn rows(shown: &[labels::Shown]) -> String {
    let mut html = String::from("<table><tbody>\n");
    for s in shown {
        html.push_str(&format!(
            "<tr><td title=\"{}\">{}</td><td>{}</td></tr>\n",
            escape(&s.key),
            escape(&s.label),
            escape(&s.value)
        ));
    }
    html.push_str("</tbody></table>\n");
    html
}

/// This run's headline numbers: the top few, then all of them folded.
fn run_box(chapter: &str, summary: Option<&Summary>) -> String {
    let Some(s) = summary else {
        return format!(
            "<aside class=\"run\"><p><strong>This run:</strong> {chapter} did not run into this output folder; \
             the numbers below are those of the lesson's reference run.</p></aside>\n"
        );
    };
    let all = labels::headline(s);
    let top: Vec<labels::Shown> = all.iter().filter(|x| x.top).cloned().collect();
    let seeds = match s.seeds.as_slice() {
        [one] => format!("seed {one}"),
        many if many.windows(2).all(|w| w[1] == w[0] + 1) && many.len() > 2 => {
            format!("seeds {}–{}", many[0], many[many.len() - 1])
        }
        many => format!("seeds {}", many.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
    };
    format!(
        "<aside class=\"run\"><p><strong>This run</strong> ({seeds}, {}{}): the headline numbers, and every number \
         the lesson quotes from the run, come from <code>{chapter}/summary.json</code>.</p>\n{}\
         <details><summary>All {} headline numbers</summary>\n{}</details></aside>\n",
        if s.wall_time_s < 60.0 {
            format!("{:.1} s", s.wall_time_s)
        } else {
            crate::report::progress::clock(s.wall_time_s)
        },
        if s.quick { ", quick" } else { "" },
        rows(&top),
        all.len(),
        rows(&all)
    )
}

/// The whole page `i` of `entries`; `report`: the run's index.html is there to link to.
pub(crate) fn page(
    entries: &[Entry],
    i: usize,
    rendered: &Rendered,
    summary: Option<&Summary>,
    report: bool,
) -> String {
    let entry = &entries[i];
    let title = if rendered.title.is_empty() { entry.title.clone() } else { rendered.title.clone() };
    let mut body = rendered.html.clone();
    if let Some(chapter) = &entry.chapter {
        // The numbers of the run go right under the chapter's title.
        let run = run_box(chapter, summary);
        match body.find("</h1>") {
            Some(end) => body.insert_str(end + "</h1>".len(), &format!("\n{run}")),
            None => body.insert_str(0, &run),
        }
    }
    if i == 0 {
        body.push_str("<h2 id=\"contents\">Contents</h2>\n<ol>\n");
        for e in &entries[1..] {
            body.push_str(&format!("<li><a href=\"{}\">{}</a></li>\n", e.file, escape(&e.title)));
        }
        body.push_str("</ol>\n");
    }
    let nav = nav(entries, i, report);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · rl-sandbox</title><style>{CSS}</style></head>\n<body>\n<header>{nav}</header>\n<main>\n{body}</main>\n\
         <footer>{nav}</footer>\n</body></html>\n",
        escape(&title)
    )
}
