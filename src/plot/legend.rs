//! Where to put a legend so that it hides as little data as possible.
//!
//! Everything here works in pixels relative to the plotting area's top-left corner:
//! the caller maps its data to pixels, the legend picks the emptiest corner, and if
//! every corner hides data the caller can add head-room above the data.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{text_size, text_style, PlotError, FRAME, TEXT};

/// Width of the marker column in the legend and the padding inside its frame.
const MARKER_AREA: i32 = 34;
const PADDING: i32 = 8;
/// Gap between the legend frame and the plotting area's edge.
const INSET: i32 = 8;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Corner {
    UpperRight,
    UpperLeft,
    LowerRight,
    LowerLeft,
}

impl Corner {
    /// Upper corners first: a legend at the top is where readers look for it.
    const ALL: [Corner; 4] = [Corner::UpperRight, Corner::UpperLeft, Corner::LowerRight, Corner::LowerLeft];

    fn origin(self, plot: (i32, i32), legend: (i32, i32)) -> (i32, i32) {
        let left = INSET;
        let right = plot.0 - legend.0 - INSET;
        let top = INSET;
        let bottom = plot.1 - legend.1 - INSET;
        match self {
            Corner::UpperRight => (right, top),
            Corner::UpperLeft => (left, top),
            Corner::LowerRight => (right, bottom),
            Corner::LowerLeft => (left, bottom),
        }
    }

    pub(crate) fn is_upper(self) -> bool {
        matches!(self, Corner::UpperRight | Corner::UpperLeft)
    }
}

/// What a legend row shows before its label.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Marker {
    /// A line, over a patch of the band's shade when `shaded`.
    Band { color: RGBColor, shaded: bool },
    /// A dashed reference line.
    Dashed { color: RGBColor },
    /// A small error bar.
    ErrorBar,
}

pub(crate) struct Entry {
    pub label: String,
    pub marker: Marker,
}

fn row_height(font_px: f64) -> i32 {
    (font_px * 1.45).round() as i32
}

/// The legend's frame size in pixels.
pub(crate) fn legend_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    font_px: f64,
) -> Result<(i32, i32), PlotError> {
    let mut widest = 0;
    for e in entries {
        widest = widest.max(text_size(area, &e.label, font_px)?.0);
    }
    let n = entries.len() as i32;
    Ok((widest + MARKER_AREA + 2 * PADDING, n * row_height(font_px) + PADDING))
}

/// Number of obstacle points the legend would cover in this corner (with a few
/// pixels of slack so lines grazing the frame count too).
fn covered(origin: (i32, i32), legend: (i32, i32), points: &[(i32, i32)]) -> usize {
    let slack = 4;
    points
        .iter()
        .filter(|(x, y)| {
            *x >= origin.0 - slack
                && *x <= origin.0 + legend.0 + slack
                && *y >= origin.1 - slack
                && *y <= origin.1 + legend.1 + slack
        })
        .count()
}

/// The corner whose legend covers the fewest points, and how many it covers.
pub(crate) fn best_corner(
    plot: (i32, i32),
    legend: (i32, i32),
    points: &[(i32, i32)],
    upper_only: bool,
) -> (Corner, usize) {
    Corner::ALL
        .iter()
        .filter(|c| !upper_only || c.is_upper())
        .map(|&c| (c, covered(c.origin(plot, legend), legend, points)))
        // min_by_key keeps the first of equals, so the order of ALL breaks ties.
        .min_by_key(|&(_, n)| n)
        .unwrap_or((Corner::UpperRight, 0))
}

/// Pixels the legend needs at the top of the plot, frame and gaps included.
pub(crate) fn top_room(legend: (i32, i32)) -> i32 {
    legend.1 + 2 * INSET
}

/// Adds points every few pixels along the segment a-b, so a long straight line
/// through a corner counts as much as a wiggly one.
pub(crate) fn sample_segment(a: (f64, f64), b: (f64, f64), out: &mut Vec<(i32, i32)>) {
    let len = (b.0 - a.0).hypot(b.1 - a.1);
    let steps = (len / 4.0).ceil().clamp(1.0, 10_000.0) as usize;
    for k in 0..=steps {
        let t = k as f64 / steps as f64;
        out.push(((a.0 + t * (b.0 - a.0)).round() as i32, (a.1 + t * (b.1 - a.1)).round() as i32));
    }
}

/// Draws the legend in the chosen corner of `plot` (the plotting area, in pixels):
/// white, slightly see-through background so the grid still shows, a thin frame.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    corner: Corner,
    size: (i32, i32),
    entries: &[Entry],
    font_px: f64,
) -> Result<(), PlotError> {
    let (w, h) = plot.dim_in_pixel();
    let (x, y) = corner.origin((w as i32, h as i32), size);
    let frame = [(x, y), (x + size.0, y + size.1)];
    plot.draw(&Rectangle::new(frame, WHITE.mix(0.85).filled()))?;
    plot.draw(&Rectangle::new(frame, FRAME))?;
    let row = row_height(font_px);
    for (i, e) in entries.iter().enumerate() {
        let cy = y + PADDING / 2 + row * i as i32 + row / 2;
        draw_marker(plot, e.marker, (x + PADDING, cy))?;
        // The bitmap font sits a little high when centred; nudge it to the marker.
        let at = (x + PADDING + MARKER_AREA, cy + (font_px * 0.08) as i32);
        let style = text_style(font_px, TEXT, HPos::Left, VPos::Center);
        plot.draw(&Text::new(e.label.clone(), at, style))?;
    }
    Ok(())
}

fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    marker: Marker,
    (x, y): (i32, i32),
) -> Result<(), PlotError> {
    let len = MARKER_AREA - 10;
    match marker {
        Marker::Band { color, shaded } => {
            if shaded {
                area.draw(&Rectangle::new([(x, y - 7), (x + len, y + 7)], color.mix(0.2).filled()))?;
            }
            area.draw(&PathElement::new(vec![(x, y), (x + len, y)], color.stroke_width(2)))?;
        }
        Marker::Dashed { color } => {
            let dashed = DashedPathElement::new(vec![(x, y), (x + len, y)], 7, 4, color.stroke_width(2));
            area.draw(&dashed)?;
        }
        Marker::ErrorBar => {
            let (c, dark) = (x + len / 2, RGBColor(40, 40, 40).stroke_width(2));
            for path in [[(c, y - 8), (c, y + 8)], [(c - 6, y - 8), (c + 6, y - 8)], [(c - 6, y + 8), (c + 6, y + 8)]] {
                area.draw(&PathElement::new(path.to_vec(), dark))?;
            }
        }
    }
    Ok(())
}
