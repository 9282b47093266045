//! Chapter 4's diagram: PPO's clipped objective as a function of the probability
//! ratio, computed by the training loss itself ([`crate::ppo::clipped_surrogate_loss`]).

use candle_core::{Device, Tensor};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::shapes::{label, legend_line, text, titled, Swatch};
use crate::plot::style::{color, tick_label, PlotError, FIGURE_TITLE, FONT, FRAME, GRID_LINE, PANEL, TEXT};
use crate::ppo::clipped_surrogate_loss;

/// The clip range of the figure: PPO's usual ε.
pub const CLIP_EPS: f64 = 0.2;

/// L^CLIP(ρ) = min(ρA, clip(ρ, 1 − ε, 1 + ε) A) for one sample with advantage A at
/// each ratio ρ > 0: minus the library's loss on a batch of one, whose log-probability
/// is log ρ against an old one of 0.
pub fn clipped_objective(rhos: &[f64], advantage: f64, eps: f64) -> Result<Vec<f64>, PlotError> {
    let candle = |e: candle_core::Error| PlotError::new(format!("the clipped objective: {e}"));
    let zero = Tensor::new(&[0.0f64], &Device::Cpu).map_err(candle)?;
    let adv = Tensor::new(&[advantage], &Device::Cpu).map_err(candle)?;
    rhos.iter()
        .map(|&rho| {
            let log_prob = Tensor::new(&[rho.ln()], &Device::Cpu).map_err(candle)?;
            let loss = clipped_surrogate_loss(&log_prob, &zero, &adv, eps).map_err(candle)?;
            Ok(-loss.to_scalar::<f64>().map_err(candle)?)
        })
        .collect()
}

pub(super) const SIZE: (u32, u32) = (1000, 600);

/// The two panels' curves, computed before any file is written.
pub(super) struct Curves {
    pub rho: Vec<f64>,
    /// (A, L^CLIP at each ρ) for A = +1 and A = −1.
    pub panels: Vec<(f64, Vec<f64>)>,
}

pub(super) fn curves() -> Result<Curves, PlotError> {
    let rho: Vec<f64> = (1..=400).map(|i| 2.0 * i as f64 / 400.0).collect();
    let panels = [1.0, -1.0]
        .into_iter()
        .map(|a| Ok((a, clipped_objective(&rho, a, CLIP_EPS)?)))
        .collect::<Result<_, PlotError>>()?;
    Ok(Curves { rho, panels })
}

const SHADE: RGBAColor = RGBAColor(120, 120, 120, 0.16);

pub(super) fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Curves) -> Result<(), PlotError> {
    let title = format!("PPO's clipped objective L^{{CLIP}}(ρ) = min(ρA, clip(ρ, 1−ε, 1+ε) A), ε = {CLIP_EPS}");
    let area = titled(root, &title, FIGURE_TITLE)?;
    let (w, h) = area.dim_in_pixel();
    let legend_h = 44;
    let halves = area.clone().margin(0, legend_h, 0, 0).split_evenly((1, 2));
    for (half, (a, l)) in halves.iter().zip(&c.panels) {
        panel(&half.clone().margin(4, 4, 8, 8), &c.rho, *a, l)?;
    }
    let entries = [
        (Swatch::Line(color(0)), "L^{CLIP}(ρ), from the training loss"),
        (Swatch::Dashed(color(7)), "ρA, unclipped"),
        (Swatch::Patch(SHADE), "flat: the sample's gradient is zero"),
    ];
    legend_line(&area, (w as f64 / 2.0, h as f64 - legend_h as f64 / 2.0), &entries, 18.0)
}

fn panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, rho: &[f64], a: f64, l: &[f64]) -> Result<(), PlotError> {
    let (subtitle, flat) = if a > 0.0 {
        ("A = +1 > 0: the action was better than expected", (1.0 + CLIP_EPS, 2.0))
    } else {
        ("A = −1 < 0: the action was worse than expected", (0.0, 1.0 - CLIP_EPS))
    };
    let area = titled(area, subtitle, PANEL.title)?;
    let (y0, y1) = (-2.1, 2.1);
    let mut chart = ChartBuilder::on(&area)
        .margin(10)
        .margin_right(16)
        .x_label_area_size(52)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..2.0, y0..y1)?;
    let fmt = |v: &f64| tick_label(*v, 2.0);
    chart
        .configure_mesh()
        .y_desc("objective for one sample")
        .axis_desc_style((FONT, PANEL.desc).into_font().color(&TEXT))
        .label_style((FONT, PANEL.tick).into_font().color(&TEXT))
        .x_labels(11)
        .y_labels(9)
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .bold_line_style(GRID_LINE)
        .light_line_style(TRANSPARENT)
        .axis_style(FRAME)
        .draw()?;
    chart.draw_series(std::iter::once(Rectangle::new([(flat.0, y0), (flat.1, y1)], SHADE.filled())))?;
    for edge in [1.0 - CLIP_EPS, 1.0 + CLIP_EPS] {
        let line = DashedPathElement::new(vec![(edge, y0), (edge, y1)], 4, 4, FRAME.stroke_width(1));
        chart.draw_series(std::iter::once(line))?;
    }
    let unclipped: Vec<(f64, f64)> = rho.iter().map(|&r| (r, r * a)).collect();
    chart.draw_series(std::iter::once(DashedPathElement::new(unclipped, 9, 6, color(7).stroke_width(2))))?;
    let clipped: Vec<(f64, f64)> = rho.iter().copied().zip(l.iter().copied()).collect();
    chart.draw_series(std::iter::once(PathElement::new(clipped, color(0).stroke_width(3))))?;

    // Pixels relative to `area`, where the labels are drawn.
    let base = area.get_base_pixel();
    let to_px = |p: (f64, f64)| {
        let (x, y) = chart.backend_coord(&p);
        ((x - base.0) as f64, (y - base.1) as f64)
    };
    let edge_y = to_px((0.0, y0)).1 - 8.0;
    let x_mid = to_px((1.0, y0)).0;
    let lo = to_px((1.0 - CLIP_EPS, y0));
    let hi = to_px((1.0 + CLIP_EPS, y0));
    let flat_mid = to_px(((flat.0 + flat.1) / 2.0, if a > 0.0 { -1.2 } else { 1.2 }));
    let root = area;
    let size = 17.0;
    let (_, h) = root.dim_in_pixel();
    let x_label = "probability ratio ρ = π_θ(a|s) / π_{old}(a|s)";
    text(&root, x_label, PANEL.desc, TEXT, (x_mid, h as f64 - 12.0), (HPos::Center, VPos::Bottom))?;
    let back = (HPos::Center, VPos::Bottom);
    label(&root, "1−ε", size, TEXT, (lo.0 - 16.0, edge_y), back)?;
    label(&root, "1+ε", size, TEXT, (hi.0 + 16.0, edge_y), back)?;
    label(&root, "flat:", size + 1.0, TEXT, (flat_mid.0, flat_mid.1 - 12.0), (HPos::Center, VPos::Center))?;
    label(&root, "zero gradient", size + 1.0, TEXT, (flat_mid.0, flat_mid.1 + 12.0), (HPos::Center, VPos::Center))?;
    Ok(())
}
