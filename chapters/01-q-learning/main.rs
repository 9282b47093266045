//! Chapter 1: Q-learning on the article's 3x3 maze.
//!
//! The program is `rl_sandbox::course::ch01_q_learning`: its flags (`Args`) and its `run`,
//! which reads top to bottom as flags → experiments → figures → report. The lesson
//! (README.md beside this file) explains every number and figure it writes.

use rl_sandbox::course::ch01_q_learning;

fn main() -> std::process::ExitCode {
    rl_sandbox::cli::run(ch01_q_learning::run)
}
