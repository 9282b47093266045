//! Chapter 3's diagram: in parameter space the KL trust region is an ellipse, and a
//! step of fixed Euclidean length along the gradient leaves it, while the natural
//! step F⁻¹g scaled to its edge does not. Both steps come from the same functions as
//! TRPO's update ([`crate::trpo::conjugate_gradient`], [`crate::trpo::trust_region_scale`]).

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::shapes::{arrow, label, legend_row, text, titled, Swatch, INK};
use crate::plot::style::{color, tick_label, PlotError, FIGURE_TITLE, FONT, FRAME, GRID_LINE, SINGLE, TEXT};
use crate::trpo::{conjugate_gradient, trust_region_scale};

type M2 = [[f64; 2]; 2];

fn mul(m: &M2, v: &[f64]) -> Vec<f64> {
    vec![m[0][0] * v[0] + m[0][1] * v[1], m[1][0] * v[0] + m[1][1] * v[1]]
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// λ₁ u uᵀ + λ₂ v vᵀ with u at `angle` radians and v perpendicular to it.
fn from_eigen(lambda1: f64, lambda2: f64, angle: f64) -> M2 {
    let (c, s) = (angle.cos(), angle.sin());
    [
        [lambda1 * c * c + lambda2 * s * s, (lambda1 - lambda2) * c * s],
        [(lambda1 - lambda2) * c * s, lambda1 * s * s + lambda2 * c * c],
    ]
}

/// A two-parameter example of TRPO's step: the Fisher matrix F (curvature 10 along
/// one direction, 0.4 across it), the gradient g of a smooth objective, the KL
/// radius δ, and the two steps from the current parameters.
#[derive(Clone, Debug)]
pub struct TrustRegionExample {
    pub fisher: M2,
    pub gradient: Vec<f64>,
    pub delta: f64,
    /// √(2δ / gᵀF⁻¹g) · F⁻¹g, with F⁻¹g from conjugate gradient.
    pub natural_step: Vec<f64>,
    /// Along g, as long (in Euclidean length) as the natural step.
    pub fixed_step: Vec<f64>,
    /// The objective J(θ) = gᵀθ − ½ θᵀHθ around the current parameters θ = 0.
    pub objective_hessian: M2,
}

impl TrustRegionExample {
    /// The quadratic model of the KL that TRPO bounds: ½ sᵀF s.
    pub fn kl(&self, s: &[f64]) -> f64 {
        0.5 * dot(s, &mul(&self.fisher, s))
    }

    fn objective(&self, t: &[f64]) -> f64 {
        dot(&self.gradient, t) - 0.5 * dot(t, &mul(&self.objective_hessian, t))
    }
}

/// The Fisher matrix's curvatures: a policy far more sensitive to one direction of
/// its parameters than to the other.
const STIFF: f64 = 10.0;
const SOFT: f64 = 0.4;

pub fn trust_region_example() -> TrustRegionExample {
    let fisher = from_eigen(STIFF, SOFT, 30f64.to_radians());
    let gradient = vec![1.0, 0.1];
    let delta = 0.02;
    // Two conjugate-gradient iterations solve a 2x2 system exactly.
    let x = conjugate_gradient(|v| mul(&fisher, v), &gradient, 0.0, 10, 1e-30).x;
    let beta = trust_region_scale(&x, &mul(&fisher, &x), delta);
    let natural_step: Vec<f64> = x.iter().map(|v| beta * v).collect();
    let length = dot(&natural_step, &natural_step).sqrt();
    let g_norm = dot(&gradient, &gradient).sqrt();
    let fixed_step = gradient.iter().map(|v| v / g_norm * length).collect();
    let objective_hessian = [[1.2, 0.3], [0.3, 0.8]];
    TrustRegionExample { fisher, gradient, delta, natural_step, fixed_step, objective_hessian }
}

pub(super) const SIZE: (u32, u32) = (1000, 700);

/// Points of the ellipse ½ (θ − c)ᵀ M (θ − c) = level, as a closed path.
fn ellipse(m: &M2, center: (f64, f64), level: f64) -> Vec<(f64, f64)> {
    let n = 2000;
    (0..=n)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / n as f64;
            let d = [t.cos(), t.sin()];
            let r = (2.0 * level / dot(&d, &mul(m, &d))).sqrt();
            (center.0 + r * d[0], center.1 + r * d[1])
        })
        .collect()
}

/// The runs of `path` that lie inside the square |x|, |y| ≤ half.
fn inside(path: &[(f64, f64)], half: f64) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for &p in path {
        if p.0.abs() <= half && p.1.abs() <= half {
            runs.last_mut().expect("runs is never empty").push(p);
        } else if !runs.last().is_some_and(Vec::is_empty) {
            runs.push(Vec::new());
        }
    }
    runs.into_iter().filter(|r| r.len() > 1).collect()
}

pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ex: &TrustRegionExample,
) -> Result<(), PlotError> {
    let title = "Trust region vs a fixed step in parameter space";
    let area = titled(root, title, FIGURE_TITLE)?;
    let (plot_area, side) = area.split_horizontally(620);
    let half = 0.4;
    let (pw, ph) = plot_area.dim_in_pixel();
    // Equal pixels per unit on both axes, so the KL ellipse has its true shape.
    let (y_area, x_area, margin) = (62, 56, 14);
    let side_px = (pw as i32 - y_area - 2 * margin).min(ph as i32 - x_area - 2 * margin);
    let mut chart = ChartBuilder::on(&plot_area)
        .margin_left(margin)
        .margin_right(pw as i32 - y_area - margin - side_px)
        .margin_top(margin)
        .margin_bottom(ph as i32 - x_area - margin - side_px)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(-half..half, -half..half)?;
    let fmt = |v: &f64| tick_label(*v, 2.0 * half);
    chart
        .configure_mesh()
        .x_desc("step along parameter 1")
        .y_desc("step along parameter 2")
        .axis_desc_style((FONT, SINGLE.desc).into_font().color(&TEXT))
        .label_style((FONT, SINGLE.tick).into_font().color(&TEXT))
        .x_labels(9)
        .y_labels(9)
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .bold_line_style(GRID_LINE)
        .light_line_style(TRANSPARENT)
        .axis_style(FRAME)
        .draw()?;

    // Contours of the objective: ellipses around its maximum H⁻¹g, at evenly spaced values.
    let hx = conjugate_gradient(|v| mul(&ex.objective_hessian, v), &ex.gradient, 0.0, 10, 1e-30).x;
    let (best, j_max) = ((hx[0], hx[1]), ex.objective(&hx));
    let contour = RGBColor(150, 150, 150);
    for k in -6..=6 {
        let level = 0.1 * k as f64;
        for run in inside(&ellipse(&ex.objective_hessian, best, j_max - level), half) {
            chart.draw_series(std::iter::once(PathElement::new(run, contour.stroke_width(1))))?;
        }
    }
    let region = ellipse(&ex.fisher, (0.0, 0.0), ex.delta);
    chart.draw_series(std::iter::once(Polygon::new(region.clone(), color(0).mix(0.18).filled())))?;
    chart.draw_series(std::iter::once(PathElement::new(region, color(0).stroke_width(2))))?;
    // The gradient's direction, dashed, across the whole plot.
    let g_norm = dot(&ex.gradient, &ex.gradient).sqrt();
    let reach = 0.98 * half / ex.gradient[0].abs().max(ex.gradient[1].abs());
    let far = (ex.gradient[0] * reach, ex.gradient[1] * reach);
    chart.draw_series(std::iter::once(DashedPathElement::new(vec![(0.0, 0.0), far], 8, 6, INK.stroke_width(2))))?;

    // The two steps as arrows, in pixels of the whole figure.
    let to_px = |p: (f64, f64)| {
        let (x, y) = chart.backend_coord(&p);
        (x as f64, y as f64)
    };
    let origin = to_px((0.0, 0.0));
    let fixed = to_px((ex.fixed_step[0], ex.fixed_step[1]));
    let natural = to_px((ex.natural_step[0], ex.natural_step[1]));
    let grad_end = to_px((ex.gradient[0] / g_norm * half * 0.92, ex.gradient[1] / g_norm * half * 0.92));
    arrow(root, &[origin, fixed], color(3), false)?;
    arrow(root, &[origin, natural], color(2), false)?;
    root.draw(&Circle::new((origin.0 as i32, origin.1 as i32), 5, INK.filled()))?;
    label(root, "θ_{old}", 19.0, TEXT, (origin.0 - 10.0, origin.1 - 8.0), (HPos::Right, VPos::Bottom))?;
    label(root, "g", 20.0, TEXT, (grad_end.0, grad_end.1 - 10.0), (HPos::Center, VPos::Bottom))?;

    // The key on the right, with the numbers of this example.
    let (x, mut y) = (8.0, 30.0);
    let size = 19.0;
    let rows = [
        (Swatch::Patch(color(0).mix(0.3)), "KL region ½ s^T F s ≤ δ".to_string()),
        (Swatch::Line(RGBColor(150, 150, 150)), "contours of the objective J".to_string()),
        (Swatch::Dashed(INK), "gradient direction g".to_string()),
        (Swatch::Line(color(3)), "fixed step along g".to_string()),
        (Swatch::Line(color(2)), "natural step, scaled to δ".to_string()),
    ];
    for (swatch, s) in &rows {
        legend_row(&side, (x, y), *swatch, s, size)?;
        y += 34.0;
    }
    let len = dot(&ex.natural_step, &ex.natural_step).sqrt();
    let kl_fixed = ex.kl(&ex.fixed_step);
    let lines = [
        format!("δ = {}", ex.delta),
        "both steps have length ‖s‖ = ".to_string() + &format!("{len:.2}"),
        String::new(),
        "fixed step:".to_string(),
        format!("  ½ s^T F s = {kl_fixed:.3} = {:.0} δ", kl_fixed / ex.delta),
        String::new(),
        "natural step:".to_string(),
        "  s = √(2δ / g^T F^{−1} g) · F^{−1} g".to_string(),
        format!("  ½ s^T F s = {:.3} = δ", ex.kl(&ex.natural_step)),
        String::new(),
        format!("F: curvature {STIFF} along one axis"),
        format!("of the ellipse, {SOFT} along the other"),
    ];
    y += 14.0;
    for l in &lines {
        text(&side, l, size, TEXT, (x, y), (HPos::Left, VPos::Center))?;
        y += 27.0;
    }
    Ok(())
}
