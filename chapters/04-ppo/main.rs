//! Chapter 4: PPO with GAE.
//!
//! The program is `rl_sandbox::course::ch04_ppo`: its flags (`Args`) and its `run`,
//! which reads top to bottom as flags → experiments → figures → report. The lesson
//! (README.md beside this file) explains every number and figure it writes.

use rl_sandbox::course::ch04_ppo;

fn main() -> std::process::ExitCode {
    rl_sandbox::cli::run(ch04_ppo::run)
}
