//! Bar charts: one bar per category, optional ± std error bars, the value printed
//! on each bar.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::legend;
use super::style::{
    self, color, text_size, text_style, tick_label, titled, Figure, PlotError, Sizes, FONT, GRID_LINE, SINGLE, TEXT,
};

/// A bar chart, optionally with error bars (std) and a value printed above each bar.
#[derive(Clone, Debug, Default)]
pub struct Bars {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub values: Vec<f64>,
    /// One standard deviation per bar, drawn as an error bar of ± that much.
    pub errors: Option<Vec<f64>>,
}

/// Draws a bar chart into `<stem>.png` and `<stem>.svg` (1000x600 px, wider for many bars).
pub fn bars(stem: &Path, bars: &Bars) -> Result<Vec<String>, PlotError> {
    check(bars)?;
    style::save(stem, &BarFigure(bars))
}

/// Draws several bar charts as panels of a grid with `cols` columns under one title
/// (bar i has the same colour in every panel, so one category keeps its colour).
pub fn bars_panels(stem: &Path, title: &str, panels: &[Bars], cols: usize) -> Result<Vec<String>, PlotError> {
    if panels.is_empty() {
        return Err(PlotError::new("bars_panels: no panels to draw"));
    }
    for b in panels {
        check(b)?;
    }
    style::save(stem, &BarPanels { title, panels, cols: cols.clamp(1, panels.len()) })
}

struct BarPanels<'a> {
    title: &'a str,
    panels: &'a [Bars],
    cols: usize,
}

impl Figure for BarPanels<'_> {
    fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.cols) as u32;
        let w = (1100 / self.cols as u32).clamp(500, 640);
        let h = w * 7 / 10;
        (w * self.cols as u32, h * rows + style::title_band(self.title, style::FIGURE_TITLE))
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let body = titled(root, self.title, style::FIGURE_TITLE)?;
        let areas = body.split_evenly((self.panels.len().div_ceil(self.cols), self.cols));
        for (area, b) in areas.iter().zip(self.panels) {
            draw_bars(&area.clone().margin(4, 4, 8, 8), b, style::PANEL)?;
        }
        Ok(())
    }
}

fn check(b: &Bars) -> Result<(), PlotError> {
    if b.values.is_empty() {
        return Err(PlotError::new(format!("bar chart '{}': no bars", b.title)));
    }
    if b.categories.len() != b.values.len() {
        return Err(PlotError::new(format!(
            "bar chart '{}': {} categories but {} values",
            b.title,
            b.categories.len(),
            b.values.len()
        )));
    }
    match &b.errors {
        Some(e) if e.len() != b.values.len() => Err(PlotError::new(format!(
            "bar chart '{}': {} error bars but {} values",
            b.title,
            e.len(),
            b.values.len()
        ))),
        _ => Ok(()),
    }
}

/// Room left of the y-axis title so it never touches the image edge.
const LEFT: i32 = 8;
const ERROR_NOTE: &str = "error bars: ± 1 std";
/// Half the width of a bar and of an error bar's cap, in category units.
const HALF_BAR: f64 = 0.3;
const HALF_CAP: f64 = 0.08;

struct BarFigure<'a>(&'a Bars);

impl Figure for BarFigure<'_> {
    fn size(&self) -> (u32, u32) {
        ((self.0.values.len() as u32 * 90).clamp(1000, 2400), 600)
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        draw_bars(root, self.0, SINGLE)
    }
}

impl Bars {
    fn error(&self, i: usize) -> f64 {
        let e = self.errors.as_ref().map_or(0.0, |e| e[i].abs());
        if e.is_finite() {
            e
        } else {
            0.0
        }
    }

    /// The far end of bar i: the error bar's tip when there is one.
    fn reach(&self, i: usize) -> f64 {
        let v = self.values[i];
        if v < 0.0 {
            v - self.error(i)
        } else {
            v + self.error(i)
        }
    }

    /// "12.3" or "12.3 ± 1.2": as many decimals as the largest value needs.
    fn value_text(&self, i: usize) -> String {
        let scale = self.values.iter().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs()));
        let v = tick_label(self.values[i], scale);
        match &self.errors {
            Some(e) if e[i].is_finite() => format!("{v} ± {}", tick_label(e[i].abs(), scale)),
            _ => v,
        }
    }
}

/// Pixel geometry decided before plotters builds the chart.
struct Layout {
    y_area: i32,
    x_area: i32,
    top: i32,
    right: i32,
    plot: (i32, i32),
    y_range: (f64, f64),
    label_px: f64,
    /// Each category name broken into lines that fit under its bar.
    label_lines: Vec<Vec<String>>,
    value_px: f64,
    legend: Option<(legend::Corner, (i32, i32))>,
}

impl Layout {
    fn new<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, b: &Bars, sizes: Sizes) -> Result<Self, PlotError> {
        let n = b.values.len();
        let (w, h) = area.dim_in_pixel();
        let (_, tick_h) = text_size(area, "0", sizes.tick)?;
        let desc = |l: &str| {
            if l.is_empty() {
                0
            } else {
                (sizes.desc * 1.6) as i32
            }
        };
        let finite = |i: &usize| b.values[*i].is_finite();
        let lo0 = (0..n).filter(finite).map(|i| b.reach(i)).fold(0.0f64, f64::min);
        let hi0 = (0..n).filter(finite).map(|i| b.reach(i)).fold(0.0f64, f64::max);
        let span = if hi0 > lo0 { hi0 - lo0 } else { 1.0 };
        let mut widest = 0;
        for k in 0..=10 {
            let label = tick_label(lo0 + span * k as f64 / 10.0, span);
            widest = widest.max(text_size(area, &label, sizes.tick)?.0);
        }
        let y_area = widest + 14 + desc(&b.y_label);
        let (top, right) = (tick_h / 2 + 6, 20);
        // Category names and values shrink rather than run into their neighbours.
        let slot = (w as i32 - LEFT - y_area - right) as f64 / n as f64;
        // Long category names wrap at spaces; only a single word too long for its
        // slot makes the text smaller.
        let words = b.categories.iter().flat_map(|c| c.split_whitespace().map(String::from));
        let label_px = shrink_to(area, words, sizes.tick, slot * 0.95)?;
        let label_lines =
            b.categories.iter().map(|c| wrap(area, c, label_px, slot * 0.85)).collect::<Result<Vec<_>, _>>()?;
        let max_lines = label_lines.iter().map(Vec::len).max().unwrap_or(1) as i32;
        let value_px = shrink_to(area, (0..n).map(|i| b.value_text(i)), sizes.tick, slot * 0.98)?;
        let x_area = max_lines * line_height(label_px) + 14 + desc(&b.x_label);
        let plot = ((w as i32 - LEFT - y_area - right).max(10), (h as i32 - x_area - top).max(10));
        let y_range = (lo0, hi0);
        let mut layout =
            Layout { y_area, x_area, top, right, plot, y_range, label_px, label_lines, value_px, legend: None };
        layout.fit_y(b, lo0, hi0);
        layout.place_legend(area, b, sizes)?;
        Ok(layout)
    }

    /// Bars rest on zero; beyond the longest bar leave 5 % and room for its value text.
    fn fit_y(&mut self, b: &Bars, lo0: f64, hi0: f64) {
        let span = if hi0 > lo0 { hi0 - lo0 } else { 1.0 };
        let frac = (self.value_px * 1.3 + 10.0) / self.plot.1 as f64;
        let any = |pred: fn(f64) -> bool| b.values.iter().any(|v| v.is_finite() && pred(*v));
        let (mut lo, mut hi) = (lo0, hi0);
        if any(|v| v < 0.0) {
            lo = lo0 - 0.05 * span;
        }
        if any(|v| v >= 0.0) {
            hi = hi0 + 0.05 * span;
        }
        // Solve (hi' - hi) / (hi' - lo') = frac on each side that has text.
        let room = (hi - lo) * frac / (1.0 - 2.0 * frac).max(0.2);
        if any(|v| v < 0.0) {
            lo -= room;
        }
        if any(|v| v >= 0.0) {
            hi += room;
        }
        // No finite value at all: an empty axis, but never a zero-height one.
        if hi <= lo {
            hi = lo + 1.0;
        }
        self.y_range = (lo, hi);
    }

    fn to_px(&self, n: usize, x: f64, y: f64) -> (f64, f64) {
        let (y0, y1) = self.y_range;
        ((x + 0.5) / n as f64 * self.plot.0 as f64, (y1 - y) / (y1 - y0) * self.plot.1 as f64)
    }

    /// Pixels covered by bars, error bars and value texts.
    fn obstacles(&self, b: &Bars) -> Vec<(i32, i32)> {
        let n = b.values.len();
        let mut pts = Vec::new();
        for i in (0..n).filter(|i| b.values[*i].is_finite()) {
            let (x, tip) = (i as f64, b.reach(i));
            let text_dir = if b.values[i] < 0.0 { 1.0 } else { -1.0 };
            let (_, tip_px) = self.to_px(n, x, tip);
            let (_, zero_px) = self.to_px(n, x, 0.0);
            let text_end = tip_px + text_dir * (self.value_px * 1.3 + 6.0);
            let (left, _) = self.to_px(n, x - 0.5, 0.0);
            let (right, _) = self.to_px(n, x + 0.5, 0.0);
            // A coarse raster of the column from the axis to the end of the value text.
            let (top, bottom) = (zero_px.min(text_end), zero_px.max(text_end));
            let mut y = top;
            while y <= bottom {
                legend::sample_segment((left, y), (right, y), &mut pts);
                y += 6.0;
            }
        }
        pts
    }

    fn place_legend<DB: DrawingBackend>(
        &mut self,
        area: &DrawingArea<DB, Shift>,
        b: &Bars,
        sizes: Sizes,
    ) -> Result<(), PlotError> {
        if b.errors.is_none() {
            return Ok(());
        }
        let size = legend::legend_size(area, &error_entry(), sizes.legend)?;
        let frac = legend::top_room(size) as f64 / self.plot.1 as f64;
        // Raise the top a step at a time until an upper corner is free (or give up
        // after a few steps and keep the emptiest corner).
        for _ in 0..4 {
            let (corner, hidden) = legend::best_corner(self.plot, size, &self.obstacles(b), false);
            self.legend = Some((corner, size));
            if hidden == 0 || frac > 0.4 {
                break;
            }
            self.y_range.1 += (self.y_range.1 - self.y_range.0) * frac;
        }
        Ok(())
    }
}

fn line_height(px: f64) -> i32 {
    (px * 1.3).round() as i32
}

/// Greedy word wrap of `text` into lines at most `max_w` pixels wide (a single
/// longer word keeps its own line).
fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    px: f64,
    max_w: f64,
) -> Result<Vec<String>, PlotError> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let joined = match lines.last() {
            Some(last) => format!("{last} {word}"),
            None => word.to_string(),
        };
        match lines.last_mut() {
            Some(last) if text_size(area, &joined, px)?.0 as f64 <= max_w => *last = joined,
            _ => lines.push(word.to_string()),
        }
    }
    Ok(lines)
}

/// The largest text size up to `preferred` at which every text is at most `max_w` wide.
fn shrink_to<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    texts: impl Iterator<Item = String>,
    preferred: f64,
    max_w: f64,
) -> Result<f64, PlotError> {
    let mut size = preferred;
    for t in texts {
        size = size.min(style::fit_size(area, &t, preferred, max_w as i32)?);
    }
    Ok(size.max(9.0))
}

fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, b: &Bars, sizes: Sizes) -> Result<(), PlotError> {
    let area = titled(root, &b.title, sizes.title)?;
    let layout = Layout::new(&area, b, sizes)?;
    let n = b.values.len();
    let (y0, y1) = layout.y_range;
    let mut chart = ChartBuilder::on(&area)
        .margin_top(layout.top)
        .margin_right(layout.right)
        .margin_left(LEFT)
        .x_label_area_size(layout.x_area)
        .y_label_area_size(layout.y_area)
        .build_cartesian_2d(-0.5..n as f64 - 0.5, y0..y1)?;
    // Key points on a (-0.5, n - 0.5) axis with at most n labels fall on the integers,
    // the bar centres: plotters draws the ticks, the (wrapped) names are ours.
    let x_fmt = |_: &f64| String::new();
    let y_fmt = |v: &f64| tick_label(*v, y1 - y0);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(b.x_label.as_str())
        .y_desc(b.y_label.as_str())
        .axis_desc_style((FONT, sizes.desc).into_font().color(&TEXT))
        .y_label_style((FONT, sizes.tick).into_font().color(&TEXT))
        .x_labels(n)
        .y_labels((layout.plot.1 / 50).clamp(3, 10) as usize)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .bold_line_style(GRID_LINE)
        .light_line_style(TRANSPARENT)
        .axis_style(style::FRAME)
        .draw()?;

    for i in (0..n).filter(|i| b.values[*i].is_finite()) {
        draw_bar(&mut chart, b, i, layout.value_px)?;
    }
    draw_category_names(&area, &chart, &layout)?;
    if let Some((corner, size)) = layout.legend {
        let plot_area = chart.plotting_area().strip_coord_spec();
        legend::draw_legend(&plot_area, corner, size, &error_entry(), sizes.legend)?;
    }
    Ok(())
}

type Chart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

fn draw_bar<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, b: &Bars, i: usize, value_px: f64) -> Result<(), PlotError> {
    let (x, v, e) = (i as f64, b.values[i], b.error(i));
    let rect = Rectangle::new([(x - HALF_BAR, 0.0), (x + HALF_BAR, v)], color(i).filled());
    chart.draw_series(std::iter::once(rect))?;
    let dark = RGBColor(40, 40, 40);
    if e > 0.0 {
        let whisker = vec![(x, v - e), (x, v + e)];
        let caps =
            [v - e, v + e].map(|y| PathElement::new(vec![(x - HALF_CAP, y), (x + HALF_CAP, y)], dark.stroke_width(2)));
        chart.draw_series(std::iter::once(PathElement::new(whisker, dark.stroke_width(2))).chain(caps))?;
    }
    // The value sits just beyond the tip, above a positive bar and below a negative one.
    let (dy, vpos) = if v < 0.0 { (6, VPos::Top) } else { (-6, VPos::Bottom) };
    let style = text_style(value_px, TEXT, HPos::Center, vpos);
    let label = EmptyElement::at((x, b.reach(i))) + Text::new(b.value_text(i), (0, dy), style);
    chart.draw_series(std::iter::once(label))?;
    Ok(())
}

/// The category names under their bars, one centred line after another.
fn draw_category_names<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB>,
    layout: &Layout,
) -> Result<(), PlotError> {
    let (ax, ay) = area.get_base_pixel();
    let y_axis = layout.y_range.0;
    let style = text_style(layout.label_px, TEXT, HPos::Center, VPos::Top);
    for (i, lines) in layout.label_lines.iter().enumerate() {
        let (bx, by) = chart.backend_coord(&(i as f64, y_axis));
        for (k, line) in lines.iter().enumerate() {
            let at = (bx - ax, by - ay + 10 + k as i32 * line_height(layout.label_px));
            area.draw(&Text::new(line.clone(), at, style.clone()))?;
        }
    }
    Ok(())
}

fn error_entry() -> [legend::Entry; 1] {
    [legend::Entry { label: ERROR_NOTE.to_string(), marker: legend::Marker::ErrorBar }]
}
