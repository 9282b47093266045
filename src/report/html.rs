//! `index.html`: one self-contained page with every chapter's headline numbers and
//! figures (embedded as data URIs, so it opens offline and can be mailed as one file),
//! and links into the run's book (`book/`), the lessons with this run's numbers.

use super::{labels, Summary};
use std::path::Path;

/// Standard base64 (RFC 4648) with padding; a dozen lines spare the course a crate.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The page for the chapters in `summaries`, whose figures lie in `out/<chapter>/`;
/// each comes with the address of its lesson, relative to `out` (its page in the book).
pub fn index_html(out: &Path, summaries: &[(Summary, String)]) -> String {
    let mut html = String::from(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>rl-sandbox: course report</title><style>",
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}",
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}",
        "img{max-width:100%;border:1px solid #eee;margin:.5em 0}nav a{margin-right:1em}",
        "</style></head><body>\n<h1>rl-sandbox: course report</h1>\n",
        "<p>The lessons, with this run's numbers and figures: <a href=\"book/index.html\">the book</a>.</p>\n<nav>"
    ));
    for (s, _) in summaries {
        html.push_str(&format!("<a href=\"#{0}\">{0}</a>", escape(&s.chapter)));
    }
    html.push_str("</nav>\n");
    for (s, lesson) in summaries {
        html.push_str(&format!(
            "<h2 id=\"{0}\">{0}</h2>\n<p><a href=\"{1}\">Read the lesson</a> with this run's numbers. Seeds {2:?}, {3:.1} s{4}.</p>\n<table><tr><th>measure</th><th>value</th></tr>\n",
            escape(&s.chapter),
            escape(lesson),
            s.seeds,
            s.wall_time_s,
            if s.quick { ", quick run" } else { "" }
        ));
        for shown in labels::headline(s) {
            html.push_str(&format!(
                "<tr><td title=\"{}\">{}</td><td>{}</td></tr>\n",
                escape(&shown.key),
                escape(&shown.label),
                escape(&shown.value)
            ));
        }
        html.push_str("</table>\n");
        for f in s.figures.iter().filter(|f| f.ends_with(".png") || f.ends_with(".gif")) {
            let mime = if f.ends_with(".gif") { "gif" } else { "png" };
            let path = out.join(&s.chapter).join(f);
            match std::fs::read(&path) {
                Ok(bytes) => html.push_str(&format!(
                    "<figure><img alt=\"{0}\" src=\"data:image/{mime};base64,{1}\"><figcaption>{0}</figcaption></figure>\n",
                    escape(f),
                    base64(&bytes)
                )),
                Err(_) => html.push_str(&format!("<p>(missing figure {})</p>\n", escape(f))),
            }
        }
    }
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }
}
