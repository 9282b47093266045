//! The chapter programs: one module per chapter, each with its flags (`Args`, a clap
//! parser) and its `run`, which reads flags → library calls → figures → report.
//!
//! `chapters/<chapter>/main.rs` runs one of them; the `course` binary runs them all,
//! in order, through [`CHAPTERS`].

pub mod ch01_q_learning;
pub mod ch02_policy_gradient;
pub mod ch03_trpo;
pub mod ch04_ppo;
pub mod ch05_language_model;
pub mod ch06_grpo;
pub mod ch07_r1_pipeline;

use crate::error::Result;
use crate::report::Summary;
use clap::Parser;
use std::path::Path;

/// A chapter the course can run: its number, its name (the output folder and the
/// binary), and how to run it with its default flags into a folder.
pub struct Chapter {
    pub number: u32,
    pub name: &'static str,
    pub run: fn(&Path, bool) -> Result<Summary>,
}

/// Parses a chapter's flags as if given `--out <out> [--quick]` and runs it.
fn run_with<A: Parser>(run: fn(A) -> Result<Summary>, out: &Path, quick: bool) -> Result<Summary> {
    let mut argv = vec!["chapter".to_string(), "--out".to_string(), out.display().to_string()];
    if quick {
        argv.push("--quick".to_string());
    }
    run(A::parse_from(argv))
}

/// Every chapter, in the order of the course.
pub const CHAPTERS: &[Chapter] = &[
    Chapter { number: 1, name: ch01_q_learning::CHAPTER, run: |o, q| run_with(ch01_q_learning::run, o, q) },
    Chapter { number: 2, name: ch02_policy_gradient::CHAPTER, run: |o, q| run_with(ch02_policy_gradient::run, o, q) },
    Chapter { number: 3, name: ch03_trpo::CHAPTER, run: |o, q| run_with(ch03_trpo::run, o, q) },
    Chapter { number: 4, name: ch04_ppo::CHAPTER, run: |o, q| run_with(ch04_ppo::run, o, q) },
    Chapter { number: 5, name: ch05_language_model::CHAPTER, run: |o, q| run_with(ch05_language_model::run, o, q) },
    Chapter { number: 6, name: ch06_grpo::CHAPTER, run: |o, q| run_with(ch06_grpo::run, o, q) },
    Chapter { number: 7, name: ch07_r1_pipeline::CHAPTER, run: |o, q| run_with(ch07_r1_pipeline::run, o, q) },
];
