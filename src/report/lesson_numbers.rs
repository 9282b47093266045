//! Numbers that the lessons quote, tied to the run that drew their figures.
//!
//! A lesson writes an HTML comment directly before every number it takes from a run:
//!
//! ```text
//! the greedy accuracy rises to <!--n:headline.accuracy_after-->0.996, and
//! about <!--n:headline.max_kl/hyperparameters.max_kl-->25× below δ
//! chapter 6 took <!--n:ch06:wall_time_s/60-->4.7 min
//! ```
//!
//! Readers see only the number (Markdown renderers hide comments). The comment holds an
//! expression over the chapter's `summary.json`: dotted paths (`headline.x`,
//! `details.runs.0.ret`; a `*` segment maps over an array; a key may itself contain
//! dots, `headline.fixed_0.05_max_kl`), a `chNN:` prefix for another chapter's summary,
//! the functions `max min mean median sum count` over arrays and `abs` on a number,
//! and `+ - * /` with parentheses. The number is the first one after the comment; what
//! follows it (`%`, `×`, a unit) is text. A quoted number agrees with its run when they
//! are equal at the printed precision: within half a unit of its last digit.
//!
//! Three users: a test checks every lesson against the committed summaries in
//! `assets/figures/`, the course's `--check` compares a fresh run with them, and the
//! course book reprints every tied number from the reader's own run.

use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

/// One tied number in a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Tie {
    /// The byte range of the `<!--n:...-->` comment.
    pub comment: Range<usize>,
    /// The byte range of the number after it.
    pub number: Range<usize>,
    /// The expression inside the comment.
    pub expr: String,
    /// The number as printed, e.g. `−2.60` or `28,000`.
    pub printed: String,
    /// The 1-based line of the comment, for messages.
    pub line: usize,
}

const OPEN: &str = "<!--n:";
const CLOSE: &str = "-->";

impl Tie {
    /// The printed number's value (signs `+ - −`, thousands separators understood).
    pub fn value(&self) -> f64 {
        let (negative, digits) = split_sign(&self.printed);
        let magnitude: f64 = digits.replace(',', "").parse().unwrap_or(f64::NAN);
        if negative {
            -magnitude
        } else {
            magnitude
        }
    }

    /// Digits after the decimal point as printed.
    pub fn decimals(&self) -> usize {
        self.printed.split_once('.').map_or(0, |(_, d)| d.len())
    }

    /// Whether `value` prints as this number: within half a unit of the last printed digit.
    pub fn agrees_with(&self, value: f64) -> bool {
        let half_unit = 0.5 * 10f64.powi(-(self.decimals() as i32));
        value.is_finite() && (value - self.value()).abs() <= half_unit * (1.0 + 1e-9) + 1e-12
    }

    /// `value` printed the way this number is: same decimals, sign style and separators.
    pub fn reprint(&self, value: f64) -> String {
        let (negative_sign, digits) = split_sign(&self.printed);
        let minus = if self.printed.starts_with('−') || !negative_sign { "−" } else { "-" };
        let body = format!("{:.*}", self.decimals(), value.abs());
        let body = if digits.contains(',') { with_thousands(&body) } else { body };
        let rounds_to_zero = body.chars().all(|c| c == '0' || c == '.' || c == ',');
        if value < 0.0 && !rounds_to_zero {
            format!("{minus}{body}")
        } else if self.printed.starts_with('+') {
            format!("+{body}")
        } else {
            body
        }
    }
}

fn split_sign(printed: &str) -> (bool, &str) {
    if let Some(rest) = printed.strip_prefix('−').or_else(|| printed.strip_prefix('-')) {
        (true, rest)
    } else {
        (false, printed.strip_prefix('+').unwrap_or(printed))
    }
}

fn with_thousands(body: &str) -> String {
    let (int, frac) = body.split_once('.').map_or((body, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{grouped}.{f}"),
        None => grouped,
    }
}

/// A page problem: its line and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// Every tie in `text`, and the problems of comments that are not well-formed ties
/// (no number after them). Fenced code blocks are skipped: a comment there is shown
/// literally, so it cannot tie anything.
pub fn find_ties(text: &str) -> (Vec<Tie>, Vec<Problem>) {
    let mut ties = Vec::new();
    let mut problems = Vec::new();
    let mut offset = 0;
    let mut in_fence = false;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let start_of_line = offset;
        offset += line.len();
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let mut from = 0;
        while let Some(open) = line[from..].find(OPEN).map(|i| i + from) {
            let Some(close) = line[open..].find(CLOSE).map(|i| i + open) else {
                problems.push(Problem { line: index + 1, message: "`<!--n:` without `-->` on the same line".into() });
                break;
            };
            let expr = line[open + OPEN.len()..close].trim().to_string();
            let after = close + CLOSE.len();
            from = after;
            match number_at(&line[after..]) {
                Some(range) => ties.push(Tie {
                    comment: start_of_line + open..start_of_line + after,
                    number: start_of_line + after + range.start..start_of_line + after + range.end,
                    printed: line[after + range.start..after + range.end].to_string(),
                    expr,
                    line: index + 1,
                }),
                None => problems.push(Problem {
                    line: index + 1,
                    message: format!("`<!--n:{expr}-->` is not followed by a number"),
                }),
            }
        }
    }
    (ties, problems)
}

/// The byte range of the number that starts `text` (after emphasis markers): an optional
/// sign, digits with optional `,` thousands separators, optional decimals.
fn number_at(text: &str) -> Option<Range<usize>> {
    let skip = text.len() - text.trim_start_matches(['*', '_']).len();
    let rest = &text[skip..];
    let sign = ['+', '-', '−'].iter().find(|s| rest.starts_with(**s)).map_or(0, |s| s.len_utf8());
    let bytes = rest.as_bytes();
    let mut end = sign;
    let digits_from = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let int_end = digits_from(end);
    if int_end == end {
        return None;
    }
    end = int_end;
    // A thousands separator is a comma followed by exactly three digits.
    while end + 4 <= bytes.len()
        && bytes[end] == b','
        && digits_from(end + 1) == end + 4
        && (end + 4 == bytes.len() || !bytes[end + 4].is_ascii_digit())
    {
        end += 4;
    }
    if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
        end = digits_from(end + 1);
    }
    Some(skip..skip + end)
}

/// The run summaries an expression can read, by short chapter id (`ch06`).
#[derive(Debug, Default, Clone)]
pub struct Summaries {
    by_chapter: BTreeMap<String, Value>,
}

impl Summaries {
    /// Every `<dir>/chNN-*/summary.json` (the layout of `runs/` and `assets/figures/`).
    /// Folders without a readable summary are left out.
    pub fn from_dir(dir: &Path) -> Summaries {
        let mut by_chapter = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Summaries { by_chapter };
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(short) = short_id(&name) else { continue };
            if name.ends_with(".incomplete") {
                continue;
            }
            let path = entry.path().join("summary.json");
            if let Some(value) = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok()) {
                by_chapter.insert(short, value);
            }
        }
        Summaries { by_chapter }
    }

    /// Adds or replaces one chapter's summary (`chapter` is `ch06` or `ch06-grpo`).
    pub fn insert(&mut self, chapter: &str, summary: Value) {
        let short = short_id(chapter).unwrap_or_else(|| chapter.to_string());
        self.by_chapter.insert(short, summary);
    }

    /// The summary of `chapter` (`ch06` or `ch06-grpo`).
    pub fn get(&self, chapter: &str) -> Option<&Value> {
        self.by_chapter.get(&short_id(chapter)?)
    }

    pub fn is_empty(&self) -> bool {
        self.by_chapter.is_empty()
    }
}

/// `ch06-grpo` → `ch06`; `06-grpo` (a lesson folder) → `ch06`; anything else → None.
pub fn short_id(name: &str) -> Option<String> {
    let digits = name.strip_prefix("ch").unwrap_or(name);
    let number = digits.get(..2)?;
    let rest = &digits[2..];
    (number.bytes().all(|b| b.is_ascii_digit()) && (rest.is_empty() || rest.starts_with('-')))
        .then(|| format!("ch{number}"))
}

/// The value of one tie's expression; `chapter` is the page's own chapter (`ch06`), or
/// None for pages that belong to no chapter (their paths need a `chNN:` prefix).
pub fn evaluate(expr: &str, chapter: Option<&str>, summaries: &Summaries) -> Result<f64, String> {
    let mut parser = Parser { tokens: tokenize(expr)?, at: 0, chapter, summaries };
    let value = parser.sum()?;
    if parser.at != parser.tokens.len() {
        return Err(format!("unexpected `{}` in `{expr}`", parser.tokens[parser.at]));
    }
    match value {
        Val::Num(x) if x.is_finite() => Ok(x),
        Val::Num(x) => Err(format!("`{expr}` is {x}")),
        Val::List(_) => Err(format!("`{expr}` is a list; wrap it in max/min/mean/median/sum/count")),
    }
}

/// Every problem of a page: malformed ties, expressions that do not evaluate, and
/// numbers that differ from the summaries at their printed precision.
pub fn check(text: &str, chapter: Option<&str>, summaries: &Summaries) -> (usize, Vec<Problem>) {
    let (ties, mut problems) = find_ties(text);
    for tie in &ties {
        match evaluate(&tie.expr, chapter, summaries) {
            Ok(value) if tie.agrees_with(value) => {}
            Ok(value) => problems.push(Problem {
                line: tie.line,
                message: format!("{} should be {} (`{}` = {value})", tie.printed, tie.reprint(value), tie.expr),
            }),
            Err(e) => problems.push(Problem { line: tie.line, message: e }),
        }
    }
    problems.sort_by_key(|p| p.line);
    (ties.len(), problems)
}

/// The page with every tied number reprinted from `summaries` at its printed precision;
/// numbers whose expression cannot be evaluated (a chapter that did not run) stay.
pub fn substitute(text: &str, chapter: Option<&str>, summaries: &Summaries) -> String {
    let (ties, _) = find_ties(text);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for tie in ties {
        if let Ok(value) = evaluate(&tie.expr, chapter, summaries) {
            out.push_str(&text[last..tie.number.start]);
            out.push_str(&tie.reprint(value));
            last = tie.number.end;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// The pages that may quote a run, with the chapter each belongs to: the README, the
/// course pages in `chapters/` (no chapter) and every lesson `chapters/NN-name/README.md`.
pub fn pages(root: &Path) -> Vec<(std::path::PathBuf, Option<String>)> {
    let mut pages = vec![(root.join("README.md"), None)];
    let chapters = root.join("chapters");
    let mut entries: Vec<_> =
        std::fs::read_dir(&chapters).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    entries.sort();
    for path in entries {
        let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if path.is_dir() && path.join("README.md").exists() {
            pages.push((path.join("README.md"), short_id(&name)));
        } else if name.ends_with(".md") && name != "SUMMARY.md" {
            pages.push((path, None));
        }
    }
    pages
}

/// One number that a fresh run prints differently from the committed one.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The chapters (`ch06`) whose summaries the number reads.
    pub chapters: Vec<String>,
    pub message: String,
}

/// The chapters an expression reads: the page's own and every `chNN:` prefix.
fn chapters_read(expr: &str, chapter: Option<&str>) -> Vec<String> {
    let mut chapters: Vec<String> = tokenize(expr)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| match t {
            Token::Path(p) => match p.split_once(':') {
                Some((c, _)) => short_id(c),
                None => chapter.map(str::to_string),
            },
            _ => None,
        })
        .collect();
    chapters.sort();
    chapters.dedup();
    chapters
}

/// How a fresh run differs from the committed one, one line per difference: every tied
/// number of every page that prints differently at its precision, and every other
/// headline number that differs in its first three significant digits. Times and
/// speeds are left out; so are chapters that `fresh` does not have.
pub fn compare_runs(root: &Path, fresh: &Summaries, committed: &Summaries) -> Vec<Difference> {
    let mut differences = Vec::new();
    let mut tied_keys = std::collections::BTreeSet::new();
    for (page, chapter) in pages(root) {
        let Ok(text) = std::fs::read_to_string(&page) else { continue };
        for tie in find_ties(&text).0 {
            if reads_timing(&tie.expr) {
                continue;
            }
            let (Ok(new), Ok(old)) =
                (evaluate(&tie.expr, chapter.as_deref(), fresh), evaluate(&tie.expr, chapter.as_deref(), committed))
            else {
                continue;
            };
            if let (Some(c), Some(key)) = (&chapter, tie.expr.strip_prefix("headline.")) {
                tied_keys.insert((c.clone(), key.to_string()));
            }
            if tie.reprint(new) != tie.reprint(old) {
                let message = format!(
                    "{}:{}: `{}` is {} in this run, {} in the committed one",
                    page.strip_prefix(root).unwrap_or(&page).display(),
                    tie.line,
                    tie.expr,
                    tie.reprint(new),
                    tie.reprint(old)
                );
                differences.push(Difference { chapters: chapters_read(&tie.expr, chapter.as_deref()), message });
            }
        }
    }
    for (chapter, summary) in &fresh.by_chapter {
        let Some(old) = committed.get(chapter) else { continue };
        let (Some(new_head), Some(old_head)) = (summary["headline"].as_object(), old["headline"].as_object()) else {
            continue;
        };
        for (key, new) in new_head {
            if is_timing_key(key) || tied_keys.contains(&(chapter.clone(), key.clone())) {
                continue;
            }
            let same = match (new.as_f64(), old_head.get(key).and_then(Value::as_f64)) {
                (Some(a), Some(b)) => format!("{a:.2e}") == format!("{b:.2e}"),
                _ => Some(new) == old_head.get(key),
            };
            if !same {
                let old = old_head.get(key).map_or_else(|| "missing".to_string(), Value::to_string);
                let message = format!("{chapter}: headline.{key} is {new} in this run, {old} in the committed one");
                differences.push(Difference { chapters: vec![chapter.clone()], message });
            }
        }
    }
    differences
}

/// Whether an expression reads a measured time or speed, which differ from machine to
/// machine and run to run (a fresh run is compared with the committed one without them).
pub fn reads_timing(expr: &str) -> bool {
    tokenize(expr)
        .unwrap_or_default()
        .iter()
        .any(|t| matches!(t, Token::Path(p) if p.split(['.', ':']).any(is_timing_key)))
}

/// A summary key that holds a wall time, a speed or a heap peak.
pub fn is_timing_key(key: &str) -> bool {
    const MARKS: [&str; 8] = ["wall_time", "per_s", "seconds", "_s_", "time", "speed", "_ms", "tokens_per"];
    MARKS.iter().any(|m| key.contains(m)) || key.ends_with("_s")
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Path(String),
    Op(char),
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::Num(x) => write!(f, "{x}"),
            Token::Path(p) => write!(f, "{p}"),
            Token::Op(c) => write!(f, "{c}"),
        }
    }
}

fn tokenize(expr: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == 'e') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push(Token::Num(text.parse().map_err(|_| format!("bad number `{text}`"))?));
        } else if c.is_ascii_alphabetic() || c == '_' {
            // A path: letters, digits, `_ . : -`, and `*` as a whole segment.
            let start = i;
            while i < chars.len() {
                let d = chars[i];
                let star_segment = d == '*' && chars[i - 1] == '.';
                if d.is_ascii_alphanumeric() || "_.:-".contains(d) || star_segment {
                    i += 1;
                } else {
                    break;
                }
            }
            tokens.push(Token::Path(chars[start..i].iter().collect()));
        } else if "+-*/()".contains(c) {
            tokens.push(Token::Op(c));
            i += 1;
        } else {
            return Err(format!("unexpected `{c}` in `{expr}`"));
        }
    }
    Ok(tokens)
}

#[derive(Debug, Clone)]
enum Val {
    Num(f64),
    List(Vec<f64>),
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    chapter: Option<&'a str>,
    summaries: &'a Summaries,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn number(&self, v: Val) -> Result<f64, String> {
        match v {
            Val::Num(x) => Ok(x),
            Val::List(_) => Err("arithmetic on a list: wrap it in max/min/mean/median/sum/count".into()),
        }
    }

    fn sum(&mut self) -> Result<Val, String> {
        let mut left = self.product()?;
        while let Some(Token::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.at += 1;
            let (a, b) = (self.number(left)?, self.product().and_then(|v| self.number(v))?);
            left = Val::Num(if op == '+' { a + b } else { a - b });
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Val, String> {
        let mut left = self.factor()?;
        while let Some(Token::Op(op @ ('*' | '/'))) = self.peek().cloned() {
            self.at += 1;
            let (a, b) = (self.number(left)?, self.factor().and_then(|v| self.number(v))?);
            left = Val::Num(if op == '*' { a * b } else { a / b });
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Val, String> {
        let token = self.peek().cloned().ok_or("the expression ends too soon")?;
        self.at += 1;
        match token {
            Token::Num(x) => Ok(Val::Num(x)),
            Token::Op('-') => Ok(Val::Num(-self.factor().and_then(|v| self.number(v))?)),
            Token::Op('(') => {
                let v = self.sum()?;
                self.expect(')')?;
                Ok(v)
            }
            Token::Path(name) if self.peek() == Some(&Token::Op('(')) => {
                self.at += 1;
                let arg = self.sum()?;
                self.expect(')')?;
                apply(&name, arg)
            }
            Token::Path(path) => self.lookup(&path),
            Token::Op(c) => Err(format!("unexpected `{c}`")),
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.peek() == Some(&Token::Op(c)) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("`{c}` expected"))
        }
    }

    fn lookup(&self, path: &str) -> Result<Val, String> {
        let (chapter, rest) = match path.split_once(':') {
            Some((c, rest)) => (Some(c), rest),
            None => (self.chapter, path),
        };
        let chapter =
            chapter.ok_or_else(|| format!("`{path}`: this page belongs to no chapter; write `chNN:{path}`"))?;
        let summary = self.summaries.get(chapter).ok_or_else(|| format!("`{path}`: no summary of {chapter}"))?;
        let mut found = Vec::new();
        resolve(summary, rest, &mut found).map_err(|e| format!("`{path}`: {e}"))?;
        let starred = rest.split('.').any(|s| s == "*");
        match (found.as_slice(), starred) {
            ([one], false) => match one {
                Value::Array(_) => Ok(Val::List(flatten(one)?)),
                _ => Ok(Val::Num(as_number(one)?)),
            },
            _ => Ok(Val::List(found.iter().map(|v| flatten(v)).collect::<Result<Vec<_>, _>>()?.concat())),
        }
    }
}

/// Follows `path` from `value`, collecting what it reaches (`*` fans out). An object key
/// may contain dots: the longest key that the path starts with wins.
fn resolve<'v>(value: &'v Value, path: &str, found: &mut Vec<&'v Value>) -> Result<(), String> {
    if path.is_empty() {
        found.push(value);
        return Ok(());
    }
    match value {
        Value::Object(map) => {
            let key = map
                .keys()
                .filter(|k| path == k.as_str() || path.starts_with(&format!("{k}.")))
                .max_by_key(|k| k.len())
                .ok_or_else(|| format!("no key `{}`", path.split('.').next().unwrap_or(path)))?;
            resolve(&map[key], path[key.len()..].trim_start_matches('.'), found)
        }
        Value::Array(items) => {
            let (head, tail) = path.split_once('.').unwrap_or((path, ""));
            if head == "*" {
                items.iter().try_for_each(|item| resolve(item, tail, found))
            } else {
                let i: usize = head.parse().map_err(|_| format!("`{head}` is not an index of a list"))?;
                resolve(items.get(i).ok_or_else(|| format!("index {i} past the list's end"))?, tail, found)
            }
        }
        _ => Err(format!("cannot go into a plain value with `{path}`")),
    }
}

fn as_number(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| "not a number".to_string()),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        other => Err(format!("{other} is not a number")),
    }
}

fn flatten(value: &Value) -> Result<Vec<f64>, String> {
    match value {
        Value::Array(items) => Ok(items.iter().map(flatten).collect::<Result<Vec<_>, _>>()?.concat()),
        other => Ok(vec![as_number(other)?]),
    }
}

fn apply(name: &str, arg: Val) -> Result<Val, String> {
    let list = match arg {
        Val::List(list) => list,
        Val::Num(x) if name == "abs" => return Ok(Val::Num(x.abs())),
        Val::Num(x) => vec![x],
    };
    if list.is_empty() && name != "count" && name != "sum" {
        return Err(format!("{name} of an empty list"));
    }
    let value = match name {
        "max" => list.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        "min" => list.iter().copied().fold(f64::INFINITY, f64::min),
        "sum" => list.iter().sum(),
        "count" => list.len() as f64,
        "mean" => list.iter().sum::<f64>() / list.len() as f64,
        "median" => crate::stats::median(&list),
        _ => return Err(format!("unknown function `{name}` (max min mean median sum count abs)")),
    };
    Ok(Val::Num(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summaries() -> Summaries {
        let mut s = Summaries::default();
        s.insert(
            "ch06-grpo",
            serde_json::json!({
                "wall_time_s": 282.0,
                "headline": {"accuracy_after": 0.9962, "fixed_0.05_max_kl": 0.25, "drop": -2.6049, "steps": 28160},
                "hyperparameters": {"max_kl": 0.01},
                "details": {"returns": [[1.0, 5.0], [3.0]], "runs": [{"ret": 2.0}, {"ret": 4.0}]}
            }),
        );
        s.insert("ch01", serde_json::json!({"headline": {"v": 17.290000000000003}}));
        s
    }

    fn value(expr: &str) -> Result<f64, String> {
        evaluate(expr, Some("ch06"), &summaries())
    }

    #[test]
    fn expressions_follow_paths_functions_and_arithmetic() {
        assert_eq!(value("headline.accuracy_after*100"), Ok(99.62));
        assert_eq!(value("headline.fixed_0.05_max_kl/hyperparameters.max_kl"), Ok(25.0));
        assert_eq!(value("ch01:headline.v"), Ok(17.290000000000003));
        assert_eq!(value("median(details.returns)"), Ok(3.0));
        assert_eq!(value("max(details.runs.*.ret) - min(details.runs.*.ret)"), Ok(2.0));
        assert_eq!(value("count(details.returns)"), Ok(3.0));
        assert_eq!(value("abs(headline.drop)"), Ok(2.6049));
        assert_eq!(value("wall_time_s / 60"), Ok(4.7));
        assert_eq!(value("-(1 + 2) * 2"), Ok(-6.0));
        assert!(value("headline.missing").unwrap_err().contains("no key"));
        assert!(value("details.returns").unwrap_err().contains("list"));
        assert!(value("foo(headline.drop)").unwrap_err().contains("unknown function"));
        assert!(evaluate("headline.v", None, &summaries()).unwrap_err().contains("chNN:"));
    }

    #[test]
    fn ties_are_found_with_their_numbers_outside_code() {
        let text = "a <!--n:headline.x-->0.996, b <!--n:y-->**−2.60** and <!--n:z-->28,160 steps\n\
                    ```\n<!--n:q-->1.0\n```\nbad <!--n:w--> none\n";
        let (ties, problems) = find_ties(text);
        let printed: Vec<&str> = ties.iter().map(|t| t.printed.as_str()).collect();
        assert_eq!(printed, ["0.996", "−2.60", "28,160"]);
        assert_eq!(ties[1].value(), -2.6);
        assert_eq!(ties[2].value(), 28160.0);
        assert_eq!(&text[ties[0].number.clone()], "0.996");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 5);
        // "1, 2" is a one, not a thousands-separated number.
        assert_eq!(find_ties("<!--n:a-->1, 2").0[0].printed, "1");
    }

    #[test]
    fn agreement_is_at_the_printed_precision() {
        let (ties, _) = find_ties("<!--n:a-->0.996 <!--n:b-->25× <!--n:c-->+3.7");
        assert!(ties[0].agrees_with(0.9962) && ties[0].agrees_with(0.9955));
        assert!(!ties[0].agrees_with(0.9920) && !ties[0].agrees_with(0.9966));
        assert!(ties[1].agrees_with(24.6) && !ties[1].agrees_with(24.4));
        assert!(ties[2].agrees_with(3.66) && !ties[2].agrees_with(-3.7));
        assert_eq!(ties[2].reprint(5.71), "+5.7");
        assert_eq!(ties[2].reprint(-5.71), "−5.7");
    }

    #[test]
    fn check_reports_wrong_numbers_and_substitute_reprints_them() {
        let text = "acc <!--n:headline.accuracy_after-->0.992\nsteps <!--n:headline.steps-->28,000\nkl <!--n:headline.fixed_0.05_max_kl/hyperparameters.max_kl-->25×\n";
        let (count, problems) = check(text, Some("ch06"), &summaries());
        assert_eq!(count, 3);
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 2], "{problems:?}");
        assert!(problems[0].message.contains("should be 0.996"));
        assert!(problems[1].message.contains("should be 28,160"));
        let fixed = substitute(text, Some("ch06"), &summaries());
        assert_eq!(check(&fixed, Some("ch06"), &summaries()).1, vec![]);
        assert!(fixed.contains("<!--n:headline.steps-->28,160\n"));
    }

    #[test]
    fn a_fresh_run_is_compared_at_the_printed_precision() {
        let root = std::env::temp_dir().join(format!("lesson-numbers-{}", std::process::id()));
        std::fs::create_dir_all(root.join("chapters/06-grpo")).unwrap();
        std::fs::write(root.join("README.md"), "took <!--n:ch06:wall_time_s-->282 s\n").unwrap();
        let lesson = "acc <!--n:headline.accuracy_after-->0.996, drop <!--n:headline.drop-->−2.6\n";
        std::fs::write(root.join("chapters/06-grpo/README.md"), lesson).unwrap();
        let committed = summaries();
        let mut fresh = Summaries::default();
        let mut changed = committed.get("ch06").unwrap().clone();
        changed["wall_time_s"] = serde_json::json!(999.0); // a time: never compared
        changed["headline"]["accuracy_after"] = serde_json::json!(0.9958); // still 0.996
        changed["headline"]["drop"] = serde_json::json!(-2.7); // prints differently
        changed["headline"]["steps"] = serde_json::json!(28190); // untied: 2.82e4 either way
        fresh.insert("ch06", changed.clone());
        let differences = compare_runs(&root, &fresh, &committed);
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert!(differences[0].message.contains("chapters/06-grpo/README.md:1"));
        assert!(differences[0].message.contains("−2.7"));
        assert_eq!(differences[0].chapters, ["ch06"]);
        changed["headline"]["drop"] = serde_json::json!(-2.61);
        changed["headline"]["steps"] = serde_json::json!(28260); // 2.83e4: differs
        fresh.insert("ch06", changed);
        let differences = compare_runs(&root, &fresh, &committed);
        assert_eq!(differences.len(), 1, "{differences:?}");
        assert!(differences[0].message.contains("headline.steps"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn timing_expressions_are_recognised() {
        assert!(reads_timing("wall_time_s/60"));
        assert!(reads_timing("ch07:headline.ppo_seconds_per_step"));
        assert!(reads_timing("headline.env_steps_per_s"));
        assert!(!reads_timing("headline.accuracy_after*100"));
        assert_eq!(short_id("ch06-grpo").as_deref(), Some("ch06"));
        assert_eq!(short_id("06-grpo").as_deref(), Some("ch06"));
        assert_eq!(short_id("book"), None);
    }
}
