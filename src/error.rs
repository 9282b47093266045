//! The user-facing error type.
//!
//! Every chapter ends a bad run the same way: one line naming the problem and the
//! value, exit code 2, no panic and no backtrace (see [`crate::cli::run`]). Errors of
//! candle and serde_json convert with `?`; I/O errors carry the path they concern.

use std::fmt;
use std::path::PathBuf;

/// Everything that can stop a chapter before or during training.
#[derive(Debug)]
pub enum Error {
    /// A flag or hyper-parameter with an impossible value.
    InvalidArg { name: String, value: String, why: String },
    /// A maze file that cannot be parsed; line and column are 1-based.
    Maze(MazeError),
    /// Reading or writing a file failed.
    Io { path: PathBuf, source: std::io::Error },
    /// A figure could not be drawn.
    Plot(String),
    /// A tensor operation failed; `context` says what was being done, when known.
    Candle { context: Option<String>, source: candle_core::Error },
    /// JSON that could not be written or read.
    Json(serde_json::Error),
    /// NaN or infinity appeared in training.
    NonFinite { what: String, step: u64 },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn invalid(name: &str, value: impl fmt::Display, why: &str) -> Self {
        Error::InvalidArg { name: name.to_string(), value: value.to_string(), why: why.to_string() }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// A candle error, naming what was being done.
    pub fn candle(context: &str, source: candle_core::Error) -> Self {
        Error::Candle { context: Some(context.to_string()), source }
    }
}

/// The first line of a message: candle appends a backtrace when `RUST_BACKTRACE` is
/// set, and the user is promised one line.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim_end()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArg { name, value, why } => {
                write!(f, "invalid value '{value}' for {name}: {why}")
            }
            Error::Maze(e) => write!(f, "{e}"),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Plot(msg) => write!(f, "could not draw a figure: {msg}"),
            Error::Candle { context: Some(context), source } => {
                write!(f, "{context}: candle failed: {}", first_line(&source.to_string()))
            }
            Error::Candle { context: None, source } => write!(f, "candle failed: {}", first_line(&source.to_string())),
            Error::Json(e) => write!(f, "JSON: {e}"),
            Error::NonFinite { what, step } => {
                write!(f, "training stopped: {what} is not finite at step {step}")
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<MazeError> for Error {
    fn from(e: MazeError) -> Self {
        Error::Maze(e)
    }
}

impl From<crate::plot::PlotError> for Error {
    fn from(e: crate::plot::PlotError) -> Self {
        Error::Plot(e.to_string())
    }
}

impl From<candle_core::Error> for Error {
    fn from(source: candle_core::Error) -> Self {
        Error::Candle { context: None, source }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e)
    }
}

/// Why a maze text could not be read. `line` and `column` are 1-based positions in
/// the file when the problem has one.
#[derive(Clone, Debug, PartialEq)]
pub struct MazeError {
    pub source: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for MazeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad maze {}", self.source)?;
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, " at line {l}, column {c}")?,
            (Some(l), None) => write!(f, " at line {l}")?,
            _ => {}
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for MazeError {}

/// Checks that `value` lies in `[lo, hi]`; the error names the flag and the value.
pub fn check_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        // The smallest positive float stands for an open bound at 0.
        let low = if lo == f64::MIN_POSITIVE { "(0".to_string() } else { format!("[{lo}") };
        Err(Error::invalid(name, value, &format!("must lie in {low}, {hi}]")))
    }
}

/// Checks that a count lies in `[lo, hi]`, printed exactly (no float rounding).
pub fn check_count(name: &str, value: u64, lo: u64, hi: u64) -> Result<()> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(name, value, &format!("must lie in [{lo}, {hi}]")))
    }
}

/// Checks that a count is at least `min`.
pub fn check_min(name: &str, value: usize, min: usize) -> Result<()> {
    if value >= min {
        Ok(())
    } else {
        Err(Error::invalid(name, value, &format!("must be at least {min}")))
    }
}
