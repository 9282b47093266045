//! Chapter 7: the R1 pipeline (placeholder while the chapter is written).

use clap::Parser;
use rl_sandbox::cli::{self, CommonArgs};
use rl_sandbox::error::Result;
use rl_sandbox::report::{RunDir, Summary};
use serde::Serialize;
use std::process::ExitCode;

pub const CHAPTER: &str = "ch07-r1-pipeline";

/// Chapter 7: the R1 pipeline.
#[derive(Parser, Debug, Clone, Serialize)]
#[command(name = "ch07-r1-pipeline", version, allow_negative_numbers = true)]
pub struct Args {
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
}

pub fn run(args: Args) -> Result<Summary> {
    let dir = RunDir::create(&args.common.out, CHAPTER)?;
    let mut summary = Summary::new(CHAPTER, &[args.common.seed], args.common.quick, &args);
    summary.headline("placeholder", true);
    summary.write(&dir)?;
    Ok(summary)
}

fn main() -> ExitCode {
    cli::run(run)
}
