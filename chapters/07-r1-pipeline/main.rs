//! Chapter 7: beyond R1-Zero: the R1 pipeline.
//!
//! The program is `rl_sandbox::course::ch07_r1_pipeline`: its flags (`Args`) and its `run`,
//! which reads top to bottom as flags → experiments → figures → report. The lesson
//! (README.md beside this file) explains every number and figure it writes.

use rl_sandbox::course::ch07_r1_pipeline;

/// Counts heap bytes while chapter 7 measures the peak memory of PPO and GRPO
/// (`llm::memory`); outside a measurement every call goes straight to the system.
#[global_allocator]
static ALLOC: rl_sandbox::llm::memory::PeakAlloc = rl_sandbox::llm::memory::PeakAlloc;

fn main() -> std::process::ExitCode {
    rl_sandbox::cli::run(ch07_r1_pipeline::run)
}
