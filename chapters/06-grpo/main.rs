//! Chapter 6: GRPO, DeepSeek-R1-Zero style.
//!
//! The program is `rl_sandbox::course::ch06_grpo`: its flags (`Args`) and its `run`,
//! which reads top to bottom as flags → experiments → figures → report. The lesson
//! (README.md beside this file) explains every number and figure it writes.

use rl_sandbox::course::ch06_grpo;

fn main() -> std::process::ExitCode {
    rl_sandbox::cli::run(ch06_grpo::run)
}
