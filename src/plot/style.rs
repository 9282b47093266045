//! The shared look of every figure (palette, font, text sizes, number formats) and
//! the one place where figures are written to PNG and SVG.

use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The family every text uses; it names the embedded DejaVu Sans.
pub(crate) const FONT: &str = "sans-serif";

/// Embedded so that figures render on machines without fontconfig or any font.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Tableau 10, the palette matplotlib users already know.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// The i-th colour of the palette (Tableau 10), cycling after ten.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

pub(crate) const TEXT: RGBColor = RGBColor(30, 30, 30);
pub(crate) const GRID_LINE: RGBColor = RGBColor(225, 225, 225);
pub(crate) const FRAME: RGBColor = RGBColor(110, 110, 110);

/// Text sizes in pixels; panels use smaller ones so that several fit side by side.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    pub title: f64,
    pub desc: f64,
    pub tick: f64,
    pub legend: f64,
}

pub(crate) const SINGLE: Sizes = Sizes { title: 26.0, desc: 19.0, tick: 16.0, legend: 16.0 };
pub(crate) const PANEL: Sizes = Sizes { title: 20.0, desc: 17.0, tick: 15.0, legend: 14.0 };
/// The overall title above a grid of panels.
pub(crate) const FIGURE_TITLE: f64 = 28.0;

/// Why a figure could not be drawn or written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlotError {
    message: String,
}

impl PlotError {
    pub fn new(message: impl Into<String>) -> Self {
        PlotError { message: message.into() }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlotError {}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError::new(format!("drawing failed: {e}"))
    }
}

impl From<std::io::Error> for PlotError {
    fn from(e: std::io::Error) -> Self {
        PlotError::new(e.to_string())
    }
}

/// Registers the embedded font under [`FONT`] once per process; plotters keeps a
/// global table, so registering again would only waste time.
pub(crate) fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the embedded font DejaVuSans.ttf could not be parsed".to_string())
        })
        .clone()
        .map_err(PlotError::new)
}

/// A figure that can draw itself on any plotters backend, so that the PNG and the
/// SVG come from the same code and never differ.
pub(crate) trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

fn draw<DB: DrawingBackend, F: Figure>(root: DrawingArea<DB, Shift>, fig: &F) -> Result<(), PlotError> {
    root.fill(&WHITE)?;
    fig.draw_on(&root)?;
    root.present()?;
    Ok(())
}

/// Writes `<stem>.png` and `<stem>.svg` and returns their file names.
pub(crate) fn save<F: Figure>(stem: &Path, fig: &F) -> Result<Vec<String>, PlotError> {
    ensure_font()?;
    let name = stem
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| PlotError::new(format!("'{}' does not end in a file name", stem.display())))?;
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| PlotError::new(format!("cannot create folder '{}': {e}", dir.display())))?;
    }
    let (w, h) = fig.size();
    // Appending (not `with_extension`) keeps stems such as "eps0.1" whole.
    let png_name = format!("{name}.png");
    let svg_name = format!("{name}.svg");
    let png = stem.with_file_name(&png_name);
    let svg = stem.with_file_name(&svg_name);
    // Each file is drawn under a temporary name and renamed into place, so a kill or a
    // full disk never leaves a half-drawn figure under the final name.
    let (png_tmp, svg_tmp) = (crate::report::temporary_sibling(&png), crate::report::temporary_sibling(&svg));
    let drawn = draw(BitMapBackend::new(&png_tmp, (w, h)).into_drawing_area(), fig)
        .map_err(|e| PlotError::new(format!("writing '{}': {e}", png.display())))
        .and_then(|_| rename(&png_tmp, &png))
        .and_then(|_| draw(SVGBackend::new(&svg_tmp, (w, h)).into_drawing_area(), fig))
        .map_err(|e| PlotError::new(format!("writing '{}': {e}", svg.display())))
        .and_then(|_| rename(&svg_tmp, &svg));
    if drawn.is_err() {
        let _ = std::fs::remove_file(&png_tmp);
        let _ = std::fs::remove_file(&svg_tmp);
    }
    drawn.map(|_| vec![png_name, svg_name])
}

fn rename(from: &Path, to: &Path) -> Result<(), PlotError> {
    std::fs::rename(from, to).map_err(|e| PlotError::new(format!("writing '{}': {e}", to.display())))
}

/// A text style in the embedded font.
pub(crate) fn text_style(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    TextStyle { font: (FONT, size).into_font(), color: color.to_backend_color(), pos: Pos::new(h, v) }
}

/// Width and height in pixels of `text` drawn at `size`.
pub(crate) fn text_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
) -> Result<(i32, i32), PlotError> {
    let (w, h) = area.estimate_text_size(text, &(FONT, size).into_font().into())?;
    Ok((w as i32, h as i32))
}

/// The largest size up to `preferred` at which `text` fits in `max_width` pixels,
/// so long titles shrink instead of being clipped.
pub(crate) fn fit_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    preferred: f64,
    max_width: i32,
) -> Result<f64, PlotError> {
    let (w, _) = text_size(area, text, preferred)?;
    if w <= max_width || w == 0 {
        return Ok(preferred);
    }
    Ok((preferred * max_width as f64 / w as f64).max(6.0))
}

/// Height in pixels of the strip [`titled`] takes for this title (none when empty).
pub(crate) fn title_band(title: &str, size: f64) -> u32 {
    if title.is_empty() {
        0
    } else {
        (size * 1.9).round() as u32
    }
}

/// Draws a centred title at the top of `area` and returns the area below it.
pub(crate) fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    size: f64,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    if title.is_empty() {
        return Ok(area.clone());
    }
    let (w, _) = area.dim_in_pixel();
    let band = title_band(title, size) as i32;
    // 20 px clear on each side, so titles of neighbouring panels never run together.
    let size = fit_size(area, title, size, w as i32 - 40)?;
    let style = text_style(size, TEXT, HPos::Center, VPos::Center);
    area.draw(&Text::new(title.to_string(), (w as i32 / 2, band / 2 + 2), style))?;
    Ok(area.clone().margin(band, 0, 0, 0))
}

/// A tick label for a linear axis that spans `span`: only the decimals the span
/// needs, no trailing zeros, and "0" rather than floating-point noise such as 1e-17.
pub(crate) fn tick_label(v: f64, span: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let span = if span.is_finite() && span > 0.0 { span } else { v.abs().max(1.0) };
    if v.abs() < span * 1e-9 {
        return "0".to_string();
    }
    if v.abs() >= 1e6 {
        return trim_exp(&format!("{v:.2e}"));
    }
    let decimals = (2 - span.log10().floor() as i32).clamp(0, 6) as usize;
    trim_zeros(&format!("{v:.decimals$}"))
}

/// A tick label for a log axis: plain numbers in the everyday range, else 1e-5 style.
pub(crate) fn log_tick_label(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return String::new();
    }
    if (1e-3..1e5).contains(&v) {
        let decimals = (2 - v.log10().floor() as i32).clamp(0, 6) as usize;
        trim_zeros(&format!("{v:.decimals$}"))
    } else {
        trim_exp(&format!("{v:.1e}"))
    }
}

/// "2.50" -> "2.5", "3.000" -> "3", "-0" -> "0".
fn trim_zeros(s: &str) -> String {
    let t = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s };
    if t == "-0" {
        "0".to_string()
    } else {
        t.to_string()
    }
}

/// "2.50e6" -> "2.5e6", "1.0e-5" -> "1e-5".
fn trim_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((mantissa, exp)) => format!("{}e{exp}", trim_zeros(mantissa)),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_read_like_a_person_wrote_them() {
        assert_eq!(tick_label(2.0, 10.0), "2");
        assert_eq!(tick_label(0.5, 2.0), "0.5");
        assert_eq!(tick_label(1e-17, 1.0), "0");
        assert_eq!(tick_label(250.0, 1000.0), "250");
        assert_eq!(tick_label(0.0125, 0.02), "0.0125");
        assert_eq!(tick_label(2_500_000.0, 1e7), "2.5e6");
        assert_eq!(log_tick_label(1e-5), "1e-5");
        assert_eq!(log_tick_label(20.0), "20");
        assert_eq!(log_tick_label(0.05), "0.05");
        assert_eq!(color(10), color(0));
    }
}
