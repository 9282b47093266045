//! Chapter 7's diagrams: which models RLHF with PPO and GRPO run and train, and the
//! four stages of DeepSeek-R1 with its two side branches.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::shapes::{
    arrow, boxed, label, legend_line, px, text, titled, Look, Rect, Swatch, ABSENT, FROZEN, INK, PLAIN, RULE, TRAINED,
};
use crate::plot::style::{PlotError, FIGURE_TITLE, FRAME, TEXT};

pub(super) const MODELS_SIZE: (u32, u32) = (960, 680);

/// A box of the models diagram: where, how, what it says.
struct Model<'a> {
    at: Rect,
    look: Look,
    lines: &'a [(&'a str, f64)],
}

/// The columns of the three boxes below the policy, and their row.
const SLOTS: [f64; 3] = [95.0, 245.0, 395.0];
const SLOT_W: f64 = 132.0;
const SLOT_Y: (f64, f64) = (200.0, 272.0);
const POLICY: Rect = Rect { x0: 120.0, y0: 52.0, x1: 370.0, y1: 118.0 };
/// The computation box (advantages) and the update path back to the policy.
const COMPUTE_Y: (f64, f64) = (350.0, 430.0);
const UPDATE_Y: f64 = 480.0;
const RETURN_X: f64 = 14.0;

fn slot(i: usize) -> Rect {
    Rect { x0: SLOTS[i] - SLOT_W / 2.0, y0: SLOT_Y.0, x1: SLOTS[i] + SLOT_W / 2.0, y1: SLOT_Y.1 }
}

/// What the two panels share: the question, the policy, the fan of answers to the
/// three slots, and the update path from the computation box back to the policy.
fn common<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    policy: &[(&str, f64)],
    answers: &str,
    fed: &[usize],
    compute: Rect,
    update: &str,
) -> Result<(), PlotError> {
    let size = 18.0;
    text(area, "question q", size, TEXT, (POLICY.cx(), 12.0), (HPos::Center, VPos::Center))?;
    arrow(area, &[(POLICY.cx(), 24.0), POLICY.top()], INK, false)?;
    boxed(area, POLICY, TRAINED, policy)?;
    let fan_y = 160.0;
    let line = INK.stroke_width(2);
    area.draw(&PathElement::new(vec![px(POLICY.bottom()), px((POLICY.cx(), fan_y))], line))?;
    let xs: Vec<f64> = fed.iter().map(|&i| SLOTS[i]).collect();
    let (lo, hi) = (xs.iter().copied().fold(f64::MAX, f64::min), xs.iter().copied().fold(f64::MIN, f64::max));
    area.draw(&PathElement::new(vec![px((lo, fan_y)), px((hi, fan_y))], line))?;
    for &x in &xs {
        arrow(area, &[(x, fan_y), (x, SLOT_Y.0)], INK, false)?;
    }
    label(area, answers, size, TEXT, (POLICY.cx() + 10.0, (POLICY.y1 + fan_y) / 2.0), (HPos::Left, VPos::Center))?;
    // The update: from the computation box down, left, and up into the policy.
    let path =
        [compute.bottom(), (compute.cx(), UPDATE_Y), (RETURN_X, UPDATE_Y), (RETURN_X, POLICY.cy()), POLICY.left()];
    arrow(area, &path, INK, false)?;
    label(area, update, size, TEXT, ((RETURN_X + compute.cx()) / 2.0 + 40.0, UPDATE_Y + 8.0), (HPos::Center, VPos::Top))
}

fn draw_ppo<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
    let compute = Rect { x0: 40.0, y0: COMPUTE_Y.0, x1: 450.0, y1: COMPUTE_Y.1 };
    let models = [
        Model { at: slot(0), look: FROZEN, lines: &[("Reference", 19.0), ("π_{ref}", 19.0)] },
        Model { at: slot(1), look: FROZEN, lines: &[("Reward", 19.0), ("model r_φ", 19.0)] },
        Model { at: slot(2), look: TRAINED, lines: &[("Critic", 19.0), ("value V_ψ", 19.0)] },
    ];
    common(
        area,
        &[("Policy π_θ (actor)", 20.0)],
        "one answer o",
        &[0, 1, 2],
        compute,
        "advantages A_t → policy update",
    )?;
    for m in &models {
        boxed(area, m.at, m.look, m.lines)?;
    }
    let size = 18.0;
    let (top, bottom) = (SLOT_Y.1, COMPUTE_Y.0);
    let mid = (top + bottom) / 2.0;
    arrow(area, &[(SLOTS[0], top), (SLOTS[0], bottom)], INK, false)?;
    label(area, "KL per token", size, TEXT, (SLOTS[0], mid), (HPos::Center, VPos::Center))?;
    arrow(area, &[(SLOTS[1], top), (SLOTS[1], bottom)], INK, false)?;
    label(area, "score r", size, TEXT, (SLOTS[1], mid), (HPos::Center, VPos::Center))?;
    // The critic gives values and learns from the returns: two arrows, side by side.
    let (down, up) = (SLOTS[2] + 22.0, SLOTS[2] - 22.0);
    arrow(area, &[(down, top), (down, bottom)], INK, false)?;
    arrow(area, &[(up, bottom), (up, top)], INK, false)?;
    text(area, "V(s_t)", size, TEXT, (down + 6.0, mid), (HPos::Left, VPos::Center))?;
    text(area, "returns", size, TEXT, (up - 6.0, mid), (HPos::Right, VPos::Center))?;
    boxed(
        area,
        compute,
        RULE,
        &[
            ("rewards r_t = score r on the last token − β·KL_t", 17.0),
            ("GAE with the critic's V(s_t)", 17.0),
            ("→ advantages A_t and returns", 17.0),
        ],
    )
}

fn draw_grpo<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
    let compute = Rect { x0: 160.0, y0: COMPUTE_Y.0, x1: 465.0, y1: COMPUTE_Y.1 };
    let models = [
        Model { at: slot(0), look: FROZEN, lines: &[("Reference", 19.0), ("π_{ref}", 19.0)] },
        Model { at: slot(1), look: RULE, lines: &[("Rule reward", 19.0), ("right? format?", 17.0)] },
        Model { at: slot(2), look: ABSENT, lines: &[("no critic", 19.0)] },
    ];
    common(area, &[("Policy π_θ", 20.0)], "G answers o_1 … o_G", &[0, 1], compute, "A_i and β·KL → policy update")?;
    for m in &models {
        boxed(area, m.at, m.look, m.lines)?;
    }
    let size = 18.0;
    let (top, bottom) = (SLOT_Y.1, COMPUTE_Y.0);
    arrow(area, &[(SLOTS[0], top), (SLOTS[0], UPDATE_Y - 2.0)], INK, false)?;
    label(area, "KL to π_{ref}", size, TEXT, (SLOTS[0], (top + bottom) / 2.0), (HPos::Center, VPos::Center))?;
    label(area, "in the loss", size, TEXT, (SLOTS[0], (top + bottom) / 2.0 + 24.0), (HPos::Center, VPos::Center))?;
    arrow(area, &[(SLOTS[1], top), (SLOTS[1], bottom)], INK, false)?;
    label(area, "r_1 … r_G", size, TEXT, (SLOTS[1], (top + bottom) / 2.0), (HPos::Center, VPos::Center))?;
    boxed(area, compute, RULE, &[("group-normalised advantage", 18.0), ("A_i = (r_i − mean r) / std r", 18.0)])
}

pub(super) fn draw_models<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
    let area = titled(root, "Models in RLHF with PPO and in GRPO", FIGURE_TITLE)?;
    let (w, h) = area.dim_in_pixel();
    let legend_h = 56;
    let body = area.clone().margin(0, legend_h, 0, 0);
    let panels = body.split_evenly((1, 2));
    for (panel, (title, ppo)) in
        panels.iter().zip([("RLHF with PPO: four models", true), ("GRPO: no critic, G answers a question", false)])
    {
        let inner = titled(panel, title, 22.0)?;
        if ppo {
            draw_ppo(&inner)?;
        } else {
            draw_grpo(&inner)?;
        }
    }
    let mid = w as i32 / 2;
    area.draw(&PathElement::new(vec![(mid, 10), (mid, h as i32 - legend_h - 10)], FRAME.mix(0.5).stroke_width(1)))?;
    legend_line(
        &area,
        (w as f64 / 2.0, h as f64 - legend_h as f64 / 2.0),
        &[
            (Swatch::Box(TRAINED), "trained"),
            (Swatch::Box(FROZEN), "frozen"),
            (Swatch::Box(RULE), "no weights (rule, formula)"),
            (Swatch::Box(ABSENT), "absent"),
        ],
        18.0,
    )
}

pub(super) const PIPELINE_SIZE: (u32, u32) = (1000, 900);

const SFT: Look = Look { fill: RGBColor(212, 236, 212), edge: RGBColor(0x2c, 0xa0, 0x2c), dashed: false };

/// DeepSeek-R1's pipeline (DeepSeek-AI, 2025): four stages from the base model down
/// the middle, R1-Zero on the left, distillation on the right.
pub(super) fn draw_pipeline<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
    let area = titled(root, "The DeepSeek-R1 pipeline", FIGURE_TITLE)?;
    let (w, h) = area.dim_in_pixel();
    let (cx, bw) = (500.0, 400.0);
    let (title, detail) = (21.0, 18.0);
    let model = |y: f64| Rect::centered((cx, y), 360.0, 50.0);
    let stage = |y: f64| Rect::centered((cx, y), bw, 96.0);
    let base = model(40.0);
    let stages = [stage(175.0), stage(320.0), stage(465.0), stage(610.0)];
    let r1 = model(740.0);
    boxed(&area, base, PLAIN, &[("DeepSeek-V3-Base (pre-trained)", title)])?;
    let contents: [(Look, [&str; 3]); 4] = [
        (SFT, ["1  Cold-start SFT", "a few thousand long,", "readable chain-of-thought examples"]),
        (
            TRAINED,
            ["2  Reasoning-oriented RL (GRPO)", "rule rewards (accuracy, format)", "+ language-consistency reward"],
        ),
        (
            SFT,
            [
                "3  Rejection sampling + SFT",
                "~600k reasoning + ~200k non-reasoning samples,",
                "fine-tuning V3-Base again",
            ],
        ),
        (
            TRAINED,
            ["4  RL for all scenarios", "rule rewards for reasoning, reward", "models for helpfulness, harmlessness"],
        ),
    ];
    for (r, (look, lines)) in stages.iter().zip(contents) {
        boxed(&area, *r, look, &[(lines[0], title), (lines[1], detail), (lines[2], detail)])?;
    }
    boxed(&area, r1, PLAIN, &[("DeepSeek-R1", title + 1.0)])?;
    arrow(&area, &[base.bottom(), stages[0].top()], INK, false)?;
    arrow(&area, &[stages[0].bottom(), stages[1].top()], INK, false)?;
    arrow(&area, &[stages[1].bottom(), stages[2].top()], INK, false)?;
    arrow(&area, &[stages[2].bottom(), stages[3].top()], INK, false)?;
    arrow(&area, &[stages[3].bottom(), r1.top()], INK, false)?;
    let note = 17.0;
    text(&area, "generates answers,", note, TEXT, (cx + 10.0, stages[1].y1 + 14.0), (HPos::Left, VPos::Center))?;
    text(&area, "keeps the correct ones", note, TEXT, (cx + 10.0, stages[1].y1 + 34.0), (HPos::Left, VPos::Center))?;

    // R1-Zero: RL straight on the base model.
    let zero = Rect { x0: 20.0, y0: 200.0, x1: 265.0, y1: 330.0 };
    boxed(
        &area,
        zero,
        TRAINED,
        &[
            ("DeepSeek-R1-Zero", title),
            ("GRPO straight on", detail),
            ("the base model,", detail),
            ("rule rewards, no SFT", detail),
        ],
    )?;
    arrow(&area, &[base.left(), (zero.cx(), base.cy()), zero.top()], INK, false)?;
    arrow(&area, &[(zero.x1, zero.y0 + 30.0), (stages[0].x0, stages[0].cy() + 10.0)], INK, true)?;
    label(&area, "dashed: some readable", note, TEXT, (zero.cx(), zero.y1 + 16.0), (HPos::Center, VPos::Center))?;
    label(
        &area,
        "outputs join the cold-start data",
        note,
        TEXT,
        (zero.cx(), zero.y1 + 38.0),
        (HPos::Center, VPos::Center),
    )?;

    // Distillation: smaller models fine-tuned on stage 3's samples.
    let distil = Rect { x0: 745.0, y0: 520.0, x1: 985.0, y1: 680.0 };
    boxed(
        &area,
        distil,
        SFT,
        &[
            ("Distillation", title),
            ("SFT of smaller Qwen", detail),
            ("and Llama models", detail),
            ("(1.5B–70B) on the", detail),
            ("800k samples; no RL", detail),
        ],
    )?;
    arrow(&area, &[stages[2].right(), (distil.cx(), stages[2].cy()), distil.top()], INK, false)?;
    label(&area, "800k samples", note, TEXT, (stages[2].x1 + 12.0, stages[2].cy() - 8.0), (HPos::Left, VPos::Bottom))?;

    legend_line(
        &area,
        (w as f64 / 2.0, h as f64 - 40.0),
        &[
            (Swatch::Box(SFT), "supervised fine-tuning"),
            (Swatch::Box(TRAINED), "reinforcement learning"),
            (Swatch::Box(PLAIN), "model (checkpoint)"),
        ],
        18.0,
    )
}
