//! rl-sandbox: a course in reinforcement learning, from a 3x3 maze to GRPO.
//!
//! The library holds everything the chapter binaries share; each chapter's `main.rs`
//! only parses flags, calls into here, plots and reports.

pub mod agent; // watch, keep and reload a trained agent: animations, --save, --load
pub mod book; // the book of a run: the lessons as HTML pages with MathML, this run's numbers and figures
pub mod cli; // common flags, seeds, the exit-code-2 error path
pub mod course; // the chapter programs: flags and the run of each chapter
pub mod diagrams; // the lessons' conceptual diagrams (agent loop, backups, trust region, clip, RLHF vs GRPO, R1), drawn by every chapter run
pub mod env; // environments behind one Gymnasium-like trait
pub mod error; // the user-facing error type
pub mod estimators; // GAE, explained variance, the k1/k3 KL estimators: shared by PG, TRPO, PPO, GRPO
pub mod jobs; // the job pool: independent runs on a few threads, one progress bar
pub mod llm; // a small GPT as a policy: tokenizer, sampling, task, pre-training
pub mod nn; // shared candle pieces: MLP, categorical policy head, Adam, gradient clipping
pub mod pg; // policy gradient: REINFORCE, tabular softmax and neural
pub mod plot; // learning curves with mean ± std bands, bar charts, grid pictures
pub mod ppo; // GAE and PPO's diagnostics
pub mod report; // run folders, summary.json, metrics.csv, tables, labels, progress bars
pub mod rng; // the seeded RNG of every run
pub mod rollout; // on-policy experience: N environment copies, batches, GAE per copy, episode logs
pub mod run; // the run context every chapter opens and closes: threads, --quick, validation, seeds, folder, summary
pub mod stats; // mean, std, median over seeds
pub mod tabular; // value iteration and Q-learning
pub mod trpo; // conjugate gradient and the trust-region step
