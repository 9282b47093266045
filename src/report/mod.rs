//! Run records: the output folder, `summary.json`, `metrics.csv`, the stdout table and
//! a progress line for long loops.
//!
//! Every chapter writes `<out>/<chapter>/summary.json` with the same top-level shape,
//! so scripts, the course report and tests can read any of them.

pub mod html;
pub mod lesson_numbers;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `println!` that never fails: a closed or full stdout (`| head`, `> /dev/full`) must
/// not stop a run before it has written its outputs, so write errors are ignored.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Writes `bytes` to `path` atomically: into a temporary file in the same folder, then
/// renamed into place, so a kill or a full disk leaves the old file or the new one,
/// never a half-written one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_sibling(path);
    let written = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// A hidden name beside `path` for writing it first; it keeps the extension, which
/// some writers (the PNG encoder) read the format from.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".tmp-{}-{name}", std::process::id()))
}

/// The folder one chapter writes into.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub dir: PathBuf,
    pub chapter: String,
}

impl RunDir {
    /// Creates `<out>/<chapter>/`.
    pub fn create(out: &Path, chapter: &str) -> Result<RunDir> {
        let dir = out.join(chapter);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(RunDir { dir, chapter: chapter.to_string() })
    }

    /// The path of a file in the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes a text file into the folder.
    pub fn write(&self, name: &str, text: &str) -> Result<()> {
        write_atomic(&self.path(name), text.as_bytes())
    }
}

/// `summary.json`. `headline` is a flat map of the numbers a reader looks at first;
/// `details` holds anything bigger (per-seed lists, tables).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub chapter: String,
    pub seeds: Vec<u64>,
    pub quick: bool,
    pub wall_time_s: f64,
    pub hyperparameters: serde_json::Value,
    pub headline: serde_json::Map<String, serde_json::Value>,
    pub figures: Vec<String>,
    #[serde(default)]
    pub details: serde_json::Value,
}

impl Summary {
    pub fn new(chapter: &str, seeds: &[u64], quick: bool, hyperparameters: impl Serialize) -> Summary {
        Summary {
            chapter: chapter.to_string(),
            seeds: seeds.to_vec(),
            quick,
            wall_time_s: 0.0,
            hyperparameters: serde_json::to_value(hyperparameters).unwrap_or(serde_json::Value::Null),
            headline: serde_json::Map::new(),
            figures: Vec::new(),
            details: serde_json::Value::Null,
        }
    }

    /// Sets the headline from a typed struct (each chapter has one); its fields become
    /// the keys of `headline`.
    pub fn set_headline(&mut self, headline: &impl Serialize) -> Result<()> {
        match serde_json::to_value(headline)? {
            serde_json::Value::Object(map) => {
                self.headline = map;
                Ok(())
            }
            other => Err(Error::invalid("headline", other, "must serialise to a JSON object")),
        }
    }

    /// Prints the headline numbers named by `keys` as a two-column table.
    pub fn print_headline(&self, title: &str, keys: &[&str]) {
        // A key the headline lacks is a bug in the chapter program, not a user error.
        let rows: Vec<Vec<String>> = keys
            .iter()
            .map(|k| {
                let value = self.headline.get(*k).unwrap_or_else(|| panic!("the headline has no key {k}"));
                vec![k.to_string(), value.to_string()]
            })
            .collect();
        print_table(title, &["key", "value"], &rows);
    }

    pub fn write(&self, dir: &RunDir) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        dir.write("summary.json", &(text + "\n"))
    }

    pub fn read(path: &Path) -> Result<Summary> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
    }
}

/// One value in a metrics row, as its text in `metrics.csv`. Numbers are written with
/// Rust's `Display` (shortest text that reads back to the same value); a missing value
/// (`None`) is an empty cell, in every file.
pub trait Cell {
    fn cell(&self) -> String;
}

macro_rules! display_cell {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            fn cell(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
display_cell!(f64, f32, usize, u64, u32, i64, i32, bool, String, &str);

impl<T: Cell> Cell for Option<T> {
    fn cell(&self) -> String {
        self.as_ref().map_or(String::new(), Cell::cell)
    }
}

/// A typed row of `metrics.csv`: its column names and its cells. Declare one with
/// [`metrics_row!`](crate::metrics_row), which derives both from the struct's fields.
pub trait Row {
    fn columns() -> Vec<&'static str>;
    fn cells(&self) -> Vec<String>;
}

/// Declares a metrics row struct whose field names are the CSV's columns, in order
/// (`r#return` gives the column `return`), and implements [`Row`] for it.
#[macro_export]
macro_rules! metrics_row {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        $vis struct $name { $($(#[$fmeta])* $fvis $field: $ty),* }

        impl $crate::report::Row for $name {
            fn columns() -> Vec<&'static str> {
                vec![$(stringify!($field).trim_start_matches("r#")),*]
            }
            fn cells(&self) -> Vec<String> {
                vec![$($crate::report::Cell::cell(&self.$field)),*]
            }
        }
    };
}

/// `metrics.csv`: one typed row per episode or update per seed, in memory until written.
#[derive(Clone, Debug)]
pub struct Metrics<R: Row> {
    text: String,
    row: std::marker::PhantomData<R>,
}

impl<R: Row> Default for Metrics<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Row> Metrics<R> {
    pub fn new() -> Metrics<R> {
        Metrics { text: R::columns().join(",") + "\n", row: std::marker::PhantomData }
    }

    pub fn push(&mut self, row: &R) {
        self.text.push_str(&row.cells().join(","));
        self.text.push('\n');
    }

    /// The CSV text, header first.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn write(&self, dir: &RunDir) -> Result<()> {
        dir.write("metrics.csv", &self.text)
    }
}

/// Prints a small aligned table to stdout.
pub fn print_table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        crate::say!("  {}", padded.join("  ").trim_end());
    };
    crate::say!("\n{title}");
    line(header.to_vec());
    crate::say!("  {}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
    for row in rows {
        line(row.iter().map(|s| s.as_str()).collect());
    }
}

/// A progress line for long loops: redrawn at most a few times a second, and silent
/// when stdout is not a terminal (tests, CI, pipes).
pub struct Progress {
    label: String,
    total: usize,
    started: Instant,
    last: Option<Instant>,
    enabled: bool,
}

impl Progress {
    pub fn new(label: &str, total: usize) -> Progress {
        Progress {
            label: label.to_string(),
            total,
            started: Instant::now(),
            last: None,
            enabled: std::io::stdout().is_terminal(),
        }
    }

    /// Reports that `done` of `total` units are finished; `status` is only called
    /// when the line is redrawn.
    pub fn update(&mut self, done: usize, status: impl FnOnce() -> String) {
        if !self.enabled || self.last.is_some_and(|t| t.elapsed().as_millis() < 250) {
            return;
        }
        self.last = Some(Instant::now());
        let pct = 100.0 * done as f64 / self.total.max(1) as f64;
        let mut out = std::io::stdout().lock();
        let _ = write!(
            out,
            "\r\x1b[2K  {} {:>5.1}% {:>6.1}s  {}",
            self.label,
            pct,
            self.started.elapsed().as_secs_f64(),
            status()
        );
        let _ = out.flush();
    }

    /// Clears the line.
    pub fn finish(&self) {
        if self.enabled && self.last.is_some() {
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
        }
    }
}
