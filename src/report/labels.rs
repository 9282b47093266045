//! What a person reads instead of a `summary.json` key: a label, a unit and a rounding
//! for every headline number of every chapter.
//!
//! `summary.json` keeps the exact values under their keys (scripts and the lessons' ties
//! read those); everything shown to a person (the chapter tables on stdout, REPORT.md,
//! index.html, the book) goes through [`shown`] instead: "maze success rate 100.0 %",
//! "V*(start) 17.29".
//!
//! A key may hold one `*`, which matches the part of a key that varies with the flags
//! (chapter 3's step-size rules, chapter 6's β sweep); the label's `{}` shows that part.

use super::Summary;
use serde_json::Value;

/// How a number is rounded and written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// A fraction in [0, 1] written as a percentage with this many decimals.
    Percent(usize),
    /// This many decimals.
    Fixed(usize),
    /// This many significant digits; scientific notation below 0.001 and from 10⁶ on.
    Sig(usize),
    /// A whole number with thousands separators (a median of whole numbers may end in .5).
    Count,
    /// Three significant digits with a k, M, G or T prefix (50029905 → 50.0 M).
    Compact,
    /// true / false as yes / no.
    YesNo,
    /// A list of cells, as a walk: S1 → S2 → S5.
    Walk,
}

/// One headline key's label, unit and format.
#[derive(Clone, Copy, Debug)]
pub struct Label {
    /// The summary key, possibly with one `*`.
    pub key: &'static str,
    /// What the number is, in words; `{}` is replaced by what the `*` matched.
    pub label: &'static str,
    /// Written after the value ("%" comes from [`Format::Percent`]).
    pub unit: &'static str,
    pub format: Format,
    /// One of the few numbers shown first (the top of a book page, the course's closing
    /// summary).
    pub top: bool,
    /// What to write for a missing value (null in JSON).
    pub missing: &'static str,
}

const fn l(key: &'static str, label: &'static str, unit: &'static str, format: Format) -> Label {
    Label { key, label, unit, format, top: false, missing: "n/a" }
}

impl Label {
    const fn top(self) -> Label {
        Label { top: true, ..self }
    }

    /// For "steps to 475" and similar: null means the median run never got there.
    const fn or_not_reached(self) -> Label {
        Label { missing: "not reached", ..self }
    }
}

use Format::{Compact, Count, Fixed, Percent, Sig, Walk, YesNo};

const CH01: &[Label] = &[
    l("v_star_start", "V*(start), the optimal value of the start", "", Fixed(2)).top(),
    l("greedy_path", "greedy path (first seed, decaying ε)", "", Walk).top(),
    l("greedy_path_length", "greedy path length", "steps", Count),
    l("greedy_path_optimal", "greedy path is a shortest path", "", YesNo),
    l("greedy_optimal_seeds", "seeds whose greedy path is a shortest path", "seeds", Count).top(),
    l("shortest_path_length", "shortest path length", "steps", Count),
    l("optimal_path_count", "number of shortest paths", "paths", Count),
    l("distinct_optimal_paths_found", "distinct shortest paths found by the seeds", "paths", Count),
    l("episodes_to_optimal_median", "episodes until the greedy path is shortest (median)", "episodes", Count)
        .or_not_reached(),
    l("q_error_final", "max |Q − Q*| after training, constant α (median)", "", Sig(3)).top(),
    l("q_error_final_decaying_alpha", "max |Q − Q*| after training, decaying α (median)", "", Sig(3)),
    l("q_error_final_slippery_constant_alpha", "max |Q − Q*|, slippery maze, constant α (median)", "", Sig(3)),
    l("q_error_final_slippery_decaying_alpha", "max |Q − Q*|, slippery maze, decaying α (median)", "", Sig(3)),
    l("greedy_only_success_rate", "success rate, greedy only (ε = 0)", "", Percent(1)),
    l("constant_epsilon_success_rate", "success rate, constant ε", "", Percent(1)),
    l("decaying_epsilon_success_rate", "success rate, decaying ε", "", Percent(1)).top(),
    l("env_steps_per_s", "environment steps per second", "steps/s", Compact),
];

const CH02: &[Label] = &[
    l("maze_success_rate", "maze success rate (with baseline)", "", Percent(1)).top(),
    l("maze_shortest_path_rate", "maze shortest-path rate (with baseline)", "", Percent(1)),
    l("maze_success_rate_return_shifted", "maze success rate, shifted rewards, whole return", "", Percent(1)),
    l("maze_success_rate_reward_to_go_shifted", "maze success rate, shifted rewards, reward-to-go", "", Percent(1)),
    l("maze_success_rate_baseline_shifted", "maze success rate, shifted rewards, with baseline", "", Percent(1)),
    l("baseline_variance_ratio", "gradient variance without / with baseline (median)", "×", Sig(3)).top(),
    l("baseline_variance_ratio_shifted", "gradient variance without / with baseline, shifted rewards", "×", Sig(3)),
    l(
        "baseline_variance_ratio_partly_trained",
        "gradient variance without / with baseline, partly trained",
        "×",
        Sig(3),
    ),
    l("cartpole_final_return_median", "CartPole final return (median)", "", Fixed(1)).top(),
    l("cartpole_final_return_median_no_baseline", "CartPole final return without baseline (median)", "", Fixed(1)),
    l("cartpole_steps_to_475_median", "CartPole steps to a return of 475 (median)", "steps", Count)
        .top()
        .or_not_reached(),
    l("cartpole_steps_to_475_median_no_baseline", "CartPole steps to 475 without baseline (median)", "steps", Count)
        .or_not_reached(),
    l("cartpole_seeds_reaching_475", "CartPole seeds reaching 475", "seeds", Count),
    l("env_steps", "environment steps per CartPole run", "steps", Count),
    l("env_steps_total", "environment steps in all", "steps", Count),
    l("cartpole_seconds_per_seed", "time per CartPole run", "s", Fixed(2)),
];

const CH03: &[Label] = &[
    l("cartpole_final_return_median", "CartPole final return (median)", "", Fixed(1)).top(),
    l("steps_to_475_median", "steps to a return of 475 (median)", "steps", Count).top().or_not_reached(),
    l("seconds_to_475_median", "time to a return of 475 (median)", "s", Fixed(2)).or_not_reached(),
    l("max_kl", "largest KL of an update (median)", "", Sig(3)).top(),
    l("delta", "trust region δ", "", Sig(3)).top(),
    l("seeds_reaching_475", "seeds reaching 475", "seeds", Count),
    l("env_steps", "environment steps per run", "steps", Count),
    l("env_steps_per_s", "environment steps per second", "steps/s", Compact),
    l("mean_backtracks", "line-search backtracks per update (mean)", "", Fixed(2)),
    l("rejected_updates", "updates the line search rejected", "updates", Count),
    l("mean_cg_residual", "conjugate-gradient residual (mean)", "", Sig(2)),
    l("*_final_return_median", "final return, step rule {} (median)", "", Fixed(1)),
    l("*_max_kl", "largest KL, step rule {} (median)", "", Sig(3)),
    l("*_largest_drop", "largest drop in return, step rule {} (median)", "", Fixed(1)),
];

const CH04: &[Label] = &[
    l("cartpole_final_return_median", "CartPole final return, PPO-clip (median)", "", Fixed(1)).top(),
    l("cartpole_eval_return_median", "CartPole greedy evaluation return (median)", "", Fixed(1)),
    l("steps_to_475_median", "CartPole steps to 475, PPO-clip (median)", "steps", Count).top().or_not_reached(),
    l("seconds_to_475_median", "CartPole time to 475, PPO-clip (median)", "s", Fixed(2)).or_not_reached(),
    l("cartpole_seeds_reaching_475", "CartPole seeds reaching 475", "seeds", Count),
    l("env_steps_per_s", "environment steps per second", "steps/s", Compact),
    l("pendulum_final_return_median", "Pendulum final return (median)", "", Fixed(1)).top(),
    l("pendulum_eval_return_median", "Pendulum greedy evaluation return (median)", "", Fixed(1)),
    l("kl_final_return_median", "CartPole final return, PPO-KL (median)", "", Fixed(1)),
    l("kl_steps_to_475_median", "CartPole steps to 475, PPO-KL (median)", "steps", Count).or_not_reached(),
    l("unclipped_final_return_median", "CartPole final return, unclipped surrogate (median)", "", Fixed(1)),
    l("unclipped_steps_to_475_median", "CartPole steps to 475, unclipped surrogate (median)", "steps", Count)
        .or_not_reached(),
    l("pg_final_return_median", "CartPole final return, policy gradient (median)", "", Fixed(1)),
    l("pg_steps_to_475_median", "CartPole steps to 475, policy gradient (median)", "steps", Count).or_not_reached(),
    l("speedup_steps_per_s_vs_python", "speed-up over the Python reference, steps per second", "×", Fixed(1)),
    l("speedup_seconds_to_475_vs_python", "speed-up over the Python reference, time to 475", "×", Fixed(1))
        .or_not_reached(),
];

const CH05: &[Label] = &[
    l("params", "model parameters", "", Count).top(),
    l("tokens_seen", "pre-training tokens", "tokens", Compact),
    l("final_loss", "final pre-training loss", "nats/token", Fixed(3)).top(),
    l("pretrain_compute_flops", "pre-training compute, 6·N·D", "FLOPs", Compact),
    l("accuracy_greedy", "greedy accuracy", "", Percent(1)),
    l("format_rate_greedy", "greedy format rate", "", Percent(1)),
    l("number_accuracy_greedy", "greedy: the number is right, tags or not", "", Percent(1)).top(),
    l("accuracy_sampled", "sampled accuracy", "", Percent(1)).top(),
    l("format_rate", "sampled format rate", "", Percent(1)),
    l("mean_response_length", "mean response length", "tokens", Fixed(1)),
    l("checks_answer", "sampled responses that check their result", "", Percent(1)),
    l("corrects_after_check", "sampled responses that fix a slip after a check", "", Percent(2)),
    l("pass_at_1", "pass@1", "", Percent(1)),
    l("pass_at_16", "pass@16", "", Percent(1)).top(),
    l("maj_at_16", "maj@16", "", Percent(1)),
    l("train_tokens_per_s", "training speed", "tokens/s", Compact),
    l("sample_tokens_per_s", "sampling speed", "tokens/s", Compact),
    l("pretrain_seconds", "pre-training time", "s", Fixed(1)),
];

const CH06: &[Label] = &[
    l("accuracy_before", "greedy accuracy before GRPO", "", Percent(1)).top(),
    l("accuracy_after", "greedy accuracy after GRPO", "", Percent(1)).top(),
    l("format_rate_before", "sampled format rate before", "", Percent(1)),
    l("format_rate_after", "sampled format rate after", "", Percent(1)),
    l("format_rate_greedy_before", "greedy format rate before", "", Percent(1)),
    l("format_rate_greedy_after", "greedy format rate after", "", Percent(1)),
    l("accuracy_sampled_before", "sampled accuracy before", "", Percent(1)),
    l("accuracy_sampled_after", "sampled accuracy after", "", Percent(1)),
    l("number_accuracy_greedy_before", "right number, greedy, before (tags or not)", "", Percent(1)),
    l("number_accuracy_greedy_after", "right number, greedy, after (tags or not)", "", Percent(1)).top(),
    l("number_accuracy_sampled_before", "right number, sampled, before (tags or not)", "", Percent(1)),
    l("number_accuracy_sampled_after", "right number, sampled, after (tags or not)", "", Percent(1)),
    l("accuracy_among_formatted_before", "accuracy among well-formatted answers, before", "", Percent(1)),
    l("accuracy_among_formatted_after", "accuracy among well-formatted answers, after", "", Percent(1)),
    l("writes_steps_before", "responses that write steps, before", "", Percent(1)),
    l("writes_steps_after", "responses that write steps, after", "", Percent(1)).top(),
    l("maj_at_16_before", "maj@16 before", "", Percent(1)),
    l("maj_at_16_after", "maj@16 after", "", Percent(1)),
    l("pass_at_1_before", "pass@1 before", "", Percent(1)),
    l("pass_at_1_after", "pass@1 after", "", Percent(1)).top(),
    l("pass_at_16_before", "pass@16 before", "", Percent(1)),
    l("pass_at_16_after", "pass@16 after", "", Percent(1)),
    l("mean_length_before", "mean response length before", "tokens", Fixed(1)),
    l("mean_length_after", "mean response length after", "tokens", Fixed(1)).top(),
    l("mentions_so_or_carry_before", "responses that say “so” or “carry”, before", "", Percent(1)),
    l("mentions_so_or_carry_after", "responses that say “so” or “carry”, after", "", Percent(1)),
    l("checks_answer_before", "responses that check their result, before", "", Percent(1)),
    l("checks_answer_after", "responses that check their result, after", "", Percent(1)).top(),
    l("corrects_after_check_before", "responses that fix a slip after a check, before", "", Percent(2)),
    l("corrects_after_check_after", "responses that fix a slip after a check, after", "", Percent(2)),
    l("contrast_accuracy_before", "contrast task: greedy accuracy before", "", Percent(1)),
    l("contrast_accuracy_after", "contrast task: greedy accuracy after", "", Percent(1)).top(),
    l("contrast_number_accuracy_greedy_before", "contrast task: right number, greedy, before", "", Percent(1)),
    l("contrast_number_accuracy_greedy_after", "contrast task: right number, greedy, after", "", Percent(1)).top(),
    l("contrast_number_accuracy_sampled_before", "contrast task: right number, sampled, before", "", Percent(1)),
    l("contrast_number_accuracy_sampled_after", "contrast task: right number, sampled, after", "", Percent(1)),
    l("contrast_format_rate_before", "contrast task: sampled format rate before", "", Percent(1)),
    l("contrast_format_rate_after", "contrast task: sampled format rate after", "", Percent(1)),
    l("contrast_writes_steps_before", "contrast task: responses that write steps, before", "", Percent(1)),
    l("contrast_writes_steps_after", "contrast task: responses that write steps, after", "", Percent(1)).top(),
    l("contrast_mean_length_before", "contrast task: mean response length before", "tokens", Fixed(1)),
    l("contrast_mean_length_after", "contrast task: mean response length after", "tokens", Fixed(1)).top(),
    l("contrast_checks_answer_before", "contrast task: responses that check, before", "", Percent(1)),
    l("contrast_checks_answer_after", "contrast task: responses that check, after", "", Percent(1)),
    l("contrast_corrects_after_check_after", "contrast task: responses that fix a slip, after", "", Percent(2)),
    l("contrast_pass_at_16_before", "contrast task: pass@16 before", "", Percent(1)),
    l("contrast_pass_at_16_after", "contrast task: pass@16 after", "", Percent(1)),
    l("final_kl", "KL to the reference per token, last steps (median)", "", Sig(3)).top(),
    l("steps", "GRPO steps per run", "steps", Count),
    l("seconds_per_step", "time per GRPO step", "s", Fixed(2)),
    l("sample_seconds_per_step", "sampling time per step", "s", Fixed(2)),
    l("score_seconds_per_step", "scoring time per step", "s", Fixed(3)),
    l("update_seconds_per_step", "update time per step", "s", Fixed(2)),
    l("sample_tokens_per_s", "sampling speed", "tokens/s", Compact),
    l("update_tokens_per_s", "update speed", "tokens/s", Compact),
    l("seconds_per_run", "time per GRPO run", "s", Fixed(1)),
    l("steps_to_heldout_accuracy_0_9", "steps to 90 % held-out accuracy (median)", "steps", Count).or_not_reached(),
    l("beta_*_final_kl", "final KL at β = {}", "", Sig(3)),
    l("beta_*_heldout_accuracy", "held-out accuracy at β = {}", "", Percent(1)),
    l("beta_*_heldout_format", "held-out format rate at β = {}", "", Percent(1)),
];

const CH07: &[Label] = &[
    l("ppo_critic_accuracy", "PPO with a critic: greedy accuracy", "", Percent(1)).top(),
    l("grpo_accuracy", "GRPO: greedy accuracy", "", Percent(1)).top(),
    l("ppo_critic_accuracy_sampled", "PPO with a critic: sampled accuracy", "", Percent(1)),
    l("grpo_accuracy_sampled", "GRPO: sampled accuracy", "", Percent(1)),
    l("ppo_critic_params", "PPO with a critic: parameters held", "", Count),
    l("grpo_params", "GRPO: parameters held", "", Count),
    l("ppo_critic_trainable_params", "PPO with a critic: parameters trained", "", Count),
    l("grpo_trainable_params", "GRPO: parameters trained", "", Count),
    l("ppo_critic_state_mb", "PPO with a critic: training state", "MB", Fixed(1)),
    l("grpo_state_mb", "GRPO: training state", "MB", Fixed(1)),
    l("ppo_critic_peak_heap_mb", "PPO with a critic: peak heap", "MB", Fixed(1)),
    l("grpo_peak_heap_mb", "GRPO: peak heap", "MB", Fixed(1)),
    l("ppo_critic_seconds_per_step", "PPO with a critic: time per step (probe)", "s", Fixed(3)),
    l("grpo_seconds_per_step", "GRPO: time per step (probe)", "s", Fixed(3)),
    l("ppo_critic_seconds_per_step_in_run", "PPO with a critic: time per step in the run", "s", Fixed(3)),
    l("grpo_seconds_per_step_in_run", "GRPO: time per step in the run", "s", Fixed(3)),
    l("ppo_critic_run_seconds", "PPO with a critic: time per run", "s", Fixed(1)),
    l("grpo_run_seconds", "GRPO: time per run", "s", Fixed(1)),
    l("ppo_critic_tokens", "PPO with a critic: tokens processed", "tokens", Compact),
    l("grpo_tokens", "GRPO: tokens processed", "tokens", Compact),
    l("ppo_critic_tokens_to_heldout_0_9", "PPO with a critic: tokens to 90 % held-out accuracy", "tokens", Compact)
        .or_not_reached(),
    l("grpo_tokens_to_heldout_0_9", "GRPO: tokens to 90 % held-out accuracy", "tokens", Compact).or_not_reached(),
    l("ppo_critic_final_explained_variance", "PPO with a critic: final explained variance", "", Fixed(3)),
    l("cold_start_accuracy", "cold start → GRPO: greedy accuracy", "", Percent(1)).top(),
    l("zero_accuracy", "GRPO from the base model (zero): greedy accuracy", "", Percent(1)),
    l("cold_start_accuracy_sampled", "cold start → GRPO: sampled accuracy", "", Percent(1)),
    l("zero_accuracy_sampled", "zero: sampled accuracy", "", Percent(1)),
    l("cold_start_sft_only_accuracy", "cold-start SFT alone: greedy accuracy", "", Percent(1)),
    l("cold_start_sft_only_accuracy_sampled", "cold-start SFT alone: sampled accuracy", "", Percent(1)),
    l("cold_start_writes_steps", "cold start → GRPO: responses that write steps", "", Percent(1)),
    l("zero_writes_steps", "zero: responses that write steps", "", Percent(1)),
    l("cold_start_format_rate", "cold start → GRPO: format rate", "", Percent(1)),
    l("zero_format_rate", "zero: format rate", "", Percent(1)),
    l("cold_start_early_train_accuracy", "cold start → GRPO: training accuracy, first steps", "", Percent(1)),
    l("zero_early_train_accuracy", "zero: training accuracy, first steps", "", Percent(1)),
    l("cold_start_examples", "cold-start examples", "examples", Count),
    l("rejection_sft_accuracy", "rejection-sampling SFT: greedy accuracy", "", Percent(1)).top(),
    l("rejection_sft_accuracy_sampled", "rejection-sampling SFT: sampled accuracy", "", Percent(1)),
    l("rejection_sft_format_rate", "rejection-sampling SFT: format rate", "", Percent(1)),
    l("rl_teacher_accuracy", "RL teacher: greedy accuracy", "", Percent(1)),
    l("rl_teacher_accuracy_sampled", "RL teacher: sampled accuracy", "", Percent(1)),
    l("rejection_acceptance", "rejection sampling: answers accepted", "", Percent(1)),
    l("rejection_examples", "rejection sampling: SFT examples (median)", "examples", Count),
    l("rejection_sft_seconds", "rejection-sampling SFT: time per run", "s", Fixed(1)),
    l("distilled_accuracy", "half-size model, distilled: greedy accuracy", "", Percent(1)).top(),
    l("small_rl_accuracy", "half-size model, GRPO: greedy accuracy", "", Percent(1)).top(),
    l("distilled_accuracy_sampled", "half-size model, distilled: sampled accuracy", "", Percent(1)),
    l("small_rl_accuracy_sampled", "half-size model, GRPO: sampled accuracy", "", Percent(1)),
    l("small_base_accuracy", "half-size base model: greedy accuracy", "", Percent(1)),
    l("small_base_accuracy_sampled", "half-size base model: sampled accuracy", "", Percent(1)),
    l("small_params", "half-size model: parameters", "", Count),
    l("distilled_seconds", "distillation: time per run", "s", Fixed(1)),
    l("small_rl_seconds", "half-size GRPO: time per run", "s", Fixed(1)),
    l("distilled_tokens", "distillation: tokens processed", "tokens", Compact),
    l("small_rl_tokens", "half-size GRPO: tokens processed", "tokens", Compact),
    l("hacked_proxy_reward", "flawed reward: proxy reward, last steps", "", Fixed(3)).top(),
    l("hacked_proxy_reward_start", "flawed reward: proxy reward, first steps", "", Fixed(3)),
    l("hacked_true_accuracy", "flawed reward: true greedy accuracy", "", Percent(1)).top(),
    l("hacked_true_accuracy_sampled", "flawed reward: true sampled accuracy", "", Percent(1)),
    l("hacked_train_accuracy", "flawed reward: training accuracy, last steps", "", Percent(1)),
    l("hacked_train_accuracy_start", "flawed reward: training accuracy, first steps", "", Percent(1)),
    l("hacked_peak_heldout_accuracy", "flawed reward: best held-out accuracy", "", Percent(1)),
    l("hacked_format_rate", "flawed reward: format rate", "", Percent(1)),
    l("hacked_mean_length", "flawed reward: mean response length", "tokens", Fixed(1)),
    l("reward_model_agreement_fresh", "reward model agrees with the rule on fresh answers", "", Percent(1)),
];

/// Every chapter's labels, by chapter id.
pub const REGISTRY: &[(&str, &[Label])] = &[
    ("ch01-q-learning", CH01),
    ("ch02-policy-gradient", CH02),
    ("ch03-trpo", CH03),
    ("ch04-ppo", CH04),
    ("ch05-language-model", CH05),
    ("ch06-grpo", CH06),
    ("ch07-r1-pipeline", CH07),
];

/// The labels of a chapter (none for an unknown chapter).
pub fn labels(chapter: &str) -> &'static [Label] {
    REGISTRY.iter().find(|(c, _)| *c == chapter).map_or(&[], |(_, labels)| labels)
}

/// What `*` in `pattern` matches in `key`, if the key fits the pattern ("" for a plain key).
fn matches<'k>(pattern: &str, key: &'k str) -> Option<&'k str> {
    match pattern.split_once('*') {
        None => (pattern == key).then_some(""),
        Some((head, tail)) => {
            key.strip_prefix(head).and_then(|rest| rest.strip_suffix(tail)).filter(|middle| !middle.is_empty())
        }
    }
}

/// The label of `key` in `chapter` and what its `*` matched; a plain key wins over a
/// pattern (chapter 3's `cartpole_final_return_median` is not a step rule).
pub fn find(chapter: &str, key: &str) -> Option<(&'static Label, String)> {
    let labels = labels(chapter);
    labels.iter().find(|l| l.key == key).map(|l| (l, String::new())).or_else(|| {
        labels.iter().find_map(|l| matches(l.key, key).filter(|_| l.key.contains('*')).map(|m| (l, m.to_string())))
    })
}

/// One headline number as a person reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    pub key: String,
    /// What it is, in words.
    pub label: String,
    /// Rounded, with its unit ("99.9 %", "17.29", "24,576 steps").
    pub value: String,
    pub top: bool,
}

/// `key` of `chapter` with `value` as a person reads it; None when the key has no label.
pub fn shown(chapter: &str, key: &str, value: &Value) -> Option<Shown> {
    let (label, matched) = find(chapter, key)?;
    let text = match value {
        Value::Null => label.missing.to_string(),
        _ => {
            let number = format_value(label.format, value);
            match (label.format, label.unit) {
                (Format::Percent(_), _) => format!("{number} %"),
                (_, "") => number,
                (_, "×") => format!("{number}×"),
                (_, unit) => format!("{number} {unit}"),
            }
        }
    };
    Some(Shown {
        key: key.to_string(),
        label: label.label.replace("{}", &matched.replace('_', " ")),
        value: text,
        top: label.top,
    })
}

/// Every headline number of a summary in the registry's order (a key without a label
/// is shown last, under its key, rounded to four significant digits).
pub fn headline(summary: &Summary) -> Vec<Shown> {
    let labels = labels(&summary.chapter);
    let rank = |key: &str| labels.iter().position(|l| matches(l.key, key).is_some()).unwrap_or(labels.len());
    let mut keys: Vec<&String> = summary.headline.keys().collect();
    keys.sort_by_key(|k| (rank(k), k.to_string()));
    keys.into_iter()
        .map(|k| {
            let v = &summary.headline[k];
            shown(&summary.chapter, k, v).unwrap_or_else(|| Shown {
                key: k.clone(),
                label: k.replace('_', " "),
                value: match v {
                    Value::Number(_) => format_value(Format::Sig(4), v),
                    other => other.to_string(),
                },
                top: false,
            })
        })
        .collect()
}

/// The headline keys of a summary that have no label (a test keeps this empty).
pub fn unlabelled(summary: &Summary) -> Vec<String> {
    summary.headline.keys().filter(|k| find(&summary.chapter, k).is_none()).cloned().collect()
}

/// A value in a format, without its unit.
pub fn format_value(format: Format, value: &Value) -> String {
    match (format, value) {
        (Format::YesNo, Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        (Format::Walk, Value::Array(cells)) => cells
            .iter()
            .map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(" → "),
        (_, Value::Number(n)) => match n.as_f64() {
            Some(x) => format_number(format, x),
            None => n.to_string(),
        },
        (_, other) => other.to_string(),
    }
}

/// A number in a format ("n/a" for NaN).
pub fn format_number(format: Format, x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() { "n/a".to_string() } else { x.to_string() };
    }
    match format {
        Format::Percent(d) => format!("{:.d$}", 100.0 * x),
        Format::Fixed(d) => format!("{x:.d$}"),
        Format::Sig(n) => significant(x, n),
        Format::Count if x.fract() == 0.0 => thousands(x),
        Format::Count => format!("{}{}", thousands(x.trunc()), &format!("{:.1}", x.fract().abs())[1..]),
        Format::Compact => compact(x),
        Format::YesNo | Format::Walk => x.to_string(),
    }
}

/// `n` significant digits, scientific outside [0.001, 10⁶).
fn significant(x: f64, n: usize) -> String {
    let n = n.max(1);
    if x == 0.0 {
        return "0".to_string();
    }
    let magnitude = x.abs().log10().floor() as i64;
    if !(-3..6).contains(&magnitude) {
        return format!("{:.*e}", n - 1, x);
    }
    let decimals = (n as i64 - 1 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

/// A whole number with a comma every three digits: 7870155 → 7,870,155.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 {
        format!("−{out}")
    } else {
        out
    }
}

/// Three significant digits with a k, M, G or T prefix.
fn compact(x: f64) -> String {
    let prefixes = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    match prefixes.iter().find(|(scale, _)| x.abs() >= *scale * 0.9995) {
        Some((scale, prefix)) => format!("{} {prefix}", significant(x / scale, 3)),
        None => significant(x, 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_rounded_for_people() {
        assert_eq!(format_number(Format::Percent(1), 0.9999919), "100.0");
        assert_eq!(format_number(Format::Percent(1), 0.999), "99.9");
        assert_eq!(format_number(Format::Fixed(2), 17.290000000000003), "17.29");
        assert_eq!(format_number(Format::Sig(3), 2.1458390619955026e-12), "2.15e-12");
        assert_eq!(format_number(Format::Sig(3), 1.5623778789101612), "1.56");
        assert_eq!(format_number(Format::Sig(3), 185.9477998012227), "186");
        assert_eq!(format_number(Format::Count, 7870155.0), "7,870,155");
        assert_eq!(format_number(Format::Count, 42189.5), "42,189.5");
        assert_eq!(format_number(Format::Count, 576.0), "576");
        assert_eq!(format_number(Format::Compact, 50029905.0), "50.0 M");
        assert_eq!(format_number(Format::Compact, 4017723801600.0), "4.02 T");
        assert_eq!(format_number(Format::Compact, 24208.0), "24.2 k");
        assert_eq!(format_number(Format::Compact, 999.0), "999");
        assert_eq!(format_number(Format::Fixed(1), f64::NAN), "n/a");
    }

    #[test]
    fn a_shown_number_has_its_label_and_unit() {
        let s = shown("ch02-policy-gradient", "maze_success_rate", &json!(0.999)).unwrap();
        assert_eq!((s.label.as_str(), s.value.as_str()), ("maze success rate (with baseline)", "99.9 %"));
        let s = shown("ch01-q-learning", "v_star_start", &json!(17.290000000000003)).unwrap();
        assert_eq!(s.value, "17.29");
        let s = shown("ch03-trpo", "steps_to_475_median", &json!(35440.0)).unwrap();
        assert_eq!(s.value, "35,440 steps");
        assert_eq!(shown("ch03-trpo", "steps_to_475_median", &Value::Null).unwrap().value, "not reached");
        let path = shown("ch01-q-learning", "greedy_path", &json!(["S1", "S2", "S5"])).unwrap();
        assert_eq!(path.value, "S1 → S2 → S5");
        assert_eq!(shown("ch04-ppo", "speedup_steps_per_s_vs_python", &json!(5.0037)).unwrap().value, "5.0×");
        assert!(shown("ch04-ppo", "no_such_key", &json!(1)).is_none());
    }

    #[test]
    fn a_pattern_names_what_its_star_matched_and_a_plain_key_wins() {
        let s = shown("ch03-trpo", "fixed_0.05_max_kl", &json!(0.000391267570058318)).unwrap();
        assert_eq!((s.label.as_str(), s.value.as_str()), ("largest KL, step rule fixed 0.05 (median)", "3.91e-4"));
        let s = shown("ch03-trpo", "cartpole_final_return_median", &json!(500.0)).unwrap();
        assert_eq!(s.label, "CartPole final return (median)");
        let s = shown("ch06-grpo", "beta_0.04_heldout_accuracy", &json!(0.5)).unwrap();
        assert_eq!((s.label.as_str(), s.value.as_str()), ("held-out accuracy at β = 0.04", "50.0 %"));
        assert!(find("ch06-grpo", "beta__final_kl").is_none(), "* matches at least one character");
    }

    #[test]
    fn every_chapter_has_top_numbers_and_no_key_twice() {
        for (chapter, labels) in REGISTRY {
            assert!(labels.iter().any(|l| l.top), "{chapter}: no top number");
            for (i, l) in labels.iter().enumerate() {
                assert!(labels[..i].iter().all(|m| m.key != l.key), "{chapter}: {} twice", l.key);
                assert_eq!(l.label.contains("{}"), l.key.contains('*'), "{chapter}: {}", l.key);
            }
        }
    }
}
