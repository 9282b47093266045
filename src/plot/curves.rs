//! Learning curves: one line per setting, the mean over seeds with a shaded
//! mean ± std band (clipped to the range of the seeds' values), or the median with
//! its quartiles, optional dashed reference lines, linear or log y axis.

use std::path::Path;

use plotters::coord::combinators::BindKeyPoints;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::legend::{self, Corner, Entry, Marker};
use super::style::{
    self, color, log_tick_label, text_size, tick_label, titled, Figure, PlotError, Sizes, FONT, GRID_LINE, PANEL,
    SINGLE, TEXT,
};

/// One line with a shaded mean ± std band over seeds.
#[derive(Clone, Debug, Default)]
pub struct Band {
    pub label: String,
    pub x: Vec<f64>,
    /// One Vec per seed, each the same length as `x`; `f64::NAN` marks a missing point.
    pub runs: Vec<Vec<f64>>,
}

/// A chart of learning curves.
#[derive(Clone, Debug, Default)]
pub struct CurvePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Log-scale y axis; values ≤ 0 are drawn at the smallest positive value shown.
    pub log_y: bool,
    pub bands: Vec<Band>,
    /// Dashed horizontal reference lines, each named in the legend.
    pub hlines: Vec<(f64, String)>,
    /// Trailing moving-average window applied to each run before mean and std (1 = none).
    pub smooth: usize,
}

/// How the seeds of a band are summarised at each x.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Spread {
    /// The mean, shaded mean ± std (clipped to the seeds' values).
    #[default]
    MeanStd,
    /// The median, shaded from the first to the third quartile: for outcomes that
    /// are not bell-shaped, e.g. most seeds stuck at a time limit and a few done.
    MedianQuartiles,
}

/// How a panel drawn by [`curves_panels_with`] summarises its bands and bounds its y axis.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CurveOptions {
    pub spread: Spread,
    /// The y axis shows this range (the values that are possible, e.g. 0 to 1 for a
    /// share) however the data and the legend would stretch it.
    pub y_limits: Option<(f64, f64)>,
}

/// Trailing moving average over the last `window` points (fewer at the start), so
/// the output has the input's length. Non-finite entries count as missing: they are
/// left out of the averages and stay missing in the output.
pub fn moving_average(xs: &[f64], window: usize) -> Vec<f64> {
    let w = window.max(1);
    (0..xs.len())
        .map(|i| {
            if !xs[i].is_finite() {
                return f64::NAN;
            }
            crate::stats::mean(&xs[(i + 1).saturating_sub(w)..=i])
        })
        .collect()
}

/// Draws one chart of learning curves into `<stem>.png` and `<stem>.svg` (1000x600 px).
pub fn curves(stem: &Path, plot: &CurvePlot) -> Result<Vec<String>, PlotError> {
    Prepared::new(plot, CurveOptions::default())?; // report bad input before any file is created
    style::save(stem, &Single(plot))
}

/// Draws several charts as panels of a grid with `cols` columns under one title.
pub fn curves_panels(stem: &Path, title: &str, panels: &[CurvePlot], cols: usize) -> Result<Vec<String>, PlotError> {
    curves_panels_with(stem, title, panels, &vec![CurveOptions::default(); panels.len()], cols)
}

/// [`curves_panels`] with each panel's summary and y limits (`options[i]` for `panels[i]`).
pub fn curves_panels_with(
    stem: &Path,
    title: &str,
    panels: &[CurvePlot],
    options: &[CurveOptions],
    cols: usize,
) -> Result<Vec<String>, PlotError> {
    if panels.is_empty() || panels.len() != options.len() {
        return Err(PlotError::new("curves_panels: give at least one panel, and one set of options per panel"));
    }
    for (p, o) in panels.iter().zip(options) {
        Prepared::new(p, *o)?;
    }
    style::save(stem, &Panels { title, panels, cols: cols.clamp(1, panels.len()), options })
}

struct Single<'a>(&'a CurvePlot);

impl Figure for Single<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 600)
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        draw_panel(root, self.0, SINGLE, CurveOptions::default())
    }
}

struct Panels<'a> {
    title: &'a str,
    panels: &'a [CurvePlot],
    cols: usize,
    options: &'a [CurveOptions],
}

impl Panels<'_> {
    fn rows(&self) -> usize {
        self.panels.len().div_ceil(self.cols)
    }

    /// Panel width: two side by side still fit a 1100 px page at full text size.
    fn panel_size(&self) -> (u32, u32) {
        let w = (1100 / self.cols as u32).clamp(500, 640);
        (w, w * 7 / 10)
    }
}

impl Figure for Panels<'_> {
    fn size(&self) -> (u32, u32) {
        let (w, h) = self.panel_size();
        (w * self.cols as u32, h * self.rows() as u32 + style::title_band(self.title, style::FIGURE_TITLE))
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let body = titled(root, self.title, style::FIGURE_TITLE)?;
        let areas = body.split_evenly((self.rows(), self.cols));
        for ((area, plot), options) in areas.iter().zip(self.panels).zip(self.options) {
            // A little air between neighbouring panels.
            let area = area.clone().margin(4, 4, 8, 8);
            draw_panel(&area, plot, PANEL, *options)?;
        }
        Ok(())
    }
}

/// Linear or log y axis. Pixel positions are linear in `t(y)`.
#[derive(Clone, Copy, Debug)]
enum Scale {
    Linear,
    /// Values at or below `floor` are drawn at `floor`.
    Log {
        floor: f64,
    },
}

impl Scale {
    fn t(self, y: f64) -> f64 {
        match self {
            Scale::Linear => y,
            Scale::Log { floor } => y.max(floor).log10(),
        }
    }

    /// The value actually drawn for `y` (clamped to the floor on a log axis).
    fn shown(self, y: f64) -> f64 {
        match self {
            Scale::Linear => y,
            Scale::Log { floor } if y.is_finite() => y.max(floor),
            Scale::Log { .. } => y,
        }
    }
}

/// One band reduced to what is drawn: mean and mean ± std per x, or median and
/// quartiles (NaN = no data).
struct Summary {
    label: String,
    color: RGBColor,
    x: Vec<f64>,
    mean: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    shaded: bool,
}

impl Summary {
    fn new(band: &Band, smooth: usize, color: RGBColor, spread: Spread) -> Result<Self, PlotError> {
        for (k, run) in band.runs.iter().enumerate() {
            if run.len() != band.x.len() {
                return Err(PlotError::new(format!(
                    "band '{}': run {k} has {} points but x has {}",
                    band.label,
                    run.len(),
                    band.x.len()
                )));
            }
        }
        let runs: Vec<Vec<f64>> = band.runs.iter().map(|r| moving_average(r, smooth)).collect();
        let shaded = runs.len() > 1;
        let (mut mean, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new());
        let mut column = Vec::with_capacity(runs.len());
        for (i, x) in band.x.iter().enumerate() {
            column.clear();
            column.extend(runs.iter().map(|r| r[i]));
            if spread == Spread::MedianQuartiles {
                let q = |p: f64| if x.is_finite() { quantile(&column, p) } else { f64::NAN };
                mean.push(q(0.5));
                lo.push(q(0.25));
                hi.push(q(0.75));
                continue;
            }
            let m = if x.is_finite() { crate::stats::mean(&column) } else { f64::NAN };
            let s = if shaded && m.is_finite() { crate::stats::std(&column) } else { 0.0 };
            // Clip the band to the values the seeds actually took: with a two-valued
            // outcome (stuck at the time limit or done in 4 steps) mean ± std would
            // otherwise claim values no seed ever had (above the limit, below zero).
            let (min, max) = column
                .iter()
                .filter(|v| v.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            mean.push(m);
            lo.push((m - s).max(min));
            hi.push((m + s).min(max));
        }
        Ok(Summary { label: band.label.clone(), color, x: band.x.clone(), mean, lo, hi, shaded })
    }

    /// Runs of consecutive indices where the centre line exists; lines break at gaps.
    fn segments(&self) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut start = None;
        for i in 0..=self.mean.len() {
            let ok = i < self.mean.len() && self.mean[i].is_finite();
            match (ok, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push(s..i);
                    start = None;
                }
                _ => {}
            }
        }
        out
    }
}

/// Everything the chart needs, computed once from the caller's data.
struct Prepared {
    series: Vec<Summary>,
    hlines: Vec<(f64, String, RGBColor)>,
    scale: Scale,
    x_range: (f64, f64),
    /// Data extent of y in t-space, before margins.
    t_range: (f64, f64),
    integer_x: bool,
    /// The y range is fixed: the legend may not stretch it.
    fixed_y: bool,
}

impl Prepared {
    fn new(plot: &CurvePlot, options: CurveOptions) -> Result<Self, PlotError> {
        let series = plot
            .bands
            .iter()
            .enumerate()
            .map(|(i, b)| Summary::new(b, plot.smooth, color(i), options.spread))
            .collect::<Result<Vec<_>, _>>()?;
        // The first reference line is near-black (the usual "optimum"); more continue the palette.
        let hlines = plot
            .hlines
            .iter()
            .enumerate()
            .filter(|(_, (y, _))| y.is_finite())
            .map(|(k, (y, l))| {
                let c = if k == 0 { RGBColor(40, 40, 40) } else { color(series.len() + k - 1) };
                (*y, l.clone(), c)
            })
            .collect::<Vec<_>>();
        let ys = || {
            series
                .iter()
                .flat_map(|s| s.mean.iter().chain(&s.lo).chain(&s.hi))
                .copied()
                .chain(hlines.iter().map(|h| h.0))
                .filter(|y| y.is_finite())
        };
        let scale = if plot.log_y {
            let floor = ys().filter(|y| *y > 0.0).fold(f64::INFINITY, f64::min);
            Scale::Log { floor: if floor.is_finite() { floor } else { 1e-3 } }
        } else {
            Scale::Linear
        };
        let t_range = match options.y_limits {
            Some((lo, hi)) if hi > lo => (scale.t(lo), scale.t(hi)),
            _ => extent(ys().map(|y| scale.t(y))),
        };
        let xs_with_data =
            series.iter().flat_map(|s| s.x.iter().zip(&s.mean).filter(|(_, m)| m.is_finite()).map(|(x, _)| *x));
        let x_range = extent(xs_with_data.clone());
        let integer_x = xs_with_data.clone().all(|x| x.fract() == 0.0) && xs_with_data.count() > 0;
        let fixed_y = options.y_limits.is_some();
        Ok(Prepared { series, hlines, scale, x_range, t_range, integer_x, fixed_y })
    }
}

/// Min and max of the finite values, (0, 1) when there are none.
fn extent(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        vals.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

/// Widens a range by `frac` of its span on each side; a single value gets a unit
/// (or, on a log axis, half a decade) of room so the axis is never empty.
fn pad(range: (f64, f64), frac: f64, scale: Scale) -> (f64, f64) {
    let span = range.1 - range.0;
    if span > 0.0 {
        return (range.0 - frac * span, range.1 + frac * span);
    }
    let d = match scale {
        Scale::Linear => (range.0.abs() * 0.1).max(1.0),
        Scale::Log { .. } => 0.5,
    };
    (range.0 - d, range.1 + d)
}

/// Room left of the y-axis title so it never touches the image edge.
const LEFT: i32 = 8;
const MINOR_LINE: RGBColor = RGBColor(242, 242, 242);

/// The pixel geometry of one chart, decided before plotters builds it so that the
/// legend's corner and any head-room can be chosen from the data.
struct Layout {
    y_area: i32,
    x_area: i32,
    right: i32,
    top: i32,
    plot: (i32, i32),
    x_range: (f64, f64),
    t_range: (f64, f64),
    legend: Option<(Corner, (i32, i32))>,
}

impl Layout {
    fn new<DB: DrawingBackend>(
        area: &DrawingArea<DB, Shift>,
        prep: &Prepared,
        plot: &CurvePlot,
        sizes: Sizes,
    ) -> Result<Self, PlotError> {
        let x_range = pad(prep.x_range, 0.02, Scale::Linear);
        let t_range = pad(prep.t_range, 0.05, prep.scale);
        let (_, tick_h) = text_size(area, "0", sizes.tick)?;
        let desc = |label: &str| {
            if label.is_empty() {
                0
            } else {
                (sizes.desc * 1.6) as i32
            }
        };
        let y_area = widest_y_label(area, prep.scale, t_range, sizes.tick)? + 12 + desc(&plot.y_label);
        let x_area = tick_h + 14 + desc(&plot.x_label);
        let (x_last, _) = text_size(area, &tick_label(x_range.1, x_range.1 - x_range.0), sizes.tick)?;
        let right = (x_last / 2 + 8).max(16);
        let top = tick_h / 2 + 6;
        let (w, h) = area.dim_in_pixel();
        let plot_px = ((w as i32 - LEFT - y_area - right).max(10), (h as i32 - x_area - top).max(10));
        let mut layout = Layout { y_area, x_area, right, top, plot: plot_px, x_range, t_range, legend: None };
        layout.place_legend(area, prep, sizes)?;
        Ok(layout)
    }

    fn to_px(&self, x: f64, t: f64) -> (f64, f64) {
        let (x0, x1) = self.x_range;
        let (t0, t1) = self.t_range;
        ((x - x0) / (x1 - x0) * self.plot.0 as f64, (t1 - t) / (t1 - t0) * self.plot.1 as f64)
    }

    /// Pixels of everything drawn, for counting what a legend would hide.
    fn obstacles(&self, prep: &Prepared) -> Vec<(i32, i32)> {
        let mut pts = Vec::new();
        for s in &prep.series {
            let edges: &[&Vec<f64>] = if s.shaded { &[&s.mean, &s.lo, &s.hi] } else { &[&s.mean] };
            for ys in edges {
                for seg in s.segments() {
                    let p: Vec<_> = seg.map(|i| self.to_px(s.x[i], prep.scale.t(ys[i]))).collect();
                    p.windows(2).for_each(|w| legend::sample_segment(w[0], w[1], &mut pts));
                    if let [only] = p[..] {
                        legend::sample_segment(only, only, &mut pts);
                    }
                }
            }
        }
        for (y, _, _) in &prep.hlines {
            let t = prep.scale.t(*y);
            legend::sample_segment(self.to_px(self.x_range.0, t), self.to_px(self.x_range.1, t), &mut pts);
        }
        pts
    }

    /// Picks the emptiest corner; when every corner would hide data, raises the top
    /// of the y axis so the legend sits above the curves (if that costs at most half
    /// the height; beyond that the semi-opaque legend is the lesser evil).
    fn place_legend<DB: DrawingBackend>(
        &mut self,
        area: &DrawingArea<DB, Shift>,
        prep: &Prepared,
        sizes: Sizes,
    ) -> Result<(), PlotError> {
        let entries = legend_entries(prep);
        if entries.is_empty() {
            return Ok(());
        }
        let size = legend::legend_size(area, &entries, sizes.legend)?;
        let (corner, hidden) = legend::best_corner(self.plot, size, &self.obstacles(prep), false);
        let frac = legend::top_room(size) as f64 / self.plot.1 as f64;
        if hidden == 0 || frac > 0.5 || prep.fixed_y {
            self.legend = Some((corner, size));
            return Ok(());
        }
        // Solve (t1 - data_top) / (t1 - t0) = frac for the new top t1.
        let new_top = (prep.t_range.1 - frac * self.t_range.0) / (1.0 - frac);
        self.t_range.1 = self.t_range.1.max(new_top);
        let (corner, _) = legend::best_corner(self.plot, size, &self.obstacles(prep), true);
        self.legend = Some((corner, size));
        Ok(())
    }
}

/// One legend row per named series, then one per named reference line.
fn legend_entries(prep: &Prepared) -> Vec<Entry> {
    let bands = prep
        .series
        .iter()
        .map(|s| Entry { label: s.label.clone(), marker: Marker::Band { color: s.color, shaded: s.shaded } });
    let hlines = prep
        .hlines
        .iter()
        .map(|(_, label, color)| Entry { label: label.clone(), marker: Marker::Dashed { color: *color } });
    bands.chain(hlines).filter(|e| !e.label.is_empty()).collect()
}

/// The widest y tick label, estimated from evenly spaced values across the axis.
fn widest_y_label<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: Scale,
    t_range: (f64, f64),
    size: f64,
) -> Result<i32, PlotError> {
    let labels: Vec<String> = match scale {
        Scale::Linear => (0..=10)
            .map(|k| tick_label(t_range.0 + (t_range.1 - t_range.0) * k as f64 / 10.0, t_range.1 - t_range.0))
            .collect(),
        Scale::Log { .. } => log_ticks(t_range, 10).0.into_iter().map(log_tick_label).collect(),
    };
    let mut widest = 0;
    for label in labels {
        widest = widest.max(text_size(area, &label, size)?.0);
    }
    Ok(widest)
}

/// Ticks for a log axis over [10^t0, 10^t1] (bold, with labels; light, grid only).
/// plotters labels only whole decades, too few when the data spans one or two, so
/// use 1-2-5 (or 1-2-3-5) within each decade then, and every k-th decade when many.
fn log_ticks((t0, t1): (f64, f64), max: usize) -> (Vec<f64>, Vec<f64>) {
    let decades = t1 - t0;
    let mults: &[u32] = match decades {
        d if d <= 1.0 => &[1, 2, 3, 5],
        d if d <= 2.5 => &[1, 2, 5],
        d if d <= 4.0 => &[1, 3],
        _ => &[1],
    };
    let every = ((decades / max.max(1) as f64).ceil() as i64).max(1);
    let inside = |v: f64| (t0 - 1e-9..=t1 + 1e-9).contains(&v.log10());
    let (mut bold, mut light) = (Vec::new(), Vec::new());
    for e in (t0.floor() as i64)..=(t1.ceil() as i64) {
        for m in 1..=9u32 {
            let v = m as f64 * 10f64.powi(e as i32);
            if !inside(v) {
                continue;
            }
            if mults.contains(&m) && e.rem_euclid(every) == 0 {
                bold.push(v);
            } else {
                light.push(v);
            }
        }
    }
    if bold.len() < 2 {
        // Less than a factor of about two on screen: five evenly spaced ticks, rounded
        // to two significant digits.
        bold = (0..=4).map(|k| round_sig(10f64.powf(t0 + (t1 - t0) * k as f64 / 4.0))).filter(|v| inside(*v)).collect();
        bold.dedup();
    }
    (bold, light)
}

fn round_sig(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor() - 1.0);
    (v / p).round() * p
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &CurvePlot,
    sizes: Sizes,
    options: CurveOptions,
) -> Result<(), PlotError> {
    let prep = Prepared::new(plot, options)?;
    let area = titled(area, &plot.title, sizes.title)?;
    let layout = Layout::new(&area, &prep, plot, sizes)?;
    let (t0, t1) = layout.t_range;
    match prep.scale {
        Scale::Linear => draw_chart(&area, &prep, plot, &layout, sizes, t0..t1),
        Scale::Log { .. } => {
            let (bold, light) = log_ticks(layout.t_range, (layout.plot.1 / 38).clamp(4, 10) as usize);
            let y = (10f64.powf(t0)..10f64.powf(t1)).log_scale().with_key_points(bold).with_light_points(light);
            draw_chart(&area, &prep, plot, &layout, sizes, y)
        }
    }
}

/// Builds the chart with y coordinates `y` (linear or log) and draws bands, lines,
/// reference lines and the legend.
fn draw_chart<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    prep: &Prepared,
    plot: &CurvePlot,
    layout: &Layout,
    sizes: Sizes,
    y: Y,
) -> Result<(), PlotError>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let (x0, x1) = layout.x_range;
    let mut chart = ChartBuilder::on(area)
        .margin_top(layout.top)
        .margin_right(layout.right)
        .margin_left(LEFT)
        .x_label_area_size(layout.x_area)
        .y_label_area_size(layout.y_area)
        .build_cartesian_2d(x0..x1, y)?;

    let x_span = x1 - x0;
    let y_span = layout.t_range.1 - layout.t_range.0;
    let x_fmt = |v: &f64| tick_label(*v, x_span);
    let y_fmt = |v: &f64| match prep.scale {
        Scale::Linear => tick_label(*v, y_span),
        Scale::Log { .. } => log_tick_label(*v),
    };
    let mut x_ticks = (layout.plot.0 / 80).clamp(3, 12) as usize;
    if prep.integer_x {
        // Nice steps are 1, 2, 5 x 10^k: capping the count at span + 1 keeps them integers.
        x_ticks = x_ticks.min(x_span.floor() as usize + 1).max(2);
    }
    chart
        .configure_mesh()
        .x_desc(plot.x_label.as_str())
        .y_desc(plot.y_label.as_str())
        .axis_desc_style((FONT, sizes.desc).into_font().color(&TEXT))
        .label_style((FONT, sizes.tick).into_font().color(&TEXT))
        .x_labels(x_ticks)
        .y_labels((layout.plot.1 / 38).clamp(4, 10) as usize)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .bold_line_style(GRID_LINE)
        // Minor lines only help on a log axis, where the spacing itself carries meaning.
        .light_line_style(if matches!(prep.scale, Scale::Log { .. }) { MINOR_LINE.to_rgba() } else { TRANSPARENT })
        .axis_style(style::FRAME)
        .draw()?;

    draw_bands(&mut chart, prep)?;
    draw_lines(&mut chart, prep)?;
    draw_hlines(&mut chart, prep, layout.x_range)?;
    if let Some((corner, size)) = layout.legend {
        let plot_area = chart.plotting_area().strip_coord_spec();
        legend::draw_legend(&plot_area, corner, size, &legend_entries(prep), sizes.legend)?;
    }
    Ok(())
}

/// The p-quantile (0 ≤ p ≤ 1) of the finite values, interpolated linearly between
/// order statistics (NaN when there are none).
fn quantile(values: &[f64], p: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let at = p.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (i, frac) = (at.floor() as usize, at.fract());
    v[i] + frac * (v[(i + 1).min(v.len() - 1)] - v[i])
}

type Chart<'a, DB, Y> = ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>;

/// The shaded bands first, so that no band hides another series' mean line.
fn draw_bands<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'_, DB, Y>,
    prep: &Prepared,
) -> Result<(), PlotError> {
    for s in prep.series.iter().filter(|s| s.shaded) {
        for seg in s.segments().into_iter().filter(|r| r.len() > 1) {
            // Upper edge forward, lower edge back: one closed polygon per unbroken stretch.
            let upper = seg.clone().map(|i| (s.x[i], prep.scale.shown(s.hi[i])));
            let lower = seg.rev().map(|i| (s.x[i], prep.scale.shown(s.lo[i])));
            let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
            chart.draw_series(std::iter::once(Polygon::new(outline, s.color.mix(0.2).filled())))?;
        }
    }
    Ok(())
}

fn draw_lines<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'_, DB, Y>,
    prep: &Prepared,
) -> Result<(), PlotError> {
    for s in &prep.series {
        let line = s.color.stroke_width(2);
        let mut paths = Vec::new();
        let mut dots = Vec::new();
        for seg in s.segments() {
            let pts: Vec<(f64, f64)> = seg.map(|i| (s.x[i], prep.scale.shown(s.mean[i]))).collect();
            // A point with no neighbour would vanish as a line: draw it as a dot.
            if pts.len() == 1 {
                dots.push(pts[0]);
            } else {
                paths.push(pts);
            }
        }
        chart.draw_series(paths.into_iter().map(|p| PathElement::new(p, line)))?;
        chart.draw_series(dots.into_iter().map(|p| Circle::new(p, 3, s.color.filled())))?;
    }
    Ok(())
}

fn draw_hlines<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut Chart<'_, DB, Y>,
    prep: &Prepared,
    x_range: (f64, f64),
) -> Result<(), PlotError> {
    for (y, _, c) in &prep.hlines {
        let y = prep.scale.shown(*y);
        let style = c.stroke_width(2);
        let dashed = DashedPathElement::new(vec![(x_range.0, y), (x_range.1, y)], 9, 6, style);
        chart.draw_series(std::iter::once(dashed))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_is_trailing_and_skips_missing_points() {
        let xs = [1.0, 3.0, f64::NAN, 5.0, 7.0];
        let m = moving_average(&xs, 2);
        assert_eq!(m[0], 1.0); // only one point so far
        assert_eq!(m[1], 2.0);
        assert!(m[2].is_nan()); // a missing point stays missing
        assert_eq!(m[3], 5.0); // the NaN before it is left out
        assert_eq!(m[4], 6.0);
        assert_eq!(moving_average(&xs[..2], 0), vec![1.0, 3.0]); // window 0 acts as 1
        assert_eq!(moving_average(&xs, 1).len(), 5);
    }

    #[test]
    fn one_run_has_no_band_and_missing_seeds_are_skipped() {
        let band = Band { label: "a".into(), x: vec![0.0, 1.0], runs: vec![vec![1.0, f64::NAN]] };
        let s = Summary::new(&band, 1, color(0), Spread::MeanStd).unwrap();
        assert!(!s.shaded);
        assert_eq!(s.segments(), vec![0..1]);
        let band = Band { runs: vec![vec![1.0, f64::NAN], vec![3.0, 4.0]], ..band };
        let s = Summary::new(&band, 1, color(0), Spread::MeanStd).unwrap();
        assert_eq!((s.mean[0], s.lo[0], s.hi[0]), (2.0, 1.0, 3.0));
        assert_eq!((s.mean[1], s.lo[1]), (4.0, 4.0));
    }

    #[test]
    fn quartile_bands_show_the_median_and_the_middle_half() {
        // 17 seeds stuck at 100 steps, 3 done in 4: the median and both quartiles are 100.
        let runs: Vec<Vec<f64>> = (0..20).map(|k| vec![if k < 3 { 4.0 } else { 100.0 }, k as f64]).collect();
        let band = Band { label: "a".into(), x: vec![0.0, 1.0], runs };
        let s = Summary::new(&band, 1, color(0), Spread::MedianQuartiles).unwrap();
        assert_eq!((s.mean[0], s.lo[0], s.hi[0]), (100.0, 100.0, 100.0));
        // 0..19: median 9.5, quartiles at positions 4.75 and 14.25.
        assert_eq!((s.mean[1], s.lo[1], s.hi[1]), (9.5, 4.75, 14.25));
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn bands_stay_within_the_seeds_values() {
        // Three seeds stuck at a 100-step limit, one done in 4: mean 76, std ≈ 41.6.
        let band =
            Band { label: "a".into(), x: vec![0.0], runs: vec![vec![100.0], vec![100.0], vec![100.0], vec![4.0]] };
        let s = Summary::new(&band, 1, color(0), Spread::MeanStd).unwrap();
        assert_eq!(s.mean[0], 76.0);
        assert_eq!(s.hi[0], 100.0, "not above the largest value");
        assert!((s.lo[0] - (76.0 - 1728f64.sqrt())).abs() < 1e-9);
    }
}
