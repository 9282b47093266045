//! One lesson's Markdown as HTML (pulldown-cmark): tables, footnotes, strikethrough, the
//! `$…$` and `$$…$$` math typeset as MathML, links and images pointed into the book,
//! and an id on every heading (GitHub's anchors, which the lessons link to).

use super::math;
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

/// Where a lesson's links and images point in the book.
pub trait Resolve {
    /// The book's address for a link target, or why the target is broken.
    fn link(&self, target: &str) -> Result<String, String>;
    /// The book's address for an image, or why it is missing.
    fn image(&self, src: &str) -> Result<String, String>;
}

/// A rendered page.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    pub html: String,
    /// The text of the first level-1 heading.
    pub title: String,
    /// The ids of the page's headings.
    pub ids: Vec<String>,
    /// Every local link the page makes, as rewritten (`ch04-ppo.html#gae`, `#exercises`).
    pub links: Vec<String>,
    /// What could not be rendered: math the converter rejects, a `$` left as text, a
    /// broken link, a missing figure; each with its line in the Markdown.
    pub problems: Vec<String>,
}

/// The HTML tags a lesson may write; any other (`<think>`, `<answer>` in prose) is text
/// that a browser would otherwise swallow as an unknown element.
const ALLOWED_TAGS: &[&str] = &[
    "a", "b", "br", "code", "details", "div", "em", "i", "img", "kbd", "p", "pre", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "th", "thead", "tr",
];

fn allowed_html(html: &str) -> bool {
    let t = html.trim_start();
    if t.starts_with("<!--") {
        return true;
    }
    let name: String =
        t.trim_start_matches('<').trim_start_matches('/').chars().take_while(char::is_ascii_alphanumeric).collect();
    ALLOWED_TAGS.contains(&name.to_ascii_lowercase().as_str())
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// GitHub's anchor for a heading: lower case, spaces to hyphens, punctuation dropped.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Renders `markdown`, pointing its links and images through `resolve`.
pub fn render(markdown: &str, resolve: &dyn Resolve) -> Rendered {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_MATH
        | Options::ENABLE_TASKLISTS;
    let mut page = Rendered::default();
    let mut events: Vec<Event> = Vec::new();
    let mut in_code_block = false;
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        let line = line_of(markdown, range.start);
        let event = match event {
            Event::InlineMath(tex) | Event::DisplayMath(tex) => {
                let display = markdown[range.clone()].starts_with("$$");
                match math::to_mathml(&tex, display) {
                    Ok(mathml) if display => {
                        Event::InlineHtml(format!("<span class=\"equation\">{mathml}</span>").into())
                    }
                    Ok(mathml) => Event::InlineHtml(mathml.into()),
                    Err(e) => {
                        page.problems.push(format!("line {line}: {e}"));
                        Event::Code(tex)
                    }
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code_block = true;
                Event::Start(Tag::CodeBlock(kind))
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                Event::End(TagEnd::CodeBlock)
            }
            Event::Text(text) => {
                if !in_code_block && text.contains('$') && !markdown[range].contains("\\$") {
                    page.problems.push(format!("line {line}: math left as text (an unclosed `$`?): {text}"));
                }
                Event::Text(text)
            }
            Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                let dest_url = rewrite(&mut page, line, resolve.link(&dest_url), &dest_url);
                Event::Start(Tag::Link { link_type, dest_url, title, id })
            }
            Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
                let dest_url = rewrite(&mut page, line, resolve.image(&dest_url), &dest_url);
                Event::Start(Tag::Image { link_type, dest_url, title, id })
            }
            Event::Html(html) | Event::InlineHtml(html) if !allowed_html(&html) => Event::Text(html),
            Event::Html(html) if html.contains('$') && !html.trim_start().starts_with("<!--") => {
                // Markdown inside an HTML block stays raw: `<details>` needs blank lines
                // around its content for the math in it to be typeset.
                page.problems
                    .push(format!("line {line}: math inside an HTML block stays raw (blank lines around it?)"));
                Event::Html(html)
            }
            other => other,
        };
        events.push(event);
    }
    name_headings(&mut events, &mut page);
    pulldown_cmark::html::push_html(&mut page.html, events.into_iter());
    page
}

/// The rewritten address, or the original one and a problem.
fn rewrite<'a>(page: &mut Rendered, line: usize, resolved: Result<String, String>, original: &str) -> CowStr<'a> {
    match resolved {
        Ok(address) => {
            if !address.contains("://") && !address.starts_with("mailto:") {
                page.links.push(address.clone());
            }
            address.into()
        }
        Err(e) => {
            page.problems.push(format!("line {line}: {e}"));
            original.to_string().into()
        }
    }
}

/// Gives every heading its GitHub anchor as id (a repeated one gets -1, -2, …) and takes
/// the page title from the first level-1 heading.
fn name_headings(events: &mut [Event], page: &mut Rendered) {
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, .. }) = &events[i] {
            let level = *level;
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
                if let Event::Text(t) | Event::Code(t) = &events[j] {
                    text.push_str(t);
                }
                j += 1;
            }
            let base = slug(&text);
            let mut id = base.clone();
            let mut n = 0;
            while page.ids.contains(&id) {
                n += 1;
                id = format!("{base}-{n}");
            }
            if level == pulldown_cmark::HeadingLevel::H1 && page.title.is_empty() {
                page.title = text.trim().to_string();
            }
            if let Event::Start(Tag::Heading { id: slot, .. }) = &mut events[i] {
                *slot = Some(id.clone().into());
            }
            page.ids.push(id);
            i = j;
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Same;
    impl Resolve for Same {
        fn link(&self, target: &str) -> Result<String, String> {
            if target.contains("broken") {
                Err(format!("broken link {target}"))
            } else {
                Ok(target.replace(".md", ".html"))
            }
        }
        fn image(&self, src: &str) -> Result<String, String> {
            Ok(format!("figures/{src}"))
        }
    }

    #[test]
    fn math_tables_links_and_headings_render() {
        let md = "# Chapter 4: PPO\n\n## The ratio, r_t(θ)\n\n$$r_t = \\frac{a}{b} \\tag{1}$$\n\nInline $\\pi_\\theta$ and \
                  [next](../05/README.md#top).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n![fig](x.png)\n\n## The ratio, r_t(θ)\n";
        let page = render(md, &Same);
        assert!(page.problems.is_empty(), "{:?}", page.problems);
        assert_eq!(page.title, "Chapter 4: PPO");
        assert_eq!(page.ids, ["chapter-4-ppo", "the-ratio-r_tθ", "the-ratio-r_tθ-1"]);
        assert!(page.html.contains("<h2 id=\"the-ratio-r_tθ\">"), "{}", page.html);
        assert!(page.html.contains("<span class=\"equation\"><math display=\"block\">"));
        assert!(page.html.contains("(1)"), "the tag is shown");
        assert!(page.html.contains("Inline <math>"));
        assert!(page.html.contains("href=\"../05/README.html#top\""));
        assert!(page.html.contains("<table>") && page.html.contains("src=\"figures/x.png\""));
        assert!(!page.html.contains('$'), "{}", page.html);
    }

    #[test]
    fn problems_are_reported_with_their_line() {
        let md = "ok\n\n$x = \\nosuch$ and [a](broken.md)\n\n```\n$ cargo run\n```\n";
        let page = render(md, &Same);
        assert_eq!(page.problems.len(), 2, "{:?}", page.problems);
        assert!(page.problems[0].starts_with("line 3: cannot typeset"), "{:?}", page.problems);
        assert!(page.problems[1].contains("broken link broken.md"));
    }

    #[test]
    fn unknown_tags_in_prose_are_shown_and_solutions_fold() {
        let md = "The model writes <think> first.\n\n1. Do it.\n\n   <details><summary>Solution</summary>\n\n   \
                  Worked: $a+b$.\n\n   </details>\n\n<!--n:headline.x-->0.5\n";
        let page = render(md, &Same);
        assert!(page.problems.is_empty(), "{:?}", page.problems);
        assert!(page.html.contains("writes &lt;think&gt; first"), "{}", page.html);
        assert!(page.html.contains("<details><summary>Solution</summary>"), "{}", page.html);
        assert!(page.html.contains("Worked: <math>"), "math inside a solution: {}", page.html);
        assert!(page.html.contains("<!--n:headline.x-->0.5"));
    }
}
