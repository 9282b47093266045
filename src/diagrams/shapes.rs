//! The few shapes the diagrams are made of: boxes with centred lines of text, arrows
//! along a path, labels on a white backing, legend rows. Everything is in pixels of
//! the area drawn on, with (0, 0) at its top-left corner.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::plot::style::{text_size, text_style, title_band, PlotError, FRAME, TEXT};

pub(super) type Pt = (f64, f64);

/// A point in whole pixels.
pub(super) fn px((x, y): Pt) -> (i32, i32) {
    (x.round() as i32, y.round() as i32)
}

/// Fill colours of the diagrams' boxes, shared so that a colour means one thing in
/// every diagram: orange = trained, blue = frozen, grey = no weights (a rule, a formula).
pub(super) const TRAINED: Look =
    Look { fill: RGBColor(255, 221, 182), edge: RGBColor(0xd9, 0x6a, 0x0b), dashed: false };
pub(super) const FROZEN: Look = Look { fill: RGBColor(204, 224, 245), edge: RGBColor(0x1f, 0x77, 0xb4), dashed: false };
pub(super) const RULE: Look = Look { fill: RGBColor(236, 236, 236), edge: FRAME, dashed: false };
pub(super) const PLAIN: Look = Look { fill: WHITE, edge: FRAME, dashed: false };
pub(super) const ABSENT: Look = Look { fill: WHITE, edge: RGBColor(160, 160, 160), dashed: true };
/// Arrows and their labels.
pub(super) const INK: RGBColor = RGBColor(45, 45, 45);
pub(super) const MUTED: RGBColor = RGBColor(120, 120, 120);

/// How a box is drawn.
#[derive(Clone, Copy, Debug)]
pub(super) struct Look {
    pub fill: RGBColor,
    pub edge: RGBColor,
    pub dashed: bool,
}

/// An axis-aligned rectangle in pixels.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    pub fn centered((cx, cy): Pt, w: f64, h: f64) -> Rect {
        Rect { x0: cx - w / 2.0, y0: cy - h / 2.0, x1: cx + w / 2.0, y1: cy + h / 2.0 }
    }

    pub fn cx(&self) -> f64 {
        (self.x0 + self.x1) / 2.0
    }

    pub fn cy(&self) -> f64 {
        (self.y0 + self.y1) / 2.0
    }

    /// Midpoints of the four sides.
    pub fn top(&self) -> Pt {
        (self.cx(), self.y0)
    }

    pub fn bottom(&self) -> Pt {
        (self.cx(), self.y1)
    }

    pub fn left(&self) -> Pt {
        (self.x0, self.cy())
    }

    pub fn right(&self) -> Pt {
        (self.x1, self.cy())
    }
}

/// A piece of a line of text: normal, subscript or superscript.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Script {
    Normal,
    Sub,
    Super,
}

/// Splits a line written with TeX-like marks into pieces: `_x` or `_{...}` is a
/// subscript, `^x` or `^{...}` a superscript ("s_{t+1}", "π_θ", "L^{CLIP}"). The
/// font's own subscript glyphs are too small to read, so subscripts are drawn as
/// smaller text, lowered.
fn pieces(s: &str) -> Vec<(String, Script)> {
    let mut out: Vec<(String, Script)> = Vec::new();
    let mut chars = s.chars().peekable();
    let mut normal = String::new();
    while let Some(c) = chars.next() {
        let script = match c {
            '_' => Script::Sub,
            '^' => Script::Super,
            _ => {
                normal.push(c);
                continue;
            }
        };
        let mut piece = String::new();
        if chars.peek() == Some(&'{') {
            chars.next();
            for d in chars.by_ref() {
                if d == '}' {
                    break;
                }
                piece.push(d);
            }
        } else if let Some(d) = chars.next() {
            piece.push(d);
        }
        if !normal.is_empty() {
            out.push((std::mem::take(&mut normal), Script::Normal));
        }
        out.push((piece, script));
    }
    if !normal.is_empty() {
        out.push((normal, Script::Normal));
    }
    out
}

/// Size of a sub- or superscript relative to the line.
const SCRIPT: f64 = 0.72;

/// A hair of space before a sub- or superscript, which the advance widths leave tight.
fn script_gap(size: f64, script: Script) -> f64 {
    if script == Script::Normal {
        0.0
    } else {
        0.06 * size
    }
}

fn piece_size(size: f64, script: Script) -> f64 {
    if script == Script::Normal {
        size
    } else {
        size * SCRIPT
    }
}

/// Width in pixels of a marked-up line.
pub(super) fn rich_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    size: f64,
) -> Result<f64, PlotError> {
    let mut w = 0.0;
    for (p, script) in pieces(s) {
        w += text_size(area, &p, piece_size(size, script))?.0 as f64 + script_gap(size, script);
    }
    Ok(w)
}

/// The largest size up to `preferred` at which the marked-up line fits `max_width`.
fn rich_fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    preferred: f64,
    max_width: f64,
) -> Result<f64, PlotError> {
    let w = rich_width(area, s, preferred)?;
    Ok(if w <= max_width || w == 0.0 { preferred } else { (preferred * max_width / w).max(6.0) })
}

/// The top-left corner of a line of text `width` wide, anchored at `at` by (h, v);
/// plotters' text box is size / 1.24 high.
fn top_left(at: Pt, width: f64, size: f64, (h, v): (HPos, VPos)) -> Pt {
    let height = size / 1.24;
    let x = match h {
        HPos::Left => at.0,
        HPos::Center => at.0 - width / 2.0,
        HPos::Right => at.0 - width,
    };
    let y = match v {
        VPos::Top => at.1,
        VPos::Center => at.1 - height / 2.0,
        VPos::Bottom => at.1 - height,
    };
    (x, y)
}

/// One line of text (with `_` and `^` marks) at `at`, anchored by (h, v).
pub(super) fn text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    size: f64,
    color: RGBColor,
    at: Pt,
    (h, v): (HPos, VPos),
) -> Result<(), PlotError> {
    let (mut x, top) = top_left(at, rich_width(area, s, size)?, size, (h, v));
    // The baseline sits size / 2 below the box's top; every piece is placed by its top
    // so that all share the line's baseline.
    let baseline = top + size / 2.0;
    for (p, script) in pieces(s) {
        let ps = piece_size(size, script);
        let shift = match script {
            Script::Normal => 0.0,
            Script::Sub => 0.22 * size,
            Script::Super => -0.38 * size,
        };
        let y = baseline + shift - ps / 2.0;
        x += script_gap(size, script);
        area.draw(&Text::new(p.clone(), px((x, y)), text_style(ps, color, HPos::Left, VPos::Top)))?;
        x += text_size(area, &p, ps)?.0 as f64;
    }
    Ok(())
}

/// Lines centred on `center` as a block, each shrunk if needed to fit `max_width`.
pub(super) fn text_block<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    lines: &[(&str, f64)],
    color: RGBColor,
    center: Pt,
    max_width: f64,
) -> Result<(), PlotError> {
    let gap = |size: f64| size * 1.3;
    let total: f64 = lines.iter().map(|&(_, size)| gap(size)).sum();
    let mut y = center.1 - total / 2.0;
    for &(line, size) in lines {
        let size = rich_fit(area, line, size, max_width)?;
        let at = (center.0, y + gap(size) / 2.0);
        text(area, line, size, color, at, (HPos::Center, VPos::Center))?;
        y += gap(size);
    }
    Ok(())
}

/// The outline of `r`, solid or dashed.
fn outline<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, r: Rect, look: Look) -> Result<(), PlotError> {
    let corners = vec![px((r.x0, r.y0)), px((r.x1, r.y0)), px((r.x1, r.y1)), px((r.x0, r.y1)), px((r.x0, r.y0))];
    let stroke = look.edge.stroke_width(2);
    if look.dashed {
        area.draw(&DashedPathElement::new(corners, 7, 5, stroke))?;
    } else {
        area.draw(&PathElement::new(corners, stroke))?;
    }
    Ok(())
}

/// A box with its lines of text centred inside.
pub(super) fn boxed<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    r: Rect,
    look: Look,
    lines: &[(&str, f64)],
) -> Result<(), PlotError> {
    area.draw(&Rectangle::new([px((r.x0, r.y0)), px((r.x1, r.y1))], look.fill.filled()))?;
    outline(area, r, look)?;
    let ink = if look.dashed { MUTED } else { TEXT };
    text_block(area, lines, ink, (r.cx(), r.cy()), r.x1 - r.x0 - 12.0)
}

/// A line through `path` with a filled head at its last point.
pub(super) fn arrow<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    path: &[Pt],
    color: RGBColor,
    dashed: bool,
) -> Result<(), PlotError> {
    let [.., from, to] = path else {
        return Err(PlotError::new("an arrow needs two points"));
    };
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let len = dx.hypot(dy).max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    let head = 14.0;
    // The shaft stops inside the head, so its square end never shows past the tip.
    let neck = (to.0 - ux * head * 0.7, to.1 - uy * head * 0.7);
    let mut points: Vec<(i32, i32)> = path[..path.len() - 1].iter().map(|&p| px(p)).collect();
    points.push(px(neck));
    let stroke = color.stroke_width(2);
    if dashed {
        area.draw(&DashedPathElement::new(points, 8, 6, stroke))?;
    } else {
        area.draw(&PathElement::new(points, stroke))?;
    }
    let base = (to.0 - ux * head, to.1 - uy * head);
    let (nx, ny) = (-uy * head * 0.42, ux * head * 0.42);
    let tri = vec![px(*to), px((base.0 + nx, base.1 + ny)), px((base.0 - nx, base.1 - ny))];
    area.draw(&Polygon::new(tri, color.filled()))?;
    Ok(())
}

/// Text on a white backing, so that it stays readable over lines.
pub(super) fn label<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    size: f64,
    color: RGBColor,
    at: Pt,
    (h, v): (HPos, VPos),
) -> Result<(), PlotError> {
    let (w, ht) = (rich_width(area, s, size)?, size / 1.24);
    let (x0, y0) = top_left(at, w, size, (h, v));
    let pad = 3.0;
    area.draw(&Rectangle::new([px((x0 - pad, y0 - pad)), px((x0 + w + pad, y0 + ht + pad))], WHITE.filled()))?;
    text(area, s, size, color, (x0, y0), (HPos::Left, VPos::Top))
}

/// What a legend row shows before its label.
#[derive(Clone, Copy, Debug)]
pub(super) enum Swatch {
    Box(Look),
    Line(RGBColor),
    Dashed(RGBColor),
    Patch(RGBAColor),
}

/// A legend row: the swatch, then the label; returns the row's right edge.
pub(super) fn legend_row<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): Pt,
    swatch: Swatch,
    s: &str,
    size: f64,
) -> Result<f64, PlotError> {
    let (w, h) = (34.0, size * 0.9);
    let r = Rect { x0: x, y0: y - h / 2.0, x1: x + w, y1: y + h / 2.0 };
    match swatch {
        Swatch::Box(look) => {
            area.draw(&Rectangle::new([px((r.x0, r.y0)), px((r.x1, r.y1))], look.fill.filled()))?;
            outline(area, r, look)?;
        }
        Swatch::Line(c) => {
            area.draw(&PathElement::new(vec![px((x, y)), px((x + w, y))], c.stroke_width(3)))?;
        }
        Swatch::Dashed(c) => {
            area.draw(&DashedPathElement::new(vec![px((x, y)), px((x + w, y))], 7, 4, c.stroke_width(2)))?;
        }
        Swatch::Patch(c) => {
            area.draw(&Rectangle::new([px((r.x0, r.y0)), px((r.x1, r.y1))], c.filled()))?;
        }
    }
    text(area, s, size, TEXT, (x + w + 8.0, y), (HPos::Left, VPos::Center))?;
    Ok(x + w + 8.0 + rich_width(area, s, size)?)
}

/// Width in pixels of a legend row, to centre a row of them.
pub(super) fn legend_row_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    s: &str,
    size: f64,
) -> Result<f64, PlotError> {
    Ok(34.0 + 8.0 + rich_width(area, s, size)?)
}

/// A horizontal row of legend entries centred on `cx`.
pub(super) fn legend_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (cx, y): Pt,
    entries: &[(Swatch, &str)],
    size: f64,
) -> Result<(), PlotError> {
    let gap = 30.0;
    let mut widths = Vec::new();
    for (_, s) in entries {
        widths.push(legend_row_width(area, s, size)?);
    }
    let total: f64 = widths.iter().sum::<f64>() + gap * (entries.len().saturating_sub(1)) as f64;
    let mut x = cx - total / 2.0;
    for ((swatch, s), w) in entries.iter().zip(widths) {
        legend_row(area, (x, y), *swatch, s, size)?;
        x += w + gap;
    }
    Ok(())
}

/// [`crate::plot::style::titled`] for a title with `_` and `^` marks: draws it centred at
/// the top of `area` and returns the area below.
pub(super) fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    size: f64,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    let (w, _) = area.dim_in_pixel();
    let band = title_band(title, size);
    let size = rich_fit(area, title, size, w as f64 - 40.0)?;
    text(area, title, size, TEXT, (w as f64 / 2.0, band as f64 / 2.0 + 2.0), (HPos::Center, VPos::Center))?;
    Ok(area.clone().margin(band, 0, 0, 0))
}
