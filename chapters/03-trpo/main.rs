//! Chapter 3: TRPO: natural gradient, conjugate gradient, trust region.
//!
//! The program is `rl_sandbox::course::ch03_trpo`: its flags (`Args`) and its `run`,
//! which reads top to bottom as flags → experiments → figures → report. The lesson
//! (README.md beside this file) explains every number and figure it writes.

use rl_sandbox::course::ch03_trpo;

fn main() -> std::process::ExitCode {
    rl_sandbox::cli::run(ch03_trpo::run)
}
