//! Grid worlds drawn as pictures: walls, start and goal, cell names, a colour per
//! cell for a value, arrows for a policy and the four Q values of each cell.
//!
//! Everything is laid out in pixels from the cell size, so the same code draws a
//! 3x3 maze with Q values at 200 px a cell and a 12x12 maze at 60 px a cell.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{self, fit_size, text_style, title_band, titled, Figure, PlotError, FIGURE_TITLE, TEXT};

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum CellKind {
    #[default]
    Free,
    Wall,
    Start,
    Goal,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dir {
    Up,
    Down,
    Left,
    Right,
}

impl Dir {
    /// Unit step in pixel coordinates (y grows downwards).
    fn step(self) -> (f64, f64) {
        match self {
            Dir::Up => (0.0, -1.0),
            Dir::Down => (0.0, 1.0),
            Dir::Left => (-1.0, 0.0),
            Dir::Right => (1.0, 0.0),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct GridCell {
    pub kind: CellKind,
    /// Drawn small in the top-left corner, e.g. "S5" (may be empty).
    pub name: String,
    /// Colours the cell on a white-to-blue scale; None leaves it plain.
    pub value: Option<f64>,
    /// Arrows from the cell centre; several mean ties.
    pub arrows: Vec<Dir>,
    /// Q(s, up/down/left/right), written near the top/bottom/left/right edges.
    pub q: Option<[f64; 4]>,
}

#[derive(Clone, Debug, Default)]
pub struct GridPicture {
    pub title: String,
    /// Columns.
    pub width: usize,
    /// Rows; cells are row-major, row 0 at the top.
    pub height: usize,
    pub cells: Vec<GridCell>,
    /// What the colour means, written above the colour bar, e.g. "V*(s) = max_a Q*(s,a)".
    pub value_label: String,
}

/// Draws one grid picture into `<stem>.png` and `<stem>.svg`.
pub fn grid(stem: &Path, pic: &GridPicture) -> Result<Vec<String>, PlotError> {
    check(pic)?;
    style::save(stem, &Single(pic))
}

/// Draws several grid pictures side by side, `cols` per row, under one title. The
/// panels share one colour scale (the range of all their values), so that the same
/// colour means the same value in every panel.
pub fn grid_panels(stem: &Path, title: &str, pics: &[GridPicture], cols: usize) -> Result<Vec<String>, PlotError> {
    if pics.is_empty() {
        return Err(PlotError::new("grid_panels: no pictures to draw"));
    }
    pics.iter().try_for_each(check)?;
    style::save(stem, &Panels { title, pics, cols: cols.clamp(1, pics.len()) })
}

/// Largest grid side we draw: beyond it cells would be a few pixels wide.
const MAX_SIDE: usize = 100;

fn check(pic: &GridPicture) -> Result<(), PlotError> {
    if pic.width == 0 || pic.height == 0 {
        return Err(PlotError::new(format!("grid '{}': width and height must be at least 1", pic.title)));
    }
    if pic.width.checked_mul(pic.height) != Some(pic.cells.len()) {
        return Err(PlotError::new(format!(
            "grid '{}': {}x{} needs {} cells but {} were given",
            pic.title,
            pic.width,
            pic.height,
            pic.width.saturating_mul(pic.height),
            pic.cells.len()
        )));
    }
    if pic.width.max(pic.height) > MAX_SIDE {
        return Err(PlotError::new(format!("grid '{}': at most {MAX_SIDE} cells a side can be drawn", pic.title)));
    }
    Ok(())
}

/// Text sizes and spacing for one picture (smaller in panels).
#[derive(Clone, Copy)]
struct Look {
    title: f64,
    text: f64,
    margin: i32,
}

const SINGLE_LOOK: Look = Look { title: 24.0, text: 16.0, margin: 24 };
const PANEL_LOOK: Look = Look { title: 21.0, text: 15.0, margin: 16 };

impl Look {
    /// Height of the colour-bar strip under the grid: label, bar, numbers.
    fn bar_band(self) -> i32 {
        (self.text * 3.6) as i32 + 22
    }

    fn pixels(self, pic: &GridPicture, cell: i32) -> (u32, u32) {
        let bar = if has_values(pic) { self.bar_band() } else { 0 };
        let w = 2 * self.margin + pic.width as i32 * cell;
        let h = title_band(&pic.title, self.title) as i32 + 2 * self.margin + pic.height as i32 * cell + bar;
        (w as u32, h as u32)
    }
}

struct Single<'a>(&'a GridPicture);

impl Figure for Single<'_> {
    /// About 720 px of grid, 200 px a cell at most, and at least 150 px a cell when
    /// Q values must be legible.
    fn size(&self) -> (u32, u32) {
        let side = self.0.width.max(self.0.height) as i32;
        let mut cell = (720 / side).clamp(36, 200);
        if self.0.cells.iter().any(|c| c.q.is_some()) {
            cell = cell.max(150);
        }
        let cell = cell.min(3000 / side).max(4);
        let (w, h) = SINGLE_LOOK.pixels(self.0, cell);
        (w.max(640), h)
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        draw_picture(root, self.0, SINGLE_LOOK, value_range(self.0))
    }
}

struct Panels<'a> {
    title: &'a str,
    pics: &'a [GridPicture],
    cols: usize,
}

impl Panels<'_> {
    fn rows(&self) -> usize {
        self.pics.len().div_ceil(self.cols)
    }

    /// One panel size for all, from the largest picture, about 1100 px across in all.
    fn panel_size(&self) -> (u32, u32) {
        let side = self.pics.iter().map(|p| p.width.max(p.height)).max().unwrap_or(1) as i32;
        let per_panel = 1100 / self.cols as i32 - 2 * PANEL_LOOK.margin;
        let mut cell = (per_panel / side).clamp(24, 170);
        if self.pics.iter().any(|p| p.cells.iter().any(|c| c.q.is_some())) {
            cell = cell.max(150);
        }
        let cell = cell.min(2000 / side).max(4);
        let biggest =
            self.pics.iter().map(|p| PANEL_LOOK.pixels(p, cell)).fold((0, 0), |a, b| (a.0.max(b.0), a.1.max(b.1)));
        (biggest.0.max(300), biggest.1)
    }
}

impl Figure for Panels<'_> {
    fn size(&self) -> (u32, u32) {
        let (w, h) = self.panel_size();
        (w * self.cols as u32, h * self.rows() as u32 + title_band(self.title, FIGURE_TITLE))
    }

    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let body = titled(root, self.title, FIGURE_TITLE)?;
        let shared = self.pics.iter().filter_map(value_range).reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
        for (area, pic) in body.split_evenly((self.rows(), self.cols)).iter().zip(self.pics) {
            draw_picture(area, pic, PANEL_LOOK, value_range(pic).and(shared))?;
        }
        Ok(())
    }
}

fn has_values(pic: &GridPicture) -> bool {
    value_range(pic).is_some()
}

/// Smallest and largest finite value over the cells that are not walls.
fn value_range(pic: &GridPicture) -> Option<(f64, f64)> {
    let vals = pic.cells.iter().filter(|c| c.kind != CellKind::Wall).filter_map(|c| c.value).filter(|v| v.is_finite());
    vals.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
    })
}

/// White to mid blue (ColorBrewer "Blues" 1, 3, 5): light enough that black text
/// and arrows stay readable on the darkest cell.
fn value_color(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 3] = [(247.0, 251.0, 255.0), (198.0, 219.0, 239.0), (107.0, 174.0, 214.0)];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let (a, b, u) = if t < 0.5 { (STOPS[0], STOPS[1], t * 2.0) } else { (STOPS[1], STOPS[2], t * 2.0 - 1.0) };
    let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn scale_t(v: f64, range: (f64, f64)) -> f64 {
    if range.1 > range.0 {
        (v - range.0) / (range.1 - range.0)
    } else {
        0.5 // one value only: the middle of the scale, neither "low" nor "high"
    }
}

const WALL: RGBColor = RGBColor(70, 70, 70);
const GOAL_FILL: RGBColor = RGBColor(255, 234, 150);
const START_EDGE: RGBColor = RGBColor(34, 130, 34);
const GOAL_EDGE: RGBColor = RGBColor(230, 170, 0);
const ARROW: RGBColor = RGBColor(25, 25, 25);
const CELL_EDGE: RGBColor = RGBColor(165, 165, 165);

/// Where the grid sits inside its area.
#[derive(Clone, Copy)]
struct Placement {
    x0: i32,
    y0: i32,
    cell: i32,
}

impl Placement {
    fn corner(self, col: usize, row: usize) -> (i32, i32) {
        (self.x0 + col as i32 * self.cell, self.y0 + row as i32 * self.cell)
    }
}

/// Draws one picture; `range` is its colour scale (None: no cell is coloured).
fn draw_picture<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pic: &GridPicture,
    look: Look,
    range: Option<(f64, f64)>,
) -> Result<(), PlotError> {
    let body = titled(area, &pic.title, look.title)?;
    let (w, h) = body.dim_in_pixel();
    let bar = if range.is_some() { look.bar_band() } else { 0 };
    let avail = (w as i32 - 2 * look.margin, h as i32 - 2 * look.margin - bar);
    let cell = (avail.0 / pic.width as i32).min(avail.1 / pic.height as i32).max(2);
    let (gw, gh) = (cell * pic.width as i32, cell * pic.height as i32);
    let place = Placement { x0: (w as i32 - gw) / 2, y0: look.margin + (avail.1 - gh).max(0) / 2, cell };
    let texts = CellTexts::new(&body, pic, cell)?;
    for (k, c) in pic.cells.iter().enumerate() {
        let (x, y) = place.corner(k % pic.width, k / pic.width);
        draw_cell(&body, c, (x, y), cell, range, &texts)?;
    }
    let frame = [(place.x0, place.y0), (place.x0 + gw, place.y0 + gh)];
    body.draw(&Rectangle::new(frame, RGBColor(90, 90, 90).stroke_width(2)))?;
    if let Some(range) = range {
        let top = place.y0 + gh + look.margin / 2 + 6;
        draw_color_bar(&body, &pic.value_label, range, top, look)?;
    }
    Ok(())
}

/// Text sizes inside a cell, the same for every cell of a picture; 0 = too small to
/// draw. Also the arrow length that keeps arrows clear of the Q numbers.
struct CellTexts {
    name: f64,
    tag: f64,
    q: f64,
    q_arrow: f64,
}

impl CellTexts {
    fn new<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, pic: &GridPicture, cell: i32) -> Result<Self, PlotError> {
        let c = cell as f64;
        let widest = |texts: Vec<String>, preferred: f64, frac: f64| -> Result<f64, PlotError> {
            let mut size = preferred;
            for t in texts.iter().filter(|t| !t.is_empty()) {
                size = size.min(fit_size(area, t, preferred, (c * frac) as i32)?);
            }
            Ok(if size < 7.5 { 0.0 } else { size })
        };
        let names = pic.cells.iter().map(|c| c.name.clone()).collect();
        let qs: Vec<String> = pic.cells.iter().filter_map(|c| c.q).flat_map(|q| q.map(fmt_q)).collect();
        let q = widest(qs.clone(), (c * 0.12).clamp(8.0, 20.0), 0.24)?;
        // The arrow must end a gap short of the side numbers and of the top one.
        let (mut q_w, mut q_h) = (0, 0);
        for t in qs.iter().filter(|_| q > 0.0) {
            let (w, h) = style::text_size(area, t, q)?;
            (q_w, q_h) = (q_w.max(w), q_h.max(h));
        }
        let side_room = 0.5 * c - cell_pad(cell) as f64 - q_w as f64 - 0.05 * c;
        let top_room = 0.5 * c - (TOP_Q * c + q_h as f64) - 0.05 * c;
        Ok(CellTexts {
            name: widest(names, (c * 0.15).clamp(9.0, 22.0), 0.42)?,
            tag: widest(vec!["start".into(), "goal".into()], (c * 0.13).clamp(8.0, 19.0), 0.36)?,
            q,
            q_arrow: side_room.min(top_room).clamp(0.1 * c, 0.22 * c),
        })
    }
}

fn fmt_q(v: f64) -> String {
    if v.is_finite() {
        let s = format!("{v:.2}");
        if s == "-0.00" {
            "0.00".to_string()
        } else {
            s
        }
    } else {
        "–".to_string()
    }
}

fn draw_cell<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &GridCell,
    (x, y): (i32, i32),
    cell: i32,
    range: Option<(f64, f64)>,
    texts: &CellTexts,
) -> Result<(), PlotError> {
    let fill = match (c.kind, c.value.filter(|v| v.is_finite()), range) {
        (CellKind::Wall, _, _) => WALL,
        (_, Some(v), Some(r)) => value_color(scale_t(v, r)),
        (CellKind::Goal, _, _) => GOAL_FILL,
        _ => WHITE,
    };
    let rect = [(x, y), (x + cell, y + cell)];
    area.draw(&Rectangle::new(rect, fill.filled()))?;
    area.draw(&Rectangle::new(rect, CELL_EDGE))?;
    let pad = cell_pad(cell);
    if c.kind == CellKind::Wall {
        return draw_text(
            area,
            &c.name,
            texts.name,
            RGBColor(215, 215, 215),
            (x + pad, y + pad),
            HPos::Left,
            VPos::Top,
        );
    }
    let tag = match c.kind {
        CellKind::Start => Some(("start", START_EDGE, WHITE)),
        CellKind::Goal => Some(("goal", GOAL_EDGE, TEXT)),
        _ => None,
    };
    if let Some((word, edge, ink)) = tag {
        // A thin coloured frame inside the cell, with a tag of the same colour
        // hanging from its top-right corner: readable on any cell colour.
        draw_frame(area, (x, y), cell, frame_width(cell), edge)?;
        draw_tag(area, word, texts.tag, (edge, ink), (x + cell - frame_width(cell), y + frame_width(cell)))?;
    }
    draw_text(area, &c.name, texts.name, TEXT, (x + pad, y + pad), HPos::Left, VPos::Top)?;
    if let Some(q) = c.q {
        draw_q(area, q, (x, y), cell, texts.q)?;
    }
    let center = (x as f64 + cell as f64 / 2.0, y as f64 + cell as f64 / 2.0);
    let len = if c.q.is_some() && texts.q > 0.0 { texts.q_arrow } else { 0.34 * cell as f64 };
    draw_arrows(area, &c.arrows, center, cell as f64, len)
}

/// Inset of the corner texts from the cell edge, clear of a start/goal frame.
fn cell_pad(cell: i32) -> i32 {
    ((cell as f64 * 0.05) as i32 + 2).max(frame_width(cell) + 2)
}

/// Top of the upper Q number, as a fraction of the cell: below the name row.
const TOP_Q: f64 = 0.2;

/// A word on a filled box whose top-right corner is `corner`.
fn draw_tag<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    word: &str,
    size: f64,
    (fill, ink): (RGBColor, RGBColor),
    corner: (i32, i32),
) -> Result<(), PlotError> {
    if size <= 0.0 {
        return Ok(());
    }
    let (tw, th) = style::text_size(area, word, size)?;
    let pad = (size * 0.3).round() as i32;
    let (x1, y0) = corner;
    let (x0, y1) = (x1 - tw - 2 * pad, y0 + th + 2 * pad);
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))?;
    // Centred text sits a little high in the bitmap font; nudge it down.
    let at = ((x0 + x1) / 2, (y0 + y1) / 2 + (size * 0.12) as i32);
    draw_text(area, word, size, ink, at, HPos::Center, VPos::Center)
}

fn frame_width(cell: i32) -> i32 {
    (cell / 40).max(3)
}

/// Four filled strips rather than a thick stroked rectangle, whose corners would
/// show notches in the bitmap.
fn draw_frame<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    cell: i32,
    t: i32,
    color: RGBColor,
) -> Result<(), PlotError> {
    let (x1, y1) = (x + cell, y + cell);
    let strips = [[(x, y), (x1, y + t)], [(x, y1 - t), (x1, y1)], [(x, y), (x + t, y1)], [(x1 - t, y), (x1, y1)]];
    for strip in strips {
        area.draw(&Rectangle::new(strip, color.filled()))?;
    }
    Ok(())
}

fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
    color: RGBColor,
    at: (i32, i32),
    h: HPos,
    v: VPos,
) -> Result<(), PlotError> {
    if text.is_empty() || size <= 0.0 {
        return Ok(());
    }
    area.draw(&Text::new(text.to_string(), at, text_style(size, color, h, v)))?;
    Ok(())
}

/// Q(s, up/down/left/right) next to the matching edge, so each number sits on the
/// side its action leads to. The top one goes below the name row.
fn draw_q<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    q: [f64; 4],
    (x, y): (i32, i32),
    cell: i32,
    size: f64,
) -> Result<(), PlotError> {
    let c = cell as f64;
    let (cx, cy) = (x + cell / 2, y + cell / 2);
    let pad = cell_pad(cell);
    let spots = [
        ((cx, y + (c * TOP_Q) as i32), HPos::Center, VPos::Top),
        ((cx, y + cell - pad), HPos::Center, VPos::Bottom),
        ((x + pad, cy), HPos::Left, VPos::Center),
        ((x + cell - pad, cy), HPos::Right, VPos::Center),
    ];
    for (v, (at, h, vp)) in q.iter().zip(spots) {
        draw_text(area, &fmt_q(*v), size, TEXT, at, h, vp)?;
    }
    Ok(())
}

/// Bold dark arrows of length `len` from the centre (several mean ties); head and
/// shaft scale with the length so short arrows keep the same shape.
fn draw_arrows<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    arrows: &[Dir],
    (cx, cy): (f64, f64),
    c: f64,
    len: f64,
) -> Result<(), PlotError> {
    if arrows.is_empty() {
        return Ok(());
    }
    let shaft = (0.18 * len).clamp(2.5, (0.05 * c).max(2.5));
    let head = (0.42 * len).max(6.0);
    for d in arrows {
        let (dx, dy) = d.step();
        let (px, py) = (-dy, dx); // perpendicular
        let at = |along: f64, across: f64| {
            ((cx + dx * along + px * across).round() as i32, (cy + dy * along + py * across).round() as i32)
        };
        let neck = len - head;
        // The shaft starts half its width behind the centre so tied arrows join squarely.
        let back = -shaft / 2.0;
        let outline = vec![
            at(back, shaft / 2.0),
            at(neck, shaft / 2.0),
            at(neck, head * 0.6),
            at(len, 0.0),
            at(neck, -head * 0.6),
            at(neck, -shaft / 2.0),
            at(back, -shaft / 2.0),
        ];
        area.draw(&Polygon::new(outline, ARROW.filled()))?;
    }
    Ok(())
}

/// A horizontal colour bar under the grid with its meaning above and the value
/// range below, so the colours can be read back as numbers.
fn draw_color_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    label: &str,
    (lo, hi): (f64, f64),
    top: i32,
    look: Look,
) -> Result<(), PlotError> {
    let (w, _) = area.dim_in_pixel();
    let bar_w = (w as i32 - 2 * look.margin).clamp(120, 420);
    let x0 = (w as i32 - bar_w) / 2;
    let label_size = fit_size(area, label, look.text, w as i32 - 2 * look.margin)?;
    draw_text(area, label, label_size, TEXT, (w as i32 / 2, top), HPos::Center, VPos::Top)?;
    let bar_top = top + (look.text * 1.5) as i32;
    let bar_h = (look.text * 0.9) as i32;
    let steps = 100;
    for k in 0..steps {
        let xa = x0 + bar_w * k / steps;
        let xb = x0 + bar_w * (k + 1) / steps;
        let color = value_color((k as f64 + 0.5) / steps as f64);
        area.draw(&Rectangle::new([(xa, bar_top), (xb, bar_top + bar_h)], color.filled()))?;
    }
    area.draw(&Rectangle::new([(x0, bar_top), (x0 + bar_w, bar_top + bar_h)], CELL_EDGE))?;
    let num_y = bar_top + bar_h + 4;
    // As many decimals as the range needs: "0" to "3" for counts, "17.29" to "20" for values.
    let span = if hi > lo { hi - lo } else { hi.abs().max(1.0) };
    let (lo_s, hi_s) =
        if hi > lo { (style::tick_label(lo, span), style::tick_label(hi, span)) } else { (String::new(), fmt_q(hi)) };
    draw_text(area, &lo_s, look.text, TEXT, (x0, num_y), HPos::Left, VPos::Top)?;
    let hi_at = if hi > lo { (x0 + bar_w, HPos::Right) } else { (x0 + bar_w / 2, HPos::Center) };
    draw_text(area, &hi_s, look.text, TEXT, (hi_at.0, num_y), hi_at.1, VPos::Top)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_scale_is_light_at_both_ends() {
        assert_eq!(value_color(0.0), RGBColor(247, 251, 255));
        let RGBColor(r, g, b) = value_color(1.0);
        // Relative luminance well above that of black text: still readable.
        assert!(0.2126 * r as f64 + 0.7152 * g as f64 + 0.0722 * b as f64 > 150.0);
        assert_eq!(value_color(f64::NAN), value_color(0.0));
        assert_eq!(fmt_q(-0.001), "0.00");
    }
}
