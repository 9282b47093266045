//! Chapter 2: policy gradient (REINFORCE).
//!
//! The program is `rl_sandbox::course::ch02_policy_gradient`: its flags (`Args`) and its `run`,
//! which reads top to bottom as flags → experiments → figures → report. The lesson
//! (README.md beside this file) explains every number and figure it writes.

use rl_sandbox::course::ch02_policy_gradient;

fn main() -> std::process::ExitCode {
    rl_sandbox::cli::run(ch02_policy_gradient::run)
}
