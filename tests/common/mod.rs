//! Helpers shared by the chapter tests. Each file in tests/ is its own crate and takes
//! what it needs with `mod common;`, so some helpers go unused in some files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty path under the system's temp folder, unique to this test process.
pub fn temp_dir(chapter: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rl-sandbox-{chapter}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs the chapter binary `bin` once per case, with `--quick --out <out>` added, and
/// checks that each bad input ends the way every chapter promises: exit code 2, one
/// line on stderr, `error: ...` naming the problem (`expected`), never a panic, and
/// within a few seconds (a refused run does no work).
pub fn assert_bad_input<S: AsRef<str>>(bin: &str, out: &Path, cases: &[(Vec<S>, &str)]) {
    for (args, expected) in cases {
        let mut all: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
        all.extend(["--quick".to_string(), "--out".to_string(), out.display().to_string()]);
        let started = std::time::Instant::now();
        let run = Command::new(bin).args(&all).env("RUST_BACKTRACE", "1").output().unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{all:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{all:?}: not one line: {stderr}");
        assert!(seconds < 20.0, "{all:?}: took {seconds:.1} s to refuse");
        assert!(stderr.starts_with("error:"), "{all:?}: {stderr}");
        assert!(stderr.contains(expected), "{all:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{all:?}: {stderr}");
    }
}

/// Every figure that `<dir>/summary.json` lists exists and is not (almost) empty;
/// returns how many there are.
pub fn assert_figures(dir: &Path, summary: &serde_json::Value) -> usize {
    let figures = summary["figures"].as_array().expect("summary.json lists its figures");
    for f in figures {
        let path = dir.join(f.as_str().expect("a file name"));
        assert!(std::fs::metadata(&path).map(|m| m.len() > 1000).unwrap_or(false), "{}", path.display());
    }
    figures.len()
}

/// The classes of hostile value every numeric flag must refuse (unless it accepts one
/// of them as a valid setting): negative, zero, huge, overflowing, NaN, ±inf, empty,
/// not a number.
pub const HOSTILE: [&str; 9] = ["-1", "0", "18446744073709551615", "1e300", "nan", "inf", "-inf", "", "abc"];

/// One bad-input case per flag and hostile value, except the values a flag accepts:
/// `flags` lists (flag, values of [`HOSTILE`] it accepts); each case expects the
/// error to name the flag.
pub fn hostile_cases<'a>(flags: &[(&'a str, &[&str])]) -> Vec<(Vec<String>, &'a str)> {
    let mut cases = Vec::new();
    for &(flag, accepted) in flags {
        for value in HOSTILE.iter().filter(|v| !accepted.contains(v)) {
            cases.push((vec![flag.to_string(), value.to_string()], flag));
        }
    }
    cases
}
