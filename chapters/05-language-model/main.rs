//! Chapter 5: a small transformer language model.
//!
//! The program is `rl_sandbox::course::ch05_language_model`: its flags (`Args`) and its `run`,
//! which reads top to bottom as flags → experiments → figures → report. The lesson
//! (README.md beside this file) explains every number and figure it writes.

use rl_sandbox::course::ch05_language_model;

fn main() -> std::process::ExitCode {
    rl_sandbox::cli::run(ch05_language_model::run)
}
