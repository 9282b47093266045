//! The user-facing error type.
//!
//! Every chapter ends a bad run the same way: one line naming the problem and the
//! value, exit code 2, no panic and no backtrace (see [`crate::cli::run`]).

use std::fmt;
use std::path::PathBuf;

/// Everything that can stop a chapter before or during training.
#[derive(Debug)]
pub enum Error {
    /// A flag or hyper-parameter with an impossible value.
    InvalidArg { name: String, value: String, why: String },
    /// A maze file that cannot be parsed; line and column are 1-based.
    Maze(crate::env::maze::MazeError),
    /// Reading or writing a file failed.
    Io { path: PathBuf, source: std::io::Error },
    /// A figure could not be drawn.
    Plot(String),
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
            Error::NonFinite { what, step } => {
                write!(f, "training stopped: {what} is not finite at step {step}")
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::env::maze::MazeError> for Error {
    fn from(e: crate::env::maze::MazeError) -> Self {
        Error::Maze(e)
    }
}

impl From<crate::plot::PlotError> for Error {
    fn from(e: crate::plot::PlotError) -> Self {
        Error::Plot(e.to_string())
    }
}

/// Checks that `value` lies in `[lo, hi]`; the error names the flag and the value.
pub fn check_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
    if value.is_finite() && (lo..=hi).contains(&value) {
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
