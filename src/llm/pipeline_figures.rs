//! Chapter 7's figures: one builder per experiment, each reading the runs' records
//! (curves with mean ± std bands over seeds, bar panels of the final measures).

use super::figures::panel;
use super::grpo::GrpoStepLog;
use super::hacking::{FlawedRewardFit, HackReward};
use super::measures::Measures;
use super::pipeline_experiments::{Experiment, Lab, PipelineResults, PipelineRun, RunRecord};
use super::pipeline_report::{common, med};
use super::step_cost::{mb, per_step_seconds, StepCost};
use super::Evaluation;
use crate::error::Result;
use crate::plot::{self, Band, Bars};
use crate::report::RunDir;
use crate::stats;

/// Draws the figures of the experiments that ran into `dir`; returns the files written.
pub fn figures(dir: &RunDir, lab: &Lab, results: &PipelineResults, cost: Option<&StepCost>) -> Result<Vec<String>> {
    let has = |e| lab.cfg.has(e);
    let zero = results.all(PipelineRun::Zero);
    let teacher = results.all(PipelineRun::ColdStart);
    let evaluated = |run| results.get(run).expect("the base models are evaluated").eval();
    let mut files = Vec::new();
    if let Some(cost) = cost.filter(|_| has(Experiment::Ppo)) {
        let ppo = results.all(PipelineRun::Ppo);
        files.extend(figure_ppo(dir, lab, &ppo, &zero)?);
        files.extend(figure_ppo_cost(dir, &ppo, &zero, cost)?);
    }
    if has(Experiment::ColdStart) {
        files.extend(figure_cold_start(dir, lab, &teacher, &zero)?);
    }
    if has(Experiment::Rejection) {
        let rej = results.all(PipelineRun::RejectionSft);
        files.extend(figure_rejection(dir, evaluated(PipelineRun::BaseEval), &teacher, &rej, lab)?);
    }
    if has(Experiment::Distill) {
        let (srl, dist) = (results.all(PipelineRun::SmallRl), results.all(PipelineRun::Distill));
        files.extend(figure_distill(dir, lab, evaluated(PipelineRun::SmallBaseEval), &srl, &dist, &teacher)?);
    }
    if has(Experiment::Hacking) {
        let hack = results.all(PipelineRun::Hack);
        files.extend(figure_hacking(dir, lab, &hack)?);
        if let Some(fit) = hack.first().and_then(|o| o.hack.as_ref()) {
            files.extend(figure_reward_model(dir, fit)?);
        }
    }
    Ok(files)
}

/// A point series per run: (x, y) of the steps where `y` is defined.
type Series = Vec<(f64, f64)>;

/// A band from per-run series that share their points' order (x = mean over runs).
fn band_of(label: &str, runs: &[Series]) -> Band {
    let n = runs.iter().map(Vec::len).min().unwrap_or(0);
    let x = (0..n).map(|i| stats::mean(&runs.iter().map(|r| r[i].0).collect::<Vec<_>>())).collect();
    Band { label: label.into(), x, runs: runs.iter().map(|r| r[..n].iter().map(|p| p.1).collect()).collect() }
}

/// GRPO series: x = sampled tokens (or seconds, or the step) before the point.
#[derive(Clone, Copy)]
enum Axis {
    Tokens,
    Seconds,
    Step,
}

fn grpo_series(log: &[GrpoStepLog], axis: Axis, y: &dyn Fn(&GrpoStepLog) -> Option<f64>) -> Series {
    let (mut tokens, mut seconds) = (0usize, 0.0);
    let mut out = Vec::new();
    for s in log {
        let x = match axis {
            Axis::Tokens => tokens as f64 / 1000.0,
            Axis::Seconds => seconds,
            Axis::Step => s.step as f64,
        };
        if let Some(v) = y(s) {
            out.push((x, v));
        }
        tokens += s.tokens;
        seconds += s.sample_s + s.score_s + s.update_s;
    }
    out
}

fn train_y(f: fn(&GrpoStepLog) -> f64) -> impl Fn(&GrpoStepLog) -> Option<f64> {
    move |s| (s.tokens > 0).then(|| f(s))
}

fn seeds_note(n: usize) -> String {
    if n == 1 {
        "1 seed".into()
    } else {
        format!("mean ± std over {n} seeds")
    }
}

fn figure_ppo(dir: &RunDir, lab: &Lab, ppo: &[&RunRecord], zero: &[&RunRecord]) -> Result<Vec<String>> {
    let p: Vec<Vec<GrpoStepLog>> = ppo.iter().map(|o| o.ppo.iter().map(|s| s.common.clone()).collect()).collect();
    let g: Vec<Vec<GrpoStepLog>> = zero.iter().map(|o| o.grpo.clone()).collect();
    let both = |axis: Axis, y: &dyn Fn(&GrpoStepLog) -> Option<f64>| {
        vec![
            band_of("PPO with a critic", &p.iter().map(|l| grpo_series(l, axis, y)).collect::<Vec<_>>()),
            band_of("GRPO", &g.iter().map(|l| grpo_series(l, axis, y)).collect::<Vec<_>>()),
        ]
    };
    let tok = "sampled tokens (thousands)";
    let ev: Vec<Series> = ppo
        .iter()
        .map(|o| {
            let mut t = 0usize;
            o.ppo
                .iter()
                .filter_map(|s| {
                    let x = t as f64 / 1000.0;
                    t += s.common.tokens;
                    (s.common.tokens > 0).then_some((x, s.explained_variance))
                })
                .collect()
        })
        .collect();
    let panels = vec![
        panel("Held-out accuracy (greedy)", tok, "share of problems", both(Axis::Tokens, &|s| s.heldout_accuracy)),
        panel(
            "Accuracy reward of the training samples",
            tok,
            "share of samples (T = 1)",
            both(Axis::Tokens, &train_y(|s| s.accuracy_reward)),
        ),
        panel(
            "Held-out accuracy against wall time",
            "seconds of training (one core)",
            "share of problems",
            both(Axis::Seconds, &|s| s.heldout_accuracy),
        ),
        panel("KL to the reference (k3, per token)", tok, "nats per token", both(Axis::Tokens, &train_y(|s| s.kl))),
        panel(
            "The critic: explained variance of the returns",
            tok,
            "1 − Var(G − V) / Var(G)",
            vec![band_of("PPO's critic, before its update", &ev)],
        ),
        panel("Response length", tok, "tokens per response", both(Axis::Tokens, &train_y(|s| s.length))),
    ];
    let title = format!(
        "PPO with a critic versus GRPO: {} responses per step ({} prompts × 1 versus {} × G = {}), {}",
        lab.rl.prompts * lab.rl.group,
        lab.rl.prompts * lab.rl.group,
        lab.rl.prompts,
        lab.rl.group,
        seeds_note(ppo.len())
    );
    Ok(plot::curves_panels(&dir.path("ppo_vs_grpo"), &title, &panels, 2)?)
}

fn figure_ppo_cost(dir: &RunDir, ppo: &[&RunRecord], zero: &[&RunRecord], mem: &StepCost) -> Result<Vec<String>> {
    let cats = || vec!["PPO with a critic".to_string(), "GRPO".to_string()];
    let bars = |title: &str, y: &str, values: Vec<f64>, errors: Option<Vec<f64>>| Bars {
        title: title.into(),
        x_label: String::new(),
        y_label: y.into(),
        categories: cats(),
        values,
        errors,
    };
    let secs = |runs: &[&RunRecord], f: &dyn Fn(&RunRecord) -> f64| -> (f64, f64) {
        let v: Vec<f64> = runs.iter().map(|o| f(o)).collect();
        (stats::mean(&v), if v.len() > 1 { stats::std(&v) } else { 0.0 })
    };
    let (ps, pe) = secs(ppo, &|o| per_step_seconds(common(&o.ppo)));
    let (gs, ge) = secs(zero, &|o| per_step_seconds(&o.grpo));
    let mut panels = vec![
        bars(
            "Parameters held (all models)",
            "millions",
            vec![mem.ppo_held as f64 / 1e6, mem.grpo_held as f64 / 1e6],
            None,
        ),
        bars("Parameters trained", "millions", vec![mem.ppo_trained as f64 / 1e6, mem.grpo_trained as f64 / 1e6], None),
        bars(
            "Training state: weights + grads + AdamW",
            "MiB (f32, from the shapes)",
            vec![mb(mem.ppo_state), mb(mem.grpo_state)],
            None,
        ),
        bars(
            &format!(
                "Seconds per step, alone on one core (probe of {} step{})",
                mem.probe_steps,
                if mem.probe_steps == 1 { "" } else { "s" }
            ),
            "seconds (median)",
            vec![mem.ppo_step_s, mem.grpo_step_s],
            None,
        ),
        bars(
            "Seconds per step, during the runs (bars: mean over seeds)",
            "seconds (each seed: median over steps)",
            vec![ps, gs],
            (ppo.len() > 1).then_some(vec![pe, ge]),
        ),
    ];
    if let (Some(a), Some(b)) = (mem.ppo_peak, mem.grpo_peak) {
        panels.insert(3, bars("Peak heap of a step (measured)", "MiB", vec![mb(a), mb(b)], None));
    }
    Ok(plot::bars_panels(
        &dir.path("ppo_vs_grpo_cost"),
        "What the critic costs: PPO holds actor, critic and reference (a rule replaces the reward model), GRPO actor and reference",
        &panels,
        3,
    )?)
}

fn figure_cold_start(dir: &RunDir, lab: &Lab, cold: &[&RunRecord], zero: &[&RunRecord]) -> Result<Vec<String>> {
    let both = |y: &dyn Fn(&GrpoStepLog) -> Option<f64>| {
        vec![
            band_of(
                &format!("cold start ({} traces, SFT) → GRPO", lab.cfg.cold_start_examples),
                &cold.iter().map(|o| grpo_series(&o.grpo, Axis::Step, y)).collect::<Vec<_>>(),
            ),
            band_of(
                "GRPO from the base model (R1-Zero)",
                &zero.iter().map(|o| grpo_series(&o.grpo, Axis::Step, y)).collect::<Vec<_>>(),
            ),
        ]
    };
    let step = "GRPO step";
    let panels = vec![
        panel("Held-out accuracy (greedy)", step, "share of problems", both(&|s| s.heldout_accuracy)),
        panel(
            "Accuracy reward of the training samples",
            step,
            "share of samples (T = 1)",
            both(&train_y(|s| s.accuracy_reward)),
        ),
        panel(
            "Readability: column steps written in <think>",
            step,
            "share of samples",
            both(&train_y(|s| s.writes_steps)),
        ),
        panel("Format reward of the training samples", step, "share of samples", both(&train_y(|s| s.format_reward))),
        panel("Response length", step, "tokens per response", both(&train_y(|s| s.length))),
        panel("KL to the reference (k3, per token)", step, "nats per token", both(&train_y(|s| s.kl))),
    ];
    let title = format!(
        "Cold start versus R1-Zero ({}; the cold-start run's reference is its SFT model)",
        seeds_note(cold.len())
    );
    Ok(plot::curves_panels(&dir.path("cold_start"), &title, &panels, 2)?)
}

/// Bar panels comparing models on the final evaluation's measures.
fn model_bars(names: &[String], per_model: &[Vec<Measures>]) -> Vec<Bars> {
    type Metric = (&'static str, &'static str, fn(&Measures) -> f64);
    let metrics: [Metric; 4] = [
        ("Accuracy, greedy", "share of held-out problems", |m| m.accuracy_greedy),
        ("Accuracy, sampled (T = 1)", "share of responses", |m| m.accuracy_sampled),
        ("Format compliance, sampled", "share of responses", |m| m.format_rate),
        ("Writes column steps in <think> (the cold-start traces' form)", "share of sampled responses", |m| {
            m.writes_steps
        }),
    ];
    metrics
        .iter()
        .map(|(title, y, f)| {
            let vals: Vec<Vec<f64>> = per_model.iter().map(|ms| ms.iter().map(f).collect()).collect();
            Bars {
                title: title.to_string(),
                x_label: String::new(),
                y_label: y.to_string(),
                categories: names.to_vec(),
                values: vals.iter().map(|v| stats::mean(v)).collect(),
                errors: (per_model.iter().any(|m| m.len() > 1))
                    // NaN: a model evaluated once (the base models) has no spread to draw.
                    .then(|| vals.iter().map(|v| if v.len() > 1 { stats::std(v) } else { f64::NAN }).collect()),
            }
        })
        .collect()
}

fn figure_rejection(
    dir: &RunDir,
    base: &Evaluation,
    teacher: &[&RunRecord],
    rej: &[&RunRecord],
    lab: &Lab,
) -> Result<Vec<String>> {
    let problems = lab.problems;
    let names = ["base model", "cold-start SFT", "RL model (cold start → GRPO)", "fresh base, SFT on its kept answers"]
        .map(String::from);
    let per_model = vec![
        vec![Measures::of(base, problems)],
        teacher.iter().map(|o| Measures::of(o.sft_eval(), problems)).collect(),
        measures(teacher, problems),
        measures(rej, problems),
    ];
    let title = format!(
        "Rejection sampling: keep the RL model's right, well-formed answers ({:.0}% kept), fine-tune a fresh base model ({})",
        100.0 * med(teacher, |o| o.rejection().acceptance()),
        seeds_note(rej.len())
    );
    Ok(plot::bars_panels(&dir.path("rejection_sft"), &title, &model_bars(&names, &per_model), 2)?)
}

fn figure_distill(
    dir: &RunDir,
    lab: &Lab,
    small: &Evaluation,
    srl: &[&RunRecord],
    dist: &[&RunRecord],
    teacher: &[&RunRecord],
) -> Result<Vec<String>> {
    let problems = lab.problems;
    let names = ["small base", "small, GRPO", "small, distilled (SFT on the teacher)", "teacher (large RL model)"]
        .map(String::from);
    let per_model = vec![
        vec![Measures::of(small, problems)],
        measures(srl, problems),
        measures(dist, problems),
        measures(teacher, problems),
    ];
    let mut files = plot::bars_panels(
        &dir.path("distillation"),
        &format!("Distillation versus RL on a model of half the width and layers ({})", seeds_note(dist.len())),
        &model_bars(&names, &per_model),
        2,
    )?;
    // The small model's GRPO curve against the distilled model's accuracy.
    let mut plot = panel(
        "The small model under GRPO, and distilled",
        "GRPO step",
        "held-out accuracy (greedy)",
        vec![band_of(
            "small model, GRPO",
            &srl.iter().map(|o| grpo_series(&o.grpo, Axis::Step, &|s| s.heldout_accuracy)).collect::<Vec<_>>(),
        )],
    );
    plot.title = format!(
        "The small model under GRPO (lr {}), against distillation ({})",
        lab.cfg.small_rl_lr,
        seeds_note(srl.len())
    );
    plot.hlines = vec![(
        med(dist, |o| o.eval().accuracy_greedy),
        "distilled (SFT on the teacher's answers), final, median of seeds".into(),
    )];
    files.extend(plot::curves(&dir.path("distillation_curve"), &plot)?);
    Ok(files)
}

/// The reward model's weights (first seed): what it learned a good answer looks like.
fn figure_reward_model(dir: &RunDir, info: &FlawedRewardFit) -> Result<Vec<String>> {
    let Some(rm) = &info.rm else { return Ok(Vec::new()) };
    // Tokens never seen in the labelled answers (the template's, `so`, `carry`, ...)
    // keep weight 0 and are left out.
    let mut pairs: Vec<(String, f64)> = rm
        .tokens
        .iter()
        .zip(&rm.weights)
        .filter(|(t, w)| t.len() < 12 && **w != 0.0)
        .map(|(t, w)| (if t == " " { "space".to_string() } else { t.clone() }, *w))
        .collect();
    pairs.sort_by(|a, b| b.1.total_cmp(&a.1));
    let bars = Bars {
        title: format!(
            "The learned reward model: one weight per token, score = w·counts + b (b = {:.2}); agrees with the rule on {:.0}% of fresh answers",
            rm.bias,
            100.0 * info.rm_agreement_fresh
        ),
        x_label: "token of the response".into(),
        y_label: "weight (change of the score per occurrence)".into(),
        categories: pairs.iter().map(|p| p.0.clone()).collect(),
        values: pairs.iter().map(|p| p.1).collect(),
        errors: None,
    };
    Ok(plot::bars(&dir.path("reward_model"), &bars)?)
}

fn figure_hacking(dir: &RunDir, lab: &Lab, hack: &[&RunRecord]) -> Result<Vec<String>> {
    let one = |label: &str, y: &dyn Fn(&GrpoStepLog) -> Option<f64>| {
        band_of(label, &hack.iter().map(|o| grpo_series(&o.grpo, Axis::Step, y)).collect::<Vec<_>>())
    };
    let proxy = match lab.cfg.hack_reward {
        HackReward::Rm => "reward-model score (logit)",
        HackReward::Tags => "tags-only check (0 or 1)",
    };
    let step = "GRPO step";
    let panels = vec![
        panel(
            "The proxy reward GRPO maximises",
            step,
            proxy,
            vec![one("mean proxy reward of the batch", &train_y(|s| s.reward))],
        ),
        panel(
            "The truth: the rule's accuracy",
            step,
            "share",
            vec![
                one("accuracy reward of the training samples", &train_y(|s| s.accuracy_reward)),
                one("held-out accuracy (greedy)", &|s| s.heldout_accuracy),
            ],
        ),
        panel(
            "The rule's format check",
            step,
            "share",
            vec![
                one("format reward of the training samples", &train_y(|s| s.format_reward)),
                one("held-out format (greedy)", &|s| s.heldout_format),
            ],
        ),
        panel(
            "Response length",
            step,
            "tokens per response",
            vec![one("mean length of the batch", &train_y(|s| s.length))],
        ),
    ];
    let title = format!(
        "Reward hacking: GRPO on a flawed reward, the {proxy}; β = {}, {}",
        lab.cfg.hack_beta,
        seeds_note(hack.len())
    );
    Ok(plot::curves_panels(&dir.path("reward_hacking"), &title, &panels, 2)?)
}

/// The measures of each run's final evaluation.
fn measures(runs: &[&RunRecord], problems: &[super::Problem]) -> Vec<Measures> {
    runs.iter().map(|o| Measures::of(o.eval(), problems)).collect()
}
